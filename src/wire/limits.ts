/**
 * Decode limits: the one place that bounds what a peer's frame may cost us. Every limit is an
 * integer count or byte length checked by the scanner (`scan.ts`) before the decoder builds
 * anything, so a hostile frame is refused without allocating anything sized by its claims.
 * Invariants: every limit is a finite, non-negative safe integer (never `Infinity`); the defaults
 * are frozen; callers tighten them per frame kind by spreading the defaults.
 *
 * @module
 */

/**
 * Bounds on one decoded frame. Units are in the names: `Bytes` are UTF-8/raw bytes, the others
 * count CBOR data items.
 *
 * @example
 * ```ts
 * import { DEFAULT_DECODE_LIMITS, type DecodeLimits } from "./limits.ts";
 * const handshake: DecodeLimits = { ...DEFAULT_DECODE_LIMITS, frameBytesMax: 4096, depthMax: 4 };
 * ```
 */
export interface DecodeLimits {
  /** Largest frame accepted, in bytes; checked before anything else. */
  frameBytesMax: number;
  /** Deepest nesting of arrays and maps; a top-level array is depth 1, a scalar depth 0. */
  depthMax: number;
  /** Most data items in the frame, counting every map key, value, array element and container. */
  itemsMax: number;
  /** Most elements in one array. */
  arrayLengthMax: number;
  /** Most key/value pairs in one map. */
  mapSizeMax: number;
  /** Longest text string, in UTF-8 bytes. */
  textBytesMax: number;
  /** Longest byte string, in bytes. */
  bytesLengthMax: number;
}

/**
 * The defaults, sized for gossip frames:
 * - `frameBytesMax` 1,048,576 bytes (1 MiB): one frame never blocks the loop for long.
 * - `depthMax` 16 levels: frames are shallow; this keeps every recursive walk tiny.
 * - `itemsMax` 65,536 items in the whole frame.
 * - `arrayLengthMax` 16,384 elements per array.
 * - `mapSizeMax` 1,024 pairs per map (maps are records, not collections).
 * - `textBytesMax` 65,536 UTF-8 bytes per text string.
 * - `bytesLengthMax` 1,048,576 bytes per byte string (bounded by the frame anyway).
 *
 * @example
 * ```ts
 * import { DEFAULT_DECODE_LIMITS } from "./limits.ts";
 * console.log(DEFAULT_DECODE_LIMITS.frameBytesMax); // 1048576
 * ```
 */
export const DEFAULT_DECODE_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  frameBytesMax: 1_048_576,
  depthMax: 16,
  itemsMax: 65_536,
  arrayLengthMax: 16_384,
  mapSizeMax: 1_024,
  textBytesMax: 65_536,
  bytesLengthMax: 1_048_576,
});

const LIMIT_NAMES = Object.keys(DEFAULT_DECODE_LIMITS) as (keyof DecodeLimits)[];

/**
 * Throws `RangeError` unless every limit is a non-negative safe integer. A caller mistake, so not
 * a `GrapevineError`.
 *
 * @example
 * ```ts
 * import { checkDecodeLimits, DEFAULT_DECODE_LIMITS } from "./limits.ts";
 * checkDecodeLimits(DEFAULT_DECODE_LIMITS); // ok
 * ```
 */
export function checkDecodeLimits(limits: DecodeLimits): void {
  for (const name of LIMIT_NAMES) {
    const v = limits[name];
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new RangeError(`DecodeLimits.${name} must be a non-negative safe integer, got ${String(v)}`);
    }
  }
}
