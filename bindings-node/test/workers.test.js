'use strict';
// worker_threads publishing at once: each worker loads the addon and attaches
// to the main thread's engine with Engine.attach(port). Every event must reach
// a subscriber exactly once.

const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { once } = require('node:events');

const { startEngine, openStream, parseFrame, withTimeout } = require('./helpers.js');

const WORKERS = 4;
const PER_WORKER = 250;

test('workers publish at once through Engine.attach; each event arrives once', async () => {
  const engine = await startEngine({ historySize: WORKERS * PER_WORKER });
  const stream = await openStream(engine.port, { topics: ['work'] });
  const barrier = new SharedArrayBuffer(4);
  const workers = [];
  for (let worker = 0; worker < WORKERS; worker += 1) {
    workers.push(
      new Worker(path.join(__dirname, 'fixtures', 'publisher-worker.js'), {
        workerData: { port: engine.port, worker, count: PER_WORKER, barrier, workers: WORKERS },
      }),
    );
  }
  const results = await withTimeout(
    Promise.all(
      workers.map(async (worker) => {
        const [[ids], [exitCode]] = await Promise.all([once(worker, 'message'), once(worker, 'exit')]);
        assert.strictEqual(exitCode, 0, 'the worker exits by itself');
        return ids;
      }),
    ),
    'the workers',
  );
  const returnedIds = results.flat();
  assert.strictEqual(new Set(returnedIds).size, WORKERS * PER_WORKER, 'ids are unique');

  const seen = new Map();
  for (let i = 0; i < WORKERS * PER_WORKER; i += 1) {
    const frame = parseFrame(await stream.nextText(`event ${i}`));
    assert.strictEqual(frame.event, 'job');
    const { worker, n } = JSON.parse(frame.data);
    const key = `${worker}/${n}`;
    assert.ok(!seen.has(key), `${key} arrived twice`);
    seen.set(key, frame.id);
  }
  for (let worker = 0; worker < WORKERS; worker += 1) {
    for (let n = 0; n < PER_WORKER; n += 1) {
      assert.strictEqual(seen.get(`${worker}/${n}`), results[worker][n], `${worker}/${n}`);
    }
  }
  // Nothing more than the sentinel follows.
  engine.publish('work', 'end', { id: 'end' });
  assert.strictEqual(await stream.nextText(), 'id: end\ndata: end\n\n');
  assert.strictEqual(engine.stats().published, WORKERS * PER_WORKER + 1);
  await engine.stop();
});
