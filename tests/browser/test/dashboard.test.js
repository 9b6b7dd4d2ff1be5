'use strict';
// The live dashboard of `ssecast --dashboard`, loaded from the engine itself:
// the engine's counters arrive every second over its own stream, and every
// chart draws them.

const assert = require('node:assert/strict');
const fs = require('node:fs/promises');
const path = require('node:path');
const { describe, test, before } = require('node:test');
const { resources, contextFor } = require('../lib/harness');
const { waitInPage } = require('../lib/browser');

/** Where the screenshot goes; `make test-browser` points it under build/. */
const OUTPUT = process.env.SSECAST_TEST_OUTPUT || path.resolve(__dirname, '../../../build/test-output');

/** The charts the page draws, by the id suffix of their canvas. */
const CHARTS = ['connections', 'topics', 'publish', 'delivery', 'bytes', 'slow'];

describe('the dashboard page', () => {
  const res = resources();
  let engine;
  let browser;

  before(async () => {
    engine = await res.engine(['--dashboard']);
    browser = await res.browser();
  });

  test('charts the engine counters it receives every second', async (t) => {
    const context = await contextFor(t, browser);
    const page = await context.newPage();
    await page.setViewportSize({ width: 1200, height: 820 });
    const pageErrors = [];
    const failed = [];
    page.on('pageerror', (error) => pageErrors.push(error));
    page.on('requestfailed', (request) => failed.push(request.url()));
    await page.goto(`${engine.origin}/dashboard`);
    await waitInPage(page, () => document.getElementById('status').textContent === 'open');

    // Traffic to chart: 20 publishes a second while the samples come in.
    let published = 0;
    const publisher = setInterval(() => {
      engine.publish('dashboard-test', `event ${published++}`).catch(() => {});
    }, 50);
    try {
      await waitInPage(page, () => Number(document.body.dataset.samples) >= 4);
      // The publishes show as a rate (the dashboard's own feed adds one a second).
      const rate = await waitInPage(page, () => {
        const text = document.getElementById('now-publish').textContent;
        return Number(text) >= 8 && text;
      });
      t.diagnostic(`publish rate shown: ${rate}/s`);
    } finally {
      clearInterval(publisher);
    }

    await fs.mkdir(OUTPUT, { recursive: true });
    const file = path.join(OUTPUT, 'dashboard.png');
    await page.screenshot({ path: file, fullPage: true });
    t.diagnostic(`screenshot: ${file}`);

    // Each chart holds points and has drawn its line in its own colour.
    for (const id of CHARTS) {
      const drawn = await page.$eval(`#chart-${id}`, (canvas) => {
        const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
        let coloured = 0;
        for (let i = 0; i < data.length; i += 4) {
          const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
          // The series colours are saturated; the grid and labels are greys.
          if (a > 200 && Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
        }
        return { points: Number(canvas.dataset.points), coloured, width: canvas.width };
      });
      assert.ok(drawn.points >= 3, `${id}: ${drawn.points} points`);
      assert.ok(drawn.width > 200, `${id}: canvas ${drawn.width} px wide`);
      assert.ok(drawn.coloured >= 10, `${id}: ${drawn.coloured} coloured pixels`);
    }
    // This page's stream is a connection; its topic and the test's exist.
    assert.ok(Number(await page.textContent('#now-connections')) >= 1);
    assert.ok(Number(await page.textContent('#now-topics')) >= 2);

    assert.deepEqual(pageErrors, []);
    assert.deepEqual(failed, []);
  });

  test('is not served without --dashboard', async () => {
    const plain = await res.engine([]);
    const response = await fetch(`${plain.origin}/dashboard`);
    assert.equal(response.status, 404);
  });
});
