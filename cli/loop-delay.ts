/**
 * How late the event loop runs, from Node's `monitorEventLoopDelay`. Its histogram records the
 * interval between its own timer's callbacks — the resolution plus how late each callback came: an
 * idle loop sampled every 5 ms reads p50 ≈ 5.1 ms, not ≈ 0 — so the delay reported here is that
 * interval less the resolution (never below zero).
 *
 * @module
 */

import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";

/** The event loop's delay while enabled, sampled every `resolutionMs`. */
export class LoopDelay {
  readonly #histogram: IntervalHistogram;
  readonly #resolutionMs: number;

  constructor(resolutionMs: number) {
    this.#histogram = monitorEventLoopDelay({ resolution: resolutionMs });
    this.#resolutionMs = resolutionMs;
  }

  enable(): void {
    this.#histogram.enable();
  }

  disable(): void {
    this.#histogram.disable();
  }

  reset(): void {
    this.#histogram.reset();
  }

  /** The delay at percentile `q` (0–100), in ms. */
  percentileMs(q: number): number {
    return Math.max(0, this.#histogram.percentile(q) / 1e6 - this.#resolutionMs);
  }

  /** Samples taken (one a resolution). */
  count(): number {
    return this.#histogram.count;
  }

  /** The longest delay seen, in ms. */
  maxMs(): number {
    return Math.max(0, this.#histogram.max / 1e6 - this.#resolutionMs);
  }
}
