/**
 * A small table of named periodic deadlines: membership's probe period, gossip pace, upkeep,
 * push-pull, shuffle and seed retry.
 *
 * Each timer fires at or after its deadline and is then re-armed at the next deadline of its
 * grid (its first deadline plus whole periods) after the time it fired: a node that slept through
 * several periods does the work once and moves on, in step with its other periodic work. A timer
 * the owner is not waiting on (gossip with nothing queued, seed retry without seeds, probes and
 * upkeep of a quiet node) keeps its deadline but is left out of `next`, so it neither wakes the
 * node nor loses its phase. A deadline of `Infinity` never fires (a feature switched off).
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
   * Whether `name` is due at `now`; if so it is re-armed at the first deadline of its grid (`at`
   * plus whole `periodMs`) after `now`, so a timer woken late keeps its phase and stays in step
   * with the node's other periodic work: one wake-up for all.
   */
  fire(name: N, now: number, periodMs: number): boolean {
    const at = this.at(name);
    if (now < at) return false;
    this.#at.set(name, at + (Math.floor((now - at) / periodMs) + 1) * periodMs);
    return true;
  }

  /** The first deadline of `name`'s grid at or after `t` (its deadline if that is later). */
  gridAt(name: N, t: number, periodMs: number): number {
    const at = this.at(name);
    return t <= at ? at : at + Math.ceil((t - at) / periodMs) * periodMs;
  }

  /** The earliest deadline among the timers `waiting` says the owner waits on (`Infinity`: none). */
  next(waiting: (name: N) => boolean): number {
    let t = Infinity;
    for (const [name, at] of this.#at) if (at < t && waiting(name)) t = at;
    return t;
  }
}
