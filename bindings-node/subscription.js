'use strict';
// Async iteration of in-app subscriptions, without blocking the JavaScript
// thread and without a native call per waiting stream: each thread has one
// ReadySet, whose threadsafe function the engine calls once for any number of
// woken subscriptions; it resolves exactly their pending reads.

/** The ReadySet of this thread and the reads waiting on it, made on first use. */
let wakeup = null;

function wakeupOfThisThread(ReadySet) {
  if (wakeup === null) {
    const waiting = new Map(); // token -> resolve of the read waiting for it
    const ready = new ReadySet(() => {
      for (const token of ready.take()) {
        const resolve = waiting.get(token);
        if (resolve !== undefined) {
          waiting.delete(token);
          resolve();
        }
      }
    });
    wakeup = { ready, waiting, nextToken: 1 };
  }
  return wakeup;
}

/**
 * `subscription[Symbol.asyncIterator]`: yields each chunk (a Buffer) as it
 * becomes ready; ends with the stream. Leaving the loop early (or an error)
 * closes the subscription, releasing its topics at once.
 */
function iterate(ReadySet) {
  return async function* chunks() {
    const { ready, waiting } = wakeupOfThisThread(ReadySet);
    const token = wakeup.nextToken;
    wakeup.nextToken = (wakeup.nextToken % 0xffffffff) + 1;
    // Attached before the first read: from that read on, wakes reach this thread.
    this.attach(ready, token);
    try {
      for (;;) {
        const chunk = this.read();
        if (chunk !== null) {
          yield chunk;
          continue;
        }
        if (this.ended) return;
        await new Promise((resolve) => waiting.set(token, resolve));
      }
    } finally {
      waiting.delete(token);
      this.close();
    }
  };
}

module.exports = { iterate };
