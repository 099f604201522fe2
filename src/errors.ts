/**
 * The error taxonomy. Caller mistakes throw the built-in `TypeError` / `RangeError`. Everything the
 * library itself reports is a {@link GrapevineError} with a stable `code` and a `source`:
 * `"local"` for misuse or local limits, `"remote"` for a peer's provable misbehaviour (a bad frame,
 * a bad signature, a cap exceeded). Codes never change meaning; new ones may be added.
 *
 * @module
 */

/** Stable error codes. The prefix tells the area: `WIRE_`, `CRYPTO_`, `STATE_`, `LINK_`, `ENGINE_`. */
export type ErrorCode =
  | "WIRE_FRAME_TOO_LARGE"
  | "WIRE_MALFORMED"
  | "WIRE_LIMIT"
  | "WIRE_SHAPE"
  | "CRYPTO_BAD_SIGNATURE"
  | "CRYPTO_UNAVAILABLE"
  | "STATE_CAP_EXCEEDED"
  | "STATE_BAD_PROOF"
  | "STATE_STALE"
  | "LINK_CLOSED"
  | "LINK_BACKPRESSURE"
  | "ENGINE_CLOSED"
  | "ENGINE_PART_MISSING";

/** Where the fault lies: this process (`local`) or a peer (`remote`). */
export type ErrorSource = "local" | "remote";

/**
 * The one error class the library throws or reports for its own conditions.
 *
 * @example
 * ```ts
 * import { GrapevineError } from "./errors.ts";
 * try {
 *   throw new GrapevineError("WIRE_FRAME_TOO_LARGE", "remote", "frame of 9000 bytes exceeds 8192");
 * } catch (e) {
 *   if (e instanceof GrapevineError && e.code === "WIRE_FRAME_TOO_LARGE") console.log(e.source);
 * }
 * ```
 */
export class GrapevineError extends Error {
  override readonly name = "GrapevineError";
  constructor(
    readonly code: ErrorCode,
    readonly source: ErrorSource,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
  }
}

/** Shorthand for a peer's misbehaviour. */
export function remoteError(code: ErrorCode, message: string, cause?: unknown): GrapevineError {
  return new GrapevineError(code, "remote", message, cause === undefined ? undefined : { cause });
}

/** Shorthand for a local condition (misuse, a local limit, a closed object). */
export function localError(code: ErrorCode, message: string, cause?: unknown): GrapevineError {
  return new GrapevineError(code, "local", message, cause === undefined ? undefined : { cause });
}
