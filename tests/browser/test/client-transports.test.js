'use strict';
// The ssecast browser client (bindings-node/client) in Chromium against the
// engine: each transport delivers every shared wire vector as published; the
// fetch transport sends Authorization and Last-Event-ID and takes a fresh token
// from getToken on each reconnect; a 401 stops the client unless getToken
// gives a new token; the classic-script build works from a <script> tag.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { describe, test, before } = require('node:test');
const { resources, contextFor } = require('../lib/harness');
const { waitForEvents, waitForOpens, waitInPage } = require('../lib/browser');
const { errorReply } = require('../lib/gateway');
const {
  openConnectPage,
  entries,
  waitForEntries,
  waitForEventId,
  problems,
} = require('../lib/client-page');

const vectors = JSON.parse(
  fs.readFileSync(path.resolve(__dirname, '../../vectors/events.json'), 'utf8'),
);
const wireVectors = vectors.vectors.filter((v) => v.wire);
/** The engine flags of the vectors' configuration (`max_event_bytes` -> `--max-event-bytes`). */
const vectorFlags = Object.entries(vectors.config).flatMap(([key, value]) => [
  `--${key.replaceAll('_', '-')}`,
  value,
]);

/** Quick reconnection for tests that cut or refuse streams. */
const FAST = { minDelay: 50, initialDelay: 200, maxDelay: 1000 };

