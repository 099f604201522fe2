/**
 * One suspicion of a member, and when it turns into a death.
 *
 * A suspicion starts when this node accepts a `suspect` claim (its own or another's) and lasts
 * Lifeguard's timeout (`lifeguard.ts`), shortened as other accusers confirm it — counted from when
 * it started, so a confirmation never extends it. With Lifeguard, a member that stated a lag in
 * its alive claim is given `suspicionLagMult` times that lag on top, to wake and refute.
 *
 * Who declares the death: the member's accusers (the nodes that failed to reach it), one after
 * another. They are put in one order every node agrees on — by their ids XOR the member's — and an
 * accuser with `b` accusers it knows of before it declares `(b + t) · minMs / (2 · (k + 1))` after
 * the deadline (`t` in [0, 1) is its place in that order, and the wait is at most `minMs / 2`);
 * everyone else waits half a minimum suspicion. Each normally just accepts the first accuser's
 * `dead` claim meanwhile: when all of a member's links close at once (a process ends), every
 * neighbour is an accuser with nearly the same deadline, and without the turns each would sign and
 * spread a death of its own. Should every accuser be gone, the others still declare it.
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
  /** `declareAt`'s last answer and what it depended on. */
  memo?: { confirmers: number; deadline: number; minMs: number; expected: number; at: number };
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

/** When this node (hex id `selfId`) declares the suspect (hex id `memberId`) dead itself (see the module doc). */
export function declareAt(s: Suspicion, selfId: string, memberId: string, p: SuspicionParams): number {
  // Asked at every re-arm of the membership's timer, for every suspect: kept until what it depends
  // on changes (a confirmation, the deadline, the table's size through `p`). Confirmers are only
  // ever added, so their count stands for the set.
  const m = s.memo;
  if (m !== undefined && m.confirmers === s.confirmers.size && m.deadline === s.deadline && m.minMs === p.minMs && m.expected === p.expected) return m.at;
  let at: number;
  if (!s.confirmers.has(selfId)) at = s.deadline + p.minMs / 2;
  else {
    const mine = turnOf(selfId, memberId);
    let before = 0;
    for (const c of s.confirmers) if (turnOf(c, memberId) < mine) before++;
    const step = p.minMs / (2 * (p.expected + 1));
    // Within its step, too, an accuser waits its turn: accusers that know of nobody before them
    // (each knows at most k others) are spread over the step instead of declaring together.
    at = s.deadline + Math.min(before + mine, p.expected + 1) * step;
  }
  s.memo = { confirmers: s.confirmers.size, deadline: s.deadline, minMs: p.minMs, expected: p.expected, at };
  return at;
}

/**
 * An accuser's turn to declare `memberId` dead, in [0, 1): the first 48 bits of its id XOR the
 * member's. Every node computes the same order, and each member's accusers get a different one.
 */
function turnOf(id: string, memberId: string): number {
  const hi = parseInt(id.slice(0, 6), 16) ^ parseInt(memberId.slice(0, 6), 16);
  const lo = parseInt(id.slice(6, 12), 16) ^ parseInt(memberId.slice(6, 12), 16);
  return (hi * 2 ** 24 + lo) / 2 ** 48;
}
