/**
 * The `fetch` and `poll` transports: one `fetch` whose body is read as it
 * arrives and parsed by EventStreamParser. A stream is read until it ends; a
 * long-poll answer is the same, only it ends by design.
 * @module
 */

import { EventStreamParser } from './parser.mjs';
import { describeRefusal, isEventStream, networkFailure } from './http.mjs';
import { report } from './listeners.mjs';

/**
 * What a transport reports to the client. Each is called at most once per
 * connection except `event` and `retry`; none after `close()`.
 * @typedef {object} TransportHandlers
 * @property {() => void} open the server accepted: a 200 event stream
 * @property {() => void} data the first bytes of the body arrived
 * @property {(event: import('./parser.mjs').StreamEvent) => void} event
 * @property {(ms: number) => void} retry the server's `retry` field
 * @property {(id: string) => void} id the last event id changed without an
 *   event to carry it (an `id:`-only block, which moves the resume position)
 * @property {(failure: import('./http.mjs').Failure | null) => void} end the
 *   connection is over: null when the body ended, else why it failed
 */

/**
 * A handle on one connection.
 * @typedef {object} Connection
 * @property {() => void} close stops it; no handler is called afterwards
 * @property {(type: string) => void} listen asks for events of `type` too
 *   (every type arrives anyway over fetch)
 */

/**
 * Opens one request and reads its event stream.
 * @param {string} url
 * @param {{ headers: Record<string, string>, credentials: RequestCredentials,
 *   lastEventId: string }} request `lastEventId` is what events without an
 *   `id` field carry
 * @param {TransportHandlers} on
 * @returns {Connection}
 */
export function openFetch(url, { headers, credentials, lastEventId }, on) {
  const controller = new AbortController();
  let active = true;
  const parser = new EventStreamParser(
    { onEvent: (event) => active && on.event(event), onRetry: (ms) => active && on.retry(ms) },
    { lastEventId },
  );

  async function run() {
    let response;
    try {
      response = await fetch(url, {
        headers,
        credentials,
        cache: 'no-store',
        signal: controller.signal,
      });
    } catch (error) {
      if (active) on.end(networkFailure(error));
      return;
    }
    if (!active) return;
    if (response.status !== 200 || !isEventStream(response)) {
      const failure = await describeRefusal(response);
      if (active) on.end(failure);
      return;
    }
    on.open();
    if (!response.body) {
      on.end(null);
      return;
    }
    const reader = response.body.getReader();
    let first = true;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (!active) return;
        if (done) break;
        if (first && value.length > 0) {
          first = false;
          on.data();
        }
        parser.push(value);
        if (active && parser.lastEventId !== lastEventId) {
          lastEventId = parser.lastEventId;
          on.id(lastEventId);
        }
      }
    } catch (error) {
      if (active) on.end(networkFailure(error));
      return;
    }
    parser.end();
    if (active) on.end(null);
  }

  run().catch(report);
  return {
    close() {
      active = false;
      controller.abort();
    },
    listen() {},
  };
}
