/**
 * The connection's life: one transport connection at a time, reconnected with
 * backoff after any failure the server or the network can recover from,
 * resumed from the last event id, stopped for good only when retrying cannot
 * help (204, a refused token that getToken does not replace, other 4xx).
 * @module
 */

import { Backoff } from './backoff.mjs';
import { streamUrl } from './http.mjs';
import { Listeners, report } from './listeners.mjs';
import { ResumeStore } from './resume-store.mjs';
import { openEventSource } from './transport-eventsource.mjs';
import { openFetch } from './transport-fetch.mjs';

/** Names of the client's own events; server events of these types are not delivered. */
export const LIFECYCLE_EVENTS = Object.freeze(['open', 'error', 'reset', 'state']);
const LIFECYCLE = new Set(LIFECYCLE_EVENTS);
/** The engine's signal that the history cannot fill the gap since the id sent. */
const RESET_EVENT = 'ssecast-reset';
/** A long-poll answered with nothing sooner than this is followed by a backoff wait. */
const EMPTY_POLL_MIN_MS = 200;

/**
 * The settled options of a client (see connect() for their meaning).
 * @typedef {object} ClientSettings
 * @property {string} url absolute URL of the events endpoint
 * @property {string[]} topics
 * @property {string | undefined} lastEventId
 * @property {string | undefined} token
 * @property {(() => string | Promise<string>) | undefined} getToken
 * @property {number} tokenTimeout
 * @property {Record<string, string>} headers
 * @property {boolean} withCredentials
 * @property {'eventsource' | 'fetch' | 'poll'} transport the first transport
 * @property {boolean} fallback whether to fall back to poll when a stream stalls
 * @property {number} fallbackAfter
 * @property {number} minDelay
 * @property {number} initialDelay
 * @property {number} maxDelay
 * @property {number} healthyAfter
 * @property {string | false} resumeKey
 * @property {number} bufferSize
 */

