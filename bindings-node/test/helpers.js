'use strict';
// Shared helpers of the node:test suites: a raw SSE reader over node:http that
// hands back exact frames, and a one-line engine factory. Everything is bounded:
// each wait rejects after a timeout instead of hanging the suite.

const http = require('node:http');
const { once } = require('node:events');

const { Engine } = require('ssecast');

const WAIT_MS = 10_000;

/** Starts an engine on a free port, without keep-alive comments in the stream. */
function startEngine(options = {}) {
  return Engine.start({ port: 0, keepaliveMs: 0, ...options });
}

/** Rejects after `ms` with a message saying what was awaited. */
function withTimeout(promise, what, ms = WAIT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A raw `GET /events` stream. `next()` gives each event frame (the bytes up to
 * and including the blank line) as a Buffer, exactly as sent. `opened` resolves
 * on the engine's opening line (`: ok` or `retry: N`, which is not queued),
 * so the stream is subscribed; a reset event may come before it. Comment
 * lines (keep-alives) are skipped.
 */
class RawStream {
  constructor(port, { topics = [], headers = {}, query = '' } = {}) {
    const params = topics.map((t) => `topic=${encodeURIComponent(t)}`);
    if (query) params.push(query);
    const path = `/events${params.length ? `?${params.join('&')}` : ''}`;
    this.buffer = Buffer.alloc(0);
    this.frames = [];
    this.waiters = [];
    this.ended = false;
    this.request = http.get({ host: '127.0.0.1', port, path, headers, agent: false });
    this.response = withTimeout(once(this.request, 'response').then(([res]) => res), 'response');
    this.response.then(
      (res) => {
        res.on('data', (chunk) => this.push(chunk));
        res.on('end', () => this.end());
        res.on('error', () => this.end());
      },
      () => {},
    );
    this.request.on('error', () => this.end());
    this.isOpen = false;
    this.opened = withTimeout(
      new Promise((resolve, reject) => {
        const check = () => {
          if (this.isOpen) return resolve();
          if (this.ended) return reject(new Error('stream ended before it opened'));
          this.waiters.push(check);
        };
        check();
      }),
      'the opening frame',
    );
  }

  push(chunk) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      // Comment lines (the opening `: ok`, keep-alives) and the opening
      // `retry:` line stand alone, without a blank line after them.
      const line = /^(:[^\n]*|retry: \d+)\n/.exec(this.buffer.toString('latin1', 0, 64));
      if (line && (line[1].startsWith(':') || !this.isOpen)) {
        this.isOpen = true;
        this.buffer = this.buffer.subarray(line[0].length);
        continue;
      }
      const at = this.buffer.indexOf('\n\n');
      if (at === -1) break;
      this.frames.push(this.buffer.subarray(0, at + 2));
      this.buffer = this.buffer.subarray(at + 2);
    }
    this.wake();
  }

  end() {
    this.ended = true;
    this.wake();
  }

  wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** The next frame as a Buffer; rejects if the stream ends first. */
  next(what = 'a frame') {
    const take = () =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (this.frames.length) return resolve(this.frames.shift());
          if (this.ended) return reject(new Error(`stream ended before ${what}`));
          this.waiters.push(check);
        };
        check();
      });
    return withTimeout(take(), what);
  }

  /** The next frame as text. */
  async nextText(what) {
    return (await this.next(what)).toString('utf8');
  }

  /** Resolves when the server closes the stream. */
  closed() {
    return withTimeout(
      new Promise((resolve) => {
        const check = () => (this.ended ? resolve() : this.waiters.push(check));
        check();
      }),
      'the stream to close',
    );
  }

  close() {
    this.request.destroy();
  }
}

/** Opens a raw stream and waits until it is subscribed. */
async function openStream(port, options) {
  const stream = new RawStream(port, options);
  await stream.opened;
  return stream;
}

/** The status, headers and first chunk of text of a GET, then closes it. */
function firstChunk(port, path, headers) {
  const done = new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      res.once('data', (chunk) => {
        resolve({ status: res.statusCode, headers: res.headers, text: chunk.toString('utf8') });
        request.destroy();
      });
    });
    request.on('error', reject);
  });
  return withTimeout(done, `GET ${path}`);
}

/** The fields of one SSE frame's text, as { id, event, retry, data }. */
function parseFrame(text) {
  const frame = { data: [] };
  for (const line of text.split('\n')) {
    const at = line.indexOf(': ');
    if (at === -1) continue;
    const field = line.slice(0, at);
    const value = line.slice(at + 2);
    if (field === 'data') frame.data.push(value);
    else frame[field] = value;
  }
  return { ...frame, data: frame.data.join('\n') };
}

/** Asserts `fn` throws an error of class `type` whose code is `code`. */
function throwsCode(assert, fn, code, type = Error) {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof type, `expected a ${type.name}, got ${error}`);
    assert.strictEqual(error.code, code, error.message);
    assert.ok(error.message.length > 0);
    return true;
  });
}

module.exports = {
  Engine,
  WAIT_MS,
  startEngine,
  withTimeout,
  RawStream,
  openStream,
  firstChunk,
  parseFrame,
  throwsCode,
};
