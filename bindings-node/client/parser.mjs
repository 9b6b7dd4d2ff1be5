/**
 * The event-stream parser of the WHATWG HTML standard ("Server-sent events",
 * "Interpreting an event stream"), fed with the bytes of one response as they
 * arrive. It has no I/O and no timers, so it runs the same in a browser and in
 * Node.
 *
 * What the standard asks, and this parser does:
 * - UTF-8 decoding with a leading byte order mark dropped (a BOM later on is
 *   data), split sequences across chunks joined;
 * - lines end with CRLF, LF or CR, a CRLF split across two chunks included;
 * - a line starting with `:` is a comment; a line without `:` is a field whose
 *   value is empty; one space after the colon is dropped;
 * - `data` lines are joined with LF, `event` sets the type (default `message`),
 *   an `id` holding NUL is ignored, a `retry` that is not all ASCII digits is
 *   ignored, unknown fields are ignored;
 * - an event is dispatched on a blank line; an event without data is not
 *   dispatched (its id still becomes the last event id); a truncated event at
 *   the end of the stream is dropped.
 *
 * Work is linear in the input whatever its chunking, so a 10 MB event split in
 * small chunks costs no more than one read.
 * @module
 */

const DIGITS = /^[0-9]+$/;
const LF = 0x0a;

/**
 * An event dispatched by the stream, shaped like the `MessageEvent` an
 * `EventSource` gives (`type`, `data`, `lastEventId`).
 * @typedef {{ type: string, data: string, lastEventId: string }} StreamEvent
 */

/**
 * What the parser reports while it reads.
 * @typedef {object} ParserHandlers
 * @property {(event: StreamEvent) => void} [onEvent] an event was dispatched
 * @property {(ms: number) => void} [onRetry] a valid `retry` field (milliseconds)
 * @property {(text: string) => void} [onComment] a comment line, without its colon
 */

export class EventStreamParser {
  #handlers;
  #decoder = new TextDecoder('utf-8');
  #breaks = /\r\n|\r|\n/g;
  /** Pieces of the line not yet ended; joined once its break arrives. */
  #partial = [];
  /** The previous text ended with CR: an LF starting the next text belongs to it. */
  #afterCR = false;
  #data = [];
  #type = '';
  #idBuffer;
  #lastEventId;

  /**
   * @param {ParserHandlers} handlers
   * @param {{ lastEventId?: string }} [options] the id the stream resumes
   *   from: events without an `id` field carry it, as in `EventSource`
   */
  constructor(handlers = {}, { lastEventId = '' } = {}) {
    this.#handlers = handlers;
    this.#idBuffer = lastEventId;
    this.#lastEventId = lastEventId;
  }

  /**
   * The last event id as the standard defines it: the id buffer's value at
   * the most recent dispatch (an id-only event included).
   * @returns {string}
   */
  get lastEventId() {
    return this.#lastEventId;
  }

  /**
   * Reads the next bytes of the response.
   * @param {Uint8Array} bytes
   */
  push(bytes) {
    this.pushText(this.#decoder.decode(bytes, { stream: true }));
  }

  /**
   * Reads already-decoded text (the caller has dropped any BOM).
   * @param {string} text
   */
  pushText(text) {
    if (text.length === 0) return;
    let start = 0;
    if (this.#afterCR && text.charCodeAt(0) === LF) start = 1;
    this.#afterCR = false;
    const breaks = this.#breaks;
    for (;;) {
      // Set on every turn: handlers run in between.
      breaks.lastIndex = start;
      const match = breaks.exec(text);
      if (!match) break;
      const piece = text.slice(start, match.index);
      start = breaks.lastIndex;
      if (this.#partial.length > 0) {
        this.#partial.push(piece);
        const line = this.#partial.join('');
        this.#partial = [];
        this.#line(line);
      } else {
        this.#line(piece);
      }
      // A CR ending this text may be the first half of a CRLF.
      if (start === text.length && match[0] === '\r') this.#afterCR = true;
    }
    if (start < text.length) this.#partial.push(text.slice(start));
  }

  /**
   * The response ended: bytes of an unfinished line or event are dropped, as
   * the standard says. The parser can then read a new response.
   */
  end() {
    this.#decoder = new TextDecoder('utf-8');
    this.#partial = [];
    this.#afterCR = false;
    this.#data = [];
    this.#type = '';
  }

  #line(line) {
    if (line === '') {
      this.#dispatch();
      return;
    }
    const colon = line.indexOf(':');
    if (colon === 0) {
      this.#handlers.onComment?.(line.slice(1));
      return;
    }
    let field = line;
    let value = '';
    if (colon > 0) {
      field = line.slice(0, colon);
      value = line.slice(line.charCodeAt(colon + 1) === 0x20 ? colon + 2 : colon + 1);
    }
    switch (field) {
      case 'data':
        this.#data.push(value);
        break;
      case 'event':
        this.#type = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.#idBuffer = value;
        break;
      case 'retry':
        if (DIGITS.test(value)) this.#handlers.onRetry?.(Number(value));
        break;
      default:
        break;
    }
  }

  #dispatch() {
    this.#lastEventId = this.#idBuffer;
    if (this.#data.length === 0) {
      this.#type = '';
      return;
    }
    const event = {
      type: this.#type || 'message',
      data: this.#data.join('\n'),
      lastEventId: this.#lastEventId,
    };
    this.#data = [];
    this.#type = '';
    this.#handlers.onEvent?.(event);
  }
}
