/**
 * The `node:crypto` backend: Ed25519 through the runtime's one-shot `sign` and `verify` (Node, Deno
 * and Bun all have them), which run on the calling thread. WebCrypto's `verify` does the same
 * arithmetic but goes through a promise and, on Node, the thread pool; measured on one machine, a
 * verify cost 180 µs of CPU through WebCrypto and 110 µs one-shot on Node 20 (Deno 71 and 40,
 * Bun 85 and 52). The module is injected (`SignatureSuiteOptions.nodeCrypto`, `createNode`'s
 * `nodeCrypto`), never imported here, so a browser bundle holds no reference to it. Whether its
 * verdicts are the pinned ones is the startup probe's business (`probe.ts`).
 *
 * The work is synchronous, so a burst of checks would run back to back in one turn of the event
 * loop: the suite bounds it (`SYNC_CHECKS_PER_TURN` in `ed25519.ts`) through `pace`.
 *
 * @module
 */

import type { Ed25519Backend, PreparedSigner, Verifier } from "./backend.ts";

/**
 * The part of `node:crypto` this backend uses; the module itself fits. (Parameters typed
 * `never`: runtimes type their inputs differently; the calls below pass DER `Uint8Array`s, which
 * all of them accept.)
 */
export interface NodeCryptoLike {
  createPrivateKey(options: never): unknown;
  createPublicKey(options: never): unknown;
  sign(algorithm: null, data: Uint8Array, key: never): Uint8Array;
  verify(algorithm: null, data: Uint8Array, key: never, signature: Uint8Array): boolean;
}

/** The same, as this backend calls it. */
interface NodeCryptoCalls {
  createPrivateKey(options: { key: Uint8Array; format: "der"; type: "pkcs8" }): object;
  createPublicKey(options: object): { export(options: { format: "der"; type: "spki" }): Uint8Array };
  sign(algorithm: null, data: Uint8Array, key: object): Uint8Array;
  verify(algorithm: null, data: Uint8Array, key: object, signature: Uint8Array): boolean;
}

/**
 * The fixed DER prefixes (RFC 8410) of an Ed25519 seed as PKCS#8 and of a public key as
 * `SubjectPublicKeyInfo`, before their 32 bytes. Written out here (not imported) so that this
 * module, loaded on its own, shares no code with the rest of a bundle.
 */
const ED25519_PKCS8_PREFIX = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const ED25519_SPKI_PREFIX = new Uint8Array([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

/**
 * The backend over `nodeCrypto`; each signature made or checked first awaits `pace` (the suite's
 * bound on synchronous work; default: none). Throws `TypeError` unless `nodeCrypto` has the four
 * functions.
 *
 * @example
 * ```ts
 * import * as nodeCrypto from "node:crypto";
 * import { createNodeCryptoBackend } from "./native.ts";
 * const backend = createNodeCryptoBackend(nodeCrypto);
 * ```
 */
export function createNodeCryptoBackend(nodeCrypto: NodeCryptoLike, pace: () => Promise<void> = () => Promise.resolve()): Ed25519Backend {
  for (const f of ["createPrivateKey", "createPublicKey", "sign", "verify"] as const) {
    if (typeof nodeCrypto?.[f] !== "function") throw new TypeError(`nodeCrypto.${f} must be a function`);
  }
  const c = nodeCrypto as unknown as NodeCryptoCalls;
  return Object.freeze({
    name: "node:crypto" as const,
    async signer(seed: Uint8Array): Promise<PreparedSigner> {
      const pkcs8 = concat(ED25519_PKCS8_PREFIX, seed);
      let key: object;
      try {
        key = c.createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
      } finally {
        pkcs8.fill(0); // the seed lives on only inside the key object
      }
      const spki = c.createPublicKey(key).export({ format: "der", type: "spki" });
      const publicKey = plain(spki.subarray(spki.length - 32));
      return { publicKey, sign: async (message) => (await pace(), plain(c.sign(null, message, key))) };
    },
    async verifier(publicKey: Uint8Array): Promise<Verifier> {
      const key = c.createPublicKey({ key: concat(ED25519_SPKI_PREFIX, publicKey), format: "der", type: "spki" });
      return async (message, signature) => (await pace(), c.verify(null, message, key, signature));
    },
  });
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** A plain `Uint8Array` copy (the runtime hands back its own subclass, e.g. Node's `Buffer`). */
function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}
