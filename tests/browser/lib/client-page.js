'use strict';
/**
 * Helpers for pages/connect.html, the page that runs the ssecast browser
 * client (bindings-node/client) and records what it reports.
 */

const { waitInPage } = require('./browser');

/**
 * Opens connect.html in a new tab of `context`; with `src` it connects at once.
 * Uncaught page errors are collected in `page.errors`.
 * @param {import('playwright-core').BrowserContext} context
 * @param {import('./pages').PageServer} pages
 * @param {{ src?: string, options?: object, tokens?: string, types?: string[] }} [setup]
 * @returns {Promise<import('playwright-core').Page>}
 */
async function openConnectPage(context, pages, { src, options, tokens, types } = {}) {
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (error) => page.errors.push(String(error)));
  const params = {};
  if (src) params.src = src;
  if (options) params.options = JSON.stringify(options);
  if (tokens) params.tokens = tokens;
  if (types) params.types = types.join(',');
  await page.goto(pages.pageUrl('connect.html', params));
  await waitInPage(page, () => window.ready === true);
  return page;
}

/** The page's recorded entries of `kind` (open, error, reset, state, event). */
function entries(page, kind) {
  return page.evaluate((k) => window.record.timeline.filter((e) => e.kind === k), kind);
}

/** Waits until the page recorded at least `count` entries of `kind`; returns them. */
function waitForEntries(page, kind, count = 1) {
  return waitInPage(
    page,
    ([k, n]) => {
      const got = window.record.timeline.filter((e) => e.kind === k);
      return got.length >= n && got;
    },
    [kind, count],
  );
}

/** Waits until the page holds an event with id `id`; returns every event. */
function waitForEventId(page, id) {
  return waitInPage(
    page,
    (last) => {
      const seen = window.record.timeline.filter((e) => e.kind === 'event');
      return seen.some((e) => e.lastEventId === last) && seen;
    },
    id,
  );
}

/** Uncaught errors and unhandled rejections the page saw, from both sides. */
async function problems(page) {
  const inPage = await page.evaluate(() => window.record.problems);
  return [...page.errors, ...inPage];
}

module.exports = {
  openConnectPage,
  entries,
  waitForEntries,
  waitForEventId,
  problems,
};
