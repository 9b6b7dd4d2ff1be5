'use strict';
// Runs examples/express/server.js (copied to ./example by make test-node) the
// way its header says, as a child process, and uses it like its page does.

const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { once } = require('node:events');

const { EventSource } = require('eventsource');

const { withTimeout, firstChunk } = require('./helpers.js');

const SERVER = path.join(__dirname, '..', 'example', 'server.js');

/** Starts the example on free ports; resolves once it printed both URLs. */
async function startExample(t) {
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, PORT: '0', ENGINE_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => child.exitCode === null && child.kill('SIGKILL'));
  child.stdout.setEncoding('utf8');
  let output = '';
  const ports = await withTimeout(
    new Promise((resolve, reject) => {
      child.stdout.on('data', (text) => {
        output += text;
        const app = /app\s+http:\/\/localhost:(\d+)/.exec(output);
        const events = /events\s+http:\/\/localhost:(\d+)\/events/.exec(output);
        if (app && events) resolve({ app: Number(app[1]), engine: Number(events[1]) });
      });
      child.once('exit', (code) => reject(new Error(`example exited early (${code})`)));
    }),
    'the example to start',
  );
  const exited = once(child, 'exit');
  return { child, ports, exited, output: () => output };
}

test('the Express example serves its page, chats and counts live', async (t) => {
  const { child, ports, exited, output } = await startExample(t);
  const app = `http://127.0.0.1:${ports.app}`;

  const page = await fetch(`${app}/`);
  assert.strictEqual(page.status, 200);
  assert.match(await page.text(), /new EventSource\(url\)/);
  assert.deepStrictEqual(await (await fetch(`${app}/api/config`)).json(), {
    enginePort: ports.engine,
  });
  // The page's origin may read the engine's stream (CORS allowlist).
  const cors = await firstChunk(ports.engine, '/events?topic=chat', { origin: app });
  assert.strictEqual(cors.headers['access-control-allow-origin'], app);

  const source = new EventSource(
    `http://127.0.0.1:${ports.engine}/events?topic=chat&topic=dashboard`,
  );
  t.after(() => source.close());
  await withTimeout(once(source, 'open'), 'EventSource open');
  const chat = withTimeout(once(source, 'message'), 'a chat message');
  const views = withTimeout(once(source, 'views'), 'a views update');

  const post = (route, body) =>
    fetch(`${app}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const sent = await post('/api/chat', { user: 'ana', text: 'hola ü 🎉' });
  assert.strictEqual(sent.status, 201);
  const { id } = await sent.json();
  const [message] = await chat;
  assert.strictEqual(message.lastEventId, id);
  assert.deepStrictEqual(
    (({ user, text }) => ({ user, text }))(JSON.parse(message.data)),
    { user: 'ana', text: 'hola ü 🎉' },
  );

  assert.strictEqual((await post('/api/track', { page: '/docs' })).status, 201);
  const [update] = await views;
  assert.deepStrictEqual(JSON.parse(update.data), { total: 1, views: { '/docs': 1 } });

  const bad = await post('/api/chat', { user: 'ana', text: '' });
  assert.strictEqual(bad.status, 400);
  assert.match((await bad.json()).error, /text/);

  source.close();
  child.kill('SIGTERM');
  const [code, signal] = await withTimeout(exited, 'the example to exit after SIGTERM');
  assert.strictEqual(signal, null, 'it exits by itself once stopped');
  assert.strictEqual(code, 0);
  assert.match(output(), /stopped\n$/);
});

test('the Express example: a logged-in user streams their own inbox only', async (t) => {
  const { child, ports, exited } = await startExample(t);
  const app = `http://127.0.0.1:${ports.app}`;
  const engine = `http://127.0.0.1:${ports.engine}`;
  const call = (route, { cookie, body } = {}) =>
    fetch(`${app}${route}`, {
      method: body ? 'POST' : 'GET',
      headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
      body: body && JSON.stringify(body),
    });
  /** Logs `user` in; returns the session cookie a browser would keep. */
  const login = async (user) => {
    const answer = await call('/api/login', { body: { user } });
    assert.strictEqual(answer.status, 200);
    return answer.headers.get('set-cookie').split(';')[0];
  };
  const [ada, bob] = [await login('ada'), await login('bob')];
  assert.strictEqual((await call('/api/inbox/stream')).status, 401, 'not logged in');
  const adaStream = await (await call('/api/inbox/stream', { cookie: ada })).json();
  const bobStream = await (await call('/api/inbox/stream', { cookie: bob })).json();
  assert.strictEqual(adaStream.topic, 'user/ada/inbox');
  // The engine refuses the inbox without a token and with another user's.
  const inbox = `/events?topic=${encodeURIComponent(adaStream.topic)}`;
  assert.strictEqual((await firstChunk(ports.engine, inbox, {})).status, 401);
  assert.strictEqual((await firstChunk(ports.engine, `${inbox}&token=${bobStream.token}`, {})).status, 403);

  const source = new EventSource(`${engine}${inbox}&token=${adaStream.token}`);
  t.after(() => source.close());
  await withTimeout(once(source, 'open'), 'the inbox to open');
  const received = withTimeout(once(source, 'private'), 'a private message');
  const sent = await call('/api/users/ada/inbox', { cookie: bob, body: { text: 'hi ada' } });
  assert.strictEqual(sent.status, 201);
  const [message] = await received;
  assert.strictEqual(message.lastEventId, (await sent.json()).id);
  assert.deepStrictEqual(JSON.parse(message.data), { from: 'bob', text: 'hi ada' });

  source.close();
  child.kill('SIGTERM');
  await withTimeout(exited, 'the example to exit after SIGTERM');
});
