/**
 * Ready-made experiments on the simulator, each returning a plain JSON-able report:
 * - `spread`: one write on one node; rounds until 50 %, 99 % and 100 % of nodes hold it;
 * - `partition`: split in halves, write on both sides, heal; does everything converge, is anything lost;
 * - `reconcile`: two nodes sharing many origins with a few differences; bytes to reconcile with the
 *   Merkle digest against the same exchange with flat digests.
 *
 * @module
 */

import { Engine } from "../core/engine.ts";
import type { EngineOptions, GossipMode } from "../core/options.ts";
import { deriveSeed, seededRng } from "../core/random.ts";
import { signingBytes } from "../crypto/context.ts";
import { keyPairFromSeed } from "../crypto/ed25519.ts";
import { MerkleTree, leafHash } from "../crypto/merkle.ts";
import type { KeyPair, SignatureSuite } from "../crypto/types.ts";
import { encodeFrame, FRAME } from "../wire/frames.ts";
import { encodeLeaf, encodeRootBody } from "../wire/records.ts";
import { PROTOCOL_VERSION } from "../core/engine.ts";
import { Simulation } from "./sim.ts";
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
}

/** Default overlay degree: a full mesh up to 32 nodes, else 2·log2(n) + fanout links, at least 12. */
export function defaultDegree(nodes: number, fanout: number): number {
  if (nodes <= 32) return nodes - 1;
  return Math.max(12, Math.ceil(2 * Math.log2(nodes)) + fanout);
}

/** A deterministic key pair for node `i` of a run seeded with `seed`. */
export function simKeyPair(seed: number, i: number): KeyPair {
  const rng = seededRng(deriveSeed(seed, 5_000_000 + i));
  const s = new Uint8Array(32);
  for (let k = 0; k < 32; k += 4) new DataView(s.buffer).setUint32(k, rng.nextU32());
  return keyPairFromSeed(s);
}

/**
 * The state and broadcast scenarios measure their own layer: membership (probes, claims) is off so
 * its frames neither count in their traffic nor compete with it. `runMembership` measures it.
 */
const MEMBERSHIP_OFF = Object.freeze({ membership: false });

