/**
 * Synchronous SHA-256 and SHA-512 over byte strings. Every digest in the library (Merkle trees,
 * cache keys, the Ed25519 challenge) goes through here, so one audited implementation
 * (`@noble/hashes`) serves every runtime and nothing waits on `SubtleCrypto.digest`.
 *
 * @module
 */

import { sha256 as nobleSha256, sha512 as nobleSha512 } from "@noble/hashes/sha2.js";

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
  return nobleSha256(data);
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
  return nobleSha512(data);
}
