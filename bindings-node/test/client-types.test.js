'use strict';
// The shipped client types (client/index.d.mts, client/react.d.mts) accept the
// documented use of ssecast/client and ssecast/react and reject misuse: one
// tsc run over two fixtures, against the installed package.

const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const TSC = require.resolve('typescript/bin/tsc');
const FIXTURES = ['client-types-ok.mts', 'client-types-bad.mts'].map((f) =>
  path.join(__dirname, 'fixtures', f),
);

test('the client types accept the documented API and reject misuse', () => {
  const result = spawnSync(
    process.execPath,
    [TSC, '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext',
      '--lib', 'es2022,dom', ...FIXTURES],
    { encoding: 'utf8', timeout: 120_000 },
  );
  const output = `${result.stdout}${result.stderr}`;
  assert.notStrictEqual(result.status, null, `tsc did not finish: ${output}`);
  const errors = [...output.matchAll(/fixtures\/(client-types-\w+)\.mts\((\d+),\d+\): error/g)].map(
    ([, file, line]) => `${file}:${line}`,
  );
  assert.deepStrictEqual(
    [...new Set(errors)].sort(),
    ['client-types-bad:4', 'client-types-bad:5', 'client-types-bad:6', 'client-types-bad:7'],
    output,
  );
  assert.doesNotMatch(output, /\.d\.mts/, output);
});
