/**
 * The `eventsource` transport: the browser's own EventSource, one per
 * connection. The client does the reconnecting (with backoff and the
 * `lastEventId` query parameter), so this closes the EventSource on its first
 * error instead of letting the browser retry at a fixed pace.
 *
 * EventSource hides why it refused a response. When it gives up (readyState
 * CLOSED), one `fetch` of the same URL asks the server again, to learn the
 * status, the error code and Retry-After, so a 503 is retried when the server
 * says, and a 401 is not retried with the same token.
 * @module
 */

import { describeRefusal, isEventStream, networkFailure } from './http.mjs';
import { report } from './listeners.mjs';

/** How long the probe after a refusal may take before it counts as a network error. */
const PROBE_MS = 10_000;

/**
 * Asks `url` again with fetch to learn why EventSource refused it.
 * @param {string} url
 * @param {RequestCredentials} credentials
 * @param {AbortSignal} signal
 * @returns {Promise<import('./http.mjs').Failure>}
 */
async function probe(url, credentials, signal) {
  try {
    const response = await fetch(url, {
      headers: { accept: 'text/event-stream' },
      credentials,
      cache: 'no-store',
      signal,
    });
    if (response.status === 200 && isEventStream(response)) {
      response.body?.cancel().catch(() => {});
      return networkFailure('the stream was refused once, then accepted');
    }
    return await describeRefusal(response);
  } catch (error) {
    return networkFailure(error);
  }
}

/**
 * Opens an EventSource on `url` (which carries the topics, the id to resume
 * from and the token).
 * @param {string} url
 * @param {{ withCredentials: boolean, types: string[] }} options the event
 *   types to listen for (EventSource only delivers the types it is asked for)
 * @param {import('./transport-fetch.mjs').TransportHandlers} on
 * @returns {import('./transport-fetch.mjs').Connection}
 */
export function openEventSource(url, { withCredentials, types }, on) {
  const source = new EventSource(url, { withCredentials });
  const controller = new AbortController();
  let active = true;
  let opened = false;
  const listened = new Set();

  const listen = (type) => {
    if (listened.has(type)) return;
    listened.add(type);
    source.addEventListener(type, (e) => {
      if (active) on.event({ type: e.type, data: e.data, lastEventId: e.lastEventId });
    });
  };
  types.forEach(listen);

  source.onopen = () => {
    if (!active) return;
    opened = true;
    on.open();
    on.data();
  };
  source.onerror = () => {
    if (!active) return;
    const refused = source.readyState === EventSource.CLOSED;
    source.close();
    if (!refused) {
      active = false;
      on.end(opened ? null : networkFailure('the connection failed'));
      return;
    }
    const timer = setTimeout(() => controller.abort(), PROBE_MS);
    probe(url, withCredentials ? 'include' : 'same-origin', controller.signal)
      .then((failure) => {
        clearTimeout(timer);
        if (!active) return;
        active = false;
        on.end(failure);
      })
      .catch(report);
  };

  return {
    close() {
      active = false;
      source.close();
      controller.abort();
    },
    listen,
  };
}
