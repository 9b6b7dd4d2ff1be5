'use strict';
// Lifetime: stop with 500 connected clients, and processes that exit by
// themselves once the engine is stopped (no handle keeps the loop alive).

const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { once } = require('node:events');

const { startEngine, RawStream, withTimeout, parseFrame } = require('./helpers.js');

const CLIENTS = 500;

test('stop while 500 clients are connected closes every stream', async () => {
  const engine = await startEngine();
  const streams = [];
  for (let i = 0; i < CLIENTS; i += 1) streams.push(new RawStream(engine.port, { topics: ['many'] }));
  await Promise.all(streams.map((stream) => stream.opened));
  assert.strictEqual(engine.stats().connections, CLIENTS);
  engine.publish('many', 'before stop', { id: 'last' });
  await engine.stop();
  // Every client got what was published before stop, then its stream ended.
  await Promise.all(
    streams.map(async (stream) => {
      assert.strictEqual(parseFrame(await stream.nextText()).id, 'last');
      await stream.closed();
    }),
  );
});

/** Runs a fixture in a child node process; resolves with its exit code and output. */
function runFixture(name, onLine, args = []) {
  const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', name), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text) => {
    output += text;
    if (onLine) onLine(output, child);
  });
  const exited = once(child, 'exit').then(([code, signal]) => ({ code, signal, output }));
  return withTimeout(exited, `${name} to exit by itself`).finally(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
}

test('a process that publishes and then stops exits by itself', async () => {
  const { code, output } = await runFixture('publish-and-stop.js');
  assert.strictEqual(code, 0);
  assert.strictEqual(output, 'stopped\n');
});

test('stopping through an Engine.attach handle lets the process exit', async () => {
  const inMain = await runFixture('stop-through-attach.js', null, ['main']);
  assert.strictEqual(inMain.code, 0);
  assert.strictEqual(inMain.output, 'stopped true\n');
  const inWorker = await runFixture('stop-through-attach.js', null, ['worker']);
  assert.strictEqual(inWorker.code, 0);
  assert.strictEqual(inWorker.output, 'worker exited 0\nstopped true\n');
});

test('a running engine keeps the process alive until stop, then it exits', async () => {
  let served = null;
  const { code, signal, output } = await runFixture('serve-until-signal.js', (text, child) => {
    const match = /^port (\d+)\n/.exec(text);
    if (!match || served) return;
    // The child has no timer or server of its own: it is still there to answer
    // only because the engine keeps it alive.
    const stream = new RawStream(Number(match[1]), {});
    served = stream.opened.then(() => {
      stream.close();
      child.kill('SIGTERM');
    });
  });
  await served;
  assert.strictEqual(signal, null, 'exited by itself, not by the signal');
  assert.strictEqual(code, 0);
  assert.match(output, /stopped\n$/);
});
