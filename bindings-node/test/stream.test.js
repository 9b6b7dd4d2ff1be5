'use strict';
// `engine.stream(req, res, { topics })` on node:http and Express 5 over real
// sockets: headers, resume through the route, typed errors, disconnects,
// backpressure; 1,000 streams in one process and a disconnect storm.

const test = require('node:test');
const assert = require('node:assert');
const http = require('node:http');
const net = require('node:net');
const { once } = require('node:events');

const express = require('express');
const { EventSource } = require('eventsource');

const { startEngine, withTimeout } = require('./helpers.js');

/** An Express app whose GET /stream serves `?topic=` through engine.stream. */
async function startApp(t, engineOptions = {}) {
  const engine = await startEngine(engineOptions);
  const app = express();
  app.get('/stream', (req, res) => {
    const topics = [req.query.topic ?? []].flat();
    return engine.stream(req, res, { topics });
  });
  app.use((error, req, res, next) => {
    res.status(400).json({ code: error.code, error: error.message });
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    server.closeAllConnections();
    server.close();
    await engine.stop();
  });
  return { engine, server, port: server.address().port, base: `http://127.0.0.1:${server.address().port}` };
}

/** Polls `engine.stats().connections` until it is `count`. */
async function connections(engine, count) {
  const poll = async () => {
    while (engine.stats().connections !== count) await new Promise((r) => setTimeout(r, 10));
  };
  await withTimeout(poll(), `${count} open streams (now ${engine.stats().connections})`);
}

/** A raw GET that collects the body; `until(text)` resolves when it matches. */
function rawGet(port, path, headers = {}) {
  const request = http.get({ host: '127.0.0.1', port, path, headers, agent: false });
  let body = '';
  const waiters = [];
  const response = withTimeout(once(request, 'response'), 'response').then(([res]) => {
    res.setEncoding('utf8');
    res.on('data', (text) => {
      body += text;
      for (const w of waiters.splice(0)) w();
    });
    return res;
  });
  const until = (test, what) =>
    withTimeout(
      new Promise((resolve) => {
        const check = () => (test(body) ? resolve(body) : waiters.push(check));
        check();
      }),
      what,
    );
  return { request, response, until, close: () => request.destroy() };
}

const dataOf = (text) => [...text.matchAll(/^data: (.*)$/gm)].map((m) => m[1]);

test('stream headers, events, and the eventsource client on the app origin', async (t) => {
  const { engine, port, base } = await startApp(t);
  const get = rawGet(port, '/stream?topic=h1&topic=h2');
  t.after(() => get.close());
  const res = await get.response;
  assert.strictEqual(res.statusCode, 200);
  assert.strictEqual(res.headers['content-type'], 'text/event-stream');
  assert.strictEqual(res.headers['cache-control'], 'no-cache');
  assert.strictEqual(res.headers['x-accel-buffering'], 'no');
  await get.until((b) => b.startsWith(': ok\n'), 'the opening frame');

  const source = new EventSource(`${base}/stream?topic=h2`);
  t.after(() => source.close());
  await withTimeout(once(source, 'open'), 'EventSource open');
  const received = new Promise((resolve) => source.addEventListener('message', (e) => resolve(e)));
  const id = engine.publish('h2', 'hello');
  const event = await withTimeout(received, 'the event');
  assert.strictEqual(event.data, 'hello');
  assert.strictEqual(event.lastEventId, id);
  assert.deepStrictEqual(dataOf(await get.until((b) => b.includes('hello'), 'the raw event')), ['hello']);
});

test('resume through the route: Last-Event-ID header, then lastEventId query', async (t) => {
  const { engine, port } = await startApp(t);
  const ids = Array.from({ length: 5 }, (_, i) => engine.publish('resume', String(i)));
  const cases = [
    [`/stream?topic=resume`, { 'Last-Event-ID': ids[0] }],
    [`/stream?topic=resume&lastEventId=${ids[0]}`, {}],
    [`/stream?topic=resume&lastEventId=unknown`, { 'Last-Event-ID': ids[0] }],
  ];
  for (const [path, headers] of cases) {
    const get = rawGet(port, path, headers);
    const body = await get.until((b) => dataOf(b).length >= 4, `replay of ${path}`);
    assert.deepStrictEqual(dataOf(body), ['1', '2', '3', '4'], `${path}: no gap, no duplicate`);
    assert.ok(body.startsWith(': ok\n'), 'no reset: the header wins over the query');
    get.close();
  }
  const reset = rawGet(port, '/stream?topic=resume', { 'Last-Event-ID': 'nope' });
  assert.match(await reset.until((b) => b.includes('\n\n'), 'reset'), /^event: ssecast-reset\n/);
  reset.close();
});

