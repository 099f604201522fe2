/**
 * What an engine starts from: its key, generation, seeded randomness, start time, wall clock,
 * options and parts (`engine-core.ts`).
 *
 * @module
 */

import type { EngineOptions } from "./options.ts";
import type { EngineParts } from "./parts.ts";
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
  /**
   * The optional parts (`parts.ts`): membership, broadcast. `Engine` has both unless told
   * otherwise; `EngineCore` has only those given. `options.membership` needs the membership part.
   */
  parts?: EngineParts;
}
