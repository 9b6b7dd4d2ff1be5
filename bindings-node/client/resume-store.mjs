/**
 * The last event id of a stream, kept in `sessionStorage` so that a page that
 * reloads resumes where it stopped. Storage that is missing or refuses (a
 * sandboxed frame, a full quota, Node) makes this a no-op: resuming across
 * reloads is then lost, never the stream.
 * @module
 */

const PREFIX = 'ssecast:lastEventId:';

/**
 * The storage key of a stream: its URL and its topics, in order.
 * @param {string} url
 * @param {string[]} topics
 */
export function resumeKey(url, topics) {
  return PREFIX + JSON.stringify([url, topics]);
}

function storage() {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null; // reading the property itself throws where storage is blocked
  }
}

export class ResumeStore {
  #key;

  /** @param {string | false} key the storage key; false keeps nothing */
  constructor(key) {
    this.#key = key;
  }

  /** The stored id, or undefined. */
  load() {
    if (this.#key === false) return undefined;
    try {
      return storage()?.getItem(this.#key) ?? undefined;
    } catch {
      return undefined;
    }
  }

  /** Stores `id`. */
  save(id) {
    if (this.#key === false) return;
    try {
      storage()?.setItem(this.#key, id);
    } catch {
      // quota or policy: the stream goes on without it
    }
  }
}
