/**
 * Redialing's one rule, shared by `dial` and a relay's links to its peer relays: exponential backoff
 * with full jitter — after `failures` failures in a row the next attempt waits a uniformly random
 * time in `[0, min(maxMs, minMs · 2^failures))`. The jitter is not protocol state, so it may come
 * from `Math.random`.
 *
 * @module
 */

/**
 * The wait before the next attempt, in ms.
 *
 * @example
 * ```ts
 * backoffDelay(3, 500, 30_000, Math.random); // somewhere in [0, 4000)
 * ```
 */
export function backoffDelay(failures: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  return random() * Math.min(maxMs, minMs * 2 ** Math.min(failures, 30));
}
