/**
 * A binary min-heap of timed events, ordered by (time, sequence number): equal times pop in the
 * order they were pushed, which keeps a simulation deterministic.
 *
 * @module
 */

/** Anything with a time and a tie-breaking sequence number. */
export interface Timed {
  time: number;
  seq: number;
}

/** Min-heap on (time, seq). */
export class EventHeap<T extends Timed> {
  #a: T[] = [];

  get size(): number {
    return this.#a.length;
  }

  push(x: T): void {
    const a = this.#a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }

  pop(): T | undefined {
    const a = this.#a;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l], a[m])) m = l;
        if (r < a.length && less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }

  peek(): T | undefined {
    return this.#a[0];
  }
}

function less(x: Timed, y: Timed): boolean {
  return x.time < y.time || (x.time === y.time && x.seq < y.seq);
}
