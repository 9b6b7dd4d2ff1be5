'use strict';
// The durable history (historyDir) from Node: a host process killed with
// SIGKILL in the middle of a publish storm (historySync 'always') loses no
// event whose publish returned, and an `eventsource` client resumes on the
// restarted engine with its Last-Event-ID: no gap, no duplicate. A directory
// another engine holds, or one that cannot be written, is refused with
// ERR_SSECAST_STORAGE.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { spawn, spawnSync } = require('node:child_process');
const { once } = require('node:events');

const { EventSource } = require('eventsource');
const { Engine } = require('ssecast');

const { withTimeout } = require('./helpers.js');

const TOPIC = 'storm';
const HOST = path.join(__dirname, 'fixtures', 'durable-storm.js');

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssecast-durable-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const seq = (id) => Number(id.slice(id.lastIndexOf('-') + 1));

/**
 * An EventSource on `port` (sending `lastEventId` on its first request when
 * given) that records every event, resets included.
 */
function listen(port, lastEventId) {
  const headers = lastEventId ? { 'Last-Event-ID': lastEventId } : {};
  const source = new EventSource(`http://127.0.0.1:${port}/events?topic=${TOPIC}`, {
    fetch: (url, init) => fetch(url, { ...init, headers: { ...init.headers, ...headers } }),
  });
  const events = [];
  const waiters = [];
  for (const type of ['message', 'ssecast-reset']) {
    source.addEventListener(type, (event) => {
      events.push({ type, id: event.lastEventId, data: event.data });
      waiters.splice(0).forEach((wake) => wake());
    });
  }
  const until = (id, what) =>
    withTimeout(
      new Promise((resolve) => {
        const check = () => (events.some((e) => e.id === id) ? resolve() : waiters.push(check));
        check();
      }),
      what,
      30_000,
    );
  return { source, events, until };
}

/** Runs the host with a live client; SIGKILLs it once `acks` publishes returned. */
async function stormUntilKilled(dir, acks) {
  const host = spawn(process.execPath, [HOST, dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: host.stdout });
  const iterator = lines[Symbol.asyncIterator]();
  const first = await withTimeout(iterator.next(), 'the host to start');
  const port = Number(/^port (\d+)$/.exec(first.value)[1]);
  const live = listen(port);
  await withTimeout(once(live.source, 'open'), 'the live stream to open');
  const lost = withTimeout(once(live.source, 'error'), 'the live stream to break', 30_000);
  host.stdin.write('go\n');
  const acked = new Map();
  const exited = once(host, 'exit');
  for await (const line of iterator) {
    const [, id, data] = line.split(' ');
    acked.set(id, data);
    if (acked.size === acks) host.kill('SIGKILL');
  }
  // The loop ends when the pipe closes: every ack the host printed was read.
  const [, signal] = await exited;
  assert.strictEqual(signal, 'SIGKILL');
  await lost;
  live.source.close();
  return { live: live.events, acked };
}

test('kill -9 mid-storm loses nothing acknowledged and an EventSource resumes exactly', async (t) => {
  const dir = tempDir(t);
  const { live, acked } = await stormUntilKilled(dir, 300);
  assert.ok(live.length > 10, 'the client got events before the crash');
  const engine = await Engine.start({
    port: 0,
    keepaliveMs: 0,
    historyDir: dir,
    historySync: 'always',
    historySize: 10,
  });
  t.after(() => engine.stop());
  // More than the restarted engine keeps in memory: the client resumes from disk.
  const away = Array.from({ length: 50 }, (_, i) => engine.publish(TOPIC, `n-away-${i}`));
  const after = engine.publish(TOPIC, 'after the restart');
  const resumed = listen(engine.port, live.at(-1).id);
  await resumed.until(after, 'the resumed stream to reach the restart');
  resumed.source.close();
  assert.deepStrictEqual(resumed.events.slice(-51).map((e) => e.id), [...away, after]);

  const got = [...live, ...resumed.events];
  const ids = got.map((e) => e.id);
  assert.deepStrictEqual(got.filter((e) => e.type !== 'message'), [], 'no reset');
  assert.strictEqual(new Set(ids).size, ids.length, 'no duplicate');
  assert.deepStrictEqual(ids, [...ids].sort((a, b) => seq(a) - seq(b)), 'in publish order');
  const missing = [...acked.keys()].filter((id) => !ids.includes(id));
  assert.deepStrictEqual(missing, [], 'every acknowledged event');
  for (const event of live) {
    assert.match(event.data, /^n\d+$/);
    assert.strictEqual(acked.get(event.id) ?? event.data, event.data, 'whole events');
  }
  assert.ok(seq(after) > Math.max(...[...acked.keys()].map(seq)), 'ids are never reused');

  // A client further back gets the same events again, from disk.
  const replayed = listen(engine.port, live[9].id);
  await replayed.until(after, 'the replay to reach the restart');
  replayed.source.close();
  assert.deepStrictEqual(replayed.events, got.slice(10));
});

test('a second engine on the same historyDir is refused with ERR_SSECAST_STORAGE', async (t) => {
  const dir = tempDir(t);
  const first = await Engine.start({ port: 0, historyDir: dir });
  await assert.rejects(Engine.start({ port: 0, historyDir: dir }), (error) => {
    assert.strictEqual(error.code, 'ERR_SSECAST_STORAGE');
    assert.match(error.message, /is in use by another engine/);
    assert.ok(error.message.includes(dir));
    return true;
  });
  await first.stop();
  const second = await Engine.start({ port: 0, historyDir: dir });
  second.publish(TOPIC, 'the directory is free again');
  await second.stop();
});

test('a historyDir that cannot be written is refused with ERR_SSECAST_STORAGE', async (t) => {
  const dir = path.join(tempDir(t), 'history');
  fs.mkdirSync(dir);
  // Permissions do not stop root (CI runs as root): a read-only tmpfs then.
  const asRoot = process.getuid() === 0;
  if (asRoot) {
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir]);
    assert.strictEqual(mount.status, 0, String(mount.stderr));
  } else {
    fs.chmodSync(dir, 0o555);
  }
  try {
    await assert.rejects(Engine.start({ port: 0, historyDir: dir }), (error) => {
      assert.strictEqual(error.code, 'ERR_SSECAST_STORAGE');
      assert.match(error.message, /history_dir/);
      return true;
    });
  } finally {
    if (asRoot) spawnSync('umount', [dir]);
    else fs.chmodSync(dir, 0o755);
  }
});
