'use strict';
// What a page's own EventSource receives from an engine on another origin:
// event types, payload line breaks, unicode, ids.

const assert = require('node:assert/strict');
const { describe, test, before } = require('node:test');
const { resources, contextFor } = require('../lib/harness');
const { openClient, waitForEvents, events } = require('../lib/browser');

describe('events in the browser', () => {
  const res = resources();
  let pages;
  let engine;
  let browser;

  before(async () => {
    pages = await res.pages();
    engine = await res.engine(['--cors-origins', pages.origin]);
    browser = await res.browser();
  });

  /** Opens the client page on `topic`, listening to `types` as well as message. */
  async function client(t, topic, types = []) {
    const context = await contextFor(t, browser);
    const src = `${engine.origin}/events?topic=${encodeURIComponent(topic)}`;
    return openClient(context, pages.clientUrl({ src, types: types.join(',') }));
  }

  test('an event without a type arrives as a message event', async (t) => {
    const page = await client(t, 'plain');
    const id = await engine.publish('plain', 'hello');
    const [event] = await waitForEvents(page, 1);
    assert.equal(event.type, 'message');
    assert.equal(event.data, 'hello');
    assert.equal(event.lastEventId, id);
    assert.equal(event.origin, engine.origin);
  });

  test('custom event types reach their addEventListener handlers only', async (t) => {
    const page = await client(t, 'typed', ['chat', 'presence']);
    await engine.publish('typed', 'a', { event: 'chat' });
    await engine.publish('typed', 'b', { event: 'presence' });
    // A type nobody listens to is dispatched to no handler, not to onmessage.
    await engine.publish('typed', 'unheard', { event: 'nobody-listens' });
    await engine.publish('typed', 'c');
    const got = await waitForEvents(page, 3);
    assert.deepEqual(
      got.map((e) => [e.type, e.data]),
      [['chat', 'a'], ['presence', 'b'], ['message', 'c']],
    );
  });

  test('multi-line payloads arrive joined by LF, whatever their line breaks', async (t) => {
    const page = await client(t, 'lines');
    const payloads = [
      ['line one\nline two\nline three', 'line one\nline two\nline three'],
      ['crlf\r\nbreaks\r\nhere', 'crlf\nbreaks\nhere'],
      ['lone\rcarriage\rreturns', 'lone\ncarriage\nreturns'],
      ['mixed\r\n\nblank\r\rlines', 'mixed\n\nblank\n\nlines'],
      ['trailing\n', 'trailing\n'],
      ['', ''],
      [' leading space kept', ' leading space kept'],
    ];
    for (const [sent] of payloads) await engine.publish('lines', sent);
    const got = await waitForEvents(page, payloads.length);
    assert.deepEqual(
      got.map((e) => e.data),
      payloads.map(([, seen]) => seen),
    );
  });

  test('a payload cannot inject fields or end its event early', async (t) => {
    const page = await client(t, 'inject', ['evil']);
    const hostile = 'a\n\nid: forged\nevent: evil\nretry: 1\ndata: smuggled\n\n: comment';
    const id = await engine.publish('inject', hostile);
    const marker = await engine.publish('inject', 'marker');
    const got = await waitForEvents(page, 2);
    assert.deepEqual(
      got.map((e) => [e.type, e.data, e.lastEventId]),
      [
        ['message', hostile, id],
        ['message', 'marker', marker],
      ],
    );
  });

  test('unicode and emoji arrive intact in data, ids and event names', async (t) => {
    const page = await client(t, 'unicode', ['événement']);
    const samples = [
      'héllo wörld — naïve café',
      '你好，世界 · こんにちは · 안녕하세요',
      'مرحبا بالعالم שלום',
      '👋🏽 🌍 👨‍👩‍👧‍👦 🏳️‍🌈 🇫🇷',
      'math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ∑ ∞ ≠',
      'separators\u2028and\u2029stay',
      '\uFEFFbom first',
    ];
    for (const data of samples) await engine.publish('unicode', data);
    await engine.publish('unicode', '✓ named', { event: 'événement', id: 'ïd-✓-🆔' });
    const got = await waitForEvents(page, samples.length + 1);
    assert.deepEqual(
      got.slice(0, samples.length).map((e) => e.data),
      samples,
    );
    const named = got[samples.length];
    assert.deepEqual([named.type, named.data, named.lastEventId], ['événement', '✓ named', 'ïd-✓-🆔']);
  });

  test('lastEventId is the id publish returned, publisher-given or engine-assigned', async (t) => {
    const page = await client(t, 'ids');
    const given = await engine.publish('ids', 'one', { id: 'order-17' });
    const assigned = await engine.publish('ids', 'two');
    const got = await waitForEvents(page, 2);
    assert.equal(given, 'order-17');
    assert.match(assigned, /^.+-\d+$/);
    assert.deepEqual(
      got.map((e) => [e.data, e.lastEventId]),
      [
        ['one', 'order-17'],
        ['two', assigned],
      ],
    );
    assert.equal((await events(page)).length, 2);
  });
});
