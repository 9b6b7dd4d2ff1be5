// The package loads as an ES module: `import { Engine } from 'ssecast'`.
import test from 'node:test';
import assert from 'node:assert';
import { createRequire } from 'node:module';

import ssecast, { Engine } from 'ssecast';

test('ESM import gives the same Engine as require', async () => {
  const require = createRequire(import.meta.url);
  assert.strictEqual(Engine, require('ssecast').Engine);
  assert.strictEqual(ssecast.Engine, Engine);
  const engine = await Engine.start({ port: 0 });
  assert.match(engine.publish('esm', { from: 'esm' }), /./);
  await engine.stop();
});
