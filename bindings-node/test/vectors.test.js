'use strict';
// The shared wire vectors (tests/vectors/events.json, copied next to this file
// by make test-node): each is published through engine.publish and the exact
// bytes on a raw stream and through an in-app subscription are compared; each
// error vector must throw its code and send nothing.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');

const { Engine, openStream, throwsCode, withTimeout } = require('./helpers.js');

const vectors = JSON.parse(fs.readFileSync(path.join(__dirname, 'vectors.json'), 'utf8'));

/** `max_event_bytes` -> `maxEventBytes`: the Node option of a config key. */
function camelCase(key) {
  return key.replace(/_([a-z])/g, (_, letter) => letter.toUpperCase());
}

test('every shared wire vector, byte for byte', async () => {
  const options = { port: 0 };
  for (const [key, value] of Object.entries(vectors.config)) options[camelCase(key)] = value;
  const engine = await Engine.start(options);
  const topics = new Set(['default']);
  for (const { publish, wire } of vectors.vectors) if (wire && publish.topic) topics.add(publish.topic);
  const stream = await openStream(engine.port, { topics: [...topics] });
  const inApp = engine.subscribe([...topics]);
  const expectedInApp = [Buffer.from(': ok\n')];
  let published = 0;
  for (const vector of vectors.vectors) {
    const { topic = 'default', data, data_hex: dataHex, event, id, retry } = vector.publish;
    const payload = dataHex === undefined ? data : Buffer.from(dataHex, 'hex');
    const publish = () => engine.publish(topic, payload, { event, id, retry });
    if (vector.error) {
      throwsCode(assert, publish, `ERR_SSECAST_${vector.error}`);
      continue;
    }
    const returned = publish();
    published += 1;
    if (id !== undefined) assert.strictEqual(returned, id, vector.name);
    const expected = Buffer.from(vector.wire.replace('{id}', returned), 'utf8');
    expectedInApp.push(expected);
    const frame = await stream.next(vector.name);
    assert.deepStrictEqual(frame.toString('utf8'), expected.toString('utf8'), vector.name);
    assert.ok(frame.equals(expected), `${vector.name}: bytes differ`);
  }
  // The error vectors sent nothing: the next frame is the sentinel.
  engine.publish('default', 'sentinel', { id: 'sentinel' });
  assert.strictEqual(await stream.nextText('the sentinel'), 'id: sentinel\ndata: sentinel\n\n');
  expectedInApp.push(Buffer.from('id: sentinel\ndata: sentinel\n\n'));
  const wanted = Buffer.concat(expectedInApp);
  const readInApp = async () => {
    const chunks = [];
    let length = 0;
    for await (const chunk of inApp) {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= wanted.length) break;
    }
    return Buffer.concat(chunks);
  };
  const received = await withTimeout(readInApp(), 'the in-app bytes');
  assert.strictEqual(received.toString('utf8'), wanted.toString('utf8'));
  assert.ok(received.equals(wanted), 'in-app bytes differ');
  assert.strictEqual(engine.stats().published, published + 1);
  assert.ok(vectors.vectors.length >= 40, `${vectors.vectors.length} vectors`);
  await engine.stop();
});
