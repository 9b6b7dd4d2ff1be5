'use strict';
// Access control with tokens made by the `jsonwebtoken` npm package, and the
// engine's own tokens checked by it: each place a token travels, bad tokens,
// grants and {sub}, publishing with a token, and the minting API's bad input.

const test = require('node:test');
const assert = require('node:assert');
const crypto = require('node:crypto');
const http = require('node:http');
const jwt = require('jsonwebtoken');

const { startEngine, openStream, firstChunk, parseFrame, throwsCode } = require('./helpers.js');

const SECRET = 'node-suite-secret-0123456789abcdef-0123456789';
const TYPE = 'ERR_SSECAST_INVALID_ARG_TYPE';

const hs256 = (claims, secret = SECRET) => jwt.sign(claims, secret, { algorithm: 'HS256' });
const grants = (...subscribe) => ({ ssecast: { subscribe } });

/** The refusal of a stream request: status, headers and the JSON body. */
async function refusal(port, path, headers = {}) {
  const answer = await firstChunk(port, path, headers);
  assert.notStrictEqual(answer.status, 200, path);
  return { ...answer, body: JSON.parse(answer.text) };
}

function assertInvalidToken(answer, code) {
  assert.strictEqual(answer.status, 401);
  assert.strictEqual(answer.body.code, code, answer.body.error);
  assert.match(
    answer.headers['www-authenticate'],
    /^Bearer realm="ssecast", error="invalid_token", error_description="/,
  );
}

/** Opens a stream on `topic` with `options`, publishes, and expects the event. */
async function assertDelivered(engine, topic, options) {
  const stream = await openStream(engine.port, { topics: [topic], ...options });
  const id = engine.publish(topic, 'hello');
  const frame = parseFrame(await stream.nextText());
  assert.deepStrictEqual([frame.id, frame.data], [id, 'hello']);
  stream.close();
}

/** POST /publish with a bearer token; resolves with the status and JSON body. */
function post(port, token, body) {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/publish',
        method: 'POST',
        agent: false,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
      },
    );
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

test('jsonwebtoken HS256 tokens in the header, a cookie and the query', async () => {
  const engine = await startEngine({ jwtSecret: SECRET });
  const token = hs256({ sub: '42', ...grants('user/{sub}/notifications') }, SECRET);
  const topic = 'user/42/notifications';
  await assertDelivered(engine, topic, { headers: { authorization: `Bearer ${token}` } });
  await assertDelivered(engine, topic, { headers: { cookie: `a=1; ssecast_token=${token}` } });
  await assertDelivered(engine, topic, { query: `token=${token}` });
  // A cookie among hundreds.
  const cookies = Array.from({ length: 500 }, (_, i) => `c${i}=v${i}`).join('; ');
  await assertDelivered(engine, topic, { headers: { cookie: `${cookies}; ssecast_token=${token}` } });
  await engine.stop();
});

