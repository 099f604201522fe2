/**
 * The wire layer: a CBOR codec with pinned options, decode limits checked before decoding, and
 * shape checks after. Re-exports only; one line per module, so a new module (frames, …) adds one.
 *
 * @example
 * ```ts
 * import { asArray, asUint, decode, encode } from "./mod.ts";
 * const frame = asArray(decode(encode([1, "hi"])), "frame", 2, 2);
 * console.log(asUint(frame[0], "frame[0]")); // 1
 * ```
 *
 * @module
 */

export { decode, encode } from "./cbor.ts";
export { checkDecodeLimits, DEFAULT_DECODE_LIMITS, type DecodeLimits } from "./limits.ts";
export { scanCbor, scanCborSummary, type ScanSummary } from "./scan.ts";
export * from "./shape.ts";
