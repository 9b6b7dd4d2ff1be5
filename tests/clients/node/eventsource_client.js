'use strict';
// `node eventsource_client.js URL [EVENT_TYPE...]`: reads the stream at URL with
// the `eventsource` package (the WHATWG EventSource for Node) and prints what it
// hands over, one JSON line each (the protocol is in harness/clients.py). An
// EventSource dispatches each event under its type, so the program listens for
// `message` and every type named on the command line. It reconnects by itself,
// sending Last-Event-ID.

const { EventSource } = require('eventsource');

const [url, ...types] = process.argv.slice(2);
const emit = (fields) => process.stdout.write(`${JSON.stringify(fields)}\n`);

const source = new EventSource(url);
source.addEventListener('open', () => emit({ kind: 'open' }));
source.addEventListener('error', (error) => {
  emit({ kind: 'error', message: String(error.message ?? error.code ?? 'error') });
  if (source.readyState === EventSource.CLOSED) emit({ kind: 'closed' });
});
for (const type of new Set(['message', ...types])) {
  source.addEventListener(type, (event) =>
    emit({ kind: 'event', id: event.lastEventId, event: event.type, data: event.data }),
  );
}
process.once('SIGTERM', () => source.close());
