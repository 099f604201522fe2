/**
 * Slow nodes: a CPU-starved process, as the simulator models it. The process runs, then stalls
 * (descheduled, swapping, a long GC pause), then runs again. Nothing it would have done during a
 * stall happens until the stall ends; then, like an event loop that runs its due timers before it
 * polls for I/O, its timers fire first and the frames and crypto results that queued up follow in
 * arrival order. Outside stalls every event is still shifted by a small random delay.
 *
 * Stall lengths are heavy-tailed (log-uniform between `stallMinMs` and `stallMaxMs`): mostly short
 * hiccups, now and then a stall longer than a suspicion timeout.
 *
 * So a slow node times out probes whose ACKs are already waiting in its queue, wakes late, and
 * answers late: the behaviour Lifeguard was designed around. Deterministic given its seed; the
 * stalls and the jitter come from separate streams, so a node's stalls do not depend on how many
 * events it handled — two runs on one seed (with and without Lifeguard) see the same stalls.
 *
 * @module
 */

import { randomUnit, seededRng, type Rng } from "../core/random.ts";

/** How one slow node misbehaves. Times in ms. */
export interface SlowProfile {
  /** Mean time between the end of one stall and the start of the next (exponential). */
  stallGapMs: number;
  /** Shortest stall. */
  stallMinMs: number;
  /** Longest stall (log-uniform in between). */
  stallMaxMs: number;
  /** Every event outside a stall is shifted by up to this much (uniform). */
  jitterMs: number;
}

/**
 * A starved process: a stall every 10 s on average, 0.2 to 15 s long (mean about 3.4 s, so about a
 * quarter of its time stalled), and up to 100 ms of delay on everything else.
 */
export const DEFAULT_SLOW: Readonly<SlowProfile> = Object.freeze({ stallGapMs: 10_000, stallMinMs: 200, stallMaxMs: 15_000, jitterMs: 100 });

/** The stall timeline of one slow node, generated lazily from its own random stream. */
export class SlowClock {
  /** Stall timeline. */
  #rng: Rng;
  /** Jitter outside stalls: its own stream, drawn once per event. */
  #jitter: Rng;
  #p: SlowProfile;
  /** Stalls as [start, end) pairs, ascending; old ones are pruned. */
  #stalls: [number, number][] = [];
  #generatedTo: number;

  constructor(rng: Rng, profile: SlowProfile, from: number) {
    this.#rng = rng;
    this.#jitter = seededRng(rng.nextU32());
    this.#p = profile;
    this.#generatedTo = from;
    this.#extend(from);
  }

  /**
   * When an event due at `t` really runs. Timers (`wake`) run at the end of a stall exactly;
   * frames and crypto results just after, in the order they arrived.
   */
  defer(t: number, kind: "wake" | "io", now: number): number {
    this.#extend(t);
    while (this.#stalls.length && this.#stalls[0][1] < now - 60_000) this.#stalls.shift();
    for (const [start, end] of this.#stalls) {
      if (t < start) break;
      if (t < end) return kind === "wake" ? end : end + 1 + (t - start) / 1000;
    }
    return kind === "wake" ? t : t + randomUnit(this.#jitter) * this.#p.jitterMs;
  }

  /** Whether the node is inside a stall at `t`. */
  stalled(t: number): boolean {
    this.#extend(t);
    return this.#stalls.some(([s, e]) => t >= s && t < e);
  }

  #extend(t: number): void {
    const p = this.#p;
    while (this.#generatedTo <= t) {
      const gap = -Math.log(1 - randomUnit(this.#rng)) * p.stallGapMs;
      const start = this.#generatedTo + gap;
      const end = start + p.stallMinMs * (p.stallMaxMs / p.stallMinMs) ** randomUnit(this.#rng);
      this.#stalls.push([start, end]);
      this.#generatedTo = end;
    }
  }
}
