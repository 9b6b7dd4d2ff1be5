'use strict';
// Runs examples/express/inapp.js (copied to ./example by make test-node) as
// its header says, as a child process, and reads each of its streams with the
// npm `eventsource` client; tokens are minted by `jsonwebtoken`.

const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { once } = require('node:events');

const jwt = require('jsonwebtoken');
const { EventSource } = require('eventsource');

const { withTimeout } = require('./helpers.js');

const SERVER = path.join(__dirname, '..', 'example', 'inapp.js');
const SECRET = 'a test secret of at least 32 bytes, for HS256';

const token = (sub, secret = SECRET, expiresIn = 300) =>
  jwt.sign({ sub }, secret, { algorithm: 'HS256', expiresIn });

let base;
let child;

test.before(async () => {
  child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, PORT: '0', JWT_SECRET: SECRET, TICK_MS: '20', DASHBOARD_MS: '50', JOB_STEP_MS: '10' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout.setEncoding('utf8');
  let output = '';
  const port = await withTimeout(
    new Promise((resolve, reject) => {
      child.stdout.on('data', (text) => {
        output += text;
        const app = /app\s+http:\/\/localhost:(\d+)/.exec(output);
        if (app) resolve(Number(app[1]));
      });
      child.once('exit', (code) => reject(new Error(`example exited early (${code})`)));
    }),
    'the example to start',
  );
  base = `http://127.0.0.1:${port}`;
});

test.after(async () => {
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code, signal] = await withTimeout(exited, 'the example to exit');
  assert.strictEqual(signal, null, 'it stopped itself on SIGTERM');
  assert.strictEqual(code, 0);
});

/** An EventSource on `path`, closed after the test; `headers` go with every request. */
async function listen(t, path, headers = {}) {
  const source = new EventSource(`${base}${path}`, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...headers } }),
  });
  t.after(() => source.close());
  await withTimeout(once(source, 'open'), `EventSource open on ${path}`);
  return source;
}

/** The next `count` events of the given types. */
function collect(source, types, count) {
  const received = [];
  return withTimeout(
    new Promise((resolve) => {
      for (const type of types) {
        source.addEventListener(type, (event) => {
          received.push({ type: event.type, data: JSON.parse(event.data) });
          if (received.length === count) resolve(received);
        });
      }
    }),
    `${count} events of ${types.join(', ')}`,
  );
}

const post = async (path, body, headers = {}) => {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body ?? {}),
  });
  return { status: res.status, body: await res.json() };
};

test('notifications reach only their user, behind jsonwebtoken', async (t) => {
  const alice = await listen(t, '/streams/notifications', { Authorization: `Bearer ${token('alice')}` });
  const bob = await listen(t, `/streams/notifications?token=${token('bob')}`);
  const toAlice = collect(alice, ['notification'], 1);
  const toBob = collect(bob, ['notification'], 1);
  const carol = { Authorization: `Bearer ${token('carol')}` };
  assert.strictEqual((await post('/users/alice/notifications', { text: 'for alice' }, carol)).status, 200);
  assert.strictEqual((await post('/users/bob/notifications', { text: 'for bob' }, carol)).status, 200);
  assert.deepStrictEqual((await toAlice)[0].data, { from: 'carol', text: 'for alice' });
  assert.deepStrictEqual((await toBob)[0].data, { from: 'carol', text: 'for bob' });
});

test('notifications refuse missing, forged, expired and exp-less tokens', async () => {
  const cases = [
    {},
    { Authorization: 'Bearer not-a-jwt' },
    { Authorization: `Bearer ${token('mallory', 'another secret of at least 32 bytes!')}` },
    { Authorization: `Bearer ${token('late', SECRET, -60)}` },
    { Authorization: `Bearer ${jwt.sign({ sub: 'nobody' }, SECRET, { algorithm: 'HS256' })}` },
  ];
  for (const headers of cases) {
    const res = await fetch(`${base}/streams/notifications`, { headers });
    assert.strictEqual(res.status, 401, JSON.stringify(headers));
  }
  const { stats } = await (await fetch(`${base}/health`)).json();
  assert.strictEqual(stats.connections, 0);
});

test('a chat room', async (t) => {
  const first = await listen(t, '/streams/chat/lobby');
  const second = await listen(t, '/streams/chat/lobby');
  const seen = [first, second].map((s) => collect(s, ['message'], 2));
  for (const text of ['hello', 'world']) {
    assert.strictEqual((await post('/chat/lobby', { user: 'ada', text })).status, 201);
  }
  assert.strictEqual((await post('/chat/lobby', { user: '', text: 'x' })).status, 422);
  for (const received of await Promise.all(seen)) {
    assert.deepStrictEqual(received.map((e) => e.data.text), ['hello', 'world']);
  }
});

test('a live dashboard', async (t) => {
  const source = await listen(t, '/streams/dashboard');
  const [stats] = await collect(source, ['stats'], 1);
  assert.ok(stats.data.connections >= 1, 'it counts its own stream');
});

test('job progress, replayed from its start, then complete', async (t) => {
  const { status, body } = await post('/jobs');
  assert.strictEqual(status, 202);
  assert.match(body.stream, new RegExp(`^/streams/jobs/${body.job}\\?lastEventId=`));
  const source = await listen(t, body.stream);
  const received = await collect(source, ['progress', 'complete'], 6);
  assert.deepStrictEqual(received.map((e) => e.type), [...Array(5).fill('progress'), 'complete']);
  assert.deepStrictEqual(received.slice(0, 5).map((e) => e.data.percent), [20, 40, 60, 80, 100]);
  assert.deepStrictEqual(received[5].data, { job: body.job, result: 'ok' });
});

test('a stock ticker', async (t) => {
  const source = await listen(t, '/streams/ticker?symbol=AAPL&symbol=NVDA');
  const prices = await collect(source, ['price'], 6);
  assert.deepStrictEqual(new Set(prices.map((p) => p.data.symbol)), new Set(['AAPL', 'NVDA']));
  assert.ok(prices.every((p) => p.data.price > 0));
  assert.strictEqual((await fetch(`${base}/streams/ticker?symbol=NOPE`)).status, 404);
});
