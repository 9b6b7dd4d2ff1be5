'use strict';
// Long-poll (`GET /events?...&transport=poll`) and the served client script
// (`/ssecast.js` with `client_script = true`).
//
// Through a proxy that buffers whole responses an SSE stream never arrives; the
// poll transport gets every event, and `auto` falls back to it by itself. The
// engine serves the committed classic script at /ssecast.js.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { describe, test, before } = require('node:test');
const { resources, contextFor } = require('../lib/harness');
const { waitForOpens, waitInPage } = require('../lib/browser');
const { openConnectPage, entries, waitForEventId, problems } = require('../lib/client-page');

const POLL_TIMEOUT_MS = 500;

describe('long-poll and the served script', () => {
  const res = resources();
  let pages;
  let browser;
  let engine;

  before(async () => {
    pages = await res.pages();
    browser = await res.browser();
    engine = await res.engine([
      '--cors-origins', pages.origin,
      '--poll-timeout-ms', String(POLL_TIMEOUT_MS),
      '--client-script', 'true',
    ]);
  });

  test('poll: every event, in order, through a proxy that buffers whole responses', async (t) => {
    const proxy = await res.bufferingProxy(engine.port);
    const context = await contextFor(t, browser);
    const page = await openConnectPage(context, pages, {
      src: `${proxy.origin}/events`,
      options: { topics: ['poll'], transport: 'poll', resumeKey: false },
    });
    await waitForOpens(page);
    const publishing = engine.publishSeries('poll', 30, 20);
    const ids = await publishing.done;
    const got = await waitForEventId(page, ids.at(-1));
    assert.deepEqual(got.map((e) => e.lastEventId), ids, 'every event exactly once, in order');
    const polls = proxy.urls.map((u) => new URL(u, proxy.origin).searchParams);
    assert.ok(polls.every((p) => p.get('transport') === 'poll'));
    // The first poll had no id; the engine named the position it started from,
    // and later polls asked from there, then from the newest event held.
    const asked = polls.map((p) => p.get('lastEventId'));
    assert.equal(asked[0], null);
    const fromEvents = asked.findIndex((id) => ids.includes(id));
    assert.ok(fromEvents > 0, asked.join(' '));
    assert.ok(new Set(asked.slice(1, fromEvents)).size <= 1, `one start position: ${asked.join(' ')}`);
    assert.ok(asked.slice(fromEvents).every((id) => ids.includes(id)), asked.join(' '));
    // An idle topic is polled about once per poll_timeout_ms, not in a loop.
    const before = proxy.urls.length;
    await new Promise((resolve) => setTimeout(resolve, 4 * POLL_TIMEOUT_MS));
    assert.ok(proxy.urls.length - before <= 5, `${proxy.urls.length - before} polls while idle`);
    assert.deepEqual(await problems(page), []);
  });

  test('auto: a stream that delivers nothing falls back to poll', async (t) => {
    const proxy = await res.bufferingProxy(engine.port);
    const context = await contextFor(t, browser);
    const page = await openConnectPage(context, pages, {
      src: `${proxy.origin}/events`,
      options: { topics: ['auto'], transport: 'auto', fallbackAfter: 1000, resumeKey: false },
    });
    await waitInPage(page, () => window.client.transport === 'poll');
    const [stalled] = await entries(page, 'error');
    assert.equal(stalled.failure, 'stalled');
    const id = await engine.publish('auto', 'through the buffering proxy');
    await waitForEventId(page, id);
    assert.deepEqual(await problems(page), []);
  });

  test('poll: an unknown id gets the reset signal first', async (t) => {
    const context = await contextFor(t, browser);
    const page = await openConnectPage(context, pages, {
      src: `${engine.origin}/events`,
      options: { topics: ['poll-reset'], transport: 'poll', lastEventId: 'no-such-id', resumeKey: false },
    });
    const [reset] = await waitInPage(page, () => {
      const got = window.record.timeline.filter((e) => e.kind === 'reset');
      return got.length > 0 && got;
    });
    assert.deepEqual([reset.reason, reset.lastEventId], ['unknown-id', 'no-such-id']);
  });

  test('the engine serves the committed classic script at /ssecast.js', async (t) => {
    const served = await fetch(`${engine.origin}/ssecast.js`);
    assert.equal(served.status, 200);
    assert.match(served.headers.get('content-type'), /^text\/javascript/);
    const committed = fs.readFileSync(path.resolve(__dirname, '../../../core/assets/ssecast.js'), 'utf8');
    assert.equal(await served.text(), committed);

    const context = await contextFor(t, browser);
    const page = await context.newPage();
    await page.goto(pages.pageUrl('classic.html', {
      script: `${engine.origin}/ssecast.js`,
      src: `${engine.origin}/events?topic=served`,
    }));
    await waitInPage(page, () => window.opened === true);
    const id = await engine.publish('served', 'via /ssecast.js');
    await waitInPage(page, (want) => window.received.some((e) => e.lastEventId === want), id);
  });
});
