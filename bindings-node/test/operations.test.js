'use strict';
// Operations from Node: stats(), drain(), and a stop that does not cause a
// reconnect storm: 1,000 `eventsource` clients behind a proxy (a load balancer
// during a deploy) reconnect spread over the jitter window, not in one burst.

const assert = require('node:assert/strict');
const net = require('node:net');
const { test } = require('node:test');
const { EventSource } = require('eventsource');

const { startEngine, openStream, parseFrame, withTimeout, throwsCode } = require('./helpers');

test('stats() counts streams, deliveries and bytes', async () => {
  const engine = await startEngine();
  try {
    const stream = await openStream(engine.port, { topics: ['s'] });
    for (let i = 0; i < 3; i++) engine.publish('s', `event ${i}`);
    for (let i = 0; i < 3; i++) assert.equal(parseFrame(await stream.nextText()).data, `event ${i}`);
    const stats = engine.stats();
    assert.deepEqual(
      {
        connections: stats.connections,
        published: stats.published,
        streamsOpened: stats.streamsOpened,
        streamsRefused: stats.streamsRefused,
        eventsDelivered: stats.eventsDelivered,
        resetsSent: stats.resetsSent,
        authFailures: stats.authFailures,
        rateLimited: stats.rateLimited,
        slowConsumersDropped: stats.slowConsumersDropped,
      },
      {
        connections: 1,
        published: 3,
        streamsOpened: 1,
        streamsRefused: 0,
        eventsDelivered: 3,
        resetsSent: 0,
        authFailures: 0,
        rateLimited: 0,
        slowConsumersDropped: 0,
      },
    );
    assert.ok(stats.bytesDelivered > 3 * 'data: event 0\n\n'.length);
    stream.close();
  } finally {
    await engine.stop();
  }
});

test('drain: readyz 503, each stream closed after a jittered retry; twice, bad, after stop', async () => {
  const engine = await startEngine({ reconnectJitterMs: 400 });
  const ready = async () => (await fetch(`http://127.0.0.1:${engine.port}/readyz`)).status;
  try {
    const streams = await Promise.all(
      Array.from({ length: 20 }, () => openStream(engine.port, { topics: ['d'] })),
    );
    assert.equal(await ready(), 200);
    const started = Date.now();
    const draining = engine.drain(500);
    await withTimeout(
      (async () => {
        while ((await ready()) !== 503) await new Promise((r) => setTimeout(r, 10));
      })(),
      'readyz to answer 503',
    );
    engine.publish('d', 'publishing goes on');
    await withTimeout(draining, 'drain');
    assert.ok(Date.now() - started >= 400, 'streams closed over the window');
    for (const stream of streams) {
      await stream.closed();
      // The goodbye is a lone `retry:` line (no blank line: nothing to dispatch).
      const goodbye = /^retry: (\d+)\n$/.exec(stream.buffer.toString('utf8'));
      assert.ok(goodbye && Number(goodbye[1]) <= 400, `a jittered retry: ${stream.buffer}`);
    }
    assert.equal(engine.stats().connections, 0);
    await withTimeout(engine.drain(60_000), 'the same drain, over');
    for (const bad of [-1, 1.5, '10', undefined]) {
      throwsCode(assert, () => engine.drain(bad), 'ERR_SSECAST_INVALID_ARG_TYPE', TypeError);
    }
  } finally {
    await engine.stop();
  }
  await assert.rejects(engine.drain(0), { code: 'ERR_SSECAST_STOPPED' });
});

/**
 * A TCP proxy standing in for a load balancer: forwards every connection to
 * `target`, which a deploy switches to the new instance.
 */
