/**
 * The pure-JavaScript Ed25519 arithmetic, on `@noble/ed25519` v3: key derivation, RFC 8032
 * signing, strict point decoding, and our own **cofactorless** verification `[S]B = R + [k]A`.
 * Noble's `verify` is cofactored (`[8]([S]B - R - [k]A) = 0`) and ZIP-215 by default, which would
 * accept a mixed-order `R` that WebCrypto rejects, so only its `Point` API is used for verifying.
 *
 * The signature suite loads this module (`import()`) only where WebCrypto lacks Ed25519 or fails
 * the startup probe, so a page whose WebCrypto has it never downloads noble; the synchronous key
 * functions (`keys.ts`) import it directly. Importing it wires `ed.hashes.sha512` to
 * `@noble/hashes`, which noble's synchronous API requires.
 *
 * @module
 */

import * as ed from "@noble/ed25519";
import { sha512 as nobleSha512 } from "@noble/hashes/sha2.js";
import type { Ed25519Backend, PreparedSigner, Verifier } from "./backend.ts";
import { sha512 } from "./sha512.ts";

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
 * `undefined` for anything else (not on the curve, non-canonical, small or mixed order). The
 * suite's key rule is `edwards.ts`; this is noble's own verdict, which the tests hold it to.
 */
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
 * Expects inputs that passed the byte rules (so `S < L`) and `A` a key that passed the key rules;
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

/**
 * The pure-JavaScript backend, used where WebCrypto lacks Ed25519 or fails the startup probe.
 * About 15× slower to verify than WebCrypto, and synchronous underneath.
 */
export const nobleBackend: Ed25519Backend = Object.freeze({
  name: "noble" as const,
  signer(seed: Uint8Array): Promise<PreparedSigner> {
    const ownSeed = seed.slice();
    const publicKey = noblePublicKey(ownSeed);
    return Promise.resolve({ publicKey, sign: (message: Uint8Array) => Promise.resolve(nobleSign(ownSeed, message)) });
  },
  verifier(publicKey: Uint8Array): Promise<Verifier> {
    const ownKey = publicKey.slice();
    // The key passed the key rules (so it decodes); decoded once, here, for every later check.
    const point = ed.Point.fromBytes(ownKey, false);
    return Promise.resolve((message: Uint8Array, signature: Uint8Array) => Promise.resolve(nobleVerifyCofactorless(point, ownKey, message, signature)));
  },
});
