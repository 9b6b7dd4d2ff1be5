'use strict';
// Resuming from a page's own memory: a page that reloads reopens its stream
// with ?lastEventId= and gets what it missed; an id the engine cannot resume
// from is announced by the `ssecast-reset` event, never skipped silently.

const assert = require('node:assert/strict');
const { describe, test, before } = require('node:test');
const { resources, contextFor } = require('../lib/harness');
const { openClient, waitForEvents, waitForOpens, events } = require('../lib/browser');

const HISTORY = 3;

describe('resuming', () => {
  const res = resources();
  let pages;
  let engine;
  let browser;

  before(async () => {
    pages = await res.pages();
    engine = await res.engine([
      '--cors-origins',
      pages.origin,
      '--history-size',
      String(HISTORY),
    ]);
    browser = await res.browser();
  });

  const streamOf = (topic) => `${engine.origin}/events?topic=${topic}`;

  test('a page that reloads resumes with lastEventId in the query', async (t) => {
    const context = await contextFor(t, browser);
    const url = pages.clientUrl({ src: streamOf('reload'), resume: 'reload-last-id' });
    const page = await openClient(context, url);
    assert.equal(await page.evaluate(() => window.record.url), streamOf('reload'));
    await engine.publish('reload', 'seen 1');
    const lastSeen = await engine.publish('reload', 'seen 2');
    await waitForEvents(page, 2);

    // The page stops listening; what is published now it can only get by resuming.
    await page.evaluate(() => window.source.close());
    await engine.waitForHealth((h) => h.connections === 0, 'the closed stream to end');
    await engine.publish('reload', 'missed 1');
    await engine.publish('reload', 'missed 2');

    await page.reload();
    await waitForOpens(page);
    const resumedUrl = new URL(await page.evaluate(() => window.record.url));
    assert.equal(resumedUrl.searchParams.get('lastEventId'), lastSeen);
    await engine.publish('reload', 'live');
    const got = await waitForEvents(page, 3);
    assert.deepEqual(
      got.map((e) => e.data),
      ['missed 1', 'missed 2', 'live'],
    );
  });

  test('an unknown id gets ssecast-reset first, then live events', async (t) => {
    const context = await contextFor(t, browser);
    const src = `${streamOf('reset')}&lastEventId=no-such-id`;
    await engine.publish('reset', 'before the page');
    const page = await openClient(context, pages.clientUrl({ src }));
    const id = await engine.publish('reset', 'live');
    const got = await waitForEvents(page, 2);
    assert.equal(got[0].type, 'ssecast-reset');
    assert.deepEqual(JSON.parse(got[0].data), { reason: 'unknown-id', lastEventId: 'no-such-id' });
    assert.deepEqual([got[1].type, got[1].data, got[1].lastEventId], ['message', 'live', id]);
    assert.equal((await events(page)).length, 2);
  });

  test('an id older than the history gets ssecast-reset with reason history-gap', async (t) => {
    const context = await contextFor(t, browser);
    const ids = [];
    for (let n = 1; n <= HISTORY + 2; n++) ids.push(await engine.publish('gap', `old ${n}`));
    const src = `${streamOf('gap')}&lastEventId=${encodeURIComponent(ids[0])}`;
    const page = await openClient(context, pages.clientUrl({ src }));
    await engine.publish('gap', 'live');
    const got = await waitForEvents(page, 2);
    assert.equal(got[0].type, 'ssecast-reset');
    assert.deepEqual(JSON.parse(got[0].data), { reason: 'history-gap', lastEventId: ids[0] });
    assert.deepEqual(
      got.slice(1).map((e) => e.data),
      ['live'],
    );
  });
});
