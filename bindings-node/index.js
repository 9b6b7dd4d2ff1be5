'use strict';
// ssecast for Node: the Rust engine's `Engine` class (see index.d.ts), plus what
// is JavaScript's job: JSON-encoding object payloads, iterating in-app
// subscriptions (subscription.js) and serving them on HTTP responses
// (stream.js). (A running engine keeps the process alive natively, until any
// of its handles stops it.)

const { Engine, ReadySet, Subscription } = require('./binding.js');
const { iterate } = require('./subscription.js');
const { stream } = require('./stream.js');

const nativeStart = Engine.start;
const nativePublish = Engine.prototype.publish;

/** An Error for a payload JSON.stringify rejects (a circular object, a BigInt). */
function invalidData(cause) {
  const error = new Error(`data cannot be serialised as JSON: ${cause.message}`, { cause });
  error.code = 'ERR_SSECAST_INVALID_DATA';
  return error;
}

/**
 * The payload handed to the addon: strings and bytes as they are, any other
 * value as its JSON text. Values JSON cannot represent (undefined, functions,
 * symbols) go through unchanged, so the addon throws its TypeError for them.
 */
function toPayload(data) {
  if (typeof data === 'string' || data instanceof Uint8Array) return data;
  if (data === undefined || typeof data === 'function' || typeof data === 'symbol') return data;
  let json;
  try {
    json = JSON.stringify(data);
  } catch (cause) {
    throw invalidData(cause);
  }
  return json === undefined ? data : json;
}

function replaceMethod(target, name, value) {
  Object.defineProperty(target, name, {
    ...Object.getOwnPropertyDescriptor(target, name),
    value,
  });
}

// async: a bad option rejects the promise instead of throwing.
replaceMethod(Engine, 'start', async function start(options) {
  return nativeStart.call(Engine, options);
});

replaceMethod(Engine.prototype, 'publish', function publish(topic, data, options) {
  return nativePublish.call(this, topic, toPayload(data), options);
});

Engine.prototype.stream = stream;
Subscription.prototype[Symbol.asyncIterator] = iterate(ReadySet);

module.exports = { Engine, Subscription };
