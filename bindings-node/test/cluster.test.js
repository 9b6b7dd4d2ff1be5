'use strict';
// Express under node:cluster with 2 workers: two engines share one stream port
// (reusePort) and one Redis (backplane); every subscriber, whichever engine the
// kernel gave its connection to, receives every event, whichever worker
// published it, in the same order. Redis is Debian's redis-server on a free
// port with a temporary directory, started and stopped here.

const test = require('node:test');
const assert = require('node:assert');
const { spawn } = require('node:child_process');
const { once } = require('node:events');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const { Engine, RawStream, parseFrame, throwsCode, withTimeout } = require('./helpers');

const WORKERS = 2;

async function freePort() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/** Waits until `child`'s stdout prints a line containing `text`. */
function lineContaining(child, text, what) {
  const lines = readline.createInterface({ input: child.stdout });
  return withTimeout(
    new Promise((resolve, reject) => {
      lines.on('line', (line) => line.includes(text) && resolve());
      child.on('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
    }),
    what,
    30_000,
  );
}

async function startRedis() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssecast-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await lineContaining(child, 'Ready to accept connections', 'redis-server');
  child.stdout.resume();
  return {
    url: `redis://127.0.0.1:${port}/0`,
    async stop() {
      child.kill('SIGKILL');
      await once(child, 'exit');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function getJson(port, route, method = 'GET') {
  const response = await fetch(`http://127.0.0.1:${port}${route}`, {
    method,
    headers: { connection: 'close' },
  });
  assert.strictEqual(response.status, 200, await response.clone().text());
  return response.json();
}

/** Each worker's stats, asked on fresh connections until every worker answered. */
async function workerStats(port) {
  const seen = new Map();
  const deadline = Date.now() + 30_000;
  while (seen.size < WORKERS) {
    assert.ok(Date.now() < deadline, `only workers ${[...seen.keys()]} answered`);
    const answer = await getJson(port, '/worker');
    seen.set(answer.worker, answer);
  }
  return [...seen.values()];
}

test('every subscriber gets every event whichever cluster worker published it', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const [appPort, streamPort] = [await freePort(), await freePort()];
  const app = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'cluster-app.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      APP_PORT: String(appPort),
      APP_STREAM_PORT: String(streamPort),
      APP_BACKPLANE: redis.url,
      WORKERS: String(WORKERS),
    },
  });
  t.after(async () => {
    app.kill('SIGTERM');
    await once(app, 'exit');
  });
  await lineContaining(app, 'ready', 'the cluster app');
  const deadline = Date.now() + 30_000;
  while ((await workerStats(appPort)).some((s) => s.backplane !== 'connected')) {
    assert.ok(Date.now() < deadline, "the workers' engines never reached Redis");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const streams = [];
  for (let i = 0; i < 8; i += 1) {
    const stream = new RawStream(streamPort, { topics: ['news'] });
    t.after(() => stream.close());
    await stream.opened;
    streams.push(stream);
  }
  const holding = (await workerStats(appPort)).map((s) => s.connections);
  assert.strictEqual(holding.reduce((a, b) => a + b, 0), 8, `${holding}`);

  const published = [];
  for (let i = 0; i < 30; i += 1) {
    published.push(await getJson(appPort, `/notify/news?text=n${i}`, 'POST'));
  }
  assert.strictEqual(new Set(published.map((p) => p.worker)).size, WORKERS, 'every worker published');
  for (const stream of streams) {
    for (const [i, { id }] of published.entries()) {
      const frame = parseFrame(await stream.nextText(`event ${i}`));
      assert.deepStrictEqual([frame.id, frame.data], [id, `n${i}`]);
    }
  }
});

test('bad backplane options are refused; an unreachable Redis fails publishes with UNAVAILABLE', async () => {
  await assert.rejects(Engine.start({ port: 0, backplane: 'http://127.0.0.1:6379' }), {
    code: 'ERR_SSECAST_INVALID_CONFIG',
  });
  await assert.rejects(Engine.start({ port: 0, reusePort: true }), (error) => {
    assert.strictEqual(error.code, 'ERR_SSECAST_INVALID_CONFIG');
    assert.match(error.message, /needs a backplane/);
    return true;
  });
  const engine = await Engine.start({ port: 0, backplane: `redis://127.0.0.1:${await freePort()}/0` });
  try {
    throwsCode(assert, () => engine.publish('t', 'x'), 'ERR_SSECAST_UNAVAILABLE');
    const deadline = Date.now() + 10_000;
    while (engine.stats().backplane !== 'down') {
      assert.ok(Date.now() < deadline, JSON.stringify(engine.stats()));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await engine.stop();
  }
  const alone = await Engine.start({ port: 0 });
  assert.strictEqual(alone.stats().backplane, undefined);
  await alone.stop();
});
