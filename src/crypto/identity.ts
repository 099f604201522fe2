/**
 * Text forms of identities and secrets. A node *is* its 32-byte Ed25519 public key; people see it
 * as unpadded base64url (43 characters) and logs as the first 8 of those. A secret key is written
 * `"gvsk1." + base64url(seed)`: the versioned prefix makes a pasted secret recognisable (and
 * greppable by secret scanners) and keeps it from being mistaken for a node id.
 *
 * @module
 */

import { fromBase64Url, toBase64Url } from "../bytes.ts";
import type { KeyPair } from "./types.ts";

const KEY_BYTES = 32;

/** The prefix of the secret-key text form, `"gvsk1."` (Grapevine secret key, format 1). */
export const SECRET_KEY_PREFIX = "gvsk1.";

/**
 * The text form of a node id: unpadded base64url of the 32-byte public key, always 43 characters.
 * Throws `TypeError` unless `publicKey` is 32 bytes.
 *
 * @example
 * ```ts
 * import { nodeIdToText } from "./identity.ts";
 * nodeIdToText(new Uint8Array(32)); // "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
 * ```
 */
export function nodeIdToText(publicKey: Uint8Array): string {
  assertKeyBytes(publicKey, "nodeIdToText");
  return toBase64Url(publicKey);
}

/**
 * Parses the text form of {@link nodeIdToText}: 43 unpadded base64url characters encoding 32
 * bytes. Throws `TypeError` on anything else (padding, other alphabets, other lengths).
 *
 * @example
 * ```ts
 * import { nodeIdFromText, nodeIdToText } from "./identity.ts";
 * const id = nodeIdFromText("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
 * nodeIdToText(id) === "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"; // true
 * ```
 */
export function nodeIdFromText(text: string): Uint8Array {
  return keyBytesFromText(text, "nodeIdFromText");
}

/**
 * A short label for logs: the first 8 characters of {@link nodeIdToText} (48 bits). Not unique
 * enough to identify a node in the protocol; use the full key there.
 *
 * @example
 * ```ts
 * import { shortId } from "./identity.ts";
 * shortId(new Uint8Array(32)); // "AAAAAAAA"
 * ```
 */
export function shortId(publicKey: Uint8Array): string {
  return nodeIdToText(publicKey).slice(0, 8);
}

/**
 * The text form of a secret key: `"gvsk1." + base64url(seed)` (49 characters). Only the 32-byte
 * seed is written; the public key is recomputed on import. Treat the result like a password.
 *
 * @example
 * ```ts
 * import { exportSecretKey } from "./identity.ts";
 *  * const text = exportSecretKey(keyPairFromSeed(new Uint8Array(32)));
 * importSecretKey(text).publicKey; // the same node id
 * ```
 */
export function exportSecretKey(keyPair: KeyPair): string {
  assertKeyBytes(keyPair?.secretKey, "exportSecretKey");
  return SECRET_KEY_PREFIX + toBase64Url(keyPair.secretKey);
}

/**
 * The seed in {@link exportSecretKey}'s form. Throws `TypeError` (naming `caller`) on a missing or
 * different prefix, bad base64url, or a seed that is not 32 bytes. `importSecretKey` (`keys.ts`)
 * and `createNode` derive the key pair from it.
 */
export function seedOfSecretKey(text: string, caller: string): Uint8Array {
  if (typeof text !== "string" || !text.startsWith(SECRET_KEY_PREFIX)) {
    throw new TypeError(`${caller}: expected text starting with ${JSON.stringify(SECRET_KEY_PREFIX)}`);
  }
  return keyBytesFromText(text.slice(SECRET_KEY_PREFIX.length), caller);
}

function keyBytesFromText(text: string, caller: string): Uint8Array {
  if (typeof text !== "string" || text.length !== 43) throw new TypeError(`${caller}: expected 43 base64url characters`);
  const bytes = fromBase64Url(text);
  if (bytes.length !== KEY_BYTES) throw new TypeError(`${caller}: expected 32 bytes, got ${bytes.length}`);
  return bytes;
}

function assertKeyBytes(value: unknown, caller: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== KEY_BYTES) throw new TypeError(`${caller}: expected a 32-byte key`);
}
