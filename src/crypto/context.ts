/**
 * Domain separation for every signature in the protocol. The signed bytes are never the bare body:
 * they start with a context tag naming what is signed, in which network and under which protocol
 * version, so a signature made for one kind, network or version verifies for no other.
 *
 * Layout (all lengths in bytes):
 * ```
 * "grapevine" (9, ASCII) || 0x00 || kind code (1) || protocolVersion (2, big-endian)
 *   || network length (1) || network (1..255, UTF-8) || body
 * ```
 * The network length byte makes the tag prefix-free: no (network, body) pair can imitate another.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";

/** What a signature covers. Each kind has a fixed one-byte code; see {@link SIGNED_KIND_CODES}. */
export type SignedKind = "root" | "handshake" | "message" | "member" | "signal" | "user";

/** The frozen kind codes written into the context tag. Codes never change meaning. */
export const SIGNED_KIND_CODES: Readonly<Record<SignedKind, number>> = Object.freeze({
  root: 1,
  handshake: 2,
  message: 3,
  member: 4,
  signal: 5,
  /** A user credential: an authority binds a user id (and display claims) to a node key. */
  user: 6,
});

/** The longest network name, in UTF-8 bytes; the tag stores its length in one byte. */
export const NETWORK_NAME_BYTES_MAX = 255;

const MAGIC = new TextEncoder().encode("grapevine\u0000");

/**
 * The exact bytes to sign (and verify) for a `body` of the given kind in `network` at
 * `protocolVersion`. Throws `RangeError` for an unknown kind, a network outside 1..255 UTF-8 bytes
 * or a version outside 0..65535, and `TypeError` if `body` is not a `Uint8Array`.
 *
 * @example
 * ```ts
 * import { signingBytes } from "./context.ts";
 * const body = new Uint8Array([1, 2, 3]);
 * const toSign = signingBytes("message", "lobby", 1, body);
 * // suite.sign(keyPair, toSign) — a "member" or another network's signature never matches it
 * ```
 */
export function signingBytes(kind: SignedKind, network: string, protocolVersion: number, body: Uint8Array): Uint8Array {
  const code = Object.hasOwn(SIGNED_KIND_CODES, kind) ? SIGNED_KIND_CODES[kind] : undefined;
  if (code === undefined) throw new RangeError(`signingBytes: unknown kind ${JSON.stringify(kind)}`);
  if (typeof network !== "string") throw new TypeError("signingBytes: network must be a string");
  const name = new TextEncoder().encode(network);
  if (name.length < 1 || name.length > NETWORK_NAME_BYTES_MAX) {
    throw new RangeError(`signingBytes: network name is ${name.length} UTF-8 bytes, must be 1..${NETWORK_NAME_BYTES_MAX}`);
  }
  if (!Number.isInteger(protocolVersion) || protocolVersion < 0 || protocolVersion > 0xffff) {
    throw new RangeError(`signingBytes: protocolVersion ${protocolVersion} is not a u16`);
  }
  if (!(body instanceof Uint8Array)) throw new TypeError("signingBytes: body must be a Uint8Array");
  const header = Uint8Array.of(code, protocolVersion >> 8, protocolVersion & 0xff, name.length);
  return concatBytes(MAGIC, header, name, body);
}
