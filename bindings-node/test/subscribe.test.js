'use strict';
// In-app subscriptions (`engine.subscribe`): the engine's streams read by the
// application as an async iterable of Buffers, without blocking the thread;
// bad input, ends and misuse.

const test = require('node:test');
const assert = require('node:assert');

const { startEngine, withTimeout, throwsCode } = require('./helpers.js');

/** The data lines of every event in `wire` (one-line payloads). */
function dataOf(wire) {
  return [...wire.toString('utf8').matchAll(/^data: (.*)$/gm)].map((m) => m[1]);
}

/** Reads chunks until `count` events arrived; rejects if the stream ends first. */
function readEvents(subscription, count) {
  const read = async () => {
    let wire = Buffer.alloc(0);
    for await (const chunk of subscription) {
      assert.ok(Buffer.isBuffer(chunk));
      wire = Buffer.concat([wire, chunk]);
      if (dataOf(wire).length >= count) return wire;
    }
    throw new Error(`ended after ${dataOf(wire).length} of ${count} events`);
  };
  return withTimeout(read(), `${count} events`);
}

/** The next chunk of an iterator, bounded. */
async function nextChunk(iterator) {
  const { value, done } = await withTimeout(iterator.next(), 'a chunk');
  assert.strictEqual(done, false, 'the stream ended');
  return value;
}

test('the opening frame, then events coalesced in one chunk', async (t) => {
  const engine = await startEngine();
  t.after(() => engine.stop());
  const subscription = engine.subscribe('c');
  const chunks = subscription[Symbol.asyncIterator]();
  assert.strictEqual((await nextChunk(chunks)).toString(), ': ok\n');
  for (let i = 0; i < 300; i++) engine.publish('c', String(i));
  const second = await nextChunk(chunks);
  assert.deepStrictEqual(dataOf(second), Array.from({ length: 300 }, (_, i) => String(i)));
  assert.strictEqual(engine.stats().connections, 1);
  await chunks.return();
  assert.strictEqual(subscription.endReason, 'closed', 'leaving the loop closes it');
  assert.strictEqual(engine.stats().connections, 0);
});

