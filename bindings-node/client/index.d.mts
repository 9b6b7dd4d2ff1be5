/**
 * ssecast's browser client (`ssecast/client`): an SSE connection that
 * reconnects with backoff and jitter, resumes across reloads, sends headers,
 * surfaces `ssecast-reset`, and falls back to long-polling behind a buffering
 * proxy. No runtime dependencies.
 */

/** How events travel. `auto`: EventSource (fetch when `headers` are set), falling back to `poll`. */
export type Transport = 'auto' | 'eventsource' | 'fetch' | 'poll';

/** `connecting`, `open`, `reconnecting` (waiting before the next attempt) or `closed` (for good). */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** An event from the server, shaped like an EventSource `MessageEvent`. */
export interface StreamEvent {
  /** The `event` field, or `message`. */
  type: string;
  /** The `data` lines joined with LF. */
  data: string;
  /** The id of this event, or of the last event that had one. */
  lastEventId: string;
}

/** The engine could not resume from the id sent: reload your state. */
export interface ResetInfo {
  /** `unknown-id` (another engine start, or too old) or `history-gap` (events were dropped). */
  reason: 'unknown-id' | 'history-gap' | (string & {});
  /** The id the client resumed from. */
  lastEventId: string | null;
}

/** Why a connection failed. */
export interface ErrorInfo {
  /** `status` (a refusal), `content-type` (not an event stream), `network`, `token` (getToken failed), `stalled` (nothing arrived; falling back to poll). */
  kind: 'status' | 'content-type' | 'network' | 'token' | 'stalled';
  message: string;
  /** The HTTP status, when there was one. */
  status?: number;
  /** The engine's error code from its JSON body, e.g. `TOO_MANY_CONNECTIONS`. */
  code?: string;
  /** The server's Retry-After in milliseconds (readable cross-origin only when exposed). */
  retryAfterMs?: number;
  /** True when the client stopped for good (state `closed`). */
  fatal: boolean;
}

/** A change of state; `attempt` and `delay` come with `reconnecting`. */
export interface StateInfo {
  state: ConnectionState;
  transport: Exclude<Transport, 'auto'>;
  /** Failures in a row so far. */
  attempt?: number;
  /** Milliseconds until the next attempt. */
  delay?: number;
}

/** The stream opened (the first time after connecting or reconnecting). */
export interface OpenInfo {
  transport: Exclude<Transport, 'auto'>;
  /** The id the stream resumed from ('' for none). */
  lastEventId: string;
}

export interface ConnectOptions {
  /** Topics to follow (`topic=` parameters); none: the engine's `default` topic. */
  topics?: string | string[];
  /** Resume after this id; wins over the id kept in sessionStorage. */
  lastEventId?: string;
  /** A bearer token: `Authorization` header (fetch, poll) or `token` query parameter (eventsource). */
  token?: string;
  /** Called before every connection for a fresh token; after a 401/403 the client stops unless it returns a different one. */
  getToken?: () => string | Promise<string>;
  /** How long getToken may take before the attempt fails (ms, default 10000). */
  tokenTimeout?: number;
  /** Extra request headers (fetch and poll only). */
  headers?: Record<string, string>;
  /** Send cookies cross-origin (default false). */
  withCredentials?: boolean;
  /** Default `auto`. */
  transport?: Transport;
  /** Shortest wait before reconnecting (ms, default 100). */
  minDelay?: number;
  /** Longest wait of the first reconnection (ms, default 1000); doubles per failure; the server's `retry` field replaces it. */
  initialDelay?: number;
  /** Longest wait between attempts (ms, default 30000), Retry-After aside. */
  maxDelay?: number;
  /** A stream open this long resets the backoff (ms, default 5000). */
  healthyAfter?: number;
  /** `auto` only: a stream that delivers nothing within this switches to long-poll (ms, default 5000). */
  fallbackAfter?: number;
  /** sessionStorage key for the last id (default: from the URL and topics); false keeps none. */
  resumeKey?: string | false;
  /** How many events recent() keeps (default 100). */
  bufferSize?: number;
}

export interface Client {
  /** The current state. */
  readonly state: ConnectionState;
  /** The newest event id received, or the one resumed from; '' if none. */
  readonly lastEventId: string;
  /** The transport in use. */
  readonly transport: Exclude<Transport, 'auto'>;
  on(type: 'open', fn: (info: OpenInfo) => void): this;
  on(type: 'error', fn: (info: ErrorInfo) => void): this;
  on(type: 'reset', fn: (info: ResetInfo) => void): this;
  on(type: 'state', fn: (info: StateInfo) => void): this;
  /** Server events of `type` (`message` for events without an `event` field). */
  on(type: string, fn: (event: StreamEvent) => void): this;
  off(type: string, fn: (...args: any[]) => void): this;
  /** The newest `n` events (default: all kept), oldest first: `message` and the types listened to. */
  recent(n?: number): StreamEvent[];
  /** Closes the connection for good; idempotent. */
  close(): void;
}

/** The client's own event names; server events with these types are not delivered. */
export declare const LIFECYCLE_EVENTS: readonly ['open', 'error', 'reset', 'state'];

/**
 * Opens a stream on `url` (e.g. `/events` or `https://host/events`) that
 * reconnects by itself. Throws a TypeError for a bad or unknown option.
 */
export declare function connect(url: string | URL, options?: ConnectOptions): Client;

/** What EventStreamParser reports. */
export interface ParserHandlers {
  onEvent?: (event: StreamEvent) => void;
  /** A valid `retry` field, in milliseconds. */
  onRetry?: (ms: number) => void;
  /** A comment line, without its leading colon. */
  onComment?: (text: string) => void;
}

/** The WHATWG event-stream parser, fed with a response's bytes as they arrive. */
export declare class EventStreamParser {
  /** `lastEventId`: what events without an `id` field carry at first. */
  constructor(handlers?: ParserHandlers, options?: { lastEventId?: string });
  /** The last event id, as of the latest dispatch. */
  readonly lastEventId: string;
  /** Reads the next bytes (UTF-8; a leading BOM is dropped). */
  push(bytes: Uint8Array): void;
  /** Reads already-decoded text. */
  pushText(text: string): void;
  /** The response ended: an unfinished event is dropped. */
  end(): void;
}
