/**
 * A first-in first-out queue that lets go of what it hands out (the engine's output queues: frames,
 * crypto jobs, events; a link's inbox; the thread's waiting tasks).
 *
 * An item taken out is no longer referenced by the queue, and the storage is let go when the last
 * item is taken, or cut to what still waits once more than half of it is taken slots: a queue that
 * is drained by size (`while (q.size > 0) q.shift()`) and one that never quite empties (a busy
 * link's inbox) hold only what waits, not everything that ever passed through them.
 *
 * @module
 */

/** Taken slots at the front before the storage is cut to what waits (when they are also half of it). */
const COMPACT_AFTER = 1024;

/** A FIFO queue. */
export class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Slots the storage holds: what waits, and taken slots not yet let go (for tests of its memory). */
  get slots(): number {
    return this.#items.length;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  /** The oldest item, removed; undefined when empty. */
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#take();
    return item;
  }

  /** Drops the oldest item (a full queue making room). */
  drop(): void {
    if (this.#head < this.#items.length) this.#take();
  }

  #take(): void {
    const items = this.#items;
    items[this.#head++] = undefined;
    if (this.#head === items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= COMPACT_AFTER && 2 * this.#head >= items.length) {
      this.#items = items.slice(this.#head);
      this.#head = 0;
    }
  }
}
