'use strict';
/**
 * Debian's Chromium driven by playwright-core, and helpers that read what the
 * test client page (pages/client.html) recorded.
 */

const { chromium } = require('playwright-core');

/** Where Debian installs Chromium; playwright cannot download browsers here. */
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Headless, as root, and without any traffic beyond 127.0.0.1. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** How long any wait on page state may take before the test fails. */
const WAIT_MS = 15000;

/**
 * Launches Chromium. playwright gives each launch a fresh temporary
 * --user-data-dir and deletes it on close.
 * @returns {Promise<import('playwright-core').Browser>}
 */
function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 30000 });
}

/**
 * A new browser context (its own cookies, storage and connection pool) whose
 * waits time out after WAIT_MS.
 * @param {import('playwright-core').Browser} browser
 */
async function newContext(browser) {
  const context = await browser.newContext();
  context.setDefaultTimeout(WAIT_MS);
  return context;
}

/**
 * Waits until `predicate(arg)`, evaluated in the page, is truthy; returns its value.
 * Polls on a timer rather than animation frames, which background tabs throttle.
 */
async function waitInPage(page, predicate, arg) {
  const handle = await page.waitForFunction(predicate, arg, { polling: 50 });
  return handle.jsonValue();
}

/** The events the client page has received, in order. */
function events(page) {
  return page.evaluate(() => window.record.timeline.filter((e) => e.kind === 'event'));
}

/** Waits until the client page holds at least `count` events; returns them all. */
function waitForEvents(page, count) {
  return waitInPage(
    page,
    (n) => {
      const got = window.record.timeline.filter((e) => e.kind === 'event');
      return got.length >= n && got;
    },
    count,
  );
}

/** Waits until the client page's EventSource has opened `count` times. */
function waitForOpens(page, count = 1) {
  return waitInPage(
    page,
    (n) => window.record.timeline.filter((e) => e.kind === 'open').length >= n,
    count,
  );
}

/**
 * Opens the client page at `url` in a new tab and waits for its stream to open.
 * @returns {Promise<import('playwright-core').Page>}
 */
async function openClient(context, url) {
  const page = await context.newPage();
  await page.goto(url);
  await waitForOpens(page);
  return page;
}

module.exports = {
  CHROMIUM,
  FLAGS,
  launchChromium,
  newContext,
  waitInPage,
  events,
  waitForEvents,
  waitForOpens,
  openClient,
};
