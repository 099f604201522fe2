/**
 * The seam between the signature suite and whatever does the curve arithmetic. A backend turns a
 * seed into a signer (with the seed's public key) and an already vetted public key into a
 * verifier; the suite owns every check of the pinned rule set and every cache, so backends stay
 * small and interchangeable. The `node:crypto` backend is in `native.ts` (Node, Deno, Bun), the
 * WebCrypto one in `webcrypto.ts`; the pure-JavaScript one in `noble.ts`, which the suite loads only
 * where neither is there or passes the probe.
 *
 * @module
 */

/** The backends there are, as `SignatureSuite.backend` reports them. */
export type BackendName = "node:crypto" | "webcrypto" | "noble";

/** Signs messages with one prepared secret key. */
export type Signer = (message: Uint8Array) => Promise<Uint8Array>;

/** Verifies signatures under one prepared public key; inputs already passed the byte rules. */
export type Verifier = (message: Uint8Array, signature: Uint8Array) => Promise<boolean>;

/** A seed made ready to sign: its public key and its signer. */
export interface PreparedSigner {
  readonly publicKey: Uint8Array;
  readonly sign: Signer;
}

/** A source of Ed25519 arithmetic. Preparation may be slow; the suite caches its results. */
export interface Ed25519Backend {
  /** The name reported as `SignatureSuite.backend`. */
  readonly name: BackendName;
  /** Prepares signing with a 32-byte RFC 8032 seed, deriving its public key. */
  signer(seed: Uint8Array): Promise<PreparedSigner>;
  /** Prepares verifying under `publicKey`, which already passed the key rules (`edwards.ts`). */
  verifier(publicKey: Uint8Array): Promise<Verifier>;
}
