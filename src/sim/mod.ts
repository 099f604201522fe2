/**
 * The deterministic simulator, exported as `grapevine/sim`: thousands of real engines on a
 * virtual clock, with seeded latency, loss, duplication, partitions, crashes and slow nodes; links
 * made and dropped at the engines' request; membership experiments (`runDetection`, …).
 *
 * @example
 * ```ts
 * import { runSpread } from "grapevine/sim";
 * import { createSignatureSuite } from "grapevine";
 * const suite = await createSignatureSuite({ subtle: globalThis.crypto.subtle });
 * const report = await runSpread({
 *   nodes: 200, fanout: 3, mode: "pushpull", loss: 0, seed: 1, degree: 0, intervalMs: 1000,
 *   suite, cryptoName: "ed25519", clock: () => performance.now(),
 * });
 * console.log(report.rounds_to_all);
 * ```
 *
 * @module
 */

export { Simulation, SimNode, type SimObserver, type SimOptions, type TrafficCounters } from "./sim.ts";
export { DEFAULT_NETWORK, frameFate, neighbours, randomOverlay, type NetworkOptions, type Overlay } from "./network.ts";
export { VerifyMemo, VERIFY_MEMO_MAX_DEFAULT, type VerifyMemoStats } from "./memo.ts";
export { MEMORY_PARTS, type MemoryMeasure, type MemoryPart, type MemoryProfile } from "./memory.ts";
export {
  converged,
  defaultDegree,
  lostWrites,
  runPartition,
  runSpread,
  simKeyPair,
  simKeySeed,
  type PartitionReport,
  type ScenarioOptions,
  type SpreadReport,
} from "./scenarios.ts";
export { runReconcile, type ReconcileReport } from "./reconcile.ts";
export { runBroadcast, type BroadcastReport } from "./broadcast-scenario.ts";
export { plotInformed, type Series } from "./svg.ts";
export {
  activeViewDegree,
  runDetection,
  type DetectionReport,
  type MembershipScenarioOptions,
} from "./membership-scenarios.ts";
export {
  runFalsePositives,
  type FalsePositiveArm,
  type FalsePositiveReport,
} from "./membership-false-positives.ts";
export { runMembershipPartition, type MembershipPartitionReport } from "./membership-partition.ts";
export { runScale, type ScaleReport, type ScaleRow } from "./membership-scale.ts";
export { DEFAULT_SLOW, SlowClock, type SlowProfile } from "./slow.ts";
export { insecureHashSuite } from "./hash-suite.ts";
