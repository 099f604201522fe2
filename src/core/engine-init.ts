/**
 * What an engine starts from: its key, generation, seeded randomness, start time, wall clock and
 * options (`engine.ts`).
 *
 * @module
 */

import type { EngineOptions } from "./options.ts";
import type { Rng } from "./random.ts";

/** What an engine starts from. */
export interface EngineInit {
  /** This node's Ed25519 public key: its id and its origin. */
  publicKey: Uint8Array;
  /** Increases on every restart of the node (a boot timestamp serves). */
  generation: number;
  /** Seeded randomness for peer choice and round phase. */
  random: Rng;
  /** Time of creation (monotonic ms). */
  now: number;
  /** Wall-clock ms since the Unix epoch at monotonic `now`, for signed timestamps. Default: `now` itself. */
  wallClock?: (now: number) => number;
  options?: Partial<EngineOptions>;
}
