/**
 * The frame-type registry: which part of a node owns each frame type number. The engine routes a
 * frame by its type, read from its first bytes (`peekFrameType`), to the subsystem that owns it,
 * decoded once by that owner's decoder; the runtime driver keeps the link layer's types for itself.
 * A type no one owns is ignored (newer peers may add types), after the bounded scan.
 *
 * Type numbers (PROTOCOL.md §2): 1–3 and 32 state sync, 4–7 broadcast, 8–15 membership, 16–31 the
 * link layer, 33–34 scopes (subscriptions, and frames of one scope in an envelope, whose inner
 * frame is routed the same way to that scope's own sync or broadcast).
 *
 * @module
 */

/** Who handles a frame type. */
export type FrameOwner = "sync" | "broadcast" | "membership" | "link" | "scopes";

/** Inclusive type ranges and their owners. */
const RANGES: readonly (readonly [number, number, FrameOwner])[] = [
  [1, 3, "sync"],
  [4, 7, "broadcast"],
  [8, 15, "membership"],
  [16, 31, "link"],
  [32, 32, "sync"],
  [33, 34, "scopes"],
];

/**
 * The owner of a frame type number, or undefined for a type no one owns (and for no number).
 *
 * @example
 * ```ts
 * import { frameOwner } from "./registry.ts";
 * frameOwner(6); // "broadcast"
 * frameOwner(200); // undefined
 * ```
 */
export function frameOwner(type: number | undefined): FrameOwner | undefined {
  if (type === undefined) return undefined;
  for (const [lo, hi, owner] of RANGES) if (type >= lo && type <= hi) return owner;
  return undefined;
}
