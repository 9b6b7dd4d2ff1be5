'use strict';
// The README's quick start is run as written (with PORT=0 and ENGINE_PORT=0, and
// a listen call that reports the ports), so the guide cannot rot.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { once } = require('node:events');

const { openStream, parseFrame, withTimeout } = require('./helpers.js');

/** The quick-start block of the README shipped in the installed package. */
function quickStart() {
  const readme = fs.readFileSync(
    path.join(path.dirname(require.resolve('ssecast/package.json')), 'README.md'),
    'utf8',
  );
  const block = /```js\n(\/\/ app\.mjs[\s\S]*?)```/.exec(readme);
  assert.ok(block, 'the README has the app.mjs quick start');
  return block[1];
}

/** Replaces `from` (which must occur) with `to`. */
function replaceOnce(text, from, to) {
  assert.ok(text.includes(from), `the quick start contains ${from}`);
  return text.replace(from, to);
}

test('the README quick start runs: an Express POST reaches an SSE stream', async (t) => {
  // The ports come from PORT and ENGINE_PORT, as the README says; 0 picks free ones.
  const source = replaceOnce(
    quickStart(),
    'app.listen(port);',
    `const server = app.listen(port, '127.0.0.1', () =>
  console.log(JSON.stringify({ app: server.address().port, engine: engine.port })));
process.once('SIGTERM', async () => { server.close(); await engine.stop(); });`,
  );
  // Next to node_modules, so that its imports resolve to the installed packages.
  const file = path.join(__dirname, `readme-quickstart-${process.pid}.mjs`);
  fs.writeFileSync(file, source);
  t.after(() => fs.rmSync(file, { force: true }));

  const child = spawn(process.execPath, [file], {
    env: { ...process.env, PORT: '0', ENGINE_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => child.exitCode === null && child.kill('SIGKILL'));
  const exited = once(child, 'exit');
  const [line] = await withTimeout(once(child.stdout, 'data'), 'the quick start to listen');
  const ports = JSON.parse(line.toString());

  const stream = await openStream(ports.engine, { topics: ['room/lobby'] });
  t.after(() => stream.close());
  const res = await fetch(`http://127.0.0.1:${ports.app}/rooms/lobby/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'hello from the README' }),
  });
  assert.strictEqual(res.status, 201);
  const { id } = await res.json();
  const frame = parseFrame(await stream.nextText());
  assert.deepStrictEqual(frame, {
    id,
    event: 'message',
    data: '{"text":"hello from the README"}',
  });

  child.kill('SIGTERM');
  const [code, signal] = await withTimeout(exited, 'the quick start to exit');
  assert.deepStrictEqual({ code, signal }, { code: 0, signal: null });
});
