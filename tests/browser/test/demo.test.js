'use strict';
// The demo page of `ssecast --demo`, loaded from the engine itself: ticks arrive
// live, the chart redraws, the form publishes and the event comes back.

const assert = require('node:assert/strict');
const fs = require('node:fs/promises');
const path = require('node:path');
const { describe, test, before } = require('node:test');
const { resources, contextFor } = require('../lib/harness');
const { waitInPage } = require('../lib/browser');

/** Where the screenshot goes; `make test-browser` points it under build/. */
const OUTPUT = process.env.SSECAST_TEST_OUTPUT || path.resolve(__dirname, '../../../build/test-output');

describe('the demo page', () => {
  const res = resources();
  let engine;
  let browser;

  before(async () => {
    engine = await res.engine(['--demo']);
    browser = await res.browser();
  });

  test('shows live ticks, redraws its chart and publishes from its form', async (t) => {
    const context = await contextFor(t, browser);
    const page = await context.newPage();
    await page.setViewportSize({ width: 1100, height: 760 });
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error));
    // No console error and no failed request (a missing /favicon.ico was one).
    const failures = [];
    page.on('console', (message) => message.type() === 'error' && failures.push(message.text()));
    page.on('response', (res) => res.status() >= 400 && failures.push(`${res.status()} ${res.url()}`));
    await page.goto(`${engine.origin}/`);
    await waitInPage(page, () => document.getElementById('status').textContent === 'open');

    // Ticks arrive: the log lists them and the counters follow.
    await waitInPage(
      page,
      () => document.querySelectorAll('#log li .type').length >= 2,
    );
    const ticks = await page.$$eval('#log li', (items) =>
      items.map((li) => li.querySelector('.type').textContent.trim()),
    );
    assert.ok(ticks.every((type) => type === 'tick'), `only ticks so far: ${ticks}`);
    assert.ok(Number(await page.textContent('#total')) >= 2);
    await waitInPage(page, () => Number(document.getElementById('clients').textContent) >= 1);

    // The chart takes a sample every second and draws it.
    const samples = Number(await waitInPage(page, () => document.body.dataset.samples));
    const chartBefore = await page.$eval('#chart', (canvas) => canvas.toDataURL());
    await waitInPage(page, (n) => Number(document.body.dataset.samples) >= n + 2, samples);
    const chartAfter = await page.$eval('#chart', (canvas) => canvas.toDataURL());
    assert.notEqual(chartAfter, chartBefore, 'the chart changed as samples came in');
    assert.ok(await page.$eval('#chart', (canvas) => {
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      return data.some((value, i) => i % 4 === 3 && value > 0);
    }), 'the chart has drawn pixels');
    assert.match(await page.textContent('#rate'), /^\d+$/);
    // The chart fills its panel's plot area and labels its axes (drawn text, so
    // the check is that the plot is large and the page ships its icon inline).
    const box = await page.$eval('#chart', (canvas) => {
      const plot = canvas.parentElement.getBoundingClientRect();
      const own = canvas.getBoundingClientRect();
      return { width: own.width, height: own.height, plotWidth: plot.width, plotHeight: plot.height };
    });
    assert.ok(box.height >= 200 && box.height === box.plotHeight && box.width === box.plotWidth,
      `chart size ${JSON.stringify(box)}`);
    assert.match(await page.getAttribute('link[rel=icon]', 'href'), /^data:image\/svg\+xml,/);

    // The form publishes to the `demo` topic; the page's stream brings it back.
    const text = 'hello from headless chromium ✓ 🚀';
    await page.fill('#event', 'browser-test');
    await page.fill('#data', text);
    await page.click('#publish button[type=submit]');
    const result = await waitInPage(page, () => {
      const shown = document.getElementById('result').textContent;
      return shown.startsWith('published as ') || shown.startsWith('error') ? shown : false;
    });
    const [, id] = result.match(/^published as (\S+)$/) || [];
    assert.ok(id, `the form reported an id: ${result}`);
    const logged = await waitInPage(
      page,
      (want) =>
        [...document.querySelectorAll('#log li')]
          .map((li) => li.textContent)
          .find((line) => line.startsWith(`#${want} `)),
      id,
    );
    assert.equal(logged, `#${id} browser-test ${text}`);

    await fs.mkdir(OUTPUT, { recursive: true });
    const file = path.join(OUTPUT, 'demo.png');
    await page.screenshot({ path: file, fullPage: true });
    t.diagnostic(`screenshot: ${file}`);
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(failures, []);
  });
});
