'use strict';
// Access control as a browser meets it: tokens made by the `jsonwebtoken` npm
// package reach the engine in a cookie (a cross-origin page with
// withCredentials) or in the query string; a refused page's EventSource stays
// closed; a stream whose token expires ends, and the browser resumes it with a
// refreshed cookie and Last-Event-ID without losing an event.

const assert = require('node:assert/strict');
const { describe, test, before } = require('node:test');
const jwt = require('jsonwebtoken');
const { resources, contextFor } = require('../lib/harness');
const { openClient, waitForEvents, waitForOpens, waitInPage, events } = require('../lib/browser');

const SECRET = 'browser-suite-secret-0123456789abcdef-0123';
/** The engine accepts a token this long past its exp (clock skew). */
const LEEWAY_S = 30;

/** A token for user `sub`'s notifications, valid for `seconds`. */
function userToken(sub, seconds = 600) {
  const exp = Math.floor(Date.now() / 1000) + seconds;
  return jwt.sign({ sub, exp, ssecast: { subscribe: ['user/{sub}/notifications'] } }, SECRET);
}

/** Resolves once the page's EventSource reported an error in `readyState`. */
function waitForError(page, readyState) {
  return waitInPage(
    page,
    (state) => window.record.timeline.some((e) => e.kind === 'error' && e.readyState === state),
    readyState,
  );
}

describe('access control in a browser', () => {
  const res = resources();
  let pages;
  let engine;
  let proxy;
  let browser;

  before(async () => {
    pages = await res.pages();
    engine = await res.engine([
      '--jwt-secret', SECRET,
      '--cors-origins', pages.origin,
      '--retry-ms', '1000',
      '--keepalive-ms', '1000', // the shortest interval: expiry noticed within 250 ms
    ]);
    proxy = await res.proxy(engine.port);
    browser = await res.browser();
  });

  test('a cross-origin page streams with a cookie and withCredentials', async (t) => {
    const context = await contextFor(t, browser);
    // Set for the engine's host, as the app's own domain would set it.
    await context.addCookies([{ name: 'ssecast_token', value: userToken('42'), url: proxy.origin }]);
    const src = `${proxy.origin}/events?topic=user/42/notifications`;
    const page = await openClient(context, pages.clientUrl({ src, creds: '1' }));
    const id = await engine.publish('user/42/notifications', 'cookie works');
    const [event] = await waitForEvents(page, 1);
    assert.deepEqual([event.data, event.lastEventId], ['cookie works', id]);
    // Without withCredentials the cookie stays home: refused, closed for good.
    const bare = await context.newPage();
    await bare.goto(pages.clientUrl({ src }));
    await waitForError(bare, 2);
    assert.deepEqual(await events(bare), []);
  });

  test('a page streams with a token in the query string', async (t) => {
    const context = await contextFor(t, browser);
    const src = `${engine.origin}/events?topic=user/7/notifications&token=${userToken('7')}`;
    const page = await openClient(context, pages.clientUrl({ src }));
    await engine.publish('user/7/notifications', 'query works');
    const [event] = await waitForEvents(page, 1);
    assert.equal(event.data, 'query works');
  });

  test('a page refused with 403 stays closed and never retries', async (t) => {
    const context = await contextFor(t, browser);
    const first = proxy.requests.length;
    // User 7's token, user 8's topic.
    const token7 = userToken('7');
    const forbidden = `${proxy.origin}/events?topic=user/8/notifications&token=${token7}`;
    const intruder = await context.newPage();
    await intruder.goto(pages.clientUrl({ src: forbidden }));
    await waitForError(intruder, 2);
    // A page that is allowed, opened after, receives an event meanwhile.
    const allowed = `${proxy.origin}/events?topic=user/8/notifications&token=${userToken('8')}`;
    const friend = await openClient(context, pages.clientUrl({ src: allowed }));
    await engine.publish('user/8/notifications', 'for user 8 only');
    await waitForEvents(friend, 1);
    assert.deepEqual(await events(intruder), []);
    assert.deepEqual(
      await intruder.evaluate(() => window.record.timeline.map((e) => e.kind)),
      ['error'],
    );
    assert.equal(await intruder.evaluate(() => window.source.readyState), 2);
    const tried = proxy.requests.slice(first).filter((r) => r.target.includes(token7));
    assert.equal(tried.length, 1, 'the refused page asked once');
  });

  test('an expired stream ends; the browser resumes with the refreshed cookie, missing nothing', async (t) => {
    const context = await contextFor(t, browser);
    // Accepted for three more seconds (its exp lies within the leeway).
    const short = userToken('5', 3 - LEEWAY_S);
    await context.addCookies([{ name: 'ssecast_token', value: short, url: engine.origin }]);
    const src = `${engine.origin}/events?topic=user/5/notifications`;
    const page = await openClient(context, pages.clientUrl({ src, creds: '1' }));
    const firstId = await engine.publish('user/5/notifications', 'before expiry');
    await waitForEvents(page, 1);
    // The app refreshes the cookie before the old token runs out.
    await context.addCookies([{ name: 'ssecast_token', value: userToken('5'), url: engine.origin }]);
    // The stream ends at the expiry: EventSource reports it and reconnects.
    await waitForError(page, 0);
    const missedId = await engine.publish('user/5/notifications', 'while reconnecting');
    await waitForOpens(page, 2);
    const got = await waitForEvents(page, 2);
    assert.deepEqual(
      got.map((e) => [e.lastEventId, e.data]),
      [
        [firstId, 'before expiry'],
        [missedId, 'while reconnecting'],
      ],
    );
  });
});

