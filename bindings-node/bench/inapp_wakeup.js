'use strict';
// How the engine should wake the JavaScript thread for in-app subscriptions.
//
//   node bindings-node/bench/inapp_wakeup.js      (with ssecast installed, e.g. from build/node-app)
//
// 1,000 subscriptions read by 1,000 loops of one thread; bursts of events are
// published at a fixed rate. Compares two ways of waking the thread:
//
// - shared: one ReadySet (one threadsafe function) per thread, what ssecast
//   ships: the engine queues the woken subscriptions' tokens and calls it once;
// - per-subscription: one ReadySet (one threadsafe function) per subscription.
//
// Prints events delivered per second and CPU time per delivered event. Used to
// choose the shipped design (see README, "Nothing blocks the JavaScript thread").

const path = require('node:path');
const { Engine } = require('ssecast');
// The native ReadySet is not exported by the package: load it from its file.
const binding = require(path.join(path.dirname(require.resolve('ssecast')), 'binding.js'));

const SUBSCRIBERS = 1000;
const BURSTS = 200;
const PER_BURST = 10;
const BURST_INTERVAL_MS = 5;

const countEvents = (chunk) => chunk.toString('latin1').split('\ndata: ').length - 1;

/** The shipped glue: for await over each subscription. */
async function shared(subscriptions, total) {
  await Promise.all(
    subscriptions.map(async (subscription) => {
      let events = 0;
      for await (const chunk of subscription) {
        events += countEvents(chunk);
        if (events >= total) return;
      }
    }),
  );
}

/** One ReadySet, hence one threadsafe function, per subscription. */
async function perSubscription(subscriptions, total) {
  await Promise.all(
    subscriptions.map(async (subscription) => {
      let wake = null;
      const ready = new binding.ReadySet(() => {
        ready.take();
        if (wake) wake();
      });
      subscription.attach(ready, 1);
      let events = 0;
      while (events < total) {
        const chunk = subscription.read();
        if (chunk !== null) {
          events += countEvents(chunk);
          continue;
        }
        await new Promise((resolve) => {
          wake = resolve;
        });
        wake = null;
      }
      subscription.close();
    }),
  );
}

async function measure(name, readAll) {
  const total = BURSTS * PER_BURST;
  const engine = await Engine.start({ port: 0, keepaliveMs: 0, historySize: total });
  const subscriptions = Array.from({ length: SUBSCRIBERS }, () => engine.subscribe('bench'));
  const payload = 'x'.repeat(64);
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  let bursts = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < PER_BURST; i++) engine.publish('bench', payload);
    if (++bursts === BURSTS) clearInterval(timer);
  }, BURST_INTERVAL_MS);
  await readAll(subscriptions, total);
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  const delivered = total * SUBSCRIBERS;
  const cpuNs = ((used.user + used.system) * 1000) / delivered;
  console.log(
    `${name.padStart(17)}: ${Math.round(delivered / elapsed).toLocaleString('en')} events/s delivered, ` +
      `${Math.round(cpuNs)} ns CPU per event, ${elapsed.toFixed(2)} s`,
  );
  await engine.stop();
}

(async () => {
  for (let round = 0; round < 2; round++) {
    await measure('shared', shared);
    await measure('per-subscription', perSubscription);
  }
})();
