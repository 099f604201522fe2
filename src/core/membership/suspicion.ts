/**
 * One suspicion of a member, and when it turns into a death.
 *
 * A suspicion starts when this node accepts a `suspect` claim (its own or another's) and lasts
 * Lifeguard's timeout (`lifeguard.ts`), shortened as other accusers confirm it — counted from when
 * it started, so a confirmation never extends it. With Lifeguard, a member that stated a lag in
 * its alive claim is given `suspicionLagMult` times that lag on top, to wake and refute.
 *
 * Who declares the death: the member's accusers (the nodes that failed to reach it) do so at the
 * deadline; everyone else waits half a minimum suspicion more and, normally, just accepts an
 * accuser's `dead` claim meanwhile — else every node that heard the suspicion would sign a death of
 * its own. Should every accuser be gone, the others still declare it.
 *
 * @module
 */

import { suspicionTimeoutMs, type SuspicionParams } from "../lifeguard.ts";

/** A suspicion in progress. */
export interface Suspicion {
  startedAt: number;
  /** Hex ids of the accusers: the first, then each confirmation. */
  confirmers: Set<string>;
  /** When the suspicion has lasted its timeout. */
  deadline: number;
  /** This node is signing the death (at most one declaration per suspicion). */
  declaring: boolean;
}

/** What the timeout depends on besides the member count. */
export interface SuspicionOptions {
  lifeguard: boolean;
  suspicionLagMult: number;
}

/**
 * How long a suspicion lasts after `confirmations` confirmations, of a member whose alive claim
 * states `lag` ms (at most `CLAIM_LAG_MS_MAX`, checked when the claim was decoded).
 */
export function suspicionMs(p: SuspicionParams, confirmations: number, lag: number, o: SuspicionOptions): number {
  const base = suspicionTimeoutMs(p, confirmations);
  if (!o.lifeguard) return base;
  return base + lag * o.suspicionLagMult;
}

/** A suspicion raised at `now` by `claimer` (hex), lasting `ms`. */
export function startSuspicion(now: number, claimer: string, ms: number): Suspicion {
  return { startedAt: now, confirmers: new Set([claimer]), deadline: now + ms, declaring: false };
}

/** When this node (hex id `selfId`) declares the suspect dead itself (see the module doc). */
export function declareAt(s: Suspicion, selfId: string, p: SuspicionParams): number {
  return s.confirmers.has(selfId) ? s.deadline : s.deadline + p.minMs / 2;
}
