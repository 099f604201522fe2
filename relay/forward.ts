/**
 * FORWARD frames (link-layer type 19, PROTOCOL.md §8) as the relay sees them:
 *
 * ```
 * forward = [19, to: bstr(32), from: bstr(32), hops: uint (0..4), payload: bstr]
 * ```
 *
 * A frame is recognised from its first bytes without decoding; only then is it decoded, within the
 * frame limit, by the link layer's own decoder. The payload is end to end: the relay re-sends it
 * byte for byte with `hops + 1`.
 *
 * @module
 */

import { decodeLinkFrame, encodeLinkFrame, type ForwardFrame, LINK_FRAME, peekFrameType } from "../src/wire/link-frames.ts";
import { remoteError } from "../src/errors.ts";

/** A FORWARD's routing fields. */
export interface ForwardHeader {
  to: Uint8Array;
  from: Uint8Array;
  hops: number;
}

/** True when `bytes` starts like a FORWARD frame (cheap; no decoding). */
export function looksLikeForward(bytes: Uint8Array): boolean {
  return peekFrameType(bytes) === LINK_FRAME.FORWARD;
}

/** Decodes a FORWARD within `frameBytesMax`. Throws a remote `GrapevineError` (`WIRE_*`) if malformed. */
export function readForward(bytes: Uint8Array, frameBytesMax: number): ForwardFrame {
  const frame = decodeLinkFrame(bytes, frameBytesMax);
  if (frame.type !== LINK_FRAME.FORWARD) throw remoteError("WIRE_SHAPE", "not a FORWARD frame");
  return frame;
}

/** The same FORWARD one hop further. The caller has checked `hops + 1` against its limit. */
export function withNextHop(frame: ForwardFrame): Uint8Array {
  return encodeLinkFrame({ ...frame, hops: frame.hops + 1 });
}
