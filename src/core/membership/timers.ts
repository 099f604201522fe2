/**
 * A small table of named periodic deadlines: membership's probe period, gossip pace, upkeep,
 * push-pull, shuffle and seed retry.
 *
 * Each timer fires at or after its deadline and is then re-armed a period later, counted from the
 * time it fired (not from the missed deadline: a node that slept through several periods does the
 * work once and moves on). A timer the owner is not waiting on (gossip with nothing queued, seed
 * retry without seeds) keeps its deadline but is left out of `next`, so it neither wakes the node
 * nor loses its phase. A deadline of `Infinity` never fires (a feature switched off).
 *
 * @module
 */

/** Named deadlines (ms on the node's clock). */
export class Timers<N extends string> {
  #at: Map<N, number>;

  /** @param initial every timer's first deadline; the table holds exactly these names */
  constructor(initial: Readonly<Record<N, number>>) {
    this.#at = new Map(Object.entries(initial) as [N, number][]);
  }

  /** When `name` is next due. */
  at(name: N): number {
    return this.#at.get(name)!;
  }

  /**
   * Whether `name` is due at `now`; if so it is re-armed `periodMs` after the time it was due, so
   * a timer woken a little late keeps its phase (and stays in step with the node's other periodic
   * work: one wake-up for all); one that slept through a whole period starts over from `now`.
   */
  fire(name: N, now: number, periodMs: number): boolean {
    const at = this.at(name);
    if (now < at) return false;
    this.#at.set(name, now - at < periodMs ? at + periodMs : now + periodMs);
    return true;
  }

  /** The earliest deadline among the timers `waiting` says the owner waits on (`Infinity`: none). */
  next(waiting: (name: N) => boolean): number {
    let t = Infinity;
    for (const [name, at] of this.#at) if (at < t && waiting(name)) t = at;
    return t;
  }
}
