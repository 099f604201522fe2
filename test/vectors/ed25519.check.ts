/**
 * Runs every vector of `ed25519.json` through every signature backend — the runtime's `node:crypto`
 * (where it has one: Node, Deno, Bun), WebCrypto (when a `SubtleCrypto` is given and it passes the
 * startup probe) and noble — and checks that signing the
 * RFC 8032 vectors reproduces their signatures byte for byte. Runtime-neutral: no Node-only APIs,
 * so Node (vitest), Deno (`Deno.test`) and Bun (`bun test`) all run the same checks.
 *
 * @example
 * ```ts
 * import { run } from "./ed25519.check.ts";
 * const { total, failures } = await run(globalThis.crypto.subtle);
 * if (failures.length > 0) throw new Error(failures.join("\n"));
 * ```
 */

import { fromHex, toHex } from "../../src/bytes.ts";
import { createSignatureSuite } from "../../src/crypto/ed25519.ts";
import { keyPairFromSeed } from "../../src/crypto/keys.ts";
import { runtimeNodeCrypto } from "../../src/runtime/node-crypto.ts";
import type { SignatureSuite } from "../../src/crypto/types.ts";
import vectors from "./ed25519.json" with { type: "json" };

/** One RFC 8032 vector: a seed, its public key, a message and the exact signature. All hex. */
export interface RfcVector {
  id: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
  valid: boolean;
}

/** One edge vector with the pinned verdict and why; `opensslValid` only where OpenSSL differs. */
export interface EdgeVector {
  id: string;
  publicKey: string;
  message: string;
  signature: string;
  valid: boolean;
  reason: string;
  note?: string;
  opensslValid?: boolean;
}

/** The vector file's shape. */
export interface Ed25519VectorFile {
  description: string;
  rfc8032: RfcVector[];
  edge: EdgeVector[];
}

/** The parsed vector file. */
export const ED25519_VECTORS: Ed25519VectorFile = vectors;

/**
 * Checks every vector on each available backend. `total` counts individual checks; each failure
 * names the backend, the vector and what went wrong.
 */
export async function run(subtle: SubtleCrypto | undefined): Promise<{ total: number; failures: string[] }> {
  const failures: string[] = [];
  let total = 0;
  const suites: SignatureSuite[] = [await createSignatureSuite({ backend: "noble" })];
  const nodeCrypto = runtimeNodeCrypto();
  if (nodeCrypto !== undefined) {
    try {
      suites.push(await createSignatureSuite({ backend: "node:crypto", nodeCrypto }));
    } catch (e) {
      total++;
      failures.push(`node:crypto: unavailable or failed the startup probe: ${String(e)}`);
    }
  }
  if (subtle !== undefined) {
    try {
      suites.push(await createSignatureSuite({ backend: "webcrypto", subtle }));
    } catch (e) {
      total++;
      failures.push(`webcrypto: unavailable or failed the startup probe: ${String(e)}`);
    }
  }
  for (const suite of suites) {
    for (const v of ED25519_VECTORS.rfc8032) {
      total++;
      const keyPair = keyPairFromSeed(fromHex(v.secretKey));
      if (toHex(keyPair.publicKey) !== v.publicKey) failures.push(`${suite.backend} ${v.id}: public key differs`);
      const signature = toHex(await suite.sign(keyPair, fromHex(v.message)));
      if (signature !== v.signature) failures.push(`${suite.backend} ${v.id}: signature differs: ${signature}`);
      if (!(await suite.verify(fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature)))) {
        failures.push(`${suite.backend} ${v.id}: valid signature rejected`);
      }
    }
    for (const v of ED25519_VECTORS.edge) {
      total++;
      const verdict = await suite.verify(fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature));
      if (verdict !== v.valid) failures.push(`${suite.backend} ${v.id}: got ${verdict}, want ${v.valid} (${v.reason})`);
    }
  }
  return { total, failures };
}
