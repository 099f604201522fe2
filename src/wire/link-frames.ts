/**
 * Link-layer frames (types 16–31): what two ends of one link say to each other about the link
 * itself — the authenticated handshake (HELLO, PROOF), a reasoned goodbye (CLOSE) and addressed
 * frames that relays carry between peers that hold no direct link (FORWARD). The engine never
 * sees these; the runtime driver handles them. See PROTOCOL.md §8.
 *
 * Decoding follows the wire rules: length first, then the bounded scan, then the shape, field by
 * field; anything wrong is a `GrapevineError` with a `WIRE_*` code. A link-layer type this version
 * does not know decodes to `{ type: "unknown" }` and is ignored.
 *
 * The signed byte strings of the link layer are built here too ({@link handshakeSigningBytes},
 * {@link memberSigningBytes}), so the grammar and what is signed sit side by side.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { signingBytes } from "../crypto/context.ts";
import { remoteError } from "../errors.ts";
import { decode, encode } from "./cbor.ts";
import type { DecodeLimits } from "./limits.ts";
import { asArray, asBytes, asText, asUint, utf8ByteLength } from "./shape.ts";

/** Link-layer frame type numbers. Types 16–31 are reserved for the link layer. */
export const LINK_FRAME = Object.freeze({ HELLO: 16, PROOF: 17, CLOSE: 18, FORWARD: 19 });

/** The range of type numbers that belong to the link layer (inclusive). */
export const LINK_FRAME_TYPES = Object.freeze({ min: 16, max: 31 });

/** Codes of a CLOSE frame: why the sender is closing the link. */
export const CLOSE_CODE = Object.freeze({
  /** Closed by the application or because the node is shutting down. */
  NORMAL: 0,
  /** A frame that is malformed or out of place (HELLO twice, gossip before the handshake, …). */
  PROTOCOL: 1,
  /** The peer speaks another protocol version. */
  VERSION: 2,
  /** The peer belongs to another network. */
  NETWORK: 3,
  /** The peer is not admitted (allow-list or credential). */
  NOT_ADMITTED: 4,
  /** The peer's handshake proof does not verify. */
  BAD_PROOF: 5,
  /** The handshake did not finish in time. */
  TIMEOUT: 6,
  /** The peer reached the penalty threshold. */
  PENALTY: 7,
  /** The peer does not read what is sent to it. */
  CONGESTED: 8,
  /** The peer is not the one expected (it claims our own id, or another than the caller asked for). */
  WRONG_PEER: 9,
});

/** Longest CLOSE reason in UTF-8 bytes (the same bound as a WebSocket close reason). */
export const CLOSE_REASON_BYTES_MAX = 123;
/** Most relay hops a FORWARD may have taken. */
export const FORWARD_HOPS_MAX = 4;
/** Nonce, key and signature sizes in HELLO and PROOF. */
const NONCE_BYTES = 32;
const KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;
/** Elements a HELLO may carry: the six of this version, and room for later versions to append. */
const HELLO_ELEMENTS_MAX = 16;

/** A membership credential on the wire: an authority's signature over a member key and an expiry. */
export interface CredentialWire {
  authority: Uint8Array;
  expiresAtMs: number;
  signature: Uint8Array;
}

/** `[16, protocolVersion, network, nonce, publicKey, credential / null]` */
export interface HelloFrame {
  type: typeof LINK_FRAME.HELLO;
  protocolVersion: number;
  network: string;
  nonce: Uint8Array;
  publicKey: Uint8Array;
  credential: CredentialWire | null;
}

/** `[17, signature]` */
export interface ProofFrame {
  type: typeof LINK_FRAME.PROOF;
  signature: Uint8Array;
}

/** `[18, code, reason]` */
export interface CloseFrame {
  type: typeof LINK_FRAME.CLOSE;
  code: number;
  reason: string;
}

/** `[19, to, from, hops, payload]` */
export interface ForwardFrame {
  type: typeof LINK_FRAME.FORWARD;
  to: Uint8Array;
  from: Uint8Array;
  hops: number;
  payload: Uint8Array;
}

/** A link-layer frame of a type this version does not know (ignored). */
export interface UnknownLinkFrame {
  type: "unknown";
  code: number;
}

/** Every link-layer frame this module encodes and decodes. */
export type LinkFrame = HelloFrame | ProofFrame | CloseFrame | ForwardFrame;

/**
 * The type number of a frame, read from its first bytes without decoding it, or `undefined` when
 * the bytes do not start like a frame (a CBOR array whose first element is a small unsigned
 * integer). The driver uses it to route a frame to the link layer or to the engine; a frame it
 * cannot classify goes to the engine, which penalises it.
 *
 * @example
 * ```ts
 * import { peekFrameType } from "./link-frames.ts";
 * peekFrameType(new Uint8Array([0x82, 0x11, 0x40])); // 17
 * peekFrameType(new Uint8Array([0xff])); // undefined
 * ```
 */
