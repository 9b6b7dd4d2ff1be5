// The browser client's reconnection delays (client/backoff.mjs of the installed
// package): full jitter between the floor and a doubling, capped ceiling,
// Retry-After honoured and bounded, reset after a healthy stream.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const packageDir = path.dirname(require.resolve('ssecast/package.json'));
const { Backoff, MAX_RETRY_AFTER_MS, parseRetryAfter } = await import(
  pathToFileURL(path.join(packageDir, 'client', 'backoff.mjs')).href
);

const settings = { minDelay: 100, initialDelay: 1000, maxDelay: 8000 };

/** The delays of `count` failures in a row when the random source always gives `r`. */
function delays(r, count, retryAfterMs) {
  const backoff = new Backoff({ ...settings, random: () => r });
  return Array.from({ length: count }, () => backoff.next(retryAfterMs));
}

test('delays lie between the floor and a ceiling that doubles up to the cap', () => {
  assert.deepEqual(delays(0, 6), [100, 100, 100, 100, 100, 100]);
  assert.deepEqual(delays(0.999999, 6), [1000, 2000, 4000, 8000, 8000, 8000]);
  assert.deepEqual(delays(0.5, 3), [550, 1050, 2050]);
  // Math.random: always within the bounds of its step.
  const backoff = new Backoff(settings);
  for (let step = 0; step < 50; step++) {
    const delay = backoff.next();
    const ceiling = Math.min(settings.maxDelay, settings.initialDelay * 2 ** step);
    assert.ok(delay >= 100 && delay <= ceiling, `step ${step}: ${delay}`);
  }
});

test('reset() after a healthy stream starts from the first step again', () => {
  const backoff = new Backoff({ ...settings, random: () => 0.999999 });
  backoff.next();
  backoff.next();
  assert.equal(backoff.attempt, 2);
  backoff.reset();
  assert.equal(backoff.attempt, 0);
  assert.equal(backoff.next(), 1000);
});

test('the server retry field replaces the first step', () => {
  const backoff = new Backoff({ ...settings, random: () => 0.999999 });
  backoff.base = 250;
  assert.deepEqual([backoff.next(), backoff.next(), backoff.next()], [250, 500, 1000]);
});

test('Retry-After comes first, then the jitter; an absurd one is bounded', () => {
  assert.deepEqual(delays(0, 2, 3000), [3100, 3100]);
  assert.deepEqual(delays(0.999999, 2, 3000), [4000, 5000]);
  assert.equal(delays(0, 1, 10 ** 12)[0], MAX_RETRY_AFTER_MS + 100);
});

test('Retry-After is read as seconds or as an HTTP date', () => {
  const now = Date.parse('Tue, 01 Dec 2026 10:00:00 GMT');
  assert.equal(parseRetryAfter('5', now), 5000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Tue, 01 Dec 2026 10:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Tue, 01 Dec 2026 09:00:00 GMT', now), 0);
  for (const junk of [null, undefined, '', '-1', '1.5', 'soon']) {
    assert.equal(parseRetryAfter(junk, now), 0, String(junk));
  }
});
