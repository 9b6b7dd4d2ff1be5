'use strict';
// `engine.stream(req, res, options)`: an in-app subscription served on a Node
// `http` (or Express) response, with backpressure.

/** Headers of every stream response besides any the caller adds. */
const STREAM_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  'X-Accel-Buffering': 'no',
};

/**
 * The id a client resumes after: its `Last-Event-ID` header (what EventSource
 * sends when it reconnects), else the `lastEventId` query parameter (for a
 * page that stored its last id), as the engine reads them.
 * @param {import('node:http').IncomingMessage} req
 * @returns {string | undefined}
 */
function lastEventIdOf(req) {
  const header = req.headers['last-event-id'];
  if (header !== undefined) return String(header);
  const query = new URL(req.url ?? '/', 'http://host').searchParams.get('lastEventId');
  return query ?? undefined;
}

/**
 * Resolves on `event` of `res` or when it closes, leaving no listener behind.
 * @param {import('node:http').ServerResponse} res
 * @param {string} event
 * @returns {Promise<void>}
 */
function eventOrClose(res, event) {
  return new Promise((resolve) => {
    const done = () => {
      res.off(event, done);
      res.off('close', done);
      resolve();
    };
    res.on(event, done);
    res.on('close', done);
  });
}

/**
 * Subscribes (throwing the engine's typed error before anything is written),
 * sends the stream headers, then every chunk. When `res.write` returns false
 * it waits for `drain`; meanwhile the engine-side cursor simply stays, and a
 * client that falls behind the whole history is ended by the slow-consumer
 * rule. Resolves when the stream ends (engine stopped, slow consumer) or the
 * client disconnects; either way the subscription is released at once.
 * @this {import('./index.js').Engine}
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 * @param {import('./index.js').StreamOptions} [options]
 * @returns {Promise<void>}
 */
async function stream(req, res, options = {}) {
  if (options === null || typeof options !== 'object') {
    throw Object.assign(new TypeError('stream options must be an object'), {
      code: 'ERR_SSECAST_INVALID_ARG_TYPE',
    });
  }
  const { topics = [], headers = {} } = options;
  const subscription = this.subscribe(topics, { lastEventId: lastEventIdOf(req) });
  // A client that leaves ends the iteration at once, even while it waits.
  res.once('close', () => subscription.close());
  res.writeHead(200, { ...STREAM_HEADERS, ...headers });
  for await (const chunk of subscription) {
    if (!res.write(chunk)) await eventOrClose(res, 'drain');
    if (res.destroyed) break;
  }
  if (!res.destroyed) res.end();
}

module.exports = { stream, lastEventIdOf };
