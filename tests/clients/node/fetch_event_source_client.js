'use strict';
// `node fetch_event_source_client.js URL`: reads the stream at URL with
// @microsoft/fetch-event-source as its README shows and prints what it hands
// over, one JSON line each (the protocol is in harness/clients.py).
//
// The library is written for browsers: it calls window.setTimeout and
// window.fetch, so window is the global object here, and openWhenHidden keeps
// it away from `document`. It does not reconnect when a stream ends cleanly
// (only on an error): its README's answer, followed here, is to throw from
// onclose. It reports an event's type as '' when the event has none; the
// spec's name for that type, 'message', is printed instead.

globalThis.window = globalThis;
const { fetchEventSource, EventStreamContentType } = require('@microsoft/fetch-event-source');

const [url] = process.argv.slice(2);
const emit = (fields) => process.stdout.write(`${JSON.stringify(fields)}\n`);

class RetriableError extends Error {}
class FatalError extends Error {}

const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());

fetchEventSource(url, {
  signal: stop.signal,
  openWhenHidden: true,
  async onopen(response) {
    const type = response.headers.get('content-type') ?? '';
    if (response.ok && type.startsWith(EventStreamContentType)) {
      emit({ kind: 'open' });
      return;
    }
    throw new FatalError(`HTTP ${response.status} ${type}`);
  },
  onmessage(message) {
    emit({ kind: 'event', id: message.id, event: message.event || 'message', data: message.data });
  },
  onclose() {
    throw new RetriableError('the stream ended');
  },
  onerror(error) {
    emit({ kind: 'error', message: String(error.message ?? error) });
    if (error instanceof FatalError) throw error;
    return undefined; // retry after the server's retry: delay (1 s by default)
  },
}).then(
  () => process.exit(0),
  () => {
    emit({ kind: 'closed' });
    process.exit(0);
  },
);
