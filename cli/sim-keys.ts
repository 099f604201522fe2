/**
 * Node keys for a large simulation, derived on every core. A node's key pair is a pure function
 * of the run's seed and its index (`simKeyPair`), but deriving a public key is a scalar
 * multiplication, about 150 µs: a minute of one core for 400,000 nodes. Worker threads derive
 * slices of the same keys into one shared buffer, which the run then reads instead.
 *
 * @module
 */

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { KeyPair } from "../src/crypto/types.ts";

/** Below this many nodes, deriving in this thread is quicker than starting workers. */
const WORKERS_FROM_NODES = 20_000;
const KEY_BYTES = 64;

/**
 * `simKeyPair(seed, i)` for i below `n`, derived by worker threads, or undefined when that is not
 * worth it (a small run) or not possible (run from TypeScript sources, as tests do).
 */
export async function deriveSimKeys(seed: number, n: number): Promise<((i: number) => KeyPair) | undefined> {
  const worker = new URL("./sim-keys-worker.js", import.meta.url);
  if (n < WORKERS_FROM_NODES || !import.meta.url.endsWith(".js")) return undefined;
  const keys = new Uint8Array(new SharedArrayBuffer(n * KEY_BYTES));
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
  return (i) => ({ publicKey: keys.subarray(i * KEY_BYTES, i * KEY_BYTES + 32), secretKey: keys.subarray(i * KEY_BYTES + 32, (i + 1) * KEY_BYTES) });
}
