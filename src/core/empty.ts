/**
 * Shared empty tables: the stand-in for a Map or Set a component has not needed yet. An empty Map
 * costs about 180 bytes before anything is put in it; a simulated mesh of a million engines holds
 * tens of them per engine that stay empty for the whole run. A component starts such a table as
 * the shared one and swaps in its own on the first write (`isShared`). Writing to the shared one
 * is a bug of ours and throws.
 *
 * @module
 */

class SharedEmptyMap<K, V> extends Map<K, V> {
  override set(): this {
    throw new Error("bug: the shared empty Map was written to");
  }
}

class SharedEmptySet<T> extends Set<T> {
  override add(): this {
    throw new Error("bug: the shared empty Set was written to");
  }
}

const EMPTY_MAP = Object.freeze(new SharedEmptyMap<never, never>());
const EMPTY_SET = Object.freeze(new SharedEmptySet<never>());

/** The shared empty Map, typed for a field that will get its own on the first write. */
export function emptyMap<K, V>(): Map<K, V> {
  return EMPTY_MAP as unknown as Map<K, V>;
}

/** The shared empty Set, typed likewise. */
export function emptySet<T>(): Set<T> {
  return EMPTY_SET as unknown as Set<T>;
}

/** Whether `table` is the shared empty one (so it must be replaced before a write). */
export function isShared(table: Map<unknown, unknown> | Set<unknown>): boolean {
  return table === (EMPTY_MAP as unknown) || table === (EMPTY_SET as unknown);
}

/**
 * The IHAVE queue of a link with nothing queued, shared (frozen: a push to it is a bug). Most links
 * never queue an id; an array each would cost them about 16 bytes plus its backing store.
 */
export const NO_IDS = Object.freeze([]) as unknown as Uint8Array[];
