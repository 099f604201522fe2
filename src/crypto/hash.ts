/**
 * Synchronous SHA-256 and SHA-512 over byte strings. Every digest in the library (Merkle trees,
 * cache keys, the Ed25519 challenge) goes through here, so one audited implementation
 * (`@noble/hashes`) serves every runtime and nothing waits on `SubtleCrypto.digest`.
 *
 * @module
 */

import { sha256 as nobleSha256, sha512 as nobleSha512 } from "@noble/hashes/sha2.js";

// One hasher per function, reset from a pristine copy for each digest: making a new one per call
// (its block buffer and the view over it) took half the time of hashing a Merkle node. Digests
// are synchronous, so no call can begin while another is in progress.
const sha256Initial = /* @__PURE__ */ nobleSha256.create();
const sha256Work = /* @__PURE__ */ nobleSha256.create();
const sha512Initial = /* @__PURE__ */ nobleSha512.create();
const sha512Work = /* @__PURE__ */ nobleSha512.create();

/**
 * SHA-256 of `data` (32 bytes).
 *
 * @example
 * ```ts
 * import { sha256 } from "./hash.ts";
 * import { toHex } from "../bytes.ts";
 * toHex(sha256(new Uint8Array())); // "e3b0c442…52b855"
 * ```
 */
export function sha256(data: Uint8Array): Uint8Array {
  sha256Initial._cloneInto(sha256Work);
  return sha256Work.update(data).digest();
}


/**
 * SHA-512 of `data` (64 bytes).
 *
 * @example
 * ```ts
 * import { sha512 } from "./hash.ts";
 * sha512(new TextEncoder().encode("abc")).length; // 64
 * ```
 */
export function sha512(data: Uint8Array): Uint8Array {
  sha512Initial._cloneInto(sha512Work);
  return sha512Work.update(data).digest();
}
