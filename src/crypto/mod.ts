/**
 * The crypto layer: node identities, Ed25519 under one pinned rule set on every runtime (WebCrypto
 * first, noble as the fallback), domain-separated signing bytes, SHA-2 and RFC 6962 Merkle trees.
 * Randomness and `SubtleCrypto` are passed in; nothing here reaches for runtime globals.
 *
 * @example
 * ```ts
 * import { createSignatureSuite, generateKeyPair, nodeIdToText, signingBytes } from "./mod.ts";
 *
 * const suite = await createSignatureSuite({ subtle: globalThis.crypto.subtle });
 * const me = generateKeyPair((n) => globalThis.crypto.getRandomValues(new Uint8Array(n)));
 * const toSign = signingBytes("message", "lobby", 1, new TextEncoder().encode("hi"));
 * const signature = await suite.sign(me, toSign);
 * console.log(nodeIdToText(me.publicKey), suite.backend, await suite.verify(me.publicKey, toSign, signature));
 * ```
 *
 * @module
 */

export type { KeyPair, SignatureSuite } from "./types.ts";
export {
  createSignatureSuite,
  keyPairFromSeedAsync,
  KEY_CACHE_MAX_DEFAULT,
  VERIFIED_CACHE_MAX_DEFAULT,
  type SignatureSuiteOptions,
} from "./ed25519.ts";
export { NETWORK_NAME_BYTES_MAX, SIGNED_KIND_CODES, signingBytes, type SignedKind } from "./context.ts";
export { generateKeyPair, importSecretKey, keyPairFromSeed } from "./keys.ts";
export { exportSecretKey, nodeIdFromText, nodeIdToText, SECRET_KEY_PREFIX, shortId } from "./identity.ts";
export { sha256 } from "./hash.ts";
export { sha512 } from "./sha512.ts";
export { leafHash, MERKLE_PROOF_LENGTH_MAX, MerkleTree, nodeHash, verifyInclusion } from "./merkle.ts";
