/**
 * `ssecast/react`: the browser client as a React hook. React is a peer
 * dependency of the package.
 */

import type { ConnectionState, ConnectOptions, ErrorInfo, ResetInfo, StreamEvent } from './index.mjs';

export interface EventStreamOptions<T> extends ConnectOptions {
  /** Event types that update `data` (default `['message']`). */
  types?: string[];
  /** Turns an event's data into `data` (default: JSON.parse, or the text when it is not JSON). */
  parse?: (data: string, event: StreamEvent) => T;
  /** Called when the engine could not resume: reload your state. */
  onReset?: (info: ResetInfo) => void;
  /** false: stay disconnected (default true). */
  enabled?: boolean;
}

export interface EventStreamState<T> {
  /** The parsed data of the newest event, undefined before the first. */
  data: T | undefined;
  /** The newest event. */
  lastEvent: StreamEvent | undefined;
  state: ConnectionState;
  /** The latest failure, cleared when the stream opens. */
  error: ErrorInfo | undefined;
}

/**
 * Follows `url` while the component is mounted. Reconnects only when `url` or
 * the options change by value; `getToken`, `parse` and `onReset` are read from
 * the latest render. `url` null: not connected.
 */
export declare function useEventStream<T = unknown>(
  url: string | URL | null,
  options?: EventStreamOptions<T>,
): EventStreamState<T>;
