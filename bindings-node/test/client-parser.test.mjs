// The browser client's event-stream parser (ssecast/client, from the installed
// package) over the shared wire vectors and the WHATWG parsing rules: BOM,
// CR / LF / CRLF line ends (split across chunks too), fields without a colon,
// retry with non-digits, ids with NUL, and a 10 MB event.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { EventStreamParser } from 'ssecast/client';

const vectors = JSON.parse(readFileSync(new URL('./vectors.json', import.meta.url), 'utf8'));
const ASSIGNED_ID = 'w6mnoh0xjfl-1';

/** Feeds `input` (string or bytes) in chunks of `size` bytes; returns what the parser reported. */
function parse(input, { size = Infinity, lastEventId } = {}) {
  const seen = { events: [], retries: [], comments: [] };
  const parser = new EventStreamParser(
    {
      onEvent: (event) => seen.events.push(event),
      onRetry: (ms) => seen.retries.push(ms),
      onComment: (text) => seen.comments.push(text),
    },
    { lastEventId },
  );
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  const step = Math.min(size, bytes.length || 1);
  for (let at = 0; at < bytes.length; at += step) parser.push(bytes.subarray(at, at + step));
  parser.end();
  seen.lastEventId = parser.lastEventId;
  return seen;
}

/** The chunkings every case is read with: whole, one byte at a time, and 3 bytes. */
const CHUNKINGS = [Infinity, 1, 3];

/** Parses `input` with every chunking and checks they agree; returns the result. */
function parseAnyhow(input, options) {
  const [whole, ...others] = CHUNKINGS.map((size) => parse(input, { ...options, size }));
  for (const [i, other] of others.entries()) {
    assert.deepEqual(other, whole, `chunks of ${CHUNKINGS[i + 1]} bytes read like one chunk`);
  }
  return whole;
}

const datas = (seen) => seen.events.map((e) => e.data);

/** What a client must see for a vector's publish arguments. */
function expectedEvent({ data, event, id }) {
  return {
    type: event ?? 'message',
    data: data.replace(/\r\n|\r/g, '\n'),
    lastEventId: id ?? ASSIGNED_ID,
  };
}

const wireVectors = vectors.vectors.filter((v) => v.wire);

test('every shared wire vector parses to the published event', () => {
  assert.ok(wireVectors.length >= 20, `${wireVectors.length} wire vectors`);
  for (const vector of wireVectors) {
    const wire = vector.wire.replace('{id}', ASSIGNED_ID);
    const seen = parseAnyhow(wire);
    assert.deepEqual(seen.events, [expectedEvent(vector.publish)], vector.name);
    assert.deepEqual(seen.retries, vector.publish.retry ? [vector.publish.retry] : [], vector.name);
  }
});

test('the wire vectors back to back, after the engine\'s opening comment, as one stream', () => {
  const wire = `: ok\n${wireVectors.map((v) => v.wire.replace('{id}', ASSIGNED_ID)).join('')}`;
  const seen = parseAnyhow(wire);
  assert.deepEqual(seen.events, wireVectors.map((v) => expectedEvent(v.publish)));
  assert.deepEqual(seen.comments, [' ok']);
  assert.equal(seen.lastEventId, wireVectors.at(-1).publish.id ?? ASSIGNED_ID);
});

test('a leading BOM is dropped, once, even split across chunks', () => {
  const bom = [0xef, 0xbb, 0xbf];
  const text = new TextEncoder().encode('data: after bom\n\n');
  assert.deepEqual(datas(parseAnyhow(new Uint8Array([...bom, ...text]))), ['after bom']);
  // A second BOM is part of the first line's field name, so the line is ignored.
  const two = new Uint8Array([...bom, ...bom, ...text, ...new TextEncoder().encode('data: next\n\n')]);
  assert.deepEqual(datas(parseAnyhow(two)), ['next']);
  // A BOM later in the stream is data.
  assert.deepEqual(datas(parseAnyhow('data: \uFEFFx\n\n')), ['\uFEFFx']);
});

test('CR, LF and CRLF each end a line; CRLF split across chunks is one break', () => {
  assert.deepEqual(datas(parseAnyhow('data: a\rdata: b\r\rdata: c\r\r')), ['a\nb', 'c']);
  assert.deepEqual(datas(parseAnyhow('data: a\r\ndata: b\r\n\r\ndata: c\n\n')), ['a\nb', 'c']);
  assert.deepEqual(datas(parseAnyhow('data: a\n\rdata: b\r\n\n')), ['a', 'b']);
  // The LF of a CRLF arriving alone must not read as a blank line.
  const seen = parse('data: a\r\ndata: b\r\n\r\n', { size: 8 }); // 8 bytes end with the CR
  assert.deepEqual(datas(seen), ['a\nb']);
});

