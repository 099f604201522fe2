/**
 * The `broadcast` scenario: messages published from random live nodes, optionally after a crash
 * of part of the mesh; delivery, payload copies per node, latency and the cost of IHAVE/GRAFT.
 *
 * @module
 */

import { broadcastPart } from "../core/broadcast-part.ts";
import { digestTreePart } from "../core/digest-tree.ts";
import type { EngineParts } from "../core/parts.ts";
import { deriveSeed, seededRng } from "../core/random.ts";
import { FRAME } from "../wire/frames.ts";
import { countPenalties, makeSim, memoryWatch, round4, withMemory, type ScenarioOptions } from "./scenarios.ts";
import type { MemoryProfile } from "./memory.ts";


/** The broadcast scenario runs broadcast over state sync (membership off). */
const BROADCAST_ONLY: EngineParts = Object.freeze({ broadcast: broadcastPart, digest: digestTreePart });
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
  /** Bytes per node by structure, with `memory` set. */
  memory?: MemoryProfile;
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
  const watch = memoryWatch(o);
  const sim = makeSim(o, { loss: o.loss }, o.progress, BROADCAST_ONLY);
  watch.booted();
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
  const warmBefore = live.reduce((s, i) => s + sim.broadcast(i).stats.payloadsReceived, 0);
  sim.publish(live[0], "warmup", new Uint8Array(1));
  await sim.runTo(sim.now + 3000);
  const warmupCopies = (live.reduce((s, i) => s + sim.broadcast(i).stats.payloadsReceived, 0) - warmBefore) / (live.length - 1);
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
  const payloadsBefore = live.reduce((s, i) => s + sim.broadcast(i).stats.payloadsReceived, 0);
  const ihaveIdsBefore = live.reduce((s, i) => s + sim.broadcast(i).stats.ihaveIdsSent, 0);
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
  const payloads = live.reduce((s, i) => s + sim.broadcast(i).stats.payloadsReceived, 0) - payloadsBefore;
  const grafts = live.reduce((s, i) => s + sim.broadcast(i).stats.graftsSent, 0);
  const ihaveIds = live.reduce((s, i) => s + sim.broadcast(i).stats.ihaveIdsSent, 0) - ihaveIdsBefore;
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
    wall_ms: Math.round(o.clock() - started - watch.spent),
    crypto: o.cryptoName,
    ...withMemory(watch.finish(sim)),
  };
}
