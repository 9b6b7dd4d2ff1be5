'use strict';
// ssecast/react's useEventStream in Chromium: pages/react-app.jsx bundled with
// esbuild (React and react-dom from npm), rendered against the engine. The
// rendered state and data follow the stream; a parent re-rendering every 20 ms
// with new but equal options does not reconnect; an error shows, then clears;
// unmounting closes the stream.

const assert = require('node:assert/strict');
const path = require('node:path');
const { describe, test, before } = require('node:test');
const esbuild = require('esbuild');
const { resources, contextFor } = require('../lib/harness');
const { waitInPage } = require('../lib/browser');
const { errorReply } = require('../lib/gateway');

const REPO = path.resolve(__dirname, '../../..');

/** Bundles the React app the way an application's build would. */
async function bundleApp() {
  const result = await esbuild.build({
    entryPoints: [path.join(__dirname, '../pages/react-app.jsx')],
    bundle: true,
    write: false,
    format: 'esm',
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"production"' },
    alias: { 'ssecast/react': path.join(REPO, 'bindings-node/client/react.mjs') },
    nodePaths: (process.env.NODE_PATH ?? '').split(path.delimiter).filter(Boolean).map((p) => path.resolve(p)),
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

/** The text of `selector` once it equals `expected`. */
function waitForText(page, selector, expected) {
  return waitInPage(
    page,
    ([s, want]) => document.querySelector(s)?.textContent === want,
    [selector, expected],
  );
}

describe('React hook', () => {
  const res = resources();
  let pages;
  let browser;
  let engine;

  before(async () => {
    pages = await res.pages();
    pages.add('/react-app.js', await bundleApp());
    browser = await res.browser();
    engine = await res.engine(['--cors-origins', pages.origin]);
  });

  for (const transport of ['eventsource', 'fetch']) {
    test(`${transport}: rendered state follows the stream, one connection across renders`, async (t) => {
      // The first attempt is refused, so the error is rendered, then cleared. The
      // eventsource transport asks twice (EventSource, then a probe for the status).
      const refused = transport === 'eventsource' ? 2 : 1;
      const gateway = await res.gateway(engine.port, (request, index) =>
        index < refused ? errorReply(503, 'TOO_MANY_CONNECTIONS', 'deploying') : null,
      );
      const context = await contextFor(t, browser);
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (error) => errors.push(String(error)));
      await page.goto(pages.pageUrl('react.html', { src: `${gateway.origin}/events`, transport }));
      await waitForText(page, '#state', 'open');
      assert.deepEqual(await page.evaluate(() => window.errorsShown), [
        'the server answered 503: deploying',
      ]);

      await engine.publish('prices', JSON.stringify({ price: 1 }), { event: 'price' });
      await engine.publish('prices', 'not a price', { event: 'other' });
      const last = await engine.publish('prices', JSON.stringify({ price: 2 }), { event: 'price' });
      await waitForText(page, '#price', '2');
      await waitForText(page, '#last-id', last);

      // Many renders later, still the connection it opened after the refusal.
      const rendersBefore = await page.evaluate(() => window.renders);
      await waitInPage(page, (n) => window.renders >= n + 25, rendersBefore);
      assert.equal(gateway.gets().length, refused + 1, 'no reconnection on re-render');
      assert.equal((await engine.health()).connections, 1);
      assert.equal(await page.locator('#state').textContent(), 'open');

      await page.evaluate(() => window.hide());
      await waitInPage(page, () => document.querySelector('#gone') !== null);
      await engine.waitForHealth((h) => h.connections === 0, 'the unmounted stream to close');
      assert.deepEqual(errors, []);
    });
  }
});
