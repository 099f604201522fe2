/**
 * A first-in first-out queue whose storage is let go whenever it empties (the engine's output
 * queues: frames, crypto jobs, events).
 *
 * @module
 */

/** A FIFO queue. */
export class Fifo<T> {
  #items: T[] = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  /** The oldest item, removed; undefined when empty. */
  shift(): T | undefined {
    if (this.#head >= this.#items.length) {
      if (this.#items.length) this.#items = [], this.#head = 0;
      return undefined;
    }
    return this.#items[this.#head++];
  }

  /** Drops the oldest item (a full queue making room). */
  drop(): void {
    if (this.#head < this.#items.length) this.#head++;
  }
}