test('a line without a colon is a field with an empty value', () => {
  assert.deepEqual(datas(parseAnyhow('data\ndata\ndata: x\n\n')), ['\n\nx']);
  assert.deepEqual(parseAnyhow('data\n\n').events, [{ type: 'message', data: '', lastEventId: '' }]);
  assert.deepEqual(parseAnyhow('event: a\nevent\ndata: y\n\n').events[0].type, 'message');
  assert.deepEqual(parseAnyhow('id: 5\nid\ndata: z\n\n').events[0].lastEventId, '');
});

test('one space after the colon is dropped, no more; comments and unknown fields are skipped', () => {
  assert.deepEqual(datas(parseAnyhow('data:x\n\ndata:  two\n\ndata:\ttab\n\n')), ['x', ' two', '\ttab']);
  const seen = parseAnyhow(': ok\n:\nfoo: bar\nDATA: upper\ndata: kept\n\n');
  assert.deepEqual(datas(seen), ['kept']);
  assert.deepEqual(seen.comments, [' ok', '']);
});

test('retry: only ASCII digits count', () => {
  const seen = parseAnyhow(
    'retry: 1000\nretry: 10x\nretry: -5\nretry: 1.5\nretry: \nretry\nretry:  7\nretry: ７\nretry:42\n\n',
  );
  assert.deepEqual(seen.retries, [1000, 42]);
  assert.deepEqual(seen.events, []);
});

test('an id holding NUL is ignored; an id-only event still sets the last id', () => {
  const seen = parseAnyhow('id: good\ndata: 1\n\nid: a\0b\ndata: 2\n\nid: 7\n\ndata: 3\n\n');
  assert.deepEqual(
    seen.events.map((e) => [e.data, e.lastEventId]),
    [['1', 'good'], ['2', 'good'], ['3', '7']],
  );
  assert.equal(seen.lastEventId, '7');
});

test('events without an id carry the id the stream resumed from', () => {
  const seen = parseAnyhow('event: ssecast-reset\ndata: {}\n\nid: n-2\ndata: x\n\n', { lastEventId: 'n-1' });
  assert.deepEqual(
    seen.events.map((e) => [e.type, e.lastEventId]),
    [['ssecast-reset', 'n-1'], ['message', 'n-2']],
  );
});

test('the event type resets after each event; an event without data is not dispatched', () => {
  const seen = parseAnyhow('event: a\ndata: 1\n\ndata: 2\n\nevent: lonely\n\ndata: 3\n\n');
  assert.deepEqual(seen.events.map((e) => [e.type, e.data]), [['a', '1'], ['message', '2'], ['message', '3']]);
});

test('an unfinished event at the end is dropped; the parser reads a new response after end()', () => {
  const seen = { events: [] };
  const parser = new EventStreamParser({ onEvent: (e) => seen.events.push(e.data) });
  parser.pushText('data: done\n\ndata: unfinished\n');
  parser.end();
  parser.push(new TextEncoder().encode('data: next response\n\n'));
  assert.deepEqual(seen.events, ['done', 'next response']);
});

test('UTF-8 sequences split across chunks decode whole', () => {
  assert.deepEqual(datas(parseAnyhow('data: 日本語 🎉\n\n')), ['日本語 🎉']);
  // An invalid byte becomes U+FFFD, as TextDecoder does for EventSource.
  const bad = new Uint8Array([...new TextEncoder().encode('data: a'), 0xff, 0x0a, 0x0a]);
  assert.deepEqual(datas(parseAnyhow(bad)), ['a\uFFFD']);
});

test('a 10 MB event, one line or many, in 4 KB chunks, in linear time', () => {
  const MB10 = 10 * 1024 * 1024;
  const line = 'x'.repeat(MB10);
  let started = performance.now();
  let seen = parse(`data: ${line}\n\n`, { size: 4096 });
  const oneLineMs = performance.now() - started;
  assert.equal(seen.events.length, 1);
  assert.equal(seen.events[0].data.length, MB10);

  const row = 'y'.repeat(99);
  const rows = Math.ceil(MB10 / 100);
  started = performance.now();
  seen = parse(`data: ${row}\n`.repeat(rows) + '\n', { size: 4096 });
  const manyLinesMs = performance.now() - started;
  assert.equal(seen.events.length, 1);
  assert.equal(seen.events[0].data.length, rows * 100 - 1);
  // 2,560 chunks: rescanning what is buffered on every chunk would take minutes.
  assert.ok(oneLineMs < 5000 && manyLinesMs < 5000, `${oneLineMs} ms and ${manyLinesMs} ms`);
});
