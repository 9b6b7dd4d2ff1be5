/**
 * `useEventStream`: a React hook over connect(). One connection per distinct
 * (url, options) value: a new but equal options object on each render does
 * not reconnect; functions in the options (getToken, parse, onReset) are read
 * from the latest render without reconnecting.
 * @module
 */

import { useEffect, useRef, useState } from 'react';
import { connect } from './index.mjs';

/** Options of the hook that are not connect() options. */
const HOOK_OPTIONS = new Set(['types', 'parse', 'onReset', 'enabled']);

/**
 * A key equal for equal option values: plain data in a stable order, the
 * functions left out.
 */
function stableKey(value) {
  if (Array.isArray(value)) return `[${value.map(stableKey).join(',')}]`;
  if (value instanceof URL) return JSON.stringify(value.href);
  if (value && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .filter((key) => typeof value[key] !== 'function' && value[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${stableKey(value[key])}`);
    return `{${entries.join(',')}}`;
  }
  return typeof value === 'function' ? '"fn"' : JSON.stringify(value) ?? 'undefined';
}

/** The default `parse`: JSON when the payload is JSON, else the text itself. */
function parseJsonOrText(data) {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

const INITIAL = { data: undefined, lastEvent: undefined, state: 'connecting', error: undefined };

/**
 * Follows an event stream from a component. See react.d.mts.
 * @param {string | URL | null} url null (or `enabled: false`) connects nothing
 * @param {object} [options] connect() options plus `types`, `parse`, `onReset`, `enabled`
 * @returns {{ data: unknown, lastEvent: object | undefined, state: string, error: object | undefined }}
 */
export function useEventStream(url, options = {}) {
  const latest = useRef(options);
  latest.current = options;
  const [snapshot, setSnapshot] = useState(INITIAL);
  const enabled = url != null && options.enabled !== false;
  const key = enabled ? stableKey([url, options]) : null;

  useEffect(() => {
    if (key === null) {
      setSnapshot((s) => (s.state === 'closed' ? s : { ...s, state: 'closed' }));
      return undefined;
    }
    const current = latest.current;
    const connectOptions = {};
    for (const [name, value] of Object.entries(current)) {
      if (!HOOK_OPTIONS.has(name)) connectOptions[name] = value;
    }
    if (current.getToken) connectOptions.getToken = () => latest.current.getToken();
    const client = connect(url, connectOptions);
    let mounted = true;
    const update = (change) => mounted && setSnapshot((s) => ({ ...s, ...change(s) }));
    update(() => ({ state: client.state, error: undefined }));
    const onEvent = (event) => {
      const parse = latest.current.parse ?? parseJsonOrText;
      const data = parse(event.data, event);
      update(() => ({ data, lastEvent: event }));
    };
    for (const type of current.types ?? ['message']) client.on(type, onEvent);
    client.on('state', ({ state }) => update(() => ({ state })));
    client.on('open', () => update(() => ({ error: undefined })));
    client.on('error', (error) => update(() => ({ error })));
    client.on('reset', (reset) => mounted && latest.current.onReset?.(reset));
    return () => {
      mounted = false;
      client.close();
    };
    // `key` holds url and options by value; the functions are read through `latest`.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  return snapshot;
}
