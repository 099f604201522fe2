/**
 * The shapes the crypto layer offers to the rest of the library. Implementations live beside this
 * file; the engine depends on these types only, so a test or the simulator can inject another.
 *
 * @module
 */

/** An Ed25519 key pair. `secretKey` is the 32-byte RFC 8032 seed; `publicKey` is the node id. */
export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/**
 * Signs and verifies under the pinned rule set (strict RFC 8032: canonical S < L, canonical point
 * encodings, no small-order or mixed-order public key, no small-order R, cofactorless equation).
 * The rules are checked before any backend sees a signature, so every runtime gives one verdict.
 */
export interface SignatureSuite {
  /** Which backend does the arithmetic: `"node:crypto"`, `"webcrypto"` or `"noble"`. */
  readonly backend: "node:crypto" | "webcrypto" | "noble";
  sign(keyPair: KeyPair, message: Uint8Array): Promise<Uint8Array>;
  /** Never throws for bad input: a malformed key or signature simply does not verify. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
}
