/**
 * Listeners by event type. A listener that throws is reported (as an
 * uncaught error of the page) without stopping the others or the client.
 * @module
 */

/** Reports an error thrown by application code without unwinding the client. */
export function report(error) {
  if (typeof globalThis.reportError === 'function') {
    globalThis.reportError(error);
  } else {
    setTimeout(() => {
      throw error;
    });
  }
}

export class Listeners {
  /** @type {Map<string, Set<Function>>} */
  #byType = new Map();

  /**
   * Adds `fn` for `type`; adding the same function twice keeps one.
   * @returns {boolean} whether `type` had no listener before
   */
  add(type, fn) {
    let set = this.#byType.get(type);
    const first = !set;
    if (!set) {
      set = new Set();
      this.#byType.set(type, set);
    }
    set.add(fn);
    return first;
  }

  /** Removes `fn` from `type`. */
  remove(type, fn) {
    const set = this.#byType.get(type);
    if (!set) return;
    set.delete(fn);
    if (set.size === 0) this.#byType.delete(type);
  }

  /** Whether `type` has a listener. */
  has(type) {
    return this.#byType.has(type);
  }

  /** The types that have listeners. */
  types() {
    return [...this.#byType.keys()];
  }

  /** Calls every listener of `type` with `value`, in the order they were added. */
  emit(type, value) {
    const set = this.#byType.get(type);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(value);
      } catch (error) {
        report(error);
      }
    }
  }
}