test('bad topics and ids are typed errors before any byte of stream', async (t) => {
  const { engine, base } = await startApp(t, { maxTopicsPerConnection: 4 });
  const cases = [
    ['/stream?topic=', 'ERR_SSECAST_INVALID_TOPIC'],
    [`/stream?${'topic=a&topic=b&topic=c&topic=d&topic=e'}`, 'ERR_SSECAST_INVALID_TOPIC'],
    [`/stream?topic=t&lastEventId=${'x'.repeat(2000)}`, 'ERR_SSECAST_INVALID_ID'],
    ['/stream?topic=t&lastEventId=a%0Ab', 'ERR_SSECAST_INVALID_ID'],
  ];
  for (const [path, code] of cases) {
    const res = await fetch(base + path);
    assert.strictEqual(res.status, 400, path);
    assert.strictEqual((await res.json()).code, code, path);
  }
  assert.strictEqual(engine.stats().connections, 0);
});

test('a client that leaves mid-replay of 100,000 events releases its stream', async (t) => {
  const { engine, port } = await startApp(t, { historySize: 100_000, historyBytes: 64 * 1024 * 1024 });
  const first = engine.publish('replay', '0');
  for (let i = 1; i < 100_000; i++) engine.publish('replay', String(i));
  const get = rawGet(port, '/stream?topic=replay', { 'Last-Event-ID': first });
  await get.until((b) => b.length > 256 * 1024, '256 KiB of replay');
  await connections(engine, 1);
  get.close();
  await connections(engine, 0);
});

test('backpressure: a client that stops reading waits on drain, then the slow-consumer rule ends it', async (t) => {
  const { engine, port } = await startApp(t, { historySize: 2000 });
  const socket = net.connect({ port, host: '127.0.0.1' });
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  socket.write('GET /stream?topic=bp HTTP/1.1\r\nHost: test\r\n\r\n');
  await withTimeout(once(socket, 'data'), 'the response head');
  socket.pause();
  await connections(engine, 1);
  // 32 MiB, published while the server runs, fill every buffer between the
  // engine and the paused client: the route waits for drain, its cursor stays
  // and falls behind the 2,000-event history. The stream stays open meanwhile.
  const payload = 'y'.repeat(4096);
  for (let round = 0; round < 40; round++) {
    for (let i = 0; i < 200; i++) engine.publish('bp', payload);
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.strictEqual(engine.stats().connections, 1);
  assert.strictEqual(engine.stats().slowConsumersDropped, 0);
  socket.on('data', () => {});
  socket.resume();
  await connections(engine, 0);
  assert.strictEqual(engine.stats().slowConsumersDropped, 1);
});

test('1,000 streams on one Node server all receive everything; a disconnect storm releases them', async (t) => {
  const { engine, port } = await startApp(t);
  const agentless = Array.from({ length: 1000 }, () => rawGet(port, '/stream?topic=load'));
  await Promise.all(agentless.map((g) => g.until((b) => b.startsWith(': ok\n'), 'opening')));
  assert.strictEqual(engine.stats().connections, 1000);
  for (let i = 0; i < 20; i++) engine.publish('load', String(i));
  const expected = Array.from({ length: 20 }, (_, i) => String(i));
  const bodies = await Promise.all(agentless.map((g) => g.until((b) => dataOf(b).length >= 20, '20 events')));
  for (const body of bodies) assert.deepStrictEqual(dataOf(body), expected);
  for (const g of agentless) g.close(); // the storm
  await connections(engine, 0);
  assert.strictEqual(engine.stats().topics, 1, 'only the topic with history remains');
});