export function peekFrameType(bytes: Uint8Array): number | undefined {
  const head = bytes[0];
  let at: number;
  if (head >= 0x80 && head <= 0x97) at = 1; // array of 0..23 elements
  else if (head === 0x98) at = 2; // array with a one-byte length
  else if (head === 0x99) at = 3;
  else return undefined;
  const t = bytes[at];
  if (t === undefined) return undefined;
  if (t <= 0x17) return t;
  if (t === 0x18 && at + 1 < bytes.length) return bytes[at + 1];
  return undefined;
}

/**
 * Whether a type number belongs to the link layer (16–31).
 *
 * @example
 * ```ts
 * import { isLinkFrameType } from "./link-frames.ts";
 * isLinkFrameType(19); // true
 * isLinkFrameType(2); // false
 * ```
 */
export function isLinkFrameType(type: number | undefined): boolean {
  return type !== undefined && type >= LINK_FRAME_TYPES.min && type <= LINK_FRAME_TYPES.max;
}

/**
 * Encodes a link-layer frame. Throws `RangeError` for a field out of its bounds (a CLOSE reason
 * over {@link CLOSE_REASON_BYTES_MAX} bytes, hops over {@link FORWARD_HOPS_MAX}, wrong key sizes),
 * so this module never writes a frame its decoder refuses.
 *
 * @example
 * ```ts
 * import { CLOSE_CODE, encodeLinkFrame, LINK_FRAME } from "./link-frames.ts";
 * const bytes = encodeLinkFrame({ type: LINK_FRAME.CLOSE, code: CLOSE_CODE.NETWORK, reason: "network mismatch" });
 * ```
 */
export function encodeLinkFrame(f: LinkFrame): Uint8Array {
  switch (f.type) {
    case LINK_FRAME.HELLO: {
      checkSize(f.nonce, NONCE_BYTES, "hello.nonce");
      checkSize(f.publicKey, KEY_BYTES, "hello.publicKey");
      const c = f.credential;
      if (c) {
        checkSize(c.authority, KEY_BYTES, "hello.credential.authority");
        checkSize(c.signature, SIGNATURE_BYTES, "hello.credential.signature");
        checkUint(c.expiresAtMs, "hello.credential.expiresAtMs");
      }
      checkUint(f.protocolVersion, "hello.protocolVersion");
      return encode([LINK_FRAME.HELLO, f.protocolVersion, f.network, f.nonce, f.publicKey, c ? [c.authority, c.expiresAtMs, c.signature] : null]);
    }
    case LINK_FRAME.PROOF:
      checkSize(f.signature, SIGNATURE_BYTES, "proof.signature");
      return encode([LINK_FRAME.PROOF, f.signature]);
    case LINK_FRAME.CLOSE:
      checkUint(f.code, "close.code");
      if (utf8ByteLength(f.reason) > CLOSE_REASON_BYTES_MAX) throw new RangeError(`close.reason is longer than ${CLOSE_REASON_BYTES_MAX} bytes; clip it with clipUtf8`);
      return encode([LINK_FRAME.CLOSE, f.code, f.reason]);
    case LINK_FRAME.FORWARD:
      checkSize(f.to, KEY_BYTES, "forward.to");
      checkSize(f.from, KEY_BYTES, "forward.from");
      if (!Number.isInteger(f.hops) || f.hops < 0 || f.hops > FORWARD_HOPS_MAX) throw new RangeError(`forward.hops must be 0..${FORWARD_HOPS_MAX}`);
      if (!(f.payload instanceof Uint8Array)) throw new TypeError("forward.payload must be a Uint8Array");
      return encode([LINK_FRAME.FORWARD, f.to, f.from, f.hops, f.payload]);
  }
}

/** The bounds of link-frame decoding. */
function decodeLimits(frameBytesMax: number): DecodeLimits {
  return {
    frameBytesMax,
    depthMax: 4,
    itemsMax: 256,
    arrayLengthMax: HELLO_ELEMENTS_MAX,
    mapSizeMax: 16, // known link frames hold no maps; a newer peer's unknown ones may, within this
    textBytesMax: 255,
    bytesLengthMax: frameBytesMax,
  };
}

/**
 * Decodes and validates one link-layer frame no longer than `frameBytesMax`. Throws
 * `GrapevineError` (`WIRE_*`) on anything malformed, including a frame whose type is outside
 * 16–31. A HELLO may carry more than six elements (later versions append); the extra ones are
 * ignored, so a peer of another version is still told apart by its version number.
 *
 * @example
 * ```ts
 * import { decodeLinkFrame, encodeLinkFrame, LINK_FRAME } from "./link-frames.ts";
 * const f = decodeLinkFrame(encodeLinkFrame({ type: LINK_FRAME.PROOF, signature: new Uint8Array(64) }), 4096);
 * f.type === LINK_FRAME.PROOF; // true
 * ```
 */
