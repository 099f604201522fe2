/**
 * Ready-made experiments on the simulator, each returning a plain JSON-able report, and what they
 * share (the common knobs, deterministic keys, the simulation they build):
 * - `spread`: one write on one node; rounds until 50 %, 99 % and 100 % of nodes hold it;
 * - `partition`: split in halves, write on both sides, heal; does everything converge, is anything lost.
 *
 * The `reconcile` scenario lives in `reconcile.ts`, `broadcast` in `broadcast-scenario.ts`.
 *
 * @module
 */

import { digestTreePart } from "../core/digest-tree.ts";
import type { EngineParts } from "../core/parts.ts";
import type { EngineOptions, GossipMode } from "../core/options.ts";
import { deriveSeed, seededRng } from "../core/random.ts";
import { keyPairFromSeed } from "../crypto/keys.ts";
import type { KeyPair, SignatureSuite } from "../crypto/types.ts";
import { Simulation, type SimProgress } from "./sim.ts";
import type { MemoryMeasure, MemoryProfile } from "./memory.ts";
import { toHex } from "../bytes.ts";

/** Common knobs of the scenarios. */
export interface ScenarioOptions {
  nodes: number;
  fanout: number;
  mode: GossipMode;
  loss: number;
  seed: number;
  /** Mean links per node; 0 picks a default from the node count. */
  degree: number;
  intervalMs: number;
  suite: SignatureSuite;
  cryptoName: string;
  /** Wall clock for `wall_ms`, injected (the simulator itself has none). */
  clock: () => number;
  /** Further engine options for every node (digest sizes, timeouts, …). */
  engine?: Partial<EngineOptions>;
  /**
   * Heap bytes in use after a full collection (injected): when given, the report carries a
   * `memory` profile, taken at the end of the run (`Simulation.profileMemory`).
   */
  memory?: MemoryMeasure;
  /** Told how far a large run has got (see `SimProgress`). */
  progress?: (p: SimProgress) => void;
  /**
   * Node i's key pair; default `simKeyPair(seed, i)`. A caller that derived those same keys
   * elsewhere (the command line does, on every core) passes them here.
   */
  keyPair?: (i: number) => KeyPair;
}

/** Default overlay degree: a full mesh up to 32 nodes, else 2·log2(n) + fanout links, at least 12. */
export function defaultDegree(nodes: number, fanout: number): number {
  if (nodes <= 32) return nodes - 1;
  return Math.max(12, Math.ceil(2 * Math.log2(nodes)) + fanout);
}

/** The Ed25519 seed (signing key) of node `i` of a run seeded with `seed`. */
export function simKeySeed(seed: number, i: number): Uint8Array {
  const rng = seededRng(deriveSeed(seed, 5_000_000 + i));
  const s = new Uint8Array(32);
  for (let k = 0; k < 32; k += 4) new DataView(s.buffer).setUint32(k, rng.nextU32());
  return s;
}

/** A deterministic key pair for node `i` of a run seeded with `seed`: `simKeySeed`'s key pair. */
export function simKeyPair(seed: number, i: number): KeyPair {
  return keyPairFromSeed(simKeySeed(seed, i));
}

/**
 * The state and broadcast scenarios measure their own layer: membership (probes, claims) is off so
 * its frames neither count in their traffic nor compete with it. `runMembership` measures it.
 */
const MEMBERSHIP_OFF = Object.freeze({ membership: false });

/** State scenarios run state sync alone (with its digest trie): no node holds broadcast state it never uses. */
export const STATE_ONLY: EngineParts = Object.freeze({ digest: digestTreePart });

/** The simulation of a state or broadcast scenario (membership off; `parts`: what else the nodes run). */
export function makeSim(o: ScenarioOptions, network: { loss: number }, progress = o.progress, parts: EngineParts = STATE_ONLY) {
  return new Simulation({
    parts,
    nodes: o.nodes,
    seed: o.seed,
    degree: o.degree > 0 ? o.degree : defaultDegree(o.nodes, o.fanout),
    engine: { ...o.engine, fanout: o.fanout, mode: o.mode, intervalMs: o.intervalMs, ...MEMBERSHIP_OFF },
    network,
    suite: o.suite,
    cryptoName: o.cryptoName,
    keyPair: o.keyPair ?? ((i) => simKeyPair(o.seed, i)),
    cryptoDelayMs: 0,
    progress,
  });
}

