/**
 * A worker of `sim-keys.ts`: writes `simKeyPair(seed, i)` (public key, then signing seed) for its
 * slice of node indices into the shared key buffer.
 *
 * @module
 */

import { parentPort, workerData } from "node:worker_threads";
import { fillSimKeys } from "./sim-keys.ts";

const { seed, from, to, keys } = workerData as { seed: number; from: number; to: number; keys: Uint8Array };
fillSimKeys(keys, seed, from, to);
parentPort!.postMessage("done");