test('ES256 and RS256 tokens verify with the public key; confusion and alg none do not', async () => {
  for (const [algorithm, type, options] of [
    ['ES256', 'ec', { namedCurve: 'P-256' }],
    ['RS256', 'rsa', { modulusLength: 2048 }],
  ]) {
    const { privateKey, publicKey } = crypto.generateKeyPairSync(type, options);
    const pem = publicKey.export({ type: 'spki', format: 'pem' });
    const engine = await startEngine({ jwtPublicKey: pem });
    const token = jwt.sign({ sub: '7', ...grants('user/{sub}/**') }, privateKey, {
      algorithm,
      expiresIn: 600,
    });
    await assertDelivered(engine, 'user/7/inbox', { query: `token=${token}` });
    // HS256 "signed" with the public key's PEM text: jsonwebtoken refuses to
    // make it (that is the attack), so node:crypto computes it.
    const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ ...grants('a') })}`;
    const mac = crypto.createHmac('sha256', pem).update(unsigned).digest('base64url');
    assertInvalidToken(await refusal(engine.port, `/events?topic=a&token=${unsigned}.${mac}`), 'TOKEN_INVALID');
    const none = jwt.sign(grants('a'), null, { algorithm: 'none' });
    assertInvalidToken(await refusal(engine.port, `/events?topic=a&token=${none}`), 'TOKEN_INVALID');
    await engine.stop();
  }
});

test('expired, not yet valid, wrong issuer and audience, oversized: 401 invalid_token', async () => {
  const engine = await startEngine({ jwtSecret: SECRET, jwtIssuer: 'https://auth.example', jwtAudience: 'ssecast' });
  const ok = { issuer: 'https://auth.example', audience: 'ssecast', algorithm: 'HS256' };
  const sign = (options) => jwt.sign(grants('news'), SECRET, { ...ok, ...options });
  const port = engine.port;
  const cases = [
    [jwt.sign({ ...grants('news'), exp: Math.floor(Date.now() / 1000) - 3600 }, SECRET, ok), 'TOKEN_EXPIRED'],
    [sign({ notBefore: 3600 }), 'TOKEN_INVALID'],
    [sign({ issuer: 'https://evil.example' }), 'TOKEN_INVALID'],
    [sign({ audience: 'other' }), 'TOKEN_INVALID'],
    [hs256(grants('news'), 'another-secret-0123456789abcdef-0123'), 'TOKEN_INVALID'],
    ['e'.repeat(9000), 'TOKEN_TOO_LARGE'],
  ];
  for (const [token, code] of cases) {
    assertInvalidToken(await refusal(port, `/events?topic=news&token=${token}`), code);
  }
  assertInvalidToken(await refusal(port, '/events?topic=news'), 'TOKEN_MISSING');
  await assertDelivered(engine, 'news', { query: `token=${sign({ expiresIn: 60 })}` });
  await engine.stop();
});

test('403 names the topic; {sub} grants each user their own topics only', async () => {
  const engine = await startEngine({ jwtSecret: SECRET });
  const ada = hs256({ sub: 'ada', ...grants('user/{sub}/notifications') });
  const answer = await refusal(engine.port, `/events?topic=user/bob/notifications&token=${ada}`);
  assert.strictEqual(answer.status, 403);
  assert.strictEqual(answer.body.code, 'TOPIC_FORBIDDEN');
  assert.match(answer.body.error, /"user\/bob\/notifications"/);
  for (const sub of ['*', 'a/b', '..', '']) {
    const hostile = hs256({ sub, ...grants('user/{sub}/notifications') });
    const refused = await refusal(engine.port, `/events?topic=user/bob/notifications&token=${hostile}`);
    assert.strictEqual(refused.status, 403, `sub ${JSON.stringify(sub)}`);
  }
  await assertDelivered(engine, 'user/ada/notifications', { query: `token=${ada}` });
  await engine.stop();
});

test('engine-minted tokens verify with jsonwebtoken and open their streams', async () => {
  const engine = await startEngine({ jwtSecret: SECRET });
  const token = engine.subscriberToken(['user/{sub}/inbox'], { ttl: 600, subject: 'ada' });
  const claims = jwt.verify(token, SECRET, { algorithms: ['HS256'] });
  assert.strictEqual(claims.sub, 'ada');
  assert.deepStrictEqual(claims.ssecast, { subscribe: ['user/{sub}/inbox'] });
  assert.strictEqual(claims.exp - claims.iat, 600);
  await assertDelivered(engine, 'user/ada/inbox', { query: `token=${token}` });

  const publisher = engine.publisherToken(['chat/*'], { ttl: 60 });
  assert.deepStrictEqual(jwt.verify(publisher, SECRET).ssecast, { publish: ['chat/*'] });
  const stream = await openStream(engine.port, {
    topics: ['chat/1'],
    query: `token=${engine.subscriberToken(['chat/*'], { ttl: 60 })}`,
  });
  const ok = await post(engine.port, publisher, { topic: 'chat/1', data: 'hi' });
  assert.strictEqual(ok.status, 200);
  assert.strictEqual(parseFrame(await stream.nextText()).id, ok.body.id);
  const outside = await post(engine.port, publisher, { topic: 'news', data: 'x' });
  assert.deepStrictEqual([outside.status, outside.body.code], [403, 'TOPIC_FORBIDDEN']);
  stream.close();
  await engine.stop();
});

test('minting: bad arguments throw their codes', async () => {
  const plain = await startEngine();
  throwsCode(assert, () => plain.subscriberToken(['a'], { ttl: 60 }), 'ERR_SSECAST_INVALID_CONFIG');
  await plain.stop();
  const engine = await startEngine({ jwtSecret: SECRET, jwtQueryToken: false });
  const cases = [
    [['user/{sub}'], { ttl: 60 }, 'ERR_SSECAST_INVALID_TOPIC'],
    [[], { ttl: 60 }, 'ERR_SSECAST_INVALID_TOPIC'],
    [['a/../b'], { ttl: 60 }, 'ERR_SSECAST_INVALID_TOPIC'],
    [['user/{sub}'], { ttl: 60, subject: '*' }, 'ERR_SSECAST_INVALID_DATA'],
    [['a'], { ttl: 0.5 }, 'ERR_SSECAST_INVALID_DATA'],
    [['a'], { ttl: -1 }, 'ERR_SSECAST_INVALID_DATA'],
    [['a'], { ttl: Infinity }, 'ERR_SSECAST_INVALID_DATA'],
    ['a', { ttl: 60 }, TYPE],
    [[1], { ttl: 60 }, TYPE],
    [['a'], undefined, TYPE],
    [['a'], {}, TYPE],
    [['a'], { ttl: '60' }, TYPE],
    [['a'], { ttl: 60, subject: 7 }, TYPE],
    [['a'], { ttl: 60, sub: 'x' }, TYPE],
  ];
  for (const [topics, options, code] of cases) {
    throwsCode(
      assert,
      () => engine.subscriberToken(topics, options),
      code,
      code === TYPE ? TypeError : Error,
    );
  }
  throwsCode(assert, () => engine.publisherToken(['a'], { ttl: 60, subject: 'x' }), TYPE, TypeError);
  // jwtQueryToken: false (a boolean option) keeps the query out.
  const token = engine.subscriberToken(['a'], { ttl: 60 });
  assertInvalidToken(await refusal(engine.port, `/events?topic=a&token=${token}`), 'TOKEN_MISSING');
  await engine.stop();
});
