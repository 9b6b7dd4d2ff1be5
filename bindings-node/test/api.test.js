'use strict';
// The Engine API itself: start options, publish arguments and every bad input,
// stats, stop, attach. Each bad input must throw the documented code and leave
// the stream untouched.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');

const {
  Engine,
  startEngine,
  openStream,
  firstChunk,
  parseFrame,
  throwsCode,
} = require('./helpers.js');

const TYPE = 'ERR_SSECAST_INVALID_ARG_TYPE';

test('start gives a running engine on a free port; stop is idempotent', async () => {
  const engine = await startEngine();
  assert.ok(engine.port > 0 && engine.port < 65536);
  assert.strictEqual(engine.stopped, false);
  assert.deepStrictEqual(engine.stats(), {
    connections: 0,
    topics: 0,
    published: 0,
    slowConsumersDropped: 0,
    streamsOpened: 0,
    streamsRefused: 0,
    eventsDelivered: 0,
    bytesDelivered: 0,
    resetsSent: 0,
    authFailures: 0,
    rateLimited: 0,
  });
  const stream = await openStream(engine.port, { topics: ['t'] });
  engine.publish('t', 'one');
  await stream.next();
  const stats = engine.stats();
  assert.strictEqual(stats.connections, 1);
  assert.strictEqual(stats.published, 1);
  await Promise.all([engine.stop(), engine.stop()]);
  await engine.stop();
  assert.strictEqual(engine.stopped, true);
  await stream.closed();
});

test('new Engine() is not how engines are made', () => {
  assert.throws(() => new Engine());
});

test('camelCase options reach the core configuration', async () => {
  const engine = await startEngine({
    retryMs: 1234,
    eventsPath: '/stream',
    corsOrigins: ['https://a.example', 'https://b.example'],
    historySize: '5',
    publishToken: undefined,
    bind: null,
  });
  const stream = await firstChunk(engine.port, '/stream?topic=x', {
    origin: 'https://b.example',
  });
  assert.strictEqual(stream.status, 200);
  assert.strictEqual(stream.headers['content-type'], 'text/event-stream');
  assert.strictEqual(stream.headers['access-control-allow-origin'], 'https://b.example');
  assert.strictEqual(stream.text, 'retry: 1234\n');
  const old = await firstChunk(engine.port, '/events?topic=x', {});
  assert.strictEqual(old.status, 404);
  await engine.stop();
});

test('every option TypeScript declares is accepted by start', async () => {
  const root = path.dirname(require.resolve('ssecast/package.json'));
  const dts = fs.readFileSync(path.join(root, 'index.d.ts'), 'utf8');
  const body = dts.match(/export interface EngineOptions \{([\s\S]*?)\n\}/)[1];
  const names = [...body.matchAll(/^\s+(\w+)\?:/gm)].map((m) => m[1]);
  assert.ok(names.length >= 17, `found ${names.join(', ')}`);
  // undefined keeps the default, so this only checks that the name is known.
  const options = Object.fromEntries(names.map((name) => [name, undefined]));
  const engine = await startEngine(options);
  await engine.stop();
});

test('bad start options reject with a code naming the option', async () => {
  const cases = [
    [{ prot: 80 }, 'ERR_SSECAST_INVALID_CONFIG', /prot/],
    [{ publish_token: 'x' }, 'ERR_SSECAST_INVALID_CONFIG', /publish_token/],
    [{ port: 70000 }, 'ERR_SSECAST_INVALID_CONFIG', /port/],
    [{ port: -1 }, 'ERR_SSECAST_INVALID_CONFIG', /port/],
    [{ historySize: 0 }, 'ERR_SSECAST_INVALID_CONFIG', /historySize/],
    [{ bind: 'not an address' }, 'ERR_SSECAST_INVALID_CONFIG', /bind/],
    [{ eventsPath: 'no-slash' }, 'ERR_SSECAST_INVALID_CONFIG', /events_path/],
    [{ port: 1.5 }, TYPE, /port/],
    [{ port: true }, TYPE, /port/],
    [{ publishToken: true }, TYPE, /publishToken/],
    [{ clientScript: 'yes' }, 'ERR_SSECAST_INVALID_CONFIG', /clientScript/],
    [{ clientScript: {} }, TYPE, /clientScript/],
    [{ reusePort: true }, 'ERR_SSECAST_INVALID_CONFIG', /reuse_port needs a backplane/],
    [{ backplane: 'http://localhost' }, 'ERR_SSECAST_INVALID_CONFIG', /option backplane: expected a Redis URL/],
    [{ corsOrigins: [1, 2] }, TYPE, /corsOrigins/],
    [{ keepaliveMs: {} }, TYPE, /keepaliveMs/],
    ['port=0', TYPE, /options/],
    [[1], TYPE, /options/],
  ];
  for (const [options, code, pattern] of cases) {
    await assert.rejects(Engine.start(options), (error) => {
      assert.strictEqual(error.code, code, `${JSON.stringify(options)}: ${error.message}`);
      assert.match(error.message, pattern);
      assert.strictEqual(error instanceof TypeError, code === TYPE);
      return true;
    });
  }
});

