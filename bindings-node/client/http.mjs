/**
 * The HTTP side shared by the transports: stream URLs, the checks on a
 * response, and failures described from a refused response.
 * @module
 */

import { parseRetryAfter } from './backoff.mjs';

/** Most bytes of an error body read to find its `{"error","code"}`. */
const ERROR_BODY_BYTES = 16 * 1024;
/** How long reading an error body may take. */
const ERROR_BODY_MS = 5000;

/**
 * Why a connection ended or could not start.
 * @typedef {object} Failure
 * @property {'status' | 'content-type' | 'network' | 'token' | 'stalled'} kind
 * @property {string} message
 * @property {number} [status] the HTTP status, for `status` and `content-type`
 * @property {string} [code] the engine's error code, from a JSON error body
 * @property {number} [retryAfterMs] the server's Retry-After, in milliseconds
 */

/**
 * The URL of one request: `base` with the topics, the id to resume from, the
 * token (for EventSource, which cannot send headers) and the transport.
 * @param {string} base an absolute URL
 * @param {{ topics: string[], lastEventId?: string, token?: string, poll?: boolean }} parts
 * @returns {string}
 */
export function streamUrl(base, { topics, lastEventId, token, poll }) {
  const url = new URL(base);
  for (const topic of topics) url.searchParams.append('topic', topic);
  if (poll) url.searchParams.set('transport', 'poll');
  if (lastEventId) url.searchParams.set('lastEventId', lastEventId);
  if (token) url.searchParams.set('token', token);
  return url.href;
}

/**
 * Whether a response is an event stream (`text/event-stream`, any parameters).
 * @param {Response} response
 */
export function isEventStream(response) {
  const type = response.headers.get('content-type') ?? '';
  return type.split(';')[0].trim().toLowerCase() === 'text/event-stream';
}

/** Reads at most `limit` bytes of a body as text, giving up after `ms`. */
async function readSome(response, limit, ms) {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const timer = setTimeout(() => reader.cancel().catch(() => {}), ms);
  const chunks = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // cut or timed out: what was read is enough
  } finally {
    clearTimeout(timer);
    reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(Math.min(size, limit));
  let offset = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, bytes.length - offset);
    bytes.set(part, offset);
    offset += part.length;
  }
  return new TextDecoder().decode(bytes);
}

/**
 * Describes a response that is not a stream: its status, the engine's error
 * code and message when the body is its JSON error, and Retry-After. Header
 * values are only readable cross-origin when the server exposes them
 * (`Access-Control-Expose-Headers: Retry-After`).
 * @param {Response} response
 * @returns {Promise<Failure>}
 */
export async function describeRefusal(response) {
  if (response.ok && !isEventStream(response)) {
    response.body?.cancel().catch(() => {});
    const type = response.headers.get('content-type') ?? 'none';
    return {
      kind: 'content-type',
      status: response.status,
      message: `expected text/event-stream, got ${response.status} with content type ${type}`,
    };
  }
  const failure = {
    kind: 'status',
    status: response.status,
    message: `the server answered ${response.status}`,
    retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
  };
  const text = await readSome(response, ERROR_BODY_BYTES, ERROR_BODY_MS);
  try {
    const body = JSON.parse(text);
    if (typeof body?.error === 'string') failure.message += `: ${body.error}`;
    if (typeof body?.code === 'string') failure.code = body.code;
  } catch {
    // not the engine's JSON error: the status says enough
  }
  return failure;
}

/**
 * A failure from a rejected `fetch` or a cut body.
 * @param {unknown} error
 * @returns {Failure}
 */
export function networkFailure(error) {
  const detail = error instanceof Error ? error.message : String(error);
  return { kind: 'network', message: `network error: ${detail}` };
}