/** Whether a refused response can be retried, given its failure. */
function isPermanent(failure) {
  const { status } = failure;
  if (failure.kind !== 'status' && status !== 204) return false;
  if (status === 204) return true; // the server's way of saying "stop"
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

function isAuthRefusal(failure) {
  return failure.kind === 'status' && (failure.status === 401 || failure.status === 403);
}

/** Resolves like `promise`, or rejects after `ms` with a message naming `what`. */
function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** An SSE connection that reconnects by itself; made by connect(). */
export class Client {
  #settings;
  #listeners = new Listeners();
  #backoff;
  #store;
  #transport;
  #state = 'connecting';
  #lastEventId;
  #recent = [];
  /** The current connection: its transport handle and what it has seen. */
  #connection = null;
  #retryTimer = null;
  #fallbackTimer = null;
  #closed = false;
  /** The token the server refused with 401/403, and the status, until a stream opens. */
  #refusedToken = undefined;
  #refusedStatus = undefined;

  /** @param {ClientSettings} settings */
  constructor(settings) {
    this.#settings = settings;
    this.#transport = settings.transport;
    this.#backoff = new Backoff(settings);
    this.#store = new ResumeStore(settings.resumeKey);
    this.#lastEventId = settings.lastEventId ?? this.#store.load() ?? '';
    this.#connect();
  }

  /** `connecting`, `open`, `reconnecting` (waiting to retry) or `closed`. */
  get state() {
    return this.#state;
  }

  /** The id of the newest event received (or the one resumed from); '' if none. */
  get lastEventId() {
    return this.#lastEventId;
  }

  /** The transport in use: `eventsource`, `fetch` or `poll`. */
  get transport() {
    return this.#transport;
  }

  /**
   * Adds a listener: a server event type (`message` or a named type) or one
   * of the client's own events `open`, `error`, `reset`, `state`.
   * @param {string} type
   * @param {Function} fn
   * @returns {this}
   */
  on(type, fn) {
    if (typeof type !== 'string' || typeof fn !== 'function') {
      throw new TypeError('on(type, fn) needs an event type string and a function');
    }
    if (this.#listeners.add(type, fn) && !LIFECYCLE.has(type)) {
      this.#connection?.handle?.listen(type);
    }
    return this;
  }

  /**
   * Removes a listener added with on().
   * @param {string} type
   * @param {Function} fn
   * @returns {this}
   */
  off(type, fn) {
    this.#listeners.remove(type, fn);
    return this;
  }

  /**
   * The newest `n` events received (at most `bufferSize` are kept), oldest
   * first. Kept are the events of type `message` and of the types listened to.
   * @param {number} [n]
   * @returns {Array<{type: string, data: string, lastEventId: string}>}
   */
  recent(n = this.#settings.bufferSize) {
    return n > 0 ? this.#recent.slice(-n) : [];
  }

  /** Closes the connection for good; idempotent. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#endConnection();
    this.#setState('closed');
  }

  #setState(state, details = {}) {
    if (this.#state === state) return;
    this.#state = state;
    this.#listeners.emit('state', { state, transport: this.#transport, ...details });
  }

  /** The event types a connection must ask for. */
  #eventTypes() {
    const types = new Set(['message', RESET_EVENT]);
    for (const type of this.#listeners.types()) if (!LIFECYCLE.has(type)) types.add(type);
    return [...types];
  }

  async #token() {
    const { getToken, token, tokenTimeout } = this.#settings;
    if (!getToken) return token;
    const fresh = await within(Promise.resolve(getToken()), tokenTimeout, 'getToken()');
    if (typeof fresh !== 'string' || fresh === '') {
      throw new TypeError(`getToken() returned ${fresh === '' ? 'an empty string' : typeof fresh}, not a token`);
    }
    return fresh;
  }

  #connect() {
    this.#retryTimer = null;
    this.#attempt().catch(report);
  }

  async #attempt() {
    if (this.#closed) return;
    if (this.#state !== 'open') this.#setState('connecting');
    let token;
    try {
      token = await this.#token();
    } catch (error) {
      if (!this.#closed) this.#failed(null, { kind: 'token', message: String(error?.message ?? error) });
      return;
    }
    if (this.#closed) return;
    if (this.#refusedToken !== undefined && token === this.#refusedToken) {
      this.#stop({
        kind: 'status',
        status: this.#refusedStatus,
        message: 'the server refused the token and getToken() gave the same one',
      });
      return;
    }
    const connection = { token, openedAt: 0, startedAt: Date.now(), events: 0, handle: null };
    this.#connection = connection;
    const current = () => this.#connection === connection && !this.#closed;
    const on = {
      open: () => current() && this.#opened(connection),
      data: () => current() && clearTimeout(this.#fallbackTimer),
      event: (event) => current() && this.#received(connection, event),
      retry: (ms) => {
        if (current()) this.#backoff.base = ms;
      },
      id: (id) => current() && this.#moveTo(id),
      end: (failure) => current() && this.#ended(connection, failure),
    };
    connection.handle = this.#open(token, on);
    const { fallback, fallbackAfter } = this.#settings;
    if (fallback && this.#transport !== 'poll') {
      this.#fallbackTimer = setTimeout(() => current() && this.#fallBack(fallbackAfter), fallbackAfter);
    }
  }

  #open(token, on) {
    const { url, topics, headers, withCredentials } = this.#settings;
    const lastEventId = this.#lastEventId;
    if (this.#transport === 'eventsource') {
      return openEventSource(
        streamUrl(url, { topics, lastEventId, token }),
        { withCredentials, types: this.#eventTypes() },
        on,
      );
    }
    const poll = this.#transport === 'poll';
    const request = { accept: 'text/event-stream', ...headers };
    if (token) request.authorization = `Bearer ${token}`;
    if (lastEventId && !poll) request['last-event-id'] = lastEventId;
    return openFetch(
      streamUrl(url, { topics, lastEventId: poll ? lastEventId : undefined, poll }),
      { headers: request, credentials: withCredentials ? 'include' : 'same-origin', lastEventId },
      on,
    );
  }

  #opened(connection) {
    connection.openedAt = Date.now();
    this.#refusedToken = undefined;
    if (this.#state !== 'open') {
      this.#setState('open');
      this.#listeners.emit('open', { transport: this.#transport, lastEventId: this.#lastEventId });
    }
  }

  #received(connection, event) {
    connection.events += 1;
    if (event.type === RESET_EVENT) {
      this.#listeners.emit('reset', readReset(event.data));
      return;
    }
    this.#moveTo(event.lastEventId);
    if (LIFECYCLE.has(event.type)) return;
    if (event.type !== 'message' && !this.#listeners.has(event.type)) return;
    this.#recent.push(event);
    if (this.#recent.length > this.#settings.bufferSize) this.#recent.shift();
    this.#listeners.emit(event.type, event);
  }

  /** Resumes from `id` from now on (an empty id changes nothing). */
  #moveTo(id) {
    if (!id || id === this.#lastEventId) return;
    this.#lastEventId = id;
    this.#store.save(id);
  }

  /** The stream stalled before its first byte: switch to long-polling for good. */
  #fallBack(waited) {
    this.#endConnection();
    this.#listeners.emit('error', {
      kind: 'stalled',
      message: `no byte of the stream arrived within ${waited} ms: falling back to long-polling`,
      fatal: false,
    });
    this.#transport = 'poll';
    this.#connect();
  }

  #endConnection() {
    clearTimeout(this.#fallbackTimer);
    const connection = this.#connection;
    this.#connection = null;
    connection?.handle?.close();
  }

  #ended(connection, failure) {
    this.#endConnection();
    const now = Date.now();
    if (connection.openedAt && now - connection.openedAt >= this.#settings.healthyAfter) {
      this.#backoff.reset();
    }
    if (failure) {
      this.#failed(connection, failure);
      return;
    }
    if (this.#transport === 'poll' && connection.openedAt) {
      // An answer with events, or one the server held for a while, is the
      // protocol working: ask again at once. An empty answer at once is not
      // (a server or proxy that does not hold polls): wait, still open.
      if (connection.events > 0 || now - connection.startedAt >= EMPTY_POLL_MIN_MS) {
        this.#backoff.reset();
        this.#connect();
      } else {
        this.#retryTimer = setTimeout(() => this.#connect(), this.#backoff.next());
      }
      return;
    }
    this.#retry(0);
  }

  #failed(connection, failure) {
    let fatal = isPermanent(failure);
    if (isAuthRefusal(failure)) {
      // A fresh token may help once; the same token, or a second refusal, will not.
      fatal = !this.#settings.getToken || this.#refusedToken !== undefined;
      this.#refusedToken = connection?.token;
      this.#refusedStatus = failure.status;
    }
    this.#listeners.emit('error', { ...failure, fatal });
    if (fatal) {
      this.close();
      return;
    }
    this.#retry(failure.retryAfterMs ?? 0);
  }

  #stop(failure) {
    this.#listeners.emit('error', { ...failure, fatal: true });
    this.close();
  }

  #retry(retryAfterMs) {
    if (this.#closed) return;
    const attempt = this.#backoff.attempt + 1;
    const delay = this.#backoff.next(retryAfterMs);
    this.#setState('reconnecting', { attempt, delay });
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }
}

/**
 * The `reset` event's details from the signal's JSON data.
 * @param {string} data
 * @returns {{ reason: string, lastEventId: string | null }}
 */
function readReset(data) {
  try {
    const value = JSON.parse(data);
    return {
      reason: typeof value?.reason === 'string' ? value.reason : 'unknown',
      lastEventId: typeof value?.lastEventId === 'string' ? value.lastEventId : null,
    };
  } catch {
    return { reason: 'unknown', lastEventId: null };
  }
}