describe('browser client transports', () => {
  const res = resources();
  let pages;
  let browser;
  let engine;

  before(async () => {
    pages = await res.pages();
    browser = await res.browser();
    engine = await res.engine(['--cors-origins', pages.origin, ...vectorFlags]);
  });

  for (const transport of ['eventsource', 'fetch']) {
    test(`${transport}: every shared wire vector arrives as published`, async (t) => {
      const context = await contextFor(t, browser);
      const topics = [...new Set(wireVectors.map((v) => v.publish.topic ?? 'default'))];
      const types = [...new Set(wireVectors.map((v) => v.publish.event).filter(Boolean))];
      const page = await openConnectPage(context, pages, {
        src: `${engine.origin}/events`,
        options: { topics, transport, resumeKey: false },
        types,
      });
      await waitForOpens(page);
      const expected = [];
      for (const { publish } of wireVectors) {
        const { topic = 'default', data, event, id, retry } = publish;
        const returned = await engine.publish(topic, data, { event, id, retry });
        expected.push({
          type: event ?? 'message',
          data: data.replace(/\r\n|\r/g, '\n'),
          lastEventId: id ?? returned,
        });
      }
      const got = await waitForEvents(page, expected.length);
      assert.deepEqual(
        got.map(({ type, data, lastEventId }) => ({ type, data, lastEventId })),
        expected,
      );
      const state = await page.evaluate(() => ({
        transport: window.client.transport,
        lastEventId: window.client.lastEventId,
        recent: window.client.recent(3).map((e) => e.lastEventId),
      }));
      assert.equal(state.transport, transport);
      assert.equal(state.lastEventId, expected.at(-1).lastEventId);
      assert.deepEqual(state.recent, expected.slice(-3).map((e) => e.lastEventId));
      assert.deepEqual(await problems(page), []);
    });
  }

  test('fetch: Authorization from getToken, refreshed on each reconnect, with Last-Event-ID', async (t) => {
    const gateway = await res.gateway(engine.port);
    const context = await contextFor(t, browser);
    const page = await openConnectPage(context, pages, {
      src: `${gateway.origin}/events`,
      options: { topics: ['auth'], transport: 'fetch', resumeKey: false, ...FAST },
      tokens: 'sequence',
    });
    await waitForOpens(page);
    const first = await engine.publish('auth', 'before the cut');
    await waitForEvents(page, 1);
    assert.equal(gateway.cut(), 1);
    const missed = await engine.publish('auth', 'while cut');
    await waitForOpens(page, 2);
    const live = await engine.publish('auth', 'after');
    const got = await waitForEventId(page, live);
    assert.deepEqual(got.map((e) => e.lastEventId), [first, missed, live]);

    const streams = gateway.gets();
    assert.deepEqual(
      streams.map((r) => [r.headers.authorization, r.headers['last-event-id']]),
      [
        ['Bearer token-1', undefined],
        ['Bearer token-2', first],
      ],
    );
    assert.ok(streams.every((r) => !new URL(r.url, gateway.origin).searchParams.has('token')));
    assert.deepEqual(await problems(page), []);
  });

  test('eventsource: the token goes in the token query parameter', async (t) => {
    const gateway = await res.gateway(engine.port);
    const context = await contextFor(t, browser);
    const page = await openConnectPage(context, pages, {
      src: `${gateway.origin}/events`,
      options: { topics: ['auth-es'], transport: 'eventsource', token: 'abc', resumeKey: false },
    });
    await waitForOpens(page);
    const url = new URL(gateway.gets()[0].url, gateway.origin);
    assert.deepEqual(url.searchParams.getAll('topic'), ['auth-es']);
    assert.equal(url.searchParams.get('token'), 'abc');
    assert.equal(gateway.gets()[0].headers.authorization, undefined);
  });

  test('401: a fresh token from getToken gets in; the same token or a static one stops for good', async (t) => {
    // The gateway refuses the first token, as a server refuses an expired one.
    const refuseFirst = (request) =>
      request.headers.authorization === 'Bearer token-1' || request.url.includes('token=token-1')
        ? errorReply(401, 'UNAUTHORIZED', 'token expired')
        : null;
    const refuseAll = () => errorReply(401, 'UNAUTHORIZED', 'no entry');
    const context = await contextFor(t, browser);
    const open = async (gateway, setup) => {
      const page = await openConnectPage(context, pages, {
        src: `${gateway.origin}/events`,
        ...setup,
        options: { topics: ['auth-401'], resumeKey: false, ...FAST, ...setup.options },
      });
      return page;
    };

    for (const transport of ['fetch', 'eventsource']) {
      const gateway = await res.gateway(engine.port, refuseFirst);
      const page = await open(gateway, { tokens: 'sequence', options: { transport } });
      await waitForOpens(page);
      const [error] = await entries(page, 'error');
      assert.deepEqual(
        [error.status, error.code, error.fatal],
        [401, 'UNAUTHORIZED', false],
        `${transport}: the first refusal is not final`,
      );
      const id = await engine.publish('auth-401', 'in with token-2');
      await waitForEventId(page, id);
    }

    for (const [name, setup, requests] of [
      ['fetch, static token', { options: { transport: 'fetch', token: 'static' } }, 1],
      ['fetch, getToken gives the same token', { tokens: 'same', options: { transport: 'fetch' } }, 1],
      // EventSource hides the status: one more request (the probe) reads it.
      ['eventsource, static token', { options: { transport: 'eventsource', token: 'static' } }, 2],
      ['fetch, fresh tokens all refused', { tokens: 'sequence', options: { transport: 'fetch' } }, 2],
    ]) {
      const gateway = await res.gateway(engine.port, refuseAll);
      const page = await open(gateway, setup);
      await waitInPage(page, () => window.client.state === 'closed');
      const errors = await entries(page, 'error');
      assert.equal(errors.at(-1).fatal, true, name);
      assert.equal(errors.at(-1).status, 401, name);
      assert.equal(gateway.gets().length, requests, `${name}: requests made`);
      assert.deepEqual(await entries(page, 'open'), [], name);
      assert.deepEqual(await problems(page), [], name);
    }
  });

  test('the classic script gives a global ssecast.connect', async (t) => {
    const context = await contextFor(t, browser);
    const page = await context.newPage();
    await page.goto(pages.pageUrl('classic.html', {
      src: `${engine.origin}/events?topic=classic`,
    }));
    await waitInPage(page, () => window.opened === true);
    const id = await engine.publish('classic', 'via the global');
    const got = await waitInPage(page, () => window.received.length > 0 && window.received);
    assert.deepEqual(got, [{ data: 'via the global', lastEventId: id }]);
  });
});
