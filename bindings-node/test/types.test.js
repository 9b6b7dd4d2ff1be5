'use strict';
// The shipped index.d.ts is valid TypeScript that accepts the documented API and
// rejects misuse: one tsc run over two fixtures, against the installed package.

const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const TSC = require.resolve('typescript/bin/tsc');
const FIXTURES = ['types-ok.mts', 'types-bad.mts'].map((f) => path.join(__dirname, 'fixtures', f));

test('index.d.ts accepts the documented API and rejects misuse', () => {
  const result = spawnSync(
    process.execPath,
    [TSC, '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', ...FIXTURES],
    { encoding: 'utf8', timeout: 120_000 },
  );
  const output = `${result.stdout}${result.stderr}`;
  assert.notStrictEqual(result.status, null, `tsc did not finish: ${output}`);
  const errors = [...output.matchAll(/fixtures\/(types-\w+)\.mts\((\d+),\d+\): error/g)].map(
    ([, file, line]) => `${file}:${line}`,
  );
  // No error in index.d.ts or in the correct usage; one per misuse line.
  assert.deepStrictEqual(
    [...new Set(errors)].sort(),
    ['types-bad:10', 'types-bad:4', 'types-bad:5', 'types-bad:6', 'types-bad:7', 'types-bad:8'],
    output,
  );
  assert.doesNotMatch(output, /index\.d\.ts/, output);
});
