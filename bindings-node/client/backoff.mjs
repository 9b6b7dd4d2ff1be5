/**
 * When to try again: exponential backoff with full jitter, a floor, a cap and
 * the server's `Retry-After` honoured.
 * @module
 */

/** The longest `Retry-After` obeyed (ten minutes); longer ones are cut to it. */
export const MAX_RETRY_AFTER_MS = 600_000;

/**
 * Reconnection delays. The n-th consecutive failure (from 0) waits a random
 * time between `minDelay` and `min(maxDelay, base * 2^n)` ("full jitter", so
 * clients cut at the same moment do not come back at the same moment); a
 * `Retry-After` adds that wait in front. `reset()` after a healthy stream
 * starts again from the first step.
 */
export class Backoff {
  #attempt = 0;

  /**
   * @param {{ minDelay: number, initialDelay: number, maxDelay: number,
   *   random?: () => number }} options delays in milliseconds; `random`
   *   returns a number in [0, 1) (Math.random by default)
   */
  constructor({ minDelay, initialDelay, maxDelay, random = Math.random }) {
    this.minDelay = minDelay;
    /** The first step's ceiling; the server's `retry` field replaces it. */
    this.base = initialDelay;
    this.maxDelay = maxDelay;
    this.random = random;
  }

  /** How many failures in a row the next delay is for. */
  get attempt() {
    return this.#attempt;
  }

  /**
   * The delay before the next attempt, in milliseconds; counts one failure.
   * @param {number} [retryAfterMs] the server's Retry-After, if any
   * @returns {number}
   */
  next(retryAfterMs = 0) {
    const ceiling = Math.min(this.maxDelay, this.base * 2 ** Math.min(this.#attempt, 30));
    const floor = Math.min(this.minDelay, ceiling);
    this.#attempt += 1;
    const jittered = floor + this.random() * (ceiling - floor);
    const wait = Math.min(Math.max(0, retryAfterMs), MAX_RETRY_AFTER_MS);
    return Math.round(wait + jittered);
  }

  /** A stream was healthy: the next failure waits as little as the first. */
  reset() {
    this.#attempt = 0;
  }
}

/**
 * Reads a `Retry-After` header: delay-seconds or an HTTP date.
 * @param {string | null | undefined} value
 * @param {number} [now] the current time in ms since the epoch
 * @returns {number} milliseconds to wait (0 when absent or unreadable)
 */
export function parseRetryAfter(value, now = Date.now()) {
  if (!value) return 0;
  const text = value.trim();
  if (/^[0-9]+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? 0 : Math.max(0, date - now);
}
