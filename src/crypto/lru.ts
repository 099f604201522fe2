/**
 * A bounded map with least-recently-used eviction, built on `Map` insertion order: a hit re-inserts
 * the entry at the young end, an insert past the bound drops the oldest. Every cache in the crypto
 * layer (imported keys, torsion verdicts, verified signatures) is one of these, so none can grow
 * without limit however many distinct keys a peer sends.
 *
 * @module
 */

/**
 * A `Map` that never holds more than `max` entries.
 *
 * @example
 * ```ts
 * import { BoundedCache } from "./lru.ts";
 * const cache = new BoundedCache<string, number>(2);
 * cache.set("a", 1); cache.set("b", 2); cache.get("a"); cache.set("c", 3);
 * cache.has("b"); // false: "b" was the least recently used
 * ```
 */
export class BoundedCache<K, V> {
  readonly #entries = new Map<K, V>();
  /** The bound: the most entries held at any time. */
  readonly max: number;

  /**
   * Creates an empty cache keeping at most `max` entries, a non-negative integer (`RangeError`
   * otherwise); 0 keeps nothing, which turns a cache off.
   */
  constructor(max: number) {
    if (!Number.isSafeInteger(max) || max < 0) throw new RangeError(`BoundedCache: max must be a non-negative integer, got ${max}`);
    this.max = max;
  }

  /** How many entries are held now (never more than `max`). */
  get size(): number {
    return this.#entries.size;
  }

  /** The value for `key`, marking it most recently used; `undefined` when absent. */
  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  /** Whether `key` is held, without touching its recency. */
  has(key: K): boolean {
    return this.#entries.has(key);
  }

  /** Stores `value` as the most recently used entry, evicting the oldest past `max`. */
  set(key: K, value: V): void {
    if (this.max === 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.max) {
      const oldest = this.#entries.keys().next().value as K;
      this.#entries.delete(oldest);
    }
  }

  /** Removes `key` if present. */
  delete(key: K): void {
    this.#entries.delete(key);
  }
}
