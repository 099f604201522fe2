/**
 * Node keys for a large simulation, derived on every core. A node's key pair is a pure function
 * of the run's seed and its index (`simKeyPair`), but deriving a public key is a scalar
 * multiplication, about 150 µs in JavaScript: a minute of one core for 400,000 nodes. Worker
 * threads derive slices of the same keys into one shared buffer, which the run then reads instead,
 * each with the runtime's own Ed25519 where it gives the same keys (`simKeyDeriver`).
 *
 * @module
 */

import { createPrivateKey } from "node:crypto";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { keyPairFromSeed } from "../src/crypto/keys.ts";
import type { KeyPair } from "../src/crypto/types.ts";
import { simKeyPair, simKeySeed } from "../src/sim/scenarios.ts";

/** Below this many nodes, deriving in this thread is quicker than starting workers. */
const WORKERS_FROM_NODES = 20_000;
const KEY_BYTES = 64;

/**
 * `simKeyPair(seed, i)` for i below `n`, derived before the run: by worker threads, or in this
 * thread for a small run (quicker than starting workers) or where workers cannot start (run from
 * TypeScript sources, as tests do).
 */
export async function deriveSimKeys(seed: number, n: number): Promise<(i: number) => KeyPair> {
  const worker = new URL("./sim-keys-worker.js", import.meta.url);
  const keys = new Uint8Array(new SharedArrayBuffer(n * KEY_BYTES));
  if (n < WORKERS_FROM_NODES || !import.meta.url.endsWith(".js")) fillSimKeys(keys, seed, 0, n);
  else {
    const parts = Math.max(1, availableParallelism());
    await Promise.all(
      Array.from({ length: parts }, (_, k) => {
        const from = Math.floor((k * n) / parts);
        const to = Math.floor(((k + 1) * n) / parts);
        return new Promise<void>((resolve, reject) => {
          const w = new Worker(worker, { workerData: { seed, from, to, keys } });
          w.once("message", () => resolve());
          w.once("error", reject);
          w.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`key worker exited with ${code}`))));
        });
      }),
    );
  }
  return (i) => ({ publicKey: keys.subarray(i * KEY_BYTES, i * KEY_BYTES + 32), secretKey: keys.subarray(i * KEY_BYTES + 32, (i + 1) * KEY_BYTES) });
}

/** Writes `simKeyPair(seed, i)` (public key, then signing seed) for `from` ≤ i < `to` into `keys`, 64 bytes a node. */
export function fillSimKeys(keys: Uint8Array, seed: number, from: number, to: number): void {
  if (from >= to) return;
  const publicKey = simKeyDeriver(seed, from);
  for (let i = from; i < to; i++) {
    const s = simKeySeed(seed, i);
    keys.set(publicKey(s), i * KEY_BYTES);
    keys.set(s, i * KEY_BYTES + 32);
  }
}

/**
 * The public key of an RFC 8032 seed through `node:crypto` (OpenSSL: about a quarter of the time
 * of the JavaScript scalar multiplication), or undefined where this runtime cannot derive it so. A
 * private JWK carries the public key `x` as well; importing the seed does not need it, so a
 * placeholder stands in and the key object's own export gives the derived key.
 */
export function nativePublicKey(seed: Uint8Array): Uint8Array | undefined {
  try {
    const key = createPrivateKey({ key: { kty: "OKP", crv: "Ed25519", d: Buffer.from(seed).toString("base64url"), x: PLACEHOLDER_X }, format: "jwk" });
    const x = key.export({ format: "jwk" }).x;
    return typeof x === "string" ? new Uint8Array(Buffer.from(x, "base64url")) : undefined;
  } catch {
    return undefined;
  }
}
const PLACEHOLDER_X = Buffer.alloc(32).toString("base64url");

/**
 * The public key of a seed of the run seeded with `seed`, as `simKeyPair` gives it: through
 * `native` if that gives node `probe`'s key exactly (checked once), else (and for any seed it
 * has no key for) by the JavaScript derivation `simKeyPair` uses.
 */
export function simKeyDeriver(seed: number, probe: number, native: (s: Uint8Array) => Uint8Array | undefined = nativePublicKey): (s: Uint8Array) => Uint8Array {
  const expected = simKeyPair(seed, probe).publicKey;
  const got = native(simKeySeed(seed, probe));
  const same = got !== undefined && got.length === expected.length && got.every((v, k) => v === expected[k]);
  return (s) => (same && native(s)) || keyPairFromSeed(s).publicKey;
}
