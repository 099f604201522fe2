/**
 * A worker of `sim-keys.ts`: writes `simKeyPair(seed, i)` (public key, then signing seed) for its
 * slice of node indices into the shared key buffer.
 *
 * @module
 */

import { parentPort, workerData } from "node:worker_threads";
import { simKeySeed } from "../src/sim/scenarios.ts";
import { simKeyDeriver } from "./sim-keys.ts";

const { seed, from, to, keys } = workerData as { seed: number; from: number; to: number; keys: Uint8Array };
if (from < to) {
  const publicKey = simKeyDeriver(seed, from);
  for (let i = from; i < to; i++) {
    keys.set(publicKey(i), i * 64);
    keys.set(simKeySeed(seed, i), i * 64 + 32);
  }
}
parentPort!.postMessage("done");
