'use strict';
// A real Express 5 app whose POST route publishes through ssecast, read by the
// npm `eventsource` client and by raw HTTP streams.

const test = require('node:test');
const assert = require('node:assert');
const { once } = require('node:events');

const express = require('express');
const { EventSource } = require('eventsource');

const { startEngine, openStream, parseFrame, withTimeout } = require('./helpers.js');

/** The app under test: POST /rooms/:room publishes the JSON body's fields. */
function createApp(engine) {
  const app = express();
  app.use(express.json());
  app.post('/rooms/:room', (req, res) => {
    const { data, event, id } = req.body;
    res.status(201).json({ id: engine.publish(`room/${req.params.room}`, data, { event, id }) });
  });
  app.use((error, req, res, next) => {
    const ours = typeof error.code === 'string' && error.code.startsWith('ERR_SSECAST_');
    res.status(ours ? 400 : 500).json({ code: error.code, error: error.message });
  });
  return app;
}

/** Starts an engine and the app on free ports; `post` publishes through the app. */
async function startStack(t, engineOptions) {
  const engine = await startEngine(engineOptions);
  const server = createApp(engine).listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    server.close();
    await engine.stop();
  });
  const base = `http://127.0.0.1:${server.address().port}`;
  const post = async (room, body) => {
    const res = await fetch(`${base}/rooms/${room}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  return { engine, post, events: `http://127.0.0.1:${engine.port}/events` };
}

/** Collects events of the given types from an EventSource until `count` arrived. */
function collect(source, types, count) {
  const received = [];
  return withTimeout(
    new Promise((resolve) => {
      for (const type of types) {
        source.addEventListener(type, (event) => {
          received.push({ type: event.type, id: event.lastEventId, data: event.data });
          if (received.length === count) resolve(received);
        });
      }
    }),
    `${count} EventSource events`,
  );
}

const MESSAGES = [
  { data: 'plain', event: undefined },
  { data: 'line one\nline two\r\nline three', event: 'multi' },
  { data: 'héllo wörld ✓ 🎉 日本語', event: 'unicode' },
  { data: { user: 'ana', text: 'hi', tags: ['a', 'ü'] }, event: 'object' },
];

test('the eventsource client receives ids, types, multi-line, unicode and JSON', async (t) => {
  const { post, events } = await startStack(t);
  const source = new EventSource(`${events}?topic=room/lobby`);
  t.after(() => source.close());
  await withTimeout(once(source, 'open'), 'EventSource open');
  const arriving = collect(source, ['message', 'multi', 'unicode', 'object'], MESSAGES.length);
  const ids = [];
  for (const message of MESSAGES) {
    const { status, body } = await post('lobby', message);
    assert.strictEqual(status, 201);
    ids.push(body.id);
  }
  const received = await arriving;
  assert.deepStrictEqual(
    received.map((e) => e.type),
    ['message', 'multi', 'unicode', 'object'],
  );
  assert.deepStrictEqual(received.map((e) => e.id), ids);
  assert.strictEqual(received[0].data, 'plain');
  assert.strictEqual(received[1].data, 'line one\nline two\nline three');
  assert.strictEqual(received[2].data, 'héllo wörld ✓ 🎉 日本語');
  assert.deepStrictEqual(JSON.parse(received[3].data), MESSAGES[3].data);
});

test('a raw HTTP stream gets the exact frames', async (t) => {
  const { engine, post } = await startStack(t);
  const stream = await openStream(engine.port, { topics: ['room/raw'] });
  t.after(() => stream.close());
  const one = await post('raw', { data: 'a\nb', event: 'multi', id: 'raw-1' });
  assert.deepStrictEqual(one, { status: 201, body: { id: 'raw-1' } });
  await post('raw', { data: { n: 1, s: 'ü' }, id: 'raw-2' });
  assert.strictEqual(await stream.nextText(), 'id: raw-1\nevent: multi\ndata: a\ndata: b\n\n');
  assert.strictEqual(await stream.nextText(), 'id: raw-2\ndata: {"n":1,"s":"ü"}\n\n');
});

test('Last-Event-ID resumes after the given event, by header and by query', async (t) => {
  const { engine, post } = await startStack(t);
  const ids = [];
  for (const n of [1, 2, 3]) ids.push((await post('resume', { data: `event ${n}` })).body.id);

  const byHeader = await openStream(engine.port, {
    topics: ['room/resume'],
    headers: { 'last-event-id': ids[0] },
  });
  const byQuery = await openStream(engine.port, {
    topics: ['room/resume'],
    query: `lastEventId=${encodeURIComponent(ids[1])}`,
  });
  t.after(() => {
    byHeader.close();
    byQuery.close();
  });
  await post('resume', { data: 'live', id: 'live-4' });
  for (const [stream, expected] of [
    [byHeader, ['event 2', 'event 3', 'live']],
    [byQuery, ['event 3', 'live']],
  ]) {
    const got = [];
    for (const _ of expected) got.push(parseFrame(await stream.nextText()).data);
    assert.deepStrictEqual(got, expected);
  }
});

test('an unknown Last-Event-ID gets the documented reset event first', async (t) => {
  const { engine, post } = await startStack(t);
  await post('reset', { data: 'kept' });
  const stream = await openStream(engine.port, {
    topics: ['room/reset'],
    headers: { 'last-event-id': 'no-such-id' },
  });
  t.after(() => stream.close());
  const reset = parseFrame(await stream.nextText());
  assert.strictEqual(reset.event, 'ssecast-reset');
  assert.deepStrictEqual(JSON.parse(reset.data), {
    reason: 'unknown-id',
    lastEventId: 'no-such-id',
  });
});

test('bad input through the route answers 400 with the code, and sends nothing', async (t) => {
  const { engine, post } = await startStack(t);
  const stream = await openStream(engine.port, { topics: ['room/bad'] });
  t.after(() => stream.close());
  const cases = [
    [{ data: 'x', event: 'a\nb' }, 'ERR_SSECAST_INVALID_EVENT_NAME'],
    [{ data: 'x', id: 'a\nb' }, 'ERR_SSECAST_INVALID_ID'],
    [{ data: 'x', id: 7 }, 'ERR_SSECAST_INVALID_ARG_TYPE'],
    [{}, 'ERR_SSECAST_INVALID_ARG_TYPE'],
  ];
  for (const [body, code] of cases) {
    const answer = await post('bad', body);
    assert.strictEqual(answer.status, 400, JSON.stringify(answer));
    assert.strictEqual(answer.body.code, code);
  }
  await post('bad', { data: 'good', id: 'good' });
  assert.strictEqual(await stream.nextText(), 'id: good\ndata: good\n\n');
});