/** Report of the `spread` scenario. */
export interface SpreadReport {
  scenario: "spread";
  nodes: number;
  fanout: number;
  mode: GossipMode;
  loss: number;
  seed: number;
  degree: number;
  interval_ms: number;
  rounds_to_50: number | null;
  rounds_to_99: number | null;
  rounds_to_all: number | null;
  delivered_fraction: number;
  messages_per_node: number;
  bytes_per_node: number;
  informed_by_round: number[];
  /** Penalties honest nodes gave each other: anything but 0 is a bug. */
  penalties: number;
  wall_ms: number;
  crypto: string;
  /** Bytes per node by structure, with `memory` set. */
  memory?: MemoryProfile;
}

/**
 * Measures before and right after building a simulation, when asked to; `finish` profiles it at
 * the end. Time spent measuring (full collections) is left out of `wall_ms` via `spent`.
 */
export function memoryWatch(o: ScenarioOptions) {
  const m = o.memory;
  let spent = 0;
  const timed = (f: () => number) => {
    const t = o.clock();
    const v = f();
    spent += o.clock() - t;
    return v;
  };
  const baseline = m ? timed(m) : 0;
  let atBoot: number | null = null;
  return {
    booted(): void {
      if (m) atBoot = timed(m);
    },
    get spent(): number {
      return spent;
    },
    finish(sim: Simulation): MemoryProfile | undefined {
      return m ? sim.profileMemory(m, baseline, atBoot) : undefined;
    },
  };
}

/** `{ memory }` when there is a profile, else nothing (the report keeps its fields). */
export function withMemory(memory: MemoryProfile | undefined): { memory?: MemoryProfile } {
  return memory ? { memory } : {};
}

/** One write on node 0 after a warm-up; measures how many rounds until every node holds it. */
export async function runSpread(o: ScenarioOptions, maxRounds = 60): Promise<SpreadReport> {
  const started = o.clock();
  const watch = memoryWatch(o);
  const n = o.nodes;
  const interval = o.intervalMs;
  let informed = 0;
  let t0 = Infinity;
  const progress = o.progress && ((p: SimProgress) => o.progress!(p.stage === "run" && sim.now >= t0 ? { ...p, round: Math.ceil((sim.now - t0) / interval), informed: informed / n } : p));
  const sim = makeSim(o, { loss: o.loss }, progress);
  watch.booted();
  await sim.runTo(2 * interval);
  const writer = 0;
  const writerId = toHex(sim.nodes[writer].publicKey);
  const informedAt = new Float64Array(n).fill(Infinity);
  t0 = sim.now;
  sim.observe((i, ev, now) => {
    if (ev.type !== "change" || ev.change.originId !== writerId || ev.change.key !== "rumor") return;
    if (informedAt[i] === Infinity) {
      informedAt[i] = now;
      informed++;
    }
  });
  const before = { ...sim.traffic };
  const penalties = countPenalties(sim);
  sim.write(writer, "rumor", new TextEncoder().encode("the news"));
  await sim.runUntil(() => informed >= n, t0 + maxRounds * interval);
  const times = Array.from(informedAt).filter((t) => t !== Infinity).sort((a, b) => a - b);
  const roundsTo = (fraction: number): number | null => {
    const need = Math.ceil(fraction * n);
    return times.length >= need ? Math.ceil((times[need - 1] - t0) / interval) : null;
  };
  const last = roundsTo(1) ?? maxRounds;
  const byRound: number[] = [];
  for (let r = 0; r <= last; r++) byRound.push(times.filter((t) => t <= t0 + r * interval).length / n);
  return {
    scenario: "spread",
    nodes: n,
    fanout: o.fanout,
    mode: o.mode,
    loss: o.loss,
    seed: o.seed,
    degree: sim.options.degree,
    interval_ms: interval,
    rounds_to_50: roundsTo(0.5),
    rounds_to_99: roundsTo(0.99),
    rounds_to_all: roundsTo(1),
    delivered_fraction: informed / n,
    messages_per_node: round2((sim.traffic.frames - before.frames) / n),
    bytes_per_node: Math.round((sim.traffic.bytes - before.bytes) / n),
    informed_by_round: byRound.map(round4),
    penalties: penalties.count,
    wall_ms: Math.round(o.clock() - started - watch.spent),
    crypto: o.cryptoName,
    ...withMemory(watch.finish(sim)),
  };
}