export function decodeLinkFrame(bytes: Uint8Array, frameBytesMax: number): LinkFrame | UnknownLinkFrame {
  const raw = asArray(decode(bytes, decodeLimits(frameBytesMax)), "frame", 1, HELLO_ELEMENTS_MAX);
  const type = asUint(raw[0], "frame.type", LINK_FRAME_TYPES.max);
  if (type < LINK_FRAME_TYPES.min) throw remoteError("WIRE_SHAPE", `frame.type: ${type} is not a link-layer type`);
  switch (type) {
    case LINK_FRAME.HELLO: {
      const a = asArray(raw, "hello", 6, HELLO_ELEMENTS_MAX);
      let credential: CredentialWire | null = null;
      if (a[5] !== null) {
        const c = asArray(a[5], "hello.credential", 3, 3);
        credential = {
          authority: asBytes(c[0], "hello.credential.authority", KEY_BYTES),
          expiresAtMs: asUint(c[1], "hello.credential.expiresAtMs"),
          signature: asBytes(c[2], "hello.credential.signature", SIGNATURE_BYTES),
        };
      }
      return {
        type: LINK_FRAME.HELLO,
        protocolVersion: asUint(a[1], "hello.protocolVersion"),
        network: asText(a[2], "hello.network", 255),
        nonce: asBytes(a[3], "hello.nonce", NONCE_BYTES),
        publicKey: asBytes(a[4], "hello.publicKey", KEY_BYTES),
        credential,
      };
    }
    case LINK_FRAME.PROOF: {
      const a = asArray(raw, "proof", 2, 2);
      return { type: LINK_FRAME.PROOF, signature: asBytes(a[1], "proof.signature", SIGNATURE_BYTES) };
    }
    case LINK_FRAME.CLOSE: {
      const a = asArray(raw, "close", 3, 3);
      return { type: LINK_FRAME.CLOSE, code: asUint(a[1], "close.code"), reason: asText(a[2], "close.reason", CLOSE_REASON_BYTES_MAX) };
    }
    case LINK_FRAME.FORWARD: {
      const a = asArray(raw, "forward", 5, 5);
      return {
        type: LINK_FRAME.FORWARD,
        to: asBytes(a[1], "forward.to", KEY_BYTES),
        from: asBytes(a[2], "forward.from", KEY_BYTES),
        hops: asUint(a[3], "forward.hops", FORWARD_HOPS_MAX),
        payload: asBytes(a[4], "forward.payload"),
      };
    }
    default:
      return { type: "unknown", code: type };
  }
}

/**
 * The bytes a node signs in its PROOF: the peer's nonce, then its own key, then the peer's key, in
 * the `"handshake"` context of `network` and `protocolVersion`. Binding both keys and the peer's
 * fresh nonce means a proof answers one HELLO on one link and cannot be replayed or reflected.
 *
 * @example
 * ```ts
 * import { handshakeSigningBytes } from "./link-frames.ts";
 * const toSign = handshakeSigningBytes("lobby", 1, peerNonce, myPublicKey, peerPublicKey);
 * ```
 */
export function handshakeSigningBytes(network: string, protocolVersion: number, peerNonce: Uint8Array, senderPublicKey: Uint8Array, receiverPublicKey: Uint8Array): Uint8Array {
  checkSize(peerNonce, NONCE_BYTES, "peerNonce");
  checkSize(senderPublicKey, KEY_BYTES, "senderPublicKey");
  checkSize(receiverPublicKey, KEY_BYTES, "receiverPublicKey");
  return signingBytes("handshake", network, protocolVersion, concatBytes(peerNonce, senderPublicKey, receiverPublicKey));
}

/**
 * The bytes an authority signs to admit `memberPublicKey` to `network` until `expiresAtMs`
 * (milliseconds since the Unix epoch): `encode([memberPublicKey, expiresAtMs])` in the `"member"`
 * context.
 *
 * @example
 * ```ts
 * import { memberSigningBytes } from "./link-frames.ts";
 * const toSign = memberSigningBytes("lobby", 1, memberPublicKey, Date.UTC(2030, 0, 1));
 * ```
 */
export function memberSigningBytes(network: string, protocolVersion: number, memberPublicKey: Uint8Array, expiresAtMs: number): Uint8Array {
  checkSize(memberPublicKey, KEY_BYTES, "memberPublicKey");
  checkUint(expiresAtMs, "expiresAtMs");
  return signingBytes("member", network, protocolVersion, encode([memberPublicKey, expiresAtMs]));
}

/**
 * `text` cut to at most `maxBytes` UTF-8 bytes, never inside a code point (for CLOSE reasons and
 * WebSocket close reasons, both bounded at 123 bytes).
 *
 * @example
 * ```ts
 * import { clipUtf8 } from "./link-frames.ts";
 * clipUtf8("héllo", 2); // "h"
 * ```
 */
export function clipUtf8(text: string, maxBytes: number): string {
  if (utf8ByteLength(text) <= maxBytes) return text;
  let out = "";
  let bytes = 0;
  for (const ch of text) {
    const n = utf8ByteLength(ch);
    if (bytes + n > maxBytes) break;
    out += ch;
    bytes += n;
  }
  return out;
}

function checkSize(v: Uint8Array, n: number, what: string): void {
  if (!(v instanceof Uint8Array) || v.length !== n) throw new RangeError(`${what} must be ${n} bytes`);
}

function checkUint(v: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${what} must be an unsigned safe integer`);
}
