/**
 * The seam between the signature suite and whatever does the curve arithmetic. A backend turns a
 * seed into a signer and an already vetted public key into a verifier; the suite owns every check
 * of the pinned rule set and every cache, so backends stay small and interchangeable. This module
 * also holds the pure-JavaScript backend; the WebCrypto one is in `webcrypto.ts`.
 *
 * @module
 */

import { nobleSign, nobleVerifyCofactorless, type EdPoint } from "./noble.ts";

/** Signs messages with one prepared secret key. */
export type Signer = (message: Uint8Array) => Promise<Uint8Array>;

/** Verifies signatures under one prepared public key; inputs already passed the byte rules. */
export type Verifier = (message: Uint8Array, signature: Uint8Array) => Promise<boolean>;

/** A source of Ed25519 arithmetic. Preparation may be slow; the suite caches its results. */
export interface Ed25519Backend {
  /** The name reported as `SignatureSuite.backend`. */
  readonly name: "webcrypto" | "noble";
  /** Prepares signing with a 32-byte RFC 8032 seed. */
  signer(seed: Uint8Array): Promise<Signer>;
  /** Prepares verifying under `publicKey`, whose decoded, torsion-free point is `point`. */
  verifier(publicKey: Uint8Array, point: EdPoint): Promise<Verifier>;
}

/**
 * The pure-JavaScript backend (`@noble/ed25519`), used where WebCrypto lacks Ed25519 or fails the
 * startup probe. About 15× slower to verify than WebCrypto, and synchronous underneath.
 */
export const nobleBackend: Ed25519Backend = Object.freeze({
  name: "noble" as const,
  signer(seed: Uint8Array): Promise<Signer> {
    const ownSeed = seed.slice();
    return Promise.resolve((message: Uint8Array) => Promise.resolve(nobleSign(ownSeed, message)));
  },
  verifier(publicKey: Uint8Array, point: EdPoint): Promise<Verifier> {
    const ownKey = publicKey.slice();
    return Promise.resolve((message: Uint8Array, signature: Uint8Array) =>
      Promise.resolve(nobleVerifyCofactorless(point, ownKey, message, signature)),
    );
  },
});