/** Report of the `partition` scenario. */
export interface PartitionReport {
  scenario: "partition";
  nodes: number;
  fanout: number;
  mode: GossipMode;
  loss: number;
  seed: number;
  partition_ms: number;
  writes_during_partition: number;
  converged: boolean;
  rounds_to_converge_after_heal: number | null;
  lost_writes: number;
  /** Penalties honest nodes gave each other: anything but 0 is a bug. */
  penalties: number;
  messages_per_node: number;
  bytes_per_node: number;
  wall_ms: number;
  crypto: string;
}

/**
 * Every node writes, the overlay splits in two halves for `partitionMs`, a tenth of each half
 * writes (updates and deletes) meanwhile, then the halves heal. Converged means every node holds
 * every origin's newest signed version and the same values.
 */
export async function runPartition(o: ScenarioOptions, partitionMs = 60_000, maxRoundsAfterHeal = 60): Promise<PartitionReport> {
  const started = o.clock();
  const sim = makeSim(o, { loss: o.loss });
  const penalties = countPenalties(sim);
  const n = o.nodes;
  const interval = o.intervalMs;
  const enc = new TextEncoder();
  for (let i = 0; i < n; i++) sim.write(i, "name", enc.encode(`node-${i}`));
  await sim.runUntil(every(sim, 250, () => converged(sim)), 30 * interval);
  const before = { ...sim.traffic };
  sim.split((i) => (i < n / 2 ? 0 : 1));
  const writers = Array.from({ length: n }, (_, i) => i).filter((i) => i % 10 === 3);
  let writes = 0;
  const steps = 3;
  for (let s = 0; s < steps; s++) {
    for (const i of writers) {
      sim.write(i, `k${s}`, enc.encode(`v${s}-from-${i}`));
      writes++;
      if (s === steps - 1) {
        sim.write(i, "k0", null);
        writes++;
      }
    }
    await sim.runTo(sim.now + partitionMs / steps);
  }
  sim.heal();
  const healedAt = sim.now;
  const ok = await sim.runUntil(every(sim, 250, () => converged(sim)), healedAt + maxRoundsAfterHeal * interval);
  return {
    scenario: "partition",
    nodes: n,
    fanout: o.fanout,
    mode: o.mode,
    loss: o.loss,
    seed: o.seed,
    partition_ms: partitionMs,
    writes_during_partition: writes,
    converged: ok,
    rounds_to_converge_after_heal: ok ? Math.ceil((sim.now - healedAt) / interval) : null,
    lost_writes: lostWrites(sim),
    penalties: penalties.count,
    messages_per_node: round2((sim.traffic.frames - before.frames) / n),
    bytes_per_node: Math.round((sim.traffic.bytes - before.bytes) / n),
    wall_ms: Math.round(o.clock() - started),
    crypto: o.cryptoName,
  };
}

/** Wraps an expensive check so it runs at most once per `ms` of virtual time. */
function every(sim: Simulation, ms: number, check: () => boolean): () => boolean {
  let next = -Infinity;
  return () => {
    if (sim.now < next) return false;
    next = sim.now + ms;
    return check();
  };
}

/** Counts penalty events from here on. */
export function countPenalties(sim: Simulation): { count: number } {
  const c = { count: 0 };
  sim.observe((_i, ev) => {
    if (ev.type === "penalty") c.count++;
  });
  return c;
}

/** Whether every live node holds every live origin's newest signed version, completely. */
export function converged(sim: Simulation): boolean {
  const live = sim.nodes.filter((x) => x.engine);
  for (const origin of live) {
    const self = origin.engine!.store;
    if (self.dirty || !self.self.root) return false;
    const f = self.self.root.fields;
    for (const node of live) {
      if (node === origin) continue;
      const p = node.engine!.store.position(self.selfId);
      if (!p || p.generation !== f.generation || p.have !== f.version || p.version !== f.version) return false;
    }
  }
  return true;
}

/** Own writes of live nodes that some live node does not hold with the same value. */
export function lostWrites(sim: Simulation): number {
  let lost = 0;
  const live = sim.nodes.filter((x) => x.engine);
  for (const origin of live) {
    const store = origin.engine!.store;
    for (const e of store.localEntries()) {
      const missing = live.some((node) => {
        const v = node.engine!.store.get(store.selfId, e.key);
        return !(v instanceof Uint8Array) || toHex(v) !== toHex(e.value!);
      });
      if (missing) lost++;
    }
  }
  return lost;
}

/** Rounds to 2 decimals, as the reports print. */
export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
/** Rounds to 4 decimals, as the reports print. */
export function round4(x: number): number {
  return Math.round(x * 10000) / 10000;
}