test('a flag takes a boolean: clientScript serves the browser client', async () => {
  for (const [clientScript, status] of [[true, 200], [false, 404], ['true', 200]]) {
    const engine = await startEngine({ clientScript });
    const served = await fetch(`http://127.0.0.1:${engine.port}/ssecast.js`);
    assert.strictEqual(served.status, status, `clientScript: ${clientScript}`);
    await served.arrayBuffer();
    await engine.stop();
  }
});

test('a port in use rejects with ERR_SSECAST_BIND', async () => {
  const engine = await startEngine();
  await assert.rejects(Engine.start({ port: engine.port }), { code: 'ERR_SSECAST_BIND' });
  await engine.stop();
});

test('publish returns the id: given verbatim or assigned, unique and ordered', async () => {
  const engine = await startEngine();
  const stream = await openStream(engine.port, { topics: ['ids'] });
  assert.strictEqual(engine.publish('ids', 'a', { id: 'mine-1' }), 'mine-1');
  const assigned = [1, 2, 3].map((n) => engine.publish('ids', `n${n}`));
  assert.strictEqual(new Set(assigned).size, 3);
  for (const id of ['mine-1', ...assigned]) {
    assert.strictEqual(parseFrame(await stream.nextText()).id, id);
  }
  await engine.stop();
});

test('payloads: string, Buffer, Uint8Array, objects, arrays, numbers, null as JSON', async () => {
  const engine = await startEngine();
  const stream = await openStream(engine.port, { topics: ['p'] });
  const cases = [
    ['text', 'text'],
    [Buffer.from('bytes ✓'), 'bytes ✓'],
    [new TextEncoder().encode('uint8 🎉'), 'uint8 🎉'],
    [{ a: 1, b: ['x', null], c: 'é' }, '{"a":1,"b":["x",null],"c":"é"}'],
    [[1, 2], '[1,2]'],
    [42, '42'],
    [false, 'false'],
    [null, 'null'],
    [{ toJSON: () => 'custom' }, '"custom"'],
    [new Date(0), '"1970-01-01T00:00:00.000Z"'],
  ];
  for (const [data] of cases) engine.publish('p', data);
  for (const [, expected] of cases) {
    assert.strictEqual(parseFrame(await stream.nextText()).data, expected);
  }
  await engine.stop();
});

test('every bad publish input throws its code and sends nothing', async () => {
  const engine = await startEngine({ maxEventBytes: 64 });
  const stream = await openStream(engine.port, { topics: ['bad'] });
  const circular = { name: 'loop' };
  circular.self = circular;
  const cases = [
    [() => engine.publish('bad', 'x', { event: 'a\nb' }), 'ERR_SSECAST_INVALID_EVENT_NAME'],
    [() => engine.publish('bad', 'x', { event: '' }), 'ERR_SSECAST_INVALID_EVENT_NAME'],
    [() => engine.publish('bad', 'x', { id: 'line\nbreak' }), 'ERR_SSECAST_INVALID_ID'],
    [() => engine.publish('bad', 'x', { id: 'nul\0' }), 'ERR_SSECAST_INVALID_ID'],
    [() => engine.publish('', 'x'), 'ERR_SSECAST_INVALID_TOPIC'],
    [() => engine.publish('a\nb', 'x'), 'ERR_SSECAST_INVALID_TOPIC'],
    [() => engine.publish('bad', circular), 'ERR_SSECAST_INVALID_DATA'],
    [() => engine.publish('bad', { big: 10n }), 'ERR_SSECAST_INVALID_DATA'],
    [() => engine.publish('bad', Buffer.from([0x68, 0xff])), 'ERR_SSECAST_INVALID_DATA'],
    [() => engine.publish('bad', 'x'.repeat(65)), 'ERR_SSECAST_TOO_LARGE'],
    [() => engine.publish(42, 'x'), TYPE, TypeError],
    [() => engine.publish(undefined, 'x'), TYPE, TypeError],
    [() => engine.publish('bad'), TYPE, TypeError],
    [() => engine.publish('bad', undefined), TYPE, TypeError],
    [() => engine.publish('bad', () => 1), TYPE, TypeError],
    [() => engine.publish('bad', Symbol('s')), TYPE, TypeError],
    [() => engine.publish('bad', 'x', 'event'), TYPE, TypeError],
    [() => engine.publish('bad', 'x', { event: 5 }), TYPE, TypeError],
    [() => engine.publish('bad', 'x', { id: {} }), TYPE, TypeError],
    [() => engine.publish('bad', 'x', { retry: -1 }), TYPE, TypeError],
    [() => engine.publish('bad', 'x', { retry: 1.5 }), TYPE, TypeError],
    [() => engine.publish('bad', 'x', { retry: '10' }), TYPE, TypeError],
    [() => engine.publish('bad', 'x', { retry: 2 ** 32 }), TYPE, TypeError],
    [() => engine.publish('bad', 'x', { evnt: 'typo' }), TYPE, TypeError],
  ];
  for (const [fn, code, type] of cases) throwsCode(assert, fn, code, type);
  // Nothing reached the stream: the next frame is this one.
  engine.publish('bad', 'after', { id: 'after' });
  assert.strictEqual(await stream.nextText(), 'id: after\ndata: after\n\n');
  assert.strictEqual(engine.stats().published, 1);
  await engine.stop();
});