function makeSim(o: ScenarioOptions, network: { loss: number }) {
  return new Simulation({
    nodes: o.nodes,
    seed: o.seed,
    degree: o.degree > 0 ? o.degree : defaultDegree(o.nodes, o.fanout),
    engine: { ...o.engine, fanout: o.fanout, mode: o.mode, intervalMs: o.intervalMs, ...MEMBERSHIP_OFF },
    network,
    suite: o.suite,
    cryptoName: o.cryptoName,
    keyPair: (i) => simKeyPair(o.seed, i),
    cryptoDelayMs: 0,
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
}

/** One write on node 0 after a warm-up; measures how many rounds until every node holds it. */
export async function runSpread(o: ScenarioOptions, maxRounds = 60): Promise<SpreadReport> {
  const started = o.clock();
  const sim = makeSim(o, { loss: o.loss });
  const n = o.nodes;
  const interval = o.intervalMs;
  await sim.runTo(2 * interval);
  const writer = 0;
  const writerId = toHex(sim.nodes[writer].keyPair.publicKey);
  const informedAt = new Float64Array(n).fill(Infinity);
  let informed = 0;
  const t0 = sim.now;
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
    wall_ms: Math.round(o.clock() - started),
    crypto: o.cryptoName,
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
function countPenalties(sim: Simulation): { count: number } {
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

/** Report of the `reconcile` scenario. */
export interface ReconcileReport {
  scenario: "reconcile";
  origins: number;
  differences: number;
  merkle_bytes: number;
  merkle_frames: number;
  flat_bytes: number;
  flat_frames: number;
  ratio_merkle_to_flat: number;
  reconciled: boolean;
  wall_ms: number;
  crypto: string;
}

/**
 * Two nodes hold the same `origins` signed maps; `differences` of them are one version newer on
 * one side. Counts the bytes both nodes send until they agree, once with the Merkle digest trie
 * (the default) and once with flat digests (the whole digest in one frame), in the same run.
 */
export async function runReconcile(o: ScenarioOptions & { origins: number; differences: number }): Promise<ReconcileReport> {
  const started = o.clock();
  const suite = o.suite;
  const network = "grapevine";
  const make = async (i: number, version: number) => {
    const kp = simKeyPair(o.seed, 10_000_000 + i);
    const leaf = encodeLeaf({ key: "k", version, value: new Uint8Array([version]) });
    const tree = MerkleTree.fromLeafHashes([leafHash(leaf)]);
    const body = encodeRootBody({ origin: kp.publicKey, generation: 1, version, root: tree.root, count: 1, floor: 0, flags: 0 });
    const signature = await suite.sign(kp, signingBytes("root", network, PROTOCOL_VERSION, body));
    return { id: toHex(kp.publicKey), delta: { rootBody: body, signature, from: 0, through: version, full: true, entries: [{ leaf, index: 0, proof: [] }] } };
  };
  const base = await Promise.all(Array.from({ length: o.origins }, (_, i) => make(i, 1)));
  const newer = await Promise.all(Array.from({ length: o.differences }, (_, i) => make(i * 7 % o.origins, 2)));
  const runOnce = async (digestEntriesMax: number) => {
    const opts = { network, digestEntriesMax, digestRowsBeforeSummaryMax: digestEntriesMax, intervalMs: 1000, originsMax: o.origins + 10, pendingVerifyMax: o.origins * 2 + 10, pendingVerifyPerLinkMax: o.origins * 2 + 10 };
    const a = new Engine({ publicKey: simKeyPair(o.seed, 1).publicKey, generation: 1, random: seededRng(o.seed), now: 0, options: opts });
    const b = new Engine({ publicKey: simKeyPair(o.seed, 2).publicKey, generation: 1, random: seededRng(o.seed + 1), now: 0, options: opts });
    const load = async (e: Engine, made: typeof base) => {
      const deltas = made.map((m) => m.delta);
      e.linkUp(0, 99, null);
      for (let k = 0; k < deltas.length; k += 200) {
        e.receive(0, 99, encodeFrame({ type: FRAME.DELTA, flags: 0, origins: deltas.slice(k, k + 200), replyTo: 0 }));
        await pumpJobs(e, suite);
      }
      while (e.pollTransmit());
      e.linkDown(0, 99);
    };
    await load(a, base);
    await load(b, base);
    await load(a, newer);
    while (a.pollEvent());
    while (b.pollEvent());
    let bytes = 0;
    let frames = 0;
    a.linkUp(0, 1, b.id);
    b.linkUp(0, 1, a.id);
    // Only a's opening digest counts: b's is dropped so one exchange is measured.
    while (b.pollTransmit());
    for (let guard = 0; guard < 1000; guard++) {
      let moved = false;
      for (const [from, to] of [[a, b], [b, a]] as const) {
        await pumpJobs(from, suite);
        for (let t; (t = from.pollTransmit()); ) {
          bytes += t.bytes.length;
          frames++;
          to.receive(0, 1, t.bytes);
          moved = true;
        }
      }
      if (!moved) break;
    }
    const agree = newer.every((d) => {
      const id = d.id;
      const pa = a.store.position(id);
      const pb = b.store.position(id);
      return !!pa && !!pb && pa.have === pb.have && pa.have === 2;
    });
    return { bytes, frames, agree };
  };
  const merkle = await runOnce(256);
  const flat = await runOnce(o.origins + 10);
  return {
    scenario: "reconcile",
    origins: o.origins,
    differences: o.differences,
    merkle_bytes: merkle.bytes,
    merkle_frames: merkle.frames,
    flat_bytes: flat.bytes,
    flat_frames: flat.frames,
    ratio_merkle_to_flat: round4(merkle.bytes / flat.bytes),
    reconciled: merkle.agree && flat.agree,
    wall_ms: Math.round(o.clock() - started),
    crypto: o.cryptoName,
  };
}

async function pumpJobs(e: Engine, suite: SignatureSuite): Promise<void> {
  for (;;) {
    const jobs = [];
    for (let j; (j = e.pollJob()); ) jobs.push(j);
    if (!jobs.length) return;
    const results = await Promise.all(jobs.map((j) => (j.kind === "verify" ? suite.verify(j.publicKey, j.message, j.signature) : Promise.resolve(new Error("no key")))));
    jobs.forEach((j, k) => e.completeJob(0, j.id, results[k]));
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
function round4(x: number): number {
  return Math.round(x * 10000) / 10000;
}

/** Report of the `broadcast` scenario. */
export interface BroadcastReport {
  scenario: "broadcast";
  nodes: number;
  messages: number;
  crashed: number;
  loss: number;
  seed: number;
  degree: number;
  /** Deliveries over (messages × live nodes), rounded down to 6 decimals (never up to 1). */
  delivered_fraction: number;
  /** (node, message) pairs never delivered. */
  missing_deliveries: number;
  /** Payload copies (GOSSIP frames) received per live node per message. */
  copies_per_node_per_msg: number;
  /** Copies per node of the one warm-up message that floods before the tree exists. */
  warmup_copies_per_node: number;
  ms_to_99_p50: number | null;
  ms_to_99_max: number | null;
  ms_to_all_p50: number | null;
  ms_to_all_max: number | null;
  /** Gossip rounds (intervalMs) the slowest message took to reach everyone. */
  rounds_to_all_max: number | null;
  hops_max: number;
  /** Broadcast frames (GOSSIP, IHAVE, GRAFT, PRUNE) sent, bytes per live node per message. */
  bytes_per_node_per_msg: number;
  grafts: number;
  /** Message ids announced (IHAVE) per delivery, lazy announcements and re-announcements together. */
  ihave_ids_per_delivery: number;
  /** Bytes of IHAVE frames per delivery. */
  ihave_bytes_per_delivery: number;
  penalties: number;
  wall_ms: number;
  crypto: string;
}

const BROADCAST_TYPES = [4, 5, 6, 7];

/**
 * `messages` messages published at `ratePerSecond` from random live nodes after `crash` of the
 * nodes crashed (without warning) just before the first; measures delivery, payload copies per
 * node and latency to 99 % and 100 % of live nodes.
 */
export async function runBroadcast(
  o: ScenarioOptions,
  b: { messages: number; ratePerSecond: number; crash: number; payloadBytes: number },
): Promise<BroadcastReport> {
  const started = o.clock();
  const sim = makeSim(o, { loss: o.loss });
  const penalties = countPenalties(sim);
  const n = o.nodes;
  await sim.runTo(2 * o.intervalMs);
  const pick = seededRng(deriveSeed(o.seed, 77));
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = pick.nextU32() % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const crashed = Math.floor(b.crash * n);
  const live = order.slice(crashed);
  // One warm-up message floods and leaves the eager spanning tree behind; reported on its own.
  const warmBefore = live.reduce((s, i) => s + sim.engine(i).broadcast.stats.payloadsReceived, 0);
  sim.publish(live[0], "warmup", new Uint8Array(1));
  await sim.runTo(sim.now + 3000);
  const warmupCopies = (live.reduce((s, i) => s + sim.engine(i).broadcast.stats.payloadsReceived, 0) - warmBefore) / (live.length - 1);
  const firstAt = new Map<string, number>();
  const times = new Map<string, number[]>();
  let hopsMax = 0;
  let deliveries = 0;
  sim.observe((_i, ev, now) => {
    if (ev.type !== "message" || ev.message.topic !== "tx") return;
    const m = ev.message;
    if (m.local) firstAt.set(m.id, now);
    deliveries++;
    hopsMax = Math.max(hopsMax, m.hops);
    let t = times.get(m.id);
    if (!t) times.set(m.id, (t = []));
    t.push(now);
  });
  // The crash comes after the tree formed, just before publishing: the tree loses a fifth of its nodes.
  for (const i of order.slice(0, crashed)) sim.crash(i);
  const base = new Map([...sim.trafficByType].map(([k, v]) => [k, { ...v }]));
  const payloadsBefore = live.reduce((s, i) => s + sim.engine(i).broadcast.stats.payloadsReceived, 0);
  const ihaveIdsBefore = live.reduce((s, i) => s + sim.engine(i).broadcast.stats.ihaveIdsSent, 0);
  const payload = new Uint8Array(b.payloadBytes);
  const gap = 1000 / b.ratePerSecond;
  for (let k = 0; k < b.messages; k++) {
    await sim.runTo(sim.now + gap);
    const i = live[pick.nextU32() % live.length];
    payload[0] = k & 255;
    payload[1] = k >> 8;
    sim.publish(i, "tx", payload);
  }
  const want = b.messages * live.length;
  await sim.runUntil(() => deliveries >= want, sim.now + 60_000);
  const to99: number[] = [];
  const toAll: number[] = [];
  for (const [id, t] of times) {
    const t0 = firstAt.get(id);
    if (t0 === undefined) continue;
    t.sort((x, y) => x - y);
    const need99 = Math.ceil(0.99 * live.length);
    if (t.length >= need99) to99.push(t[need99 - 1] - t0);
    if (t.length >= live.length) toAll.push(t[live.length - 1] - t0);
  }
  let bytes = 0;
  for (const type of BROADCAST_TYPES) bytes += (sim.trafficByType.get(type)?.bytes ?? 0) - (base.get(type)?.bytes ?? 0);
  const payloads = live.reduce((s, i) => s + sim.engine(i).broadcast.stats.payloadsReceived, 0) - payloadsBefore;
  const grafts = live.reduce((s, i) => s + sim.engine(i).broadcast.stats.graftsSent, 0);
  const ihaveIds = live.reduce((s, i) => s + sim.engine(i).broadcast.stats.ihaveIdsSent, 0) - ihaveIdsBefore;
  const pct = (a: number[], q: number) => (a.length ? Math.round(a.sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(q * a.length))]) : null);
  const allMax = toAll.length === b.messages ? pct(toAll, 1) : null;
  return {
    scenario: "broadcast",
    nodes: n,
    messages: b.messages,
    crashed,
    loss: o.loss,
    seed: o.seed,
    degree: sim.options.degree,
    delivered_fraction: Math.floor((deliveries / want) * 1e6) / 1e6,
    missing_deliveries: want - deliveries,
    copies_per_node_per_msg: round4(payloads / (b.messages * (live.length - 1))),
    warmup_copies_per_node: round4(warmupCopies),
    ms_to_99_p50: pct(to99, 0.5),
    ms_to_99_max: to99.length === b.messages ? pct(to99, 1) : null,
    ms_to_all_p50: pct(toAll, 0.5),
    ms_to_all_max: allMax,
    rounds_to_all_max: allMax === null ? null : Math.ceil(allMax / o.intervalMs),
    hops_max: hopsMax,
    bytes_per_node_per_msg: Math.round(bytes / live.length / b.messages),
    grafts,
    ihave_ids_per_delivery: round4(ihaveIds / Math.max(1, deliveries)),
    ihave_bytes_per_delivery: round4(((sim.trafficByType.get(FRAME.IHAVE)?.bytes ?? 0) - (base.get(FRAME.IHAVE)?.bytes ?? 0)) / Math.max(1, deliveries)),
    penalties: penalties.count,
    wall_ms: Math.round(o.clock() - started),
    crypto: o.cryptoName,
  };
}
