/**
 * The wall-clock deadlines of a presence room: when the next unreachable member times out, when
 * the next verified credential runs out, and a one-shot timer for a deadline that may lie beyond
 * what `setTimeout` can wait (it then fires early, and the room re-arms).
 *
 * @module
 */

import type { UserCredentialWire } from "../runtime/credential.ts";
import type { Other } from "./snapshot.ts";

/** setTimeout's longest delay is 2^31 - 1 ms; a credential may live longer, so timers re-arm. */
const TIMER_MS_MAX = 2 ** 30;

/** When the first present, unreachable member times out (Infinity when none is unreachable). */
export function timeoutDeadline(others: Iterable<Other>, timeoutMs: number): number {
  let at = Infinity;
  for (const o of others) if (o.present && o.unreachableSince !== null) at = Math.min(at, o.unreachableSince + timeoutMs);
  return at;
}

/** When the first verified credential, another member's or this node's own, runs out. */
export function expiryDeadline(others: Iterable<Other>, self: { wire: UserCredentialWire; verified: boolean } | null): number {
  let at = Infinity;
  for (const o of others) if (o.verified && o.credential) at = Math.min(at, o.credential.expiresAtMs);
  if (self?.verified) at = Math.min(at, self.wire.expiresAtMs);
  return at;
}

/** A timer that fires at wall-clock `at` (or earlier, past TIMER_MS_MAX) and keeps no process alive. */
export function timerAt(at: number, fire: () => void): ReturnType<typeof setTimeout> {
  const t = setTimeout(fire, Math.min(TIMER_MS_MAX, Math.max(0, at - Date.now())));
  (t as { unref?: () => void }).unref?.();
  return t;
}
