/**
 * Key pairs, synchronously: a seed's public key computed on the spot with the pure-JavaScript
 * Ed25519 (`noble.ts`). Importing these brings noble into a bundle; a page that only needs a key
 * pair for a node can leave them out (`createNode` derives its key with `keyPairFromSeedAsync`,
 * through WebCrypto where it has Ed25519).
 *
 * @module
 */

import { assertBytes } from "./ed25519.ts";
import { seedOfSecretKey } from "./identity.ts";
import { noblePublicKey } from "./noble.ts";
import { ED25519_KEY_BYTES } from "./rules.ts";
import type { KeyPair } from "./types.ts";

/**
 * The key pair of a 32-byte RFC 8032 seed, computed synchronously with noble. The seed is copied.
 * Throws `TypeError` unless `seed` is a 32-byte `Uint8Array`.
 *
 * @example
 * ```ts
 * import { keyPairFromSeed } from "./keys.ts";
 * const { publicKey } = keyPairFromSeed(new Uint8Array(32).fill(7));
 * publicKey.length; // 32
 * ```
 */
export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  assertBytes(seed, ED25519_KEY_BYTES, "keyPairFromSeed: seed");
  const secretKey = seed.slice();
  return Object.freeze({ publicKey: noblePublicKey(secretKey), secretKey });
}

/**
 * A fresh key pair from 32 bytes of the injected `random` source (for example
 * `(n) => crypto.getRandomValues(new Uint8Array(n))`, or a seeded generator in the simulator).
 * Throws `TypeError` if `random(32)` does not return 32 bytes.
 *
 * @example
 * ```ts
 * import { generateKeyPair } from "./keys.ts";
 * const keyPair = generateKeyPair((n) => globalThis.crypto.getRandomValues(new Uint8Array(n)));
 * ```
 */
export function generateKeyPair(random: (n: number) => Uint8Array): KeyPair {
  if (typeof random !== "function") throw new TypeError("generateKeyPair: random must be a function");
  const seed = random(ED25519_KEY_BYTES);
  assertBytes(seed, ED25519_KEY_BYTES, "generateKeyPair: random(32)");
  return keyPairFromSeed(seed);
}

/**
 * Parses `exportSecretKey`'s form (`identity.ts`) and recomputes the key pair. Throws `TypeError` on
 * a missing or different prefix, bad base64url, or a seed that is not 32 bytes.
 *
 * @example
 * ```ts
 * import { importSecretKey } from "./keys.ts";
 * const kp = importSecretKey("gvsk1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
 * kp.publicKey.length; // 32
 * ```
 */
export function importSecretKey(text: string): KeyPair {
  return keyPairFromSeed(seedOfSecretKey(text, "importSecretKey"));
}
