/**
 * The simulator's pending events: a binary min-heap ordered by (time, sequence number), so equal
 * times pop in the order they were pushed, which keeps a simulation deterministic.
 *
 * Stored as parallel typed arrays, not one object per event: when a million nodes boot, every link
 * end sends its first digest at once and some 40 million frames are in flight together. An event
 * here is 37 bytes (time, sequence, node, kind, two integers, one reference); as an object it was
 * about 150. The capacity grows by half when full, so a caller that knows its burst sizes it once,
 * and shrinks once the queue is mostly empty (the boot burst's room is not kept for the whole run).
 *
 * @module
 */

/** Event kinds. */
export const EVENT = { WAKE: 0, DELIVER: 1, CRYPTO: 2 } as const;

/** One event's fields, as `pop` hands them out (one reused object, valid until the next `pop`). */
export interface QueuedEvent {
  time: number;
  kind: number;
  node: number;
  /** Link id (deliver) or job id (crypto). */
  arg: number;
  /** The node's generation when the event was made (deliver, crypto). */
  generation: number;
  /** Frame bytes (deliver), crypto result (crypto), due time (wake). */
  ref: unknown;
}

/** Min-heap of events on (time, seq). */
export class EventQueue {
  #time: Float64Array;
  #seq: Float64Array;
  #node: Int32Array;
  #arg: Int32Array;
  #gen: Int32Array;
  #kind: Uint8Array;
  #ref: unknown[];
  #size = 0;
  readonly #out: QueuedEvent = { time: 0, kind: 0, node: 0, arg: 0, generation: 0, ref: undefined };

  constructor(capacity = 1024) {
    const c = Math.max(16, Math.ceil(capacity));
    this.#time = new Float64Array(c);
    this.#seq = new Float64Array(c);
    this.#node = new Int32Array(c);
    this.#arg = new Int32Array(c);
    this.#gen = new Int32Array(c);
    this.#kind = new Uint8Array(c);
    this.#ref = new Array(c).fill(undefined);
  }

  get size(): number {
    return this.#size;
  }

  /** Bytes the queue's arrays take (its capacity, used or not). */
  get capacityBytes(): number {
    return this.#time.length * (8 + 8 + 4 + 4 + 4 + 1 + 8);
  }

  /** Time of the earliest event, or Infinity when empty. */
  peekTime(): number {
    return this.#size ? this.#time[0] : Infinity;
  }

  push(time: number, seq: number, kind: number, node: number, arg: number, generation: number, ref: unknown): void {
    if (this.#size === this.#time.length) this.#grow();
    let i = this.#size++;
    // Sift up, moving parents down into the hole until the new event's place is found.
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = this.#time[p];
      if (pt < time || (pt === time && this.#seq[p] < seq)) break;
      this.#move(p, i);
      i = p;
    }
    this.#set(i, time, seq, kind, node, arg, generation, ref);
  }

  /** Removes the earliest event and returns its fields (a reused object), or undefined. */
  pop(): QueuedEvent | undefined {
    if (this.#size === 0) return undefined;
    const o = this.#out;
    o.time = this.#time[0];
    o.kind = this.#kind[0];
    o.node = this.#node[0];
    o.arg = this.#arg[0];
    o.generation = this.#gen[0];
    o.ref = this.#ref[0];
    const last = --this.#size;
    if (last > 0) {
      const time = this.#time[last];
      const seq = this.#seq[last];
      const kind = this.#kind[last];
      const node = this.#node[last];
      const arg = this.#arg[last];
      const gen = this.#gen[last];
      const ref = this.#ref[last];
      // Sift the last event down from the root.
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= last) break;
        const r = l + 1;
        let m = l;
        if (r < last && (this.#time[r] < this.#time[l] || (this.#time[r] === this.#time[l] && this.#seq[r] < this.#seq[l]))) m = r;
        const mt = this.#time[m];
        if (time < mt || (time === mt && seq < this.#seq[m])) break;
        this.#move(m, i);
        i = m;
      }
      this.#set(i, time, seq, kind, node, arg, gen, ref);
    }
    this.#ref[last] = undefined; // let the frame go
    const c = this.#time.length;
    if (c > SHRINK_FLOOR && last < c >> 3) this.#resize(Math.max(SHRINK_FLOOR, last << 1));
    return o;
  }

  #move(from: number, to: number): void {
    this.#time[to] = this.#time[from];
    this.#seq[to] = this.#seq[from];
    this.#kind[to] = this.#kind[from];
    this.#node[to] = this.#node[from];
    this.#arg[to] = this.#arg[from];
    this.#gen[to] = this.#gen[from];
    this.#ref[to] = this.#ref[from];
  }

  #set(i: number, time: number, seq: number, kind: number, node: number, arg: number, gen: number, ref: unknown): void {
    this.#time[i] = time;
    this.#seq[i] = seq;
    this.#kind[i] = kind;
    this.#node[i] = node;
    this.#arg[i] = arg;
    this.#gen[i] = gen;
    this.#ref[i] = ref;
  }

  #grow(): void {
    this.#resize(Math.ceil(this.#time.length * 1.5));
  }

  /** New arrays of capacity `c` (at least the size), holding the events in the same places. */
  #resize(c: number): void {
    const n = this.#size;
    const copy = <T extends Float64Array | Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(c);
      b.set(a.subarray(0, n));
      return b;
    };
    this.#time = copy(this.#time, (k) => new Float64Array(k));
    this.#seq = copy(this.#seq, (k) => new Float64Array(k));
    this.#node = copy(this.#node, (k) => new Int32Array(k));
    this.#arg = copy(this.#arg, (k) => new Int32Array(k));
    this.#gen = copy(this.#gen, (k) => new Int32Array(k));
    this.#kind = copy(this.#kind, (k) => new Uint8Array(k));
    const ref = this.#ref.slice(0, n);
    for (let k = n; k < c; k++) ref.push(undefined);
    this.#ref = ref;
  }
}

/** Below this capacity the queue does not shrink. */
const SHRINK_FLOOR = 1 << 16;
