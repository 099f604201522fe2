/**
 * A stand-in signature suite for very large simulations: a "signature" is SHA-512 of the public
 * key and the message. Anyone can forge it, so it exists only to measure dissemination when the
 * cost of real Ed25519 is not the question; a report made with it says `crypto: "insecure-hash"`.
 *
 * @module
 */

import { bytesEqual, concatBytes } from "../bytes.ts";
import { sha512 } from "../crypto/sha512.ts";
import type { KeyPair, SignatureSuite } from "../crypto/types.ts";

/** The insecure stand-in. Never use it outside the simulator. */
export const insecureHashSuite: SignatureSuite = Object.freeze({
  backend: "noble" as const,
  sign(keyPair: KeyPair, message: Uint8Array): Promise<Uint8Array> {
    return Promise.resolve(sha512(concatBytes(keyPair.publicKey, message)));
  },
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    return Promise.resolve(signature.length === 64 && bytesEqual(sha512(concatBytes(publicKey, message)), signature));
  },
});
