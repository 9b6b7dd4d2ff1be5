'use strict';
// The ssecast browser client when things go wrong, in Chromium: a stream cut
// mid-flow resumes with no gap and no duplicate; a 503 storm is waited out
// with backoff (Retry-After honoured), then every event missed arrives; bad
// servers (one byte then close, 200 with the wrong content type) and a
// getToken that throws or hangs cause neither a tight reconnect loop nor an
// unhandled rejection.

const assert = require('node:assert/strict');
const { describe, test, before } = require('node:test');
const { resources, contextFor } = require('../lib/harness');
const { waitForEvents, waitForOpens } = require('../lib/browser');
const { errorReply } = require('../lib/gateway');
const {
  openConnectPage,
  entries,
  waitForEntries,
  waitForEventId,
  problems,
} = require('../lib/client-page');

const TRANSPORTS = ['eventsource', 'fetch'];
const BACKOFF = { minDelay: 100, initialDelay: 200, maxDelay: 800 };
/** Timer slack between when the page schedules an attempt and when the server sees it. */
const SLACK_MS = 15;

/** The longest delay the backoff may choose for the n-th failure in a row (from 1). */
function ceiling(n, { initialDelay, maxDelay } = BACKOFF) {
  return Math.min(maxDelay, initialDelay * 2 ** (n - 1));
}

/**
 * Groups request times into attempts: the eventsource transport follows a
 * refused EventSource with one probe request at once.
 */
function attemptStarts(times) {
  const starts = [];
  for (const at of times) if (!starts.length || at - starts.at(-1) > 50) starts.push(at);
  return starts;
}

const gaps = (times) => times.slice(1).map((at, i) => at - times[i]);

