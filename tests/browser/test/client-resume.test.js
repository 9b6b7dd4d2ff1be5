'use strict';
// The ssecast browser client resuming in Chromium: a page that reloads picks
// up where it stopped (the last id kept in sessionStorage) with no gap; an id
// the engine cannot resume from becomes a `reset` event with its reason.

const assert = require('node:assert/strict');
const { describe, test, before } = require('node:test');
const { resources, contextFor } = require('../lib/harness');
const { waitForEvents, waitForOpens } = require('../lib/browser');
const { openConnectPage, entries, waitForEntries, problems } = require('../lib/client-page');

const TRANSPORTS = ['eventsource', 'fetch'];
const HISTORY = 3;

describe('browser client resuming', () => {
  const res = resources();
  let pages;
  let browser;
  let engine;

  before(async () => {
    pages = await res.pages();
    browser = await res.browser();
    engine = await res.engine(['--cors-origins', pages.origin, '--history-size', String(HISTORY)]);
  });

  for (const transport of TRANSPORTS) {
    test(`${transport}: a page that reloads resumes from sessionStorage with no gap`, async (t) => {
      const topic = `reload-${transport}`;
      const context = await contextFor(t, browser);
      const page = await openConnectPage(context, pages, {
        src: `${engine.origin}/events`,
        options: { topics: [topic], transport },
      });
      await waitForOpens(page);
      await engine.publish(topic, 'seen 1');
      const lastSeen = await engine.publish(topic, 'seen 2');
      await waitForEvents(page, 2);

      // The page stops listening; what is published now it only gets by resuming.
      await page.evaluate(() => window.client.close());
      await engine.waitForHealth((h) => h.connections === 0, 'the closed stream to end');
      const missed = [await engine.publish(topic, 'missed 1'), await engine.publish(topic, 'missed 2')];

      await page.reload();
      const [open] = await waitForEntries(page, 'open');
      assert.equal(open.lastEventId, lastSeen, 'resumed from the id kept before the reload');
      const live = await engine.publish(topic, 'live');
      const got = await waitForEvents(page, 3);
      assert.deepEqual(
        got.map((e) => [e.data, e.lastEventId]),
        [['missed 1', missed[0]], ['missed 2', missed[1]], ['live', live]],
      );
      assert.deepEqual(await problems(page), []);
    });
  }

  for (const transport of TRANSPORTS) {
    test(`${transport}: an unknown id gives a reset event, then live events`, async (t) => {
      const topic = `reset-${transport}`;
      await engine.publish(topic, 'before the page');
      const context = await contextFor(t, browser);
      const page = await openConnectPage(context, pages, {
        src: `${engine.origin}/events`,
        options: { topics: [topic], transport, lastEventId: 'no-such-id', resumeKey: false },
      });
      const [reset] = await waitForEntries(page, 'reset');
      assert.deepEqual([reset.reason, reset.lastEventId], ['unknown-id', 'no-such-id']);
      const id = await engine.publish(topic, 'live');
      const got = await waitForEvents(page, 1);
      assert.deepEqual(got.map((e) => [e.type, e.data, e.lastEventId]), [['message', 'live', id]]);
      // The signal is not an application event.
      const recent = await page.evaluate(() => window.client.recent().map((e) => e.type));
      assert.deepEqual(recent, ['message']);
      assert.deepEqual(await problems(page), []);
    });
  }

  test('fetch: an id older than the history gives a reset with reason history-gap', async (t) => {
    const ids = [];
    for (let n = 1; n <= HISTORY + 2; n++) ids.push(await engine.publish('gap', `old ${n}`));
    const context = await contextFor(t, browser);
    const page = await openConnectPage(context, pages, {
      src: `${engine.origin}/events`,
      options: { topics: ['gap'], transport: 'fetch', lastEventId: ids[0], resumeKey: false },
    });
    const [reset] = await waitForEntries(page, 'reset');
    assert.deepEqual([reset.reason, reset.lastEventId], ['history-gap', ids[0]]);
    assert.deepEqual(await entries(page, 'event'), []);
  });
});
