'use strict';
// CORS as a browser enforces it: the engine allows one page origin; a page from
// that origin may open streams (with credentials too), a page from any other
// origin gets nothing.

const assert = require('node:assert/strict');
const { describe, test, before } = require('node:test');
const { resources, contextFor } = require('../lib/harness');
const { openClient, waitForEvents, waitInPage, events } = require('../lib/browser');

describe('cross-origin streams', () => {
  const res = resources();
  let allowed;
  let refused;
  let engine;
  let proxy;
  let browser;

  before(async () => {
    allowed = await res.pages();
    refused = await res.pages();
    engine = await res.engine(['--cors-origins', allowed.origin]);
    proxy = await res.proxy(engine.port);
    browser = await res.browser();
  });

  test('withCredentials from an allowed origin receives events and sends cookies', async (t) => {
    const context = await contextFor(t, browser);
    // Cookies ignore ports: this one belongs to the proxy's origin as well.
    await context.addCookies([{ name: 'session', value: 's3cret', url: proxy.origin }]);
    const first = proxy.requests.length;
    const src = `${proxy.origin}/events?topic=creds`;
    const withCreds = await openClient(context, allowed.clientUrl({ src, creds: '1' }));
    const without = await openClient(context, allowed.clientUrl({ src }));
    assert.equal(await withCreds.evaluate(() => window.record.withCredentials), true);
    const id = await engine.publish('creds', 'for credentialed eyes');
    for (const page of [withCreds, without]) {
      const [event] = await waitForEvents(page, 1);
      assert.deepEqual([event.data, event.lastEventId], ['for credentialed eyes', id]);
    }
    const [credRequest, plainRequest] = proxy.requests.slice(first);
    assert.equal(credRequest.headers.origin, allowed.origin);
    assert.equal(credRequest.headers.cookie, 'session=s3cret');
    assert.equal(plainRequest.headers.origin, allowed.origin);
    assert.equal(plainRequest.headers.cookie, undefined);
  });

  test('a page from an origin that is not allowed gets an error and no events', async (t) => {
    const context = await contextFor(t, browser);
    const src = `${engine.origin}/events?topic=guarded`;
    const intruder = await context.newPage();
    await intruder.goto(refused.clientUrl({ src }));
    // A refused stream fails for good: the EventSource closes and never retries.
    await waitInPage(intruder, () =>
      window.record.timeline.some((e) => e.kind === 'error' && e.readyState === EventSource.CLOSED),
    );
    const friend = await openClient(context, allowed.clientUrl({ src }));
    await engine.publish('guarded', 'not for intruders');
    await waitForEvents(friend, 1);
    assert.deepEqual(await events(intruder), []);
    assert.deepEqual(
      await intruder.evaluate(() => window.record.timeline.map((e) => e.kind)),
      ['error'],
    );
    assert.equal(await intruder.evaluate(() => window.source.readyState), 2);
  });
});
