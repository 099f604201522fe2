/**
 * WebRTC signalling payloads (PROTOCOL.md §8.6): what two nodes say to each other, through the
 * mesh's FORWARD frames, to set up a direct data channel. Pure encoding and decoding, bounded; the
 * signature is made and checked by the caller (`direct.ts`) with the node's `signal` hooks.
 *
 * ```
 * signal = ["gv/rtc", body: bstr, signature: bstr(64)]
 * body   = [from: bstr(32), to: bstr(32), sentAtMs: uint, session: bstr(8), type: uint, data, * any]
 * ```
 *
 * @module
 */

import { bytesEqual } from "../bytes.ts";
import { decode, encode } from "../wire/cbor.ts";
import { DEFAULT_DECODE_LIMITS, type DecodeLimits } from "../wire/limits.ts";
import { asArray, asBytes, asText, asUint } from "../wire/shape.ts";
import { remoteError } from "../errors.ts";

/** Signal types; numbers never change meaning. */
export const SIGNAL = Object.freeze({ WANT: 0, OFFER: 1, ANSWER: 2, CANDIDATE: 3, BYE: 4 });

/** Largest signalling payload, in bytes (signature and envelope included). */
export const SIGNAL_BYTES_MAX = 32_768;
/** Longest SDP, in UTF-8 bytes. */
export const SDP_BYTES_MAX = 16_384;
/** Longest ICE candidate line, in UTF-8 bytes. */
export const CANDIDATE_BYTES_MAX = 1_024;
/** Longest `bye` reason, in UTF-8 bytes. */
export const BYE_REASON_BYTES_MAX = 123;
/** Session ids are this many random bytes. */
export const SESSION_BYTES = 8;

const TAG = "gv/rtc";
/** `["gv/rtc", …` in CBOR: a 3-element array head, then the tag's text head and bytes. */
const PREFIX = encode([TAG, new Uint8Array(0), new Uint8Array(0)]).subarray(0, 2 + TAG.length);
const LIMITS: DecodeLimits = { ...DEFAULT_DECODE_LIMITS, frameBytesMax: SIGNAL_BYTES_MAX, depthMax: 4, itemsMax: 64, arrayLengthMax: 16, textBytesMax: SDP_BYTES_MAX, bytesLengthMax: SIGNAL_BYTES_MAX };

/** A candidate as signalled. */
export interface SignalCandidate {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
}

/** One decoded signal body. */
export type SignalBody = {
  from: Uint8Array;
  to: Uint8Array;
  sentAtMs: number;
  session: Uint8Array;
} & (
  | { type: typeof SIGNAL.WANT }
  | { type: typeof SIGNAL.OFFER | typeof SIGNAL.ANSWER; sdp: string }
  | { type: typeof SIGNAL.CANDIDATE; candidate: SignalCandidate }
  | { type: typeof SIGNAL.BYE; reason: string }
);

/** Encodes a signal body (the bytes to sign). Throws `RangeError` past a bound. */
export function encodeSignalBody(b: SignalBody): Uint8Array {
  if (b.from.length !== 32 || b.to.length !== 32 || b.session.length !== SESSION_BYTES) throw new RangeError("signal: bad key or session length");
  let data: unknown = null;
  if (b.type === SIGNAL.OFFER || b.type === SIGNAL.ANSWER) data = b.sdp;
  else if (b.type === SIGNAL.CANDIDATE) data = [b.candidate.candidate, b.candidate.sdpMid, b.candidate.sdpMLineIndex];
  else if (b.type === SIGNAL.BYE) data = b.reason;
  const bytes = encode([b.from, b.to, b.sentAtMs, b.session, b.type, data]);
  if (bytes.length > SIGNAL_BYTES_MAX - 128) throw new RangeError(`signal: body of ${bytes.length} bytes is too large`);
  return bytes;
}

/** Wraps a signed body as the FORWARD payload. */
export function encodeSignal(body: Uint8Array, signature: Uint8Array): Uint8Array {
  return encode([TAG, body, signature]);
}

/** True when `payload` starts like a signal (no decoding): other FORWARD payloads are left alone. */
export function looksLikeSignal(payload: Uint8Array): boolean {
  return payload.length > PREFIX.length && bytesEqual(payload.subarray(0, PREFIX.length), PREFIX);
}

/** Splits a signal into its body bytes and signature. Throws a remote `GrapevineError` if malformed. */
export function decodeSignal(payload: Uint8Array): { body: Uint8Array; signature: Uint8Array } {
  const a = asArray(decode(payload, LIMITS), "signal", 3, 3);
  if (a[0] !== TAG) throw remoteError("WIRE_SHAPE", "signal[0]: not a signal");
  return { body: asBytes(a[1], "signal[1]", undefined, SIGNAL_BYTES_MAX), signature: asBytes(a[2], "signal[2]", 64) };
}

/** Decodes a signal body. Throws a remote `GrapevineError` if malformed or of an unknown type. */
export function decodeSignalBody(bytes: Uint8Array): SignalBody {
  const a = asArray(decode(bytes, LIMITS), "body", 6, 16);
  const head = {
    from: asBytes(a[0], "body.from", 32),
    to: asBytes(a[1], "body.to", 32),
    sentAtMs: asUint(a[2], "body.sentAtMs"),
    session: asBytes(a[3], "body.session", SESSION_BYTES),
  };
  const type = asUint(a[4], "body.type", 255);
  switch (type) {
    case SIGNAL.WANT:
      return { ...head, type };
    case SIGNAL.OFFER:
    case SIGNAL.ANSWER:
      return { ...head, type, sdp: asText(a[5], "body.sdp", SDP_BYTES_MAX) };
    case SIGNAL.CANDIDATE: {
      const c = asArray(a[5], "body.candidate", 3, 3);
      return {
        ...head,
        type,
        candidate: {
          candidate: asText(c[0], "body.candidate[0]", CANDIDATE_BYTES_MAX),
          sdpMid: c[1] === null ? null : asText(c[1], "body.candidate[1]", 64),
          sdpMLineIndex: c[2] === null ? null : asUint(c[2], "body.candidate[2]", 255),
        },
      };
    }
    case SIGNAL.BYE:
      return { ...head, type, reason: asText(a[5], "body.reason", BYE_REASON_BYTES_MAX) };
    default:
      throw remoteError("WIRE_SHAPE", `body.type: unknown signal type ${type}`);
  }
}