class Proxy {
  static async start(target) {
    const proxy = new Proxy(target);
    await new Promise((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.port = proxy.server.address().port;
    return proxy;
  }

  constructor(target) {
    this.target = target;
    this.sockets = new Set();
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  close() {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(resolve));
  }
}

/**
 * Opens `count` EventSource clients through a proxy to an engine started with
 * `options`, then deploys: the proxy switches to a second engine and the first
 * stops. Returns, per client, how long it waited between losing its stream and
 * reopening one (`waits`), and when it reopened, counted from the stop
 * (`reopened`); both in ms, sorted.
 */
async function reconnectionsAfterStop(count, options) {
  const first = await startEngine({ maxConnections: count + 10, ...options });
  const second = await startEngine({ maxConnections: count + 10 });
  const proxy = await Proxy.start(first.port);
  const clients = [];
  try {
    const allOpen = Promise.all(
      Array.from({ length: count }, () => {
        const client = {
          source: new EventSource(`http://127.0.0.1:${proxy.port}/events?topic=deploy`),
        };
        clients.push(client);
        return new Promise((resolve) => client.source.addEventListener('open', resolve, { once: true }));
      }),
    );
    await withTimeout(allOpen, `${count} clients to open`, 30_000);
    assert.equal(first.stats().connections, count);
    const reopened = Promise.all(
      clients.map(
        (client) =>
          new Promise((resolve) => {
            client.source.addEventListener('error', () => (client.lost ??= performance.now()));
            client.source.addEventListener('open', () => resolve((client.reopened = performance.now())), {
              once: true,
            });
          }),
      ),
    );
    proxy.target = second.port;
    const stoppedAt = performance.now();
    await first.stop();
    const deadline = (options.reconnectJitterMs ?? 0) + 15_000;
    await withTimeout(reopened, `${count} clients to reconnect`, deadline);
    assert.equal(second.stats().connections, count, 'each client reconnected once');
    const sorted = (values) => values.sort((a, b) => a - b);
    return {
      waits: sorted(clients.map((c) => c.reopened - c.lost)),
      reopened: sorted(clients.map((c) => c.reopened - stoppedAt)),
    };
  } finally {
    for (const client of clients) client.source.close();
    await proxy.close();
    await first.stop();
    await second.stop();
  }
}

/** The most values that fall in any window of `width` ms. */
function busiestWindow(sorted, width) {
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i] - sorted[j] > width) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

test('stop spreads 1,000 reconnections over reconnect_jitter_ms instead of one burst', async (t) => {
  const CLIENTS = 1000;
  // Long enough that this process's own lag (1,000 streams end at once, on a
  // shared machine) stays small beside it.
  const JITTER = 10_000;
  const { waits, reopened } = await reconnectionsAfterStop(CLIENTS, { reconnectJitterMs: JITTER });
  t.diagnostic(`waits ${Math.round(waits[0])}..${Math.round(waits[CLIENTS - 1])} ms, reopened ${Math.round(reopened[0])}..${Math.round(reopened[CLIENTS - 1])} ms after the stop`);
  // Each client waited its own random retry: the waits are spread over the
  // window like uniform draws. (Quantiles, not exact bins: with 1,000 streams
  // ending at once this process's event loop adds up to a second or so.)
  const q = (sorted, p) => sorted[Math.floor(p * (sorted.length - 1))];
  assert.ok(q(waits, 0.1) < 0.3 * JITTER, `10% of clients waited at most ${q(waits, 0.1)} ms`);
  assert.ok(q(waits, 0.5) > 0.3 * JITTER && q(waits, 0.5) < 0.7 * JITTER, `median wait ${q(waits, 0.5)} ms`);
  assert.ok(q(waits, 0.9) > 0.7 * JITTER, `90% of clients waited at most ${q(waits, 0.9)} ms`);
  const spread = q(reopened, 0.9) - q(reopened, 0.1);
  assert.ok(spread > 0.5 * JITTER, `80% of the reconnections came within ${spread} ms`);
  // No burst: any 500 ms hold a sixth of the reconnections when they are
  // spread (the control below finds nine tenths in one such window).
  const burst = busiestWindow(reopened, 500);
  assert.ok(burst < CLIENTS * 0.4, `${burst} of ${CLIENTS} reconnections within 500 ms`);
});

test('without jitter the same stop is a burst (the control)', async () => {
  const CLIENTS = 300;
  const { waits, reopened } = await reconnectionsAfterStop(CLIENTS, { reconnectJitterMs: 0 });
  // Every client waits the same default delay, and they come back together.
  const together = busiestWindow(waits, 500);
  assert.ok(together >= CLIENTS * 0.9, `only ${together} of ${CLIENTS} waits within 500 ms: ${waits}`);
  const burst = busiestWindow(reopened, 500);
  assert.ok(burst >= CLIENTS * 0.9, `only ${burst} of ${CLIENTS} reconnections within 500 ms`);
});
