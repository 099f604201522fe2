/**
 * The arithmetic of SWIM and Lifeguard, kept apart from the state machine so it can be read and
 * tested on its own:
 *
 * - **suspicion timeout** (Lifeguard's LHA-Suspicion): a suspicion starts at `max` and shrinks
 *   towards `min` as independent confirmations arrive, on a log scale: after c of the k expected
 *   confirmations it lasts `max − (max − min) · log(c + 1) / log(k + 1)`, never less than `min`,
 *   where `min = suspicionMult · max(1, log10 n) · probeInterval` and `max = suspicionMaxTimeoutMult · min`.
 *   Without Lifeguard, or when too few members exist to confirm (k < 1), it is `min` flat (SWIM);
 * - **retransmit limit**: every node sends each claim `retransmitMult · ceil(log10(n + 1))` times,
 *   enough for an infection-style spread to reach everyone with high probability;
 * - **local health** (LHA-Probe): a score in `[0, awarenessMax − 1]` that failed probes, missing
 *   NACKs, late timers and refutations raise and successful probes lower; probe timing is
 *   multiplied by `score + 1`, so a node that is itself slow stops blaming others for it.
 *
 * @module
 */

/** Suspicion bounds and expected confirmations for a view of `members` (including this node). */
export interface SuspicionParams {
  minMs: number;
  maxMs: number;
  /** Confirmations that bring the timeout down to `minMs`. */
  expected: number;
}

/** The suspicion bounds for `members` members. */
export function suspicionParams(
  members: number,
  o: { suspicionMult: number; suspicionMaxTimeoutMult: number; probeIntervalMs: number; lifeguard: boolean },
): SuspicionParams {
  const minMs = o.suspicionMult * Math.max(1, Math.log10(Math.max(1, members))) * o.probeIntervalMs;
  if (!o.lifeguard) return { minMs, maxMs: minMs, expected: 0 };
  const k = o.suspicionMult - 2;
  // Too few others to confirm: the full max would only delay detection.
  const expected = members - 2 < k ? 0 : k;
  return { minMs, maxMs: expected < 1 ? minMs : o.suspicionMaxTimeoutMult * minMs, expected };
}

/** How long a suspicion with `confirmations` independent confirmations lasts in total. */
export function suspicionTimeoutMs(p: SuspicionParams, confirmations: number): number {
  if (p.expected < 1) return p.minMs;
  const frac = Math.log(Math.min(confirmations, p.expected) + 1) / Math.log(p.expected + 1);
  return Math.max(p.minMs, Math.floor(p.maxMs - frac * (p.maxMs - p.minMs)));
}

/** How many times each node sends a claim in a view of `members`. */
export function retransmitLimit(members: number, retransmitMult: number): number {
  return retransmitMult * Math.max(1, Math.ceil(Math.log10(members + 1)));
}

/**
 * About how long a claim takes to reach every member of a view of `members`: the hops of a spread
 * in which each holder sends it whole to `memberGossipFanout` peers, a gossip interval each, then
 * one protocol period for the ids announced to the rest and two gossip intervals for them to ask.
 * A node that has held a member's rank this long may gossip accusations of it without their proof.
 */
export function spreadMs(
  members: number,
  o: { memberGossipFanout: number; memberGossipIntervalMs: number; probeIntervalMs: number },
): number {
  const hops = Math.ceil(Math.log(Math.max(2, members)) / Math.log(Math.max(2, o.memberGossipFanout)));
  return (hops + 2) * o.memberGossipIntervalMs + o.probeIntervalMs;
}

/** Lifeguard's local health: the score and what it does to timing. */
export class LocalHealth {
  #score = 0;

  constructor(readonly max: number, readonly enabled: boolean) {}

  /** The score, 0 when healthy. */
  get score(): number {
    return this.#score;
  }

  /** Adds `delta` (negative for good news), clamped to `[0, max − 1]`. */
  apply(delta: number): void {
    if (!this.enabled) return;
    this.#score = Math.max(0, Math.min(this.max - 1, this.#score + delta));
  }

  /** A duration stretched by the current health: `ms · (score + 1)`. */
  scale(ms: number): number {
    return ms * (this.#score + 1);
  }
}
