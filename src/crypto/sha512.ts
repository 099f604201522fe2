/**
 * Synchronous SHA-512 (`@noble/hashes`), apart from SHA-256 (`hash.ts`) so that only a bundle that
 * uses it carries it: the pure-JavaScript Ed25519 backend and the simulator's insecure suite do; a
 * page running Ed25519 on WebCrypto does not.
 *
 * @module
 */

import { sha512 as nobleSha512 } from "@noble/hashes/sha2.js";

// One hasher, reset from a pristine copy for each digest: making a new one per call (its block
// buffer and the view over it) cost more than hashing a short message. Digests are synchronous,
// so no call can begin while another is in progress.
const sha512Initial = /* @__PURE__ */ nobleSha512.create();
const sha512Work = /* @__PURE__ */ nobleSha512.create();

/**
 * SHA-512 of `data` (64 bytes).
 *
 * @example
 * ```ts
 * import { sha512 } from "./sha512.ts";
 * sha512(new TextEncoder().encode("abc")).length; // 64
 * ```
 */
export function sha512(data: Uint8Array): Uint8Array {
  sha512Initial._cloneInto(sha512Work);
  return sha512Work.update(data).digest();
}
