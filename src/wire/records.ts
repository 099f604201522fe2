/**
 * The two signed-over byte formats of replicated state, encoded once by their author and carried
 * verbatim afterwards, so nobody ever re-encodes before hashing or verifying:
 *
 * - a **leaf** `[key: text, version: uint, value: bytes | null]` — one entry of an origin's map
 *   (`null` is a tombstone); its RFC 6962 leaf hash is what the origin's Merkle root commits to;
 * - a **root body** `[origin: bytes(32), generation, version, root: bytes(32), count, floor, flags]`
 *   — what an origin signs (behind the `"root"` context tag) to vouch for its whole map at `version`.
 *
 * @module
 */

import { decode, encode, headAt } from "./cbor.ts";
import type { DecodeLimits } from "./limits.ts";
import { asArray, asBytes, asText, asUint } from "./shape.ts";
import { remoteError } from "../errors.ts";

/** Root flag: the origin has left the mesh; its map is empty and it will not write again. */
export const ROOT_FLAG_LEFT = 1;
/**
 * Root flag: the origin renews this map (a root one version on) at least every quarter of
 * `strangerOriginTtlMs` while it is there, so a holder that hears nothing newer for that long may
 * forget it (`strangers.ts`). Signed by the origin: only it can say its silence means it is gone.
 */
export const ROOT_FLAG_RENEWS = 2;

/** One entry of an origin's map. */
export interface Leaf {
  key: string;
  version: number;
  value: Uint8Array | null;
}

/** The fields an origin signs for its map at one version. */
export interface RootBody {
  origin: Uint8Array;
  generation: number;
  version: number;
  root: Uint8Array;
  count: number;
  floor: number;
  flags: number;
  /**
   * The scope (a room or topic, `SCOPE_ID_BYTES` bytes) whose map this root signs; absent for the
   * mesh-wide map. Part of what is signed, so a root cannot be replayed into another scope.
   */
  scope?: Uint8Array;
}

/** Bytes of a scope id (the first bytes of SHA-256 of the scope's name). */
export const SCOPE_ID_BYTES = 16;

const RECORD_LIMITS = (bytesMax: number): DecodeLimits => ({
  frameBytesMax: bytesMax + 1024,
  depthMax: 2,
  itemsMax: 16,
  arrayLengthMax: 8,
  mapSizeMax: 0,
  textBytesMax: 1024,
  bytesLengthMax: bytesMax,
});
const ROOT_LIMITS = RECORD_LIMITS(64);

/** Encodes a leaf. */
export function encodeLeaf(leaf: Leaf): Uint8Array {
  return encode([leaf.key, leaf.version, leaf.value]);
}

/** A decoded leaf, with its key's UTF-8 bytes as they stand in the leaf; those and the value are views of it. */
export interface DecodedLeaf extends Leaf {
  keyBytes: Uint8Array;
}

/** Decodes a leaf, bounding the key to `keyBytesMax` and the value to `valueBytesMax`. */
export function decodeLeaf(bytes: Uint8Array, keyBytesMax: number, valueBytesMax: number): DecodedLeaf {
  const limits = RECORD_LIMITS(valueBytesMax);
  limits.textBytesMax = keyBytesMax;
  // The value is a view of `bytes`, as the key's bytes are: a leaf is kept with what it says.
  const a = asArray(decode(bytes, limits, true), "leaf", 3, 3);
  const key = asText(a[0], "leaf.key", keyBytesMax);
  const version = asUint(a[1], "leaf.version");
  if (version === 0) throw remoteError("WIRE_SHAPE", "leaf.version: must be at least 1");
  const value = a[2] === null ? null : asBytes(a[2], "leaf.value", undefined, valueBytesMax);
  // The key is the array's first item; its bytes are valid UTF-8 (the decoder is strict), so they
  // are the key's encoding exactly.
  const text = headAt(bytes, headAt(bytes, 0).next);
  return { key, version, value, keyBytes: bytes.subarray(text.next, text.next + text.arg) };
}

/** Encodes a root body. */
export function encodeRootBody(r: RootBody): Uint8Array {
  // The scope is an eighth element only when set, so a mesh-wide root encodes as it always did.
  const a: unknown[] = [r.origin, r.generation, r.version, r.root, r.count, r.floor, r.flags];
  if (r.scope) a.push(r.scope);
  return encode(a);
}

/** Decodes a root body. */
export function decodeRootBody(bytes: Uint8Array): RootBody {
  // Its byte strings are views of `bytes`: a root is kept with its body.
  const a = asArray(decode(bytes, ROOT_LIMITS, true), "root", 7, 8);
  const body: RootBody = {
    origin: asBytes(a[0], "root.origin", 32),
    generation: asUint(a[1], "root.generation"),
    version: asUint(a[2], "root.version"),
    root: asBytes(a[3], "root.root", 32),
    count: asUint(a[4], "root.count"),
    floor: asUint(a[5], "root.floor"),
    flags: asUint(a[6], "root.flags", 0xffff),
  };
  if (a.length === 8) body.scope = asBytes(a[7], "root.scope", SCOPE_ID_BYTES);
  if (body.floor > body.version) throw remoteError("WIRE_SHAPE", "root.floor: above version");
  if (body.count > body.version) throw remoteError("WIRE_SHAPE", "root.count: more entries than versions");
  return body;
}

/** A broadcast message as its origin signs it (behind the `"message"` context tag). */
export interface MessageBody {
  origin: Uint8Array;
  topic: string;
  /** Origin's clock when published, ms since the Unix epoch. */
  issuedAtMs: number;
  /** After this the message is no longer valid, forwarded or remembered. */
  expiresAtMs: number;
  /** Distinguishes equal payloads published in the same millisecond. */
  nonce: number;
  payload: Uint8Array;
}

/** Encodes a message body: `[origin, topic, issuedAtMs, expiresAtMs, nonce, payload]`. */
export function encodeMessageBody(m: MessageBody): Uint8Array {
  return encode([m.origin, m.topic, m.issuedAtMs, m.expiresAtMs, m.nonce, m.payload]);
}

/** Decodes a message body, bounding topic and payload. */
export function decodeMessageBody(bytes: Uint8Array, topicBytesMax: number, payloadBytesMax: number): MessageBody {
  const limits = RECORD_LIMITS(payloadBytesMax);
  limits.textBytesMax = topicBytesMax;
  const a = asArray(decode(bytes, limits), "message", 6, 6);
  const body: MessageBody = {
    origin: asBytes(a[0], "message.origin", 32),
    topic: asText(a[1], "message.topic", topicBytesMax),
    issuedAtMs: asUint(a[2], "message.issuedAtMs"),
    expiresAtMs: asUint(a[3], "message.expiresAtMs"),
    nonce: asUint(a[4], "message.nonce"),
    payload: asBytes(a[5], "message.payload", undefined, payloadBytesMax),
  };
  if (body.expiresAtMs < body.issuedAtMs) throw remoteError("WIRE_SHAPE", "message.expiresAtMs: before issuedAtMs");
  return body;
}
