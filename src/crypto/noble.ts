/**
 * The pure-JavaScript Ed25519 arithmetic, on `@noble/ed25519` v3: key derivation, RFC 8032
 * signing, strict point decoding with the prime-order-subgroup (torsion-free) check, and our own
 * **cofactorless** verification `[S]B = R + [k]A`. Noble's `verify` is cofactored
 * (`[8]([S]B - R - [k]A) = 0`) and ZIP-215 by default, which would accept a mixed-order `R` that
 * WebCrypto rejects, so only its `Point` API is used for verifying.
 *
 * Importing this module wires `ed.hashes.sha512` to `@noble/hashes`, which noble's synchronous
 * API requires.
 *
 * @module
 */

import * as ed from "@noble/ed25519";
import { sha512 as nobleSha512 } from "@noble/hashes/sha2.js";
import { sha512 } from "./hash.ts";

ed.hashes.sha512 = nobleSha512;

/** A decoded Ed25519 point (noble's extended coordinates). */
export type EdPoint = InstanceType<typeof ed.Point>;

const L = ed.Point.CURVE().n;

/** The public key of an RFC 8032 seed (32 bytes in, 32 bytes out). */
export function noblePublicKey(seed: Uint8Array): Uint8Array {
  return ed.getPublicKey(seed);
}

/** An RFC 8032 signature of `message` by `seed`. */
export function nobleSign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return ed.sign(message, seed);
}

/**
 * Decodes a public key strictly and returns the point only if it lies in the prime-order subgroup;
 * `undefined` for anything else (not on the curve, non-canonical, small or mixed order). Slow
 * (a full scalar multiplication by L), so callers cache the verdict per key.
 */
/** The point of a public key already known to pass the key rules (decoding only, no torsion check). */
export function decodeKeyPoint(publicKey: Uint8Array): EdPoint | undefined {
  try {
    return ed.Point.fromBytes(publicKey, false);
  } catch {
    return undefined;
  }
}

export function decodeTorsionFreeKey(publicKey: Uint8Array): EdPoint | undefined {
  try {
    const point = ed.Point.fromBytes(publicKey, false);
    if (point.is0() || !point.isTorsionFree()) return undefined;
    return point;
  } catch {
    return undefined;
  }
}

/**
 * The cofactorless Ed25519 equation `[S]B = R + [k]A` with `k = SHA-512(R || A || M) mod L`.
 * Expects inputs that passed the byte rules (so `S < L`) and `A` from {@link decodeTorsionFreeKey};
 * returns `false` if `R` does not decode.
 */
export function nobleVerifyCofactorless(A: EdPoint, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  let R: EdPoint;
  try {
    R = ed.Point.fromBytes(signature.subarray(0, 32), false);
  } catch {
    return false;
  }
  const s = littleEndianToBigInt(signature.subarray(32, 64));
  if (s >= L) return false;
  const challenge = new Uint8Array(64 + message.length);
  challenge.set(signature.subarray(0, 32), 0);
  challenge.set(publicKey, 32);
  challenge.set(message, 64);
  const k = littleEndianToBigInt(sha512(challenge)) % L;
  const sB = ed.Point.BASE.multiply(s, false);
  const kA = A.multiply(k, false);
  return sB.equals(R.add(kA));
}

function littleEndianToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}
