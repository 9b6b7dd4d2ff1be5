'use strict';
/**
 * The standalone `ssecast` server as a child process: started on a free port,
 * ready once GET /healthz answers, published to over HTTP, stopped with SIGTERM.
 */

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const path = require('node:path');
const { freePort } = require('./ports');

/** The release binary; `make test-browser` sets SSECAST_BIN. */
const BINARY =
  process.env.SSECAST_BIN || path.resolve(__dirname, '../../../target/release/ssecast');

/** Every engine process still running, killed if this test process exits early. */
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

const READY_POLLS = 400; // x 25 ms: ten seconds for the engine to answer /healthz
const START_ATTEMPTS = 3; // a free port may be taken before ssecast binds it

class Engine {
  /**
   * Starts `ssecast` with `args` (flags such as `--cors-origins URL`) plus a
   * port and a publish token chosen here, and waits until it is ready.
   * @param {string[]} [args]
   * @returns {Promise<Engine>}
   */
  static async start(args = []) {
    let lastError;
    for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
      const engine = new Engine(await freePort(), args);
      try {
        await engine.#waitReady();
        return engine;
      } catch (error) {
        lastError = error;
        await engine.stop();
        if (!/address|bind/i.test(String(error))) break;
      }
    }
    throw lastError;
  }

  /** @private use Engine.start */
  constructor(port, args) {
    /** The port the engine listens on. */
    this.port = port;
    /** The bearer token that POST /publish needs. */
    this.token = crypto.randomBytes(16).toString('hex');
    /** Everything the process wrote to stderr, for failure messages. */
    this.stderr = '';
    this.child = spawn(
      BINARY,
      ['--bind', '127.0.0.1', '--port', String(port), '--publish-token', this.token, ...args],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SSECAST_LOG_LEVEL: 'warn' } },
    );
    running.add(this.child);
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (text) => {
      this.stderr += text;
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        running.delete(this.child);
        resolve({ code, signal });
      });
      this.child.once('error', (error) => {
        running.delete(this.child);
        resolve({ code: null, signal: null, error });
      });
    });
  }

  /** `http://127.0.0.1:<port>` */
  get origin() {
    return `http://127.0.0.1:${this.port}`;
  }

  async #waitReady() {
    let exited = null;
    this.exited.then((status) => {
      exited = status;
    });
    for (let poll = 0; poll < READY_POLLS; poll++) {
      if (exited) {
        throw new Error(`ssecast exited (${JSON.stringify(exited)}): ${this.stderr}`);
      }
      try {
        const health = await this.health();
        if (health.status === 'ok') return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`ssecast did not answer ${this.origin}/healthz: ${this.stderr}`);
  }

  /**
   * GET /healthz.
   * @returns {Promise<{status: string, connections: number, topics: number, published: number}>}
   */
  async health() {
    const response = await fetch(`${this.origin}/healthz`);
    return response.json();
  }

  /**
   * Polls /healthz until `predicate(health)` holds; the engine's own count is
   * the only signal for streams that a browser closed.
   * @param {(health: object) => boolean} predicate
   * @param {string} what described in the timeout error
   */
  async waitForHealth(predicate, what) {
    let health;
    for (let poll = 0; poll < READY_POLLS; poll++) {
      health = await this.health();
      if (predicate(health)) return health;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`timed out waiting for ${what}; last /healthz: ${JSON.stringify(health)}`);
  }

  /**
   * POST /publish with JSON; resolves to the event's id.
   * @param {string} topic
   * @param {string} data
   * @param {{event?: string, id?: string, retry?: number}} [fields]
   * @returns {Promise<string>}
   */
  async publish(topic, data, fields = {}) {
    const response = await fetch(`${this.origin}/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ topic, data, ...fields }),
    });
    const answer = await response.json();
    if (!response.ok || typeof answer.id !== 'string') {
      throw new Error(`publish failed: ${response.status} ${JSON.stringify(answer)}`);
    }
    return answer.id;
  }

  /**
   * Publishes `count` events (`event 1`, `event 2`, ...) to `topic`, one every
   * `paceMs`; `ids` grows as they go out and `done` resolves with all of them.
   * @returns {{ ids: string[], done: Promise<string[]> }}
   */
  publishSeries(topic, count, paceMs = 10) {
    const ids = [];
    const done = (async () => {
      for (let n = 1; n <= count; n++) {
        ids.push(await this.publish(topic, `event ${n}`));
        await new Promise((resolve) => setTimeout(resolve, paceMs));
      }
      return ids;
    })();
    return { ids, done };
  }

  /** Stops the process with SIGTERM and waits for it to exit. */
  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
    }
    return this.exited;
  }
}

module.exports = { Engine, BINARY };
