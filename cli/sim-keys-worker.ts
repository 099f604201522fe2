/**
 * A worker of `sim-keys.ts`: writes `simKeyPair(seed, i)` (public key, then signing seed) for its
 * slice of node indices into the shared key buffer.
 *
 * @module
 */

import { parentPort, workerData } from "node:worker_threads";
import { simKeyPair } from "../src/sim/scenarios.ts";

const { seed, from, to, keys } = workerData as { seed: number; from: number; to: number; keys: Uint8Array };
for (let i = from; i < to; i++) {
  const kp = simKeyPair(seed, i);
  keys.set(kp.publicKey, i * 64);
  keys.set(kp.secretKey, i * 64 + 32);
}
parentPort!.postMessage("done");