test('resume after an id without gap or duplicate; an unknown id gets the reset signal', async (t) => {
  const engine = await startEngine();
  t.after(() => engine.stop());
  const ids = Array.from({ length: 5 }, (_, i) => engine.publish('r', `e${i}`));
  const resumed = engine.subscribe(['r'], { lastEventId: ids[1] });
  engine.publish('r', 'live');
  const wire = await readEvents(resumed, 4);
  assert.deepStrictEqual(dataOf(wire), ['e2', 'e3', 'e4', 'live']);
  assert.match(wire.toString(), new RegExp(`id: ${ids[2]}\n`));
  const reset = await readEvents(engine.subscribe('r', { lastEventId: 'nope' }), 1);
  assert.match(reset.toString(), /^event: ssecast-reset\ndata: \{"reason":"unknown-id"/);
  const blank = engine.subscribe('r', { lastEventId: '  ', });
  assert.strictEqual(blank.read().toString(), ': ok\n', 'a blank id is none');
  blank.close();
});

test('bad arguments throw the engine typed errors', async (t) => {
  const engine = await startEngine({ maxTopicsPerConnection: 2, maxConnections: 1 });
  t.after(() => engine.stop());
  for (const topic of ['', 'a\nb', 'x'.repeat(257)]) {
    throwsCode(assert, () => engine.subscribe([topic]), 'ERR_SSECAST_INVALID_TOPIC');
  }
  throwsCode(assert, () => engine.subscribe(['a', 'b', 'c']), 'ERR_SSECAST_INVALID_TOPIC');
  for (const id of ['a\nb', 'a\0b', 'i'.repeat(1025)]) {
    throwsCode(assert, () => engine.subscribe('a', { lastEventId: id }), 'ERR_SSECAST_INVALID_ID');
  }
  for (const call of [
    () => engine.subscribe(42),
    () => engine.subscribe([7]),
    () => engine.subscribe('a', { lastEventId: 5 }),
    () => engine.subscribe('a', { lastEventID: 'typo' }),
    () => engine.subscribe('a', 'not options'),
  ]) {
    throwsCode(assert, call, 'ERR_SSECAST_INVALID_ARG_TYPE', TypeError);
  }
  const held = engine.subscribe([]);
  throwsCode(assert, () => engine.subscribe('a'), 'ERR_SSECAST_TOO_MANY_CONNECTIONS');
  assert.strictEqual(engine.stats().connections, 1);
  held.close();
  await engine.stop();
  throwsCode(assert, () => engine.subscribe('a'), 'ERR_SSECAST_STOPPED');
});

test('stop delivers what came before, then ends; reads after the end end at once', async () => {
  const engine = await startEngine();
  const subscription = engine.subscribe('s');
  engine.publish('s', 'last');
  const started = Date.now();
  await engine.stop();
  assert.ok(Date.now() - started < 3000, 'stop does not wait for in-app readers');
  const drain = async () => {
    const chunks = [];
    for await (const chunk of subscription) chunks.push(chunk);
    return Buffer.concat(chunks);
  };
  assert.deepStrictEqual(dataOf(await withTimeout(drain(), 'the end')), ['last']);
  assert.strictEqual(subscription.ended, true);
  assert.strictEqual(subscription.endReason, 'stopped');
  assert.strictEqual(subscription.read(), null);
  assert.strictEqual((await withTimeout(drain(), 'the end again')).length, 0);
});

test('close() ends a reader that waits', async (t) => {
  const engine = await startEngine();
  t.after(() => engine.stop());
  const subscription = engine.subscribe(['x', 'y']);
  let opened;
  const first = new Promise((resolve) => {
    opened = resolve;
  });
  const reading = (async () => {
    let wire = '';
    for await (const chunk of subscription) {
      wire += chunk;
      opened();
    }
    return wire;
  })();
  await withTimeout(first, 'the opening frame');
  subscription.close();
  assert.strictEqual(await withTimeout(reading, 'the reader to end'), ': ok\n');
  assert.deepStrictEqual(
    { connections: engine.stats().connections, topics: engine.stats().topics },
    { connections: 0, topics: 0 },
  );
});

test('two loops over one subscription share its chunks in order', async (t) => {
  const engine = await startEngine();
  t.after(() => engine.stop());
  const subscription = engine.subscribe('t');
  const a = subscription[Symbol.asyncIterator]();
  assert.strictEqual((await nextChunk(a)).toString(), ': ok\n');
  const waiting = a.next();
  const queued = a.next();
  engine.publish('t', 'one');
  assert.deepStrictEqual(dataOf((await withTimeout(waiting, 'one')).value), ['one']);
  engine.publish('t', 'two');
  assert.deepStrictEqual(dataOf((await withTimeout(queued, 'two')).value), ['two']);
  await a.return();
});

test('a host that never reads holds bounded memory and is ended as a slow consumer', async (t) => {
  const engine = await startEngine({ historySize: 100 });
  t.after(() => engine.stop());
  const subscription = engine.subscribe('slow');
  const payload = 'x'.repeat(1024);
  for (let i = 0; i < 5000; i++) engine.publish('slow', payload);
  const before = process.memoryUsage().rss;
  for (let i = 0; i < 100_000; i++) engine.publish('slow', payload); // 100 MiB never read
  const grown = process.memoryUsage().rss - before;
  assert.ok(grown < 30 * 1024 * 1024, `memory grew by ${grown} bytes`);
  const chunks = [];
  for await (const chunk of subscription) chunks.push(chunk);
  assert.deepStrictEqual(chunks, [], 'ended before anything');
  assert.strictEqual(subscription.endReason, 'slow-consumer');
  assert.strictEqual(engine.stats().slowConsumersDropped, 1);
  assert.strictEqual(engine.stats().connections, 0);
});

test('1,000 subscriptions in one thread all receive everything', async (t) => {
  const engine = await startEngine();
  t.after(() => engine.stop());
  const subscriptions = Array.from({ length: 1000 }, (_, n) => engine.subscribe(['all', `own/${n}`]));
  assert.strictEqual(engine.stats().connections, 1000);
  const readers = subscriptions.map((s) => readEvents(s, 100));
  for (let i = 0; i < 100; i++) engine.publish('all', String(i));
  const expected = Array.from({ length: 100 }, (_, i) => String(i));
  for (const wire of await Promise.all(readers)) assert.deepStrictEqual(dataOf(wire), expected);
  assert.strictEqual(engine.stats().connections, 0, 'leaving each loop closed its subscription');
  assert.strictEqual(engine.stats().topics, 1);
});
