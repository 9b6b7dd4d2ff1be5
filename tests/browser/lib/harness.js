'use strict';
/**
 * Resources a test file shares (engines, page servers, proxies, Chromium),
 * started on demand and closed in reverse order after the file's tests.
 */

const { after } = require('node:test');
const { Engine } = require('./engine');
const { PageServer } = require('./pages');
const { CuttableProxy } = require('./proxy');
const { Gateway } = require('./gateway');
const { BadServer } = require('./bad-servers');
const { BufferingProxy } = require('./buffering-proxy');
const { launchChromium, newContext } = require('./browser');

/**
 * Registers an `after` hook for the calling test file and returns starters whose
 * results it closes.
 */
function resources() {
  const closers = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });
  const owned = (value, close) => {
    closers.push(close);
    return value;
  };
  return {
    /** An ssecast process started with `args`. */
    engine: async (args) => {
      const engine = await Engine.start(args);
      return owned(engine, () => engine.stop());
    },
    /** A server for tests/browser/pages on its own origin. */
    pages: async () => {
      const pages = await PageServer.start();
      return owned(pages, () => pages.close());
    },
    /** A cuttable proxy in front of `targetPort`. */
    proxy: async (targetPort) => {
      const proxy = await CuttableProxy.start(targetPort);
      return owned(proxy, () => proxy.close());
    },
    /** A recording HTTP proxy in front of `targetPort` that may answer GETs itself. */
    gateway: async (targetPort, answer) => {
      const gateway = await Gateway.start(targetPort, answer);
      return owned(gateway, () => gateway.close());
    },
    /** A misbehaving server of `kind` (see BadServer). */
    badServer: async (kind) => {
      const bad = await BadServer.start(kind);
      return owned(bad, () => bad.close());
    },
    /** A proxy in front of `targetPort` that sends each response only once it is complete. */
    bufferingProxy: async (targetPort) => {
      const proxy = await BufferingProxy.start(targetPort);
      return owned(proxy, () => proxy.close());
    },
    /** Headless Chromium. */
    browser: async () => {
      const browser = await launchChromium();
      return owned(browser, () => browser.close());
    },
  };
}

/**
 * A fresh browser context for one test, closed when that test ends.
 * @param {import('node:test').TestContext} t
 * @param {import('playwright-core').Browser} browser
 */
async function contextFor(t, browser) {
  const context = await newContext(browser);
  t.after(() => context.close());
  return context;
}

module.exports = { resources, contextFor };
