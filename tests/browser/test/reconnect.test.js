'use strict';
// The browser's own reconnection: a proxy between page and engine drops the
// connection while events keep coming; EventSource reconnects by itself with
// Last-Event-ID and the engine fills the gap from history. And the `retry`
// field sets how long the browser waits before it reconnects.

const assert = require('node:assert/strict');
const { describe, test, before } = require('node:test');
const { resources, contextFor } = require('../lib/harness');
const { openClient, waitForEvents, waitForOpens, waitInPage } = require('../lib/browser');

const TOTAL = 80;
const CUT_AFTER = [20, 50]; // cut the connection once the page holds this many events

describe('reconnection', () => {
  const res = resources();
  let pages;
  let browser;

  before(async () => {
    pages = await res.pages();
    browser = await res.browser();
  });

  test('a cut stream resumes with Last-Event-ID: every event once, in order', async (t) => {
    const engine = await res.engine(['--cors-origins', pages.origin, '--retry-ms', '100']);
    const proxy = await res.proxy(engine.port);
    const context = await contextFor(t, browser);
    const page = await openClient(
      context,
      pages.clientUrl({ src: `${proxy.origin}/events?topic=flow` }),
    );
    const publishing = engine.publishSeries('flow', TOTAL);
    for (const [cut, count] of CUT_AFTER.entries()) {
      await waitForEvents(page, count);
      assert.ok(proxy.cut() >= 1, `cut ${cut + 1} found an open connection`);
      const publishedAtCut = publishing.ids.length;
      await waitForOpens(page, cut + 2);
      assert.ok(
        publishing.ids.length > publishedAtCut,
        'events were published while the page was disconnected',
      );
    }
    const ids = await publishing.done;
    const got = await waitInPage(
      page,
      (last) => {
        const seen = window.record.timeline.filter((e) => e.kind === 'event');
        return seen.some((e) => e.lastEventId === last) && seen;
      },
      ids[ids.length - 1],
    );
    assert.deepEqual(
      got.map((e) => e.lastEventId),
      ids,
      'every event exactly once, in order',
    );
    assert.deepEqual(
      got.map((e) => e.data),
      ids.map((_, i) => `event ${i + 1}`),
    );

    // Each reconnection asked for exactly what followed the last event the page saw.
    const timeline = await page.evaluate(() => window.record.timeline);
    const resumedFrom = [];
    let lastSeen;
    for (const entry of timeline) {
      if (entry.kind === 'event') lastSeen = entry.lastEventId;
      if (entry.kind === 'error') resumedFrom.push(lastSeen);
    }
    assert.equal(resumedFrom.length, CUT_AFTER.length);
    assert.deepEqual(
      proxy.requests.map((r) => r.headers['last-event-id']),
      [undefined, ...resumedFrom],
    );
    assert.ok(proxy.requests.every((r) => r.target === '/events?topic=flow'));
  });

  test('the retry field sets the reconnection delay', async (t) => {
    // No --retry-ms: a stream without a retry field waits the browser's default.
    const engine = await res.engine(['--cors-origins', pages.origin]);
    const proxy = await res.proxy(engine.port);
    const context = await contextFor(t, browser);
    const open = (topic) =>
      openClient(context, pages.clientUrl({ src: `${proxy.origin}/events?topic=${topic}` }));
    const quick = await open('quick');
    const standard = await open('standard');
    await engine.publish('quick', 'reconnect quickly', { retry: 200 });
    await engine.publish('standard', 'default delay');
    await waitForEvents(quick, 1);
    await waitForEvents(standard, 1);

    proxy.cut();
    const delay = async (page) => {
      await waitForOpens(page, 2);
      return page.evaluate(() => {
        const { timeline } = window.record;
        const error = timeline.find((e) => e.kind === 'error');
        const reopen = timeline.filter((e) => e.kind === 'open')[1];
        return reopen.at - error.at;
      });
    };
    const [quickDelay, standardDelay] = await Promise.all([delay(quick), delay(standard)]);
    t.diagnostic(`reconnected after ${Math.round(quickDelay)} ms (retry: 200) and ${Math.round(standardDelay)} ms (default)`);
    assert.ok(
      quickDelay < standardDelay,
      `retry: 200 reconnected after ${quickDelay} ms, the default after ${standardDelay} ms`,
    );
    // Both streams resumed: events published now reach both pages.
    await engine.publish('quick', 'after');
    await engine.publish('standard', 'after');
    assert.equal((await waitForEvents(quick, 2))[1].data, 'after');
    assert.equal((await waitForEvents(standard, 2))[1].data, 'after');
  });
});