describe('browser client reconnection', () => {
  const res = resources();
  let pages;
  let browser;
  let engine;

  before(async () => {
    pages = await res.pages();
    browser = await res.browser();
    engine = await res.engine(['--cors-origins', pages.origin]);
  });

  for (const transport of TRANSPORTS) {
    test(`${transport}: a stream cut twice mid-flow resumes with every event once, in order`, async (t) => {
      const topic = `cut-${transport}`;
      // page -> TCP proxy (cut) -> gateway (records each request) -> engine
      const gateway = await res.gateway(engine.port);
      const proxy = await res.proxy(gateway.port);
      const context = await contextFor(t, browser);
      const page = await openConnectPage(context, pages, {
        src: `${proxy.origin}/events`,
        options: { topics: [topic], transport, resumeKey: false, ...BACKOFF },
      });
      await waitForOpens(page);
      const publishing = engine.publishSeries(topic, 60);
      for (const [cut, count] of [15, 40].entries()) {
        await waitForEvents(page, count);
        assert.ok(proxy.cut() >= 1, `cut ${cut + 1} found an open connection`);
        const publishedAtCut = publishing.ids.length;
        await waitForOpens(page, cut + 2);
        assert.ok(publishing.ids.length > publishedAtCut, 'events were published during the cut');
      }
      const ids = await publishing.done;
      const got = await waitForEventId(page, ids.at(-1));
      assert.deepEqual(got.map((e) => e.lastEventId), ids, 'every event exactly once, in order');

      // Each reconnection asked for what followed the last event the page held.
      const timeline = await page.evaluate(() => window.record.timeline);
      const resumedFrom = [];
      let lastSeen;
      for (const entry of timeline) {
        if (entry.kind === 'event') lastSeen = entry.lastEventId;
        if (entry.kind === 'state' && entry.state === 'reconnecting') resumedFrom.push(lastSeen);
      }
      const sent = gateway.gets().map((r) =>
        transport === 'fetch'
          ? r.headers['last-event-id']
          : new URL(r.url, gateway.origin).searchParams.get('lastEventId') ?? undefined,
      );
      assert.deepEqual(sent, [undefined, ...resumedFrom]);
      assert.deepEqual(await problems(page), []);
    });
  }

  for (const transport of TRANSPORTS) {
    for (const retryAfter of [1, null]) {
      const name = retryAfter ? `Retry-After: ${retryAfter}` : 'no Retry-After';
      test(`${transport}: a 503 storm (${name}) is waited out, then nothing is missed`, async (t) => {
        const topic = `storm-${transport}-${retryAfter}`;
        const REFUSALS = 3;
        // The eventsource transport reads each refusal twice (EventSource, then the probe).
        const perAttempt = transport === 'eventsource' ? 2 : 1;
        let storming = false;
        let refused = 0;
        const gateway = await res.gateway(engine.port, () => {
          if (!storming || refused >= REFUSALS * perAttempt) return null;
          refused += 1;
          const headers = retryAfter ? { 'retry-after': String(retryAfter) } : {};
          return errorReply(503, 'TOO_MANY_CONNECTIONS', 'deploying', headers);
        });
        const context = await contextFor(t, browser);
        const page = await openConnectPage(context, pages, {
          src: `${gateway.origin}/events`,
          options: { topics: [topic], transport, resumeKey: false, ...BACKOFF },
        });
        await waitForOpens(page);
        const ids = [await engine.publish(topic, 'before')];
        await waitForEvents(page, 1);

        storming = true;
        assert.equal(gateway.cut(), 1);
        ids.push(await engine.publish(topic, 'during the storm'));
        await waitForOpens(page, 2);
        ids.push(await engine.publish(topic, 'after'));
        const got = await waitForEventId(page, ids.at(-1));
        assert.deepEqual(got.map((e) => e.lastEventId), ids, 'no gap, no duplicate');

        // The attempts: the one cut, REFUSALS refused, the one that got in.
        const times = gateway.gets().slice(1).map((r) => r.at);
        const starts = attemptStarts(times);
        assert.equal(starts.length, REFUSALS + 1, `attempts at ${starts.map(Math.round)}`);
        assert.equal(times.length, REFUSALS * perAttempt + 1);
        const announced = (await entries(page, 'state'))
          .filter((s) => s.state === 'reconnecting')
          .map((s) => s.delay);
        assert.equal(announced.length, REFUSALS + 1, 'one wait per failure');
        // The cut itself is a network error for fetch (the body ended mid-chunk).
        const refusals = (await entries(page, 'error'))
          .filter((e) => e.failure === 'status')
          .map((e) => [e.status, e.code, e.fatal]);
        assert.deepEqual(refusals, Array(REFUSALS).fill([503, 'TOO_MANY_CONNECTIONS', false]));
        // The first wait follows the cut; each later one a refusal, and lasts
        // at least the Retry-After plus the floor, at most that plus the ceiling.
        const floor = (retryAfter ?? 0) * 1000 + BACKOFF.minDelay;
        announced.slice(1).forEach((delay, i) => {
          assert.ok(delay >= floor, `wait ${i + 1}: ${delay} ms >= ${floor}`);
          const most = (retryAfter ?? 0) * 1000 + ceiling(i + 2);
          assert.ok(delay <= most, `wait ${i + 1}: ${delay} ms <= ${most}`);
        });
        gaps(starts).forEach((gap, i) => {
          assert.ok(gap >= announced[i + 1] - SLACK_MS, `gap ${i + 1}: ${gap} ms, announced ${announced[i + 1]}`);
        });
        t.diagnostic(`waits ${announced.join(', ')} ms; attempts ${gaps(starts).map(Math.round).join(', ')} ms apart`);
        assert.deepEqual(await problems(page), []);
      });
    }
  }

  for (const kind of ['one-byte', 'wrong-type']) {
    for (const transport of TRANSPORTS) {
      test(`${transport}: a server that answers ${kind} gets backoff, not a loop`, async (t) => {
        const bad = await res.badServer(kind);
        const context = await contextFor(t, browser);
        const page = await openConnectPage(context, pages, {
          src: `${bad.origin}/events`,
          options: { topics: ['bad'], transport, resumeKey: false, ...BACKOFF },
        });
        const WAITS = 6;
        const states = await waitForEntries(page, 'state', 2 * WAITS);
        const announced = states.filter((s) => s.state === 'reconnecting').map((s) => s.delay);
        // EventSource refused by a wrong type is followed by its probe, however
        // late a loaded machine runs it: attempts are pairs of requests.
        const perAttempt = transport === 'eventsource' && kind === 'wrong-type' ? 2 : 1;
        const starts = perAttempt === 2 ? bad.hits.filter((_, i) => i % 2 === 0) : attemptStarts(bad.hits);
        // Up to the attempt the page is making now; the server may not have seen it yet.
        assert.ok(
          starts.length >= WAITS && starts.length <= WAITS + 1,
          `${starts.length} attempts for ${WAITS} waits`,
        );
        assert.ok(bad.hits.length <= starts.length * perAttempt, `${bad.hits.length} requests`);
        announced.forEach((delay, i) => {
          assert.ok(delay >= BACKOFF.minDelay && delay <= ceiling(i + 1), `wait ${i + 1}: ${delay} ms`);
        });
        gaps(starts).forEach((gap, i) => {
          assert.ok(gap >= announced[i] - SLACK_MS, `gap ${i + 1}: ${gap} ms, announced ${announced[i]}`);
        });
        const errors = await entries(page, 'error');
        const expected = kind === 'one-byte' ? ['network', undefined] : ['content-type', 200];
        for (const error of errors) {
          assert.deepEqual([error.failure, error.status, error.fatal], [...expected, false]);
        }
        assert.equal(await page.evaluate(() => window.client.state === 'closed'), false);
        assert.deepEqual(await problems(page), []);
      });
    }
  }

  for (const behaviour of ['throws', 'rejects', 'hangs']) {
    test(`fetch: a getToken that ${behaviour} is retried with backoff, never unhandled`, async (t) => {
      const context = await contextFor(t, browser);
      const TOKEN_TIMEOUT = 300;
      const page = await openConnectPage(context, pages, {
        src: `${engine.origin}/events`,
        options: {
          topics: ['token'],
          transport: 'fetch',
          resumeKey: false,
          tokenTimeout: TOKEN_TIMEOUT,
          ...BACKOFF,
        },
        tokens: behaviour,
      });
      const errors = await waitForEntries(page, 'error', 4);
      const starts = errors.map((e) => e.at);
      for (const error of errors) {
        assert.equal(error.failure, 'token');
        assert.equal(error.fatal, false);
        assert.match(error.message, behaviour === 'hangs' ? /did not settle within 300 ms/ : /token service is down/);
      }
      const least = BACKOFF.minDelay + (behaviour === 'hangs' ? TOKEN_TIMEOUT : 0);
      gaps(starts).forEach((gap, i) => assert.ok(gap >= least - SLACK_MS, `gap ${i + 1}: ${gap} ms`));
      assert.deepEqual(await entries(page, 'open'), []);
      await page.evaluate(() => window.client.close());
      assert.deepEqual(await problems(page), []);
    });
  }
});