test('lone surrogates are refused with the code of their argument, as Python does', async () => {
  const engine = await startEngine();
  const stream = await openStream(engine.port, { topics: ['\ufffd', 'u'] });
  const cases = [
    [() => engine.publish('\ud800', 'x'), 'ERR_SSECAST_INVALID_TOPIC'],
    [() => engine.publish('u', 'a\udfffb'), 'ERR_SSECAST_INVALID_DATA'],
    [() => engine.publish('u', 'x', { event: 'e\ud83d' }), 'ERR_SSECAST_INVALID_EVENT_NAME'],
    [() => engine.publish('u', 'x', { id: '\udc00' }), 'ERR_SSECAST_INVALID_ID'],
  ];
  for (const [fn, code] of cases) throwsCode(assert, fn, code);
  assert.throws(() => engine.publish('\ud800', 'x'), /topic is not valid Unicode/);
  // Before, '\ud800' became U+FFFD and reached the subscribers of that topic.
  // A real U+FFFD, and a surrogate pair, are fine.
  engine.publish('\ufffd', '\ufffd \ud83d\ude00', { id: 'ok' });
  assert.strictEqual(await stream.nextText(), 'id: ok\ndata: \ufffd \u{1f600}\n\n');
  assert.strictEqual(engine.stats().published, 1);
  await assert.rejects(startEngine({ corsOrigins: ['https://a\ud800.example'] }), (error) => {
    assert.strictEqual(error.code, 'ERR_SSECAST_INVALID_CONFIG');
    return true;
  });
  await engine.stop();
});

test('the error messages name what was wrong', async () => {
  const engine = await startEngine();
  assert.throws(() => engine.publish('t', 'x', { id: 'a\nb' }), /id/);
  assert.throws(() => engine.publish(7, 'x'), /topic must be a string \(got number\)/);
  assert.throws(() => engine.publish('t', 'x', { retry: 'soon' }), /retry/);
  assert.throws(() => engine.publish('t', 'x', { evnt: 1 }), /"evnt"/);
  const circular = [];
  circular.push(circular);
  assert.throws(() => engine.publish('t', circular), (error) => {
    assert.match(error.message, /JSON/);
    assert.ok(error.cause instanceof TypeError);
    return true;
  });
  await engine.stop();
});

test('publish after stop throws ERR_SSECAST_STOPPED', async () => {
  const engine = await startEngine();
  await engine.stop();
  throwsCode(assert, () => engine.publish('t', 'late'), 'ERR_SSECAST_STOPPED');
  assert.strictEqual(engine.stats().published, 0);
});

test('stop runs off the event loop', async () => {
  const engine = await startEngine();
  const stream = await openStream(engine.port, { topics: ['s'] });
  let immediateRan = false;
  setImmediate(() => {
    immediateRan = true;
  });
  const stopping = engine.stop();
  assert.ok(stopping instanceof Promise);
  await stopping;
  assert.ok(immediateRan, 'the event loop turned while stop() was joining threads');
  await stream.closed();
});

test('attach gives another handle on a running engine, by port', async () => {
  const engine = await startEngine();
  const stream = await openStream(engine.port, { topics: ['a'] });
  const other = Engine.attach(engine.port);
  assert.strictEqual(other.port, engine.port);
  other.publish('a', 'via attach', { id: 'x1' });
  assert.strictEqual(await stream.nextText(), 'id: x1\ndata: via attach\n\n');
  await engine.stop();
  assert.strictEqual(other.stopped, true);
  throwsCode(assert, () => other.publish('a', 'late'), 'ERR_SSECAST_STOPPED');
  throwsCode(assert, () => Engine.attach(engine.port), 'ERR_SSECAST_STOPPED');
  throwsCode(assert, () => Engine.attach(1), 'ERR_SSECAST_STOPPED');
  throwsCode(assert, () => Engine.attach('80'), TYPE, TypeError);
  throwsCode(assert, () => Engine.attach(65536), TYPE, TypeError);
});

test('the package ships types and both module formats', () => {
  const root = path.dirname(require.resolve('ssecast/package.json'));
  const manifest = require('ssecast/package.json');
  assert.strictEqual(manifest.types, 'index.d.ts');
  assert.ok(fs.existsSync(path.join(root, 'index.d.ts')));
  assert.ok(fs.readdirSync(root).some((file) => /^ssecast\..+\.node$/.test(file)));
  assert.strictEqual(manifest.scripts, undefined, 'no install script');
});
