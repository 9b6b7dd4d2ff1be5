/**
 * ssecast's browser client: an SSE connection that survives deploys, proxies
 * and reloads. See connect().
 * @module
 */

import { Client, LIFECYCLE_EVENTS } from './client.mjs';
import { resumeKey } from './resume-store.mjs';

export { EventStreamParser } from './parser.mjs';
export { LIFECYCLE_EVENTS };

const TRANSPORTS = ['auto', 'eventsource', 'fetch', 'poll'];

/** Millisecond options and their defaults. */
const DURATIONS = {
  minDelay: 100,
  initialDelay: 1000,
  maxDelay: 30_000,
  healthyAfter: 5000,
  fallbackAfter: 5000,
  tokenTimeout: 10_000,
};

const KNOWN = new Set([
  'topics',
  'lastEventId',
  'token',
  'getToken',
  'headers',
  'withCredentials',
  'transport',
  'resumeKey',
  'bufferSize',
  ...Object.keys(DURATIONS),
]);

function fail(message) {
  throw new TypeError(`ssecast connect(): ${message}`);
}

function absoluteUrl(url) {
  if (typeof url !== 'string' && !(url instanceof URL)) fail('url must be a string or a URL');
  try {
    return new URL(url, globalThis.location?.href).href;
  } catch {
    return fail(`${String(url)} is not a URL${globalThis.location ? '' : ' (give an absolute URL outside a page)'}`);
  }
}

function readTopics(topics) {
  if (topics === undefined) return [];
  const list = typeof topics === 'string' ? [topics] : topics;
  if (!Array.isArray(list) || !list.every((t) => typeof t === 'string' && t !== '')) {
    fail('topics must be a non-empty string or an array of them');
  }
  return [...list];
}

function readHeaders(headers) {
  if (headers === undefined) return {};
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    fail('headers must be an object of header names to string values');
  }
  const out = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') fail(`header ${name} must be a string`);
    out[name.toLowerCase()] = value;
  }
  return out;
}

function readTransport(transport, headers) {
  if (!TRANSPORTS.includes(transport)) fail(`transport must be one of ${TRANSPORTS.join(', ')}`);
  const hasEventSource = typeof globalThis.EventSource === 'function';
  if (transport === 'eventsource') {
    if (!hasEventSource) fail('transport eventsource needs EventSource, which this runtime lacks');
    if (Object.keys(headers).length > 0) {
      fail('EventSource cannot send headers: use transport fetch or poll');
    }
  }
  if (transport !== 'auto') return { transport, fallback: false };
  const native = hasEventSource && Object.keys(headers).length === 0;
  return { transport: native ? 'eventsource' : 'fetch', fallback: true };
}

/**
 * Opens an SSE stream that reconnects by itself. See index.d.mts for the
 * options and the client's events.
 * @param {string | URL} url the events endpoint, e.g. `/events`
 * @param {object} [options]
 * @returns {Client}
 */
export function connect(url, options = {}) {
  if (typeof options !== 'object' || options === null) fail('options must be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) fail(`unknown option ${key} (known: ${[...KNOWN].join(', ')})`);
  }
  const base = absoluteUrl(url);
  const topics = readTopics(options.topics);
  const headers = readHeaders(options.headers);
  const { token, getToken, lastEventId, resumeKey: key, withCredentials = false } = options;
  if (token !== undefined && typeof token !== 'string') fail('token must be a string');
  if (getToken !== undefined && typeof getToken !== 'function') fail('getToken must be a function');
  if (token !== undefined && getToken !== undefined) fail('give token or getToken, not both');
  if (lastEventId !== undefined && typeof lastEventId !== 'string') fail('lastEventId must be a string');
  if (key !== undefined && key !== false && typeof key !== 'string') {
    fail('resumeKey must be a string or false');
  }
  if (typeof withCredentials !== 'boolean') fail('withCredentials must be a boolean');
  const durations = {};
  for (const [name, fallback] of Object.entries(DURATIONS)) {
    const value = options[name] ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      fail(`${name} must be a number of milliseconds, 0 or more`);
    }
    durations[name] = value;
  }
  const bufferSize = options.bufferSize ?? 100;
  if (!Number.isInteger(bufferSize) || bufferSize < 0) fail('bufferSize must be an integer, 0 or more');
  return new Client({
    url: base,
    topics,
    lastEventId,
    token,
    getToken,
    headers,
    withCredentials,
    ...readTransport(options.transport ?? 'auto', headers),
    ...durations,
    resumeKey: key ?? resumeKey(base, topics),
    bufferSize,
  });
}
