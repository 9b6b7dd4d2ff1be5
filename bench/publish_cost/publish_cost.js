// Publish cost per call from Node, with subscribers attached by ssecast-bench.
// Protocol (see bench/src/publish_cost.rs): print "port N", wait for a line,
// time engine.publish(), print "result ...", "published K", "done", stop when
// stdin closes.
// Run: ssecast-bench publish-cost --lang node -- node publish_cost.js
'use strict';
const { Engine } = require('ssecast');
const readline = require('node:readline');

const ISOLATED_CALLS = 1000;
const BURSTS = 100;
const BURST_LEN = 50;
const DATA = 'hello from the publish-cost benchmark';
/** @type {(ms: number) => Promise<void>} */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const clock = process.hrtime.bigint;

async function main() {
  const engine = await Engine.start({ port: 0, workerThreads: 1 });
  const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  console.log(`port ${engine.port}`);
  await lines.next();
  const isolated = [];
  for (let i = 0; i < ISOLATED_CALLS; i++) {
    const t = clock();
    engine.publish('bench', DATA);
    isolated.push(Number(clock() - t));
    await sleep(2);
  }
  let burstTotal = 0;
  for (let b = 0; b < BURSTS; b++) {
    const t = clock();
    for (let i = 0; i < BURST_LEN; i++) engine.publish('bench', DATA);
    burstTotal += Number(clock() - t);
    await sleep(50);
  }
  isolated.sort((a, b) => a - b);
  console.log(
    `result isolated_median_ns=${isolated[ISOLATED_CALLS >> 1]}` +
      ` isolated_p90_ns=${isolated[Math.floor(ISOLATED_CALLS * 0.9)]}` +
      ` burst_mean_ns=${Math.round(burstTotal / (BURSTS * BURST_LEN))}`,
  );
  console.log(`published ${ISOLATED_CALLS + BURSTS * BURST_LEN}\ndone`);
  for await (const _ of lines) { /* wait for stdin to close */ }
  await engine.stop();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
