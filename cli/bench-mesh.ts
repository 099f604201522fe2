/**
 * `grapevine bench broadcast --mesh`: N nodes in this one process, linked over real WebSockets on
 * loopback in a seeded random graph (each node dials 4–6 others), then M messages of P bytes at R
 * per second from seeded random publishers. It measures what each delivery and each idle second
 * costs, the same way every time, so a change is judged by the same figures:
 *
 * - connecting: time until every node has its links, and the event loop's delay meanwhile (first
 *   contact with a hundred keys; each node opens its sockets in a task of its own, as it would in
 *   a process of its own);
 * - idle: CPU (also in 1 s slices, with their least and median), frames and wire bytes per second
 *   of the linked mesh with nothing published, once it has been stable for `--settle` ms; and the
 *   floor for that traffic measured in the same run: the CPU bare WebSockets in this process take
 *   to carry the same frames per second, of the same mean size, over as many sockets;
 * - publishing: payload copies, wire bytes, IHAVE ids and CPU per delivery (all of it, and above the
 *   idle upkeep measured before); latency to 50, 99 and 100 % of the nodes (p50 and p99 over
 *   messages); event-loop delay p99; delivered fraction;
 * - the raw Ed25519 verify of this runtime, measured in the same run: through the backend the
 *   nodes use (`crypto`: WebCrypto, or `node:crypto` with `--node-crypto`), and through each; and
 *   the floor of CPU per delivery: that verify plus what bare WebSockets in this process take to
 *   carry the frames sent while publishing (as many a second, of the same mean size, over as many
 *   sockets), per delivery; and peak RSS.
 *
 * `--close F` closes a fraction of the nodes just before publishing (no tree yet: the first message
 * floods); `--close-after-tree F` publishes a few messages first, so the tree has formed, then
 * closes them: the repair of a broken tree on real sockets.
 *
 * @module
 */

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { WebSocket, WebSocketServer } from "ws";
import { createNode, type GrapevineNode, type NodeOptions } from "../mod.ts";
import { deriveSeed, randomBelow, type Rng, seededRng } from "../src/core/random.ts";
import { scopeIdOf } from "../src/core/scopes.ts";
import { createSignatureSuite } from "../src/crypto/ed25519.ts";
import { isTorsionFreeKey } from "../src/crypto/edwards.ts";
import { runtimeNodeCrypto } from "../src/runtime/node-crypto.ts";
import { keyPairFromSeed } from "../src/crypto/keys.ts";
import { websocketLink } from "../src/transport/websocket.ts";
import { nodeWebSocket } from "../src/transport/ws-node.ts";
import { LoopDelay } from "./loop-delay.ts";
import { median } from "./median.ts";

/** What one run does. */
export interface MeshBenchOptions {
  nodes: number;
  messages: number;
  ratePerSecond: number;
  payloadBytes: number;
  seed: number;
  /** Fraction of nodes closed just before publishing. */
  close: number;
  /** Fraction of nodes closed after a few messages formed the tree. */
  closeAfterTree: number;
  /** How long the idle phase is measured, ms. */
  idleMs: number;
  /** How long the linked mesh is left alone before the idle phase is measured (a stable mesh), ms. */
  settleMs: number;
  /** Gossip interval of every node, ms. */
  intervalMs: number;
  /**
   * SWIM's protocol period of every node, ms (default: the engine's, 1 s). Most of an idle mesh's
   * frames are its probes, so this sets the idle cost, and how soon a hung member is suspected.
   */
  probeIntervalMs?: number;
  /** Whether every node signs and checks with `node:crypto` (default: WebCrypto). */
  nodeCrypto?: boolean;
  /** Called with a short progress note (the CLI prints it on a terminal). */
  progress?: (note: string) => void;
}

/** The figures, one JSON object. */
export interface MeshBenchReport {
  bench: "broadcast-mesh";
  nodes: number;
  messages: number;
  rate: number;
  payload_bytes: number;
  seed: number;
  closed: number;
  close_after_tree: boolean;
  links: number;
  connect_ms: number;
  /**
   * How late the event loop ran while the nodes linked (sampled every 5 ms, the sampling interval
   * itself not counted: `cli/loop-delay.ts`); `loop_delay_p99_ms` the same while publishing.
   */
  connect_loop_delay_p99_ms: number;
  connect_loop_delay_max_ms: number;
  settle_ms: number;
  /** SWIM's protocol period of every node (`--probe-interval`), ms. */
  probe_interval_ms: number;
  idle_cpu_ms_per_s: number;
  /**
   * The idle window's CPU in 1 s slices (ms/s), and their least and median: other load on the
   * machine can only add CPU time to this process, so the least slice is the mesh's own cost
   * least disturbed, and the spread shows how much the mean above owes to the machine.
   */
  idle_cpu_ms_per_s_slices: number[];
  idle_cpu_ms_per_s_min: number;
  idle_cpu_ms_per_s_median: number;
  idle_bytes_per_s: number;
  idle_frames_per_s: number;
  /** SWIM probes (PINGs that start a probe) every node sent, a second, while idle: each node starts at most one a protocol period. */
  idle_probes_per_s: number;
  /** CPU of bare WebSockets carrying the idle frames per second (same run, same process). */
  idle_floor_cpu_ms_per_s: number;
  idle_cpu_over_floor: number;
  delivered_fraction: number;
  copies_per_delivery: number;
  wire_bytes_per_delivery: number;
  ihave_ids_per_delivery: number;
  graft_ids: number;
  /** Process CPU while publishing (the idle mesh's own upkeep included) per delivery. */
  cpu_us_per_delivery: number;
  /**
   * The same without the upkeep: CPU while publishing less the idle CPU rate measured before over
   * as long, per delivery — what the messages themselves cost (at low rates the upkeep dominates).
   */
  cpu_us_per_delivery_above_idle: number;
  /** The nodes' signature backend (`--node-crypto`: `node:crypto`; default `webcrypto`). */
  crypto: string;
  /** Wall time per raw verify through that backend, one after another, and the ratios to it. */
  raw_verify_us: number;
  cpu_per_delivery_over_raw_verify: number;
  cpu_per_delivery_above_idle_over_raw_verify: number;
  /**
   * The floor of CPU per delivery: one raw verify, plus the CPU bare WebSockets take to carry the
   * frames sent while publishing (same rate, mean size and sockets, same run), per delivery; and
   * the CPU per delivery over it.
   */
  delivery_floor_us: number;
  delivery_frames: number;
  cpu_per_delivery_over_floor: number;
  /** The raw verify through each backend the runtime has. */
  raw_verify_us_by_backend: { webcrypto: number; "node:crypto": number };
  /**
   * The key rule a node runs once per new key, before any backend sees it (strict decoding and
   * torsion-free, in JavaScript): microseconds per key over 200 distinct keys, and over the raw verify.
   */
  key_check_us: number;
  key_check_over_raw_verify: number;
  latency_ms: { to_50: Percentiles; to_99: Percentiles; to_all: Percentiles };
  loop_delay_p99_ms: number;
  peak_rss_mb: number;
  wall_ms: number;
}

interface Percentiles {
  p50: number | null;
  p99: number | null;
}

const NETWORK = "bench-mesh";
const BENCH_SCOPE = scopeIdOf("bench");

function pct(values: number[], q: number): number | null {
  if (!values.length) return null;
  const s = values.slice().sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))] * 10) / 10;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Microseconds per raw Ed25519 verify through this runtime's suite (`backend`; default the one a
 * node uses), one after another, no cache hit: the median of three passes.
 */
async function rawVerifyMicros(backend: "node:crypto" | "webcrypto"): Promise<number> {
  const suite = await createSignatureSuite({ subtle: globalThis.crypto.subtle, nodeCrypto: runtimeNodeCrypto(), verifiedCacheMax: 1, backend });
  const kp = keyPairFromSeed(new Uint8Array(32).fill(9));
  const msgs = Array.from({ length: 601 }, (_, i) => new TextEncoder().encode(`raw verify ${i}`));
  const sigs = await Promise.all(msgs.map((m) => suite.sign(kp, m)));
  await suite.verify(kp.publicKey, msgs[0], sigs[0]); // the key's check and import, outside the timing
  // The median of three passes of 200: one pass that meets a stall of the machine's does not set it.
  const passes: number[] = [];
  for (let pass = 0; pass < 3; pass++) {
    const t0 = performance.now();
    for (let i = 1 + pass * 200; i <= (pass + 1) * 200; i++) await suite.verify(kp.publicKey, msgs[i], sigs[i]);
    passes.push(((performance.now() - t0) * 1000) / 200);
  }
  return median(passes);
}

/** Microseconds per first-contact key check (`isTorsionFreeKey`), the median of three passes over 200 keys. */
function keyCheckMicros(): number {
  const keys = Array.from({ length: 200 }, (_, i) => {
    const seed = new Uint8Array(32);
    new DataView(seed.buffer).setUint32(0, 0x6b657900 + i);
    return keyPairFromSeed(seed).publicKey;
  });
  const passes: number[] = [];
  for (let pass = 0; pass < 3; pass++) {
    const t0 = performance.now();
    for (const k of keys) if (!isTorsionFreeKey(k)) throw new Error("bench mesh: an honest key failed the key rule");
    passes.push(((performance.now() - t0) * 1000) / keys.length);
  }
  return median(passes);
}

/**
 * Waits `ms`, measuring this process's CPU (ms per second) in slices of `sliceMs`; the last may be
 * shorter, and a slice under 100 ms is left out.
 */
async function cpuSlices(ms: number, sliceMs: number): Promise<number[]> {
  const out: number[] = [];
  for (let left = ms; left > 0; left -= sliceMs) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(Math.min(sliceMs, left));
    const cpu = process.cpuUsage(cpu0);
    const elapsed = performance.now() - t0;
    if (elapsed >= 100) out.push((cpu.user + cpu.system) / elapsed);
  }
  return out;
}

/**
 * The floor of idle traffic: CPU per second (ms) that bare WebSockets in this process take to carry
 * `framesPerSecond` binary frames of `frameBytes` each, spread over `sockets` connected pairs on
 * loopback, paced like periodic work (one timer per 30 ms tick sending the frames due), for `ms`.
 */
async function socketFloorCpu(framesPerSecond: number, frameBytes: number, sockets: number, ms: number): Promise<number> {
  if (framesPerSecond <= 0) return 0;
  const server = createServer();
  const wss = new WebSocketServer({ server });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let received = 0;
  wss.on("connection", (ws) => ws.on("message", () => received++));
  const clients = await Promise.all(Array.from({ length: Math.max(1, sockets) }, () => new Promise<InstanceType<typeof WebSocket>>((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  })));
  const frame = new Uint8Array(Math.max(1, Math.round(frameBytes)));
  const tickMs = 30;
  let due = 0;
  let next = 0;
  const timer = setInterval(() => {
    due += (framesPerSecond * tickMs) / 1000;
    for (; due >= 1; due--) clients[next++ % clients.length].send(frame);
  }, tickMs);
  await sleep(500); // warm
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(ms);
  const cpu = process.cpuUsage(cpu0);
  const elapsed = (performance.now() - t0) / 1000;
  clearInterval(timer);
  for (const c of clients) c.terminate();
  wss.close();
  server.closeAllConnections();
  server.close();
  return received > 0 ? (cpu.user + cpu.system) / 1000 / elapsed : 0;
}

/** Closes `nodes` and `servers` (their sockets first). */
export async function shutDown(nodes: GrapevineNode[], servers: { server: Server; wss: WebSocketServer }[]): Promise<void> {
  await Promise.all(nodes.map((x) => x.close({ leave: false })));
  for (const s of servers) {
    for (const c of s.wss.clients) c.terminate();
    s.wss.close();
    s.server.closeAllConnections();
    s.server.close();
  }
}

/** A seeded random graph: node i dials 4–6 others it is not linked to yet; edges as "i-j", i < j. */
export function seededGraph(rng: Rng, n: number): Set<string> {
  const edges = new Set<string>();
  for (let i = 0; i < n; i++) {
    const want = 4 + randomBelow(rng, 3);
    for (let tries = 0, made = 0; made < want && tries < 50; tries++) {
      const j = randomBelow(rng, n);
      const key = i < j ? `${i}-${j}` : `${j}-${i}`;
      if (j === i || edges.has(key)) continue;
      edges.add(key);
      made++;
    }
  }
  return edges;
}

/**
 * Node `i` of a bench run seeded `seed`: its key and seed derived from both. Every node's crypto
 * shares this one process's thread pool, where a hundred nodes linking at once queue thousands of
 * claim and root checks ahead of a handshake's: a deployed node (a process of its own) has its
 * handshakes checked in milliseconds, so the handshake timeout here is a minute, not the default
 * 10 s.
 */
export function benchNode(seed: number, i: number, options: NodeOptions = {}): Promise<GrapevineNode> {
  return createNode({ ...benchNodeOptions(seed, i), ...options });
}

/** Node `i`'s options in a run of `seed`: the network, its seeded key and peer-selection seed, a minute to handshake (see {@link benchNode}). */
export function benchNodeOptions(seed: number, i: number): NodeOptions {
  const keySeed = new Uint8Array(32);
  new DataView(keySeed.buffer).setUint32(0, deriveSeed(seed, 1000 + i));
  return { network: NETWORK, keyPair: keyPairFromSeed(keySeed), seed: deriveSeed(seed, 2000 + i), handshakeTimeoutMs: 60_000 };
}

/** Whether `node` holds `n` origins' state (its own included): counted on the store, not by spelling out ids. */
export function holdsAll(node: GrapevineNode, n: number): boolean {
  let k = 0;
  for (const o of node.engine.store.origins.values()) if (o.entries.size > 0 || o.id === node.engine.store.selfId) k++;
  return k >= n;
}

/** One node with a WebSocket server other nodes dial. */
export async function listen(node: GrapevineNode): Promise<{ url: string; server: Server; wss: WebSocketServer }> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: node.options.frameBytesMax });
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
    node.connect(websocketLink(ws as never, { frameBytesMax: node.options.frameBytesMax })).catch(() => {});
  }));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, server, wss };
}

/** Runs the bench and returns its report. */
export async function runMeshBench(o: MeshBenchOptions): Promise<MeshBenchReport> {
  const started = performance.now();
  const note = o.progress ?? (() => {});
  const rng = seededRng(deriveSeed(o.seed, 1));
  const n = o.nodes;
  let peakRss = process.memoryUsage().rss;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
  rssTimer.unref();
  const nodes: GrapevineNode[] = [];
  for (let i = 0; i < n; i++) {
    // `connect_ms` reports how long linking took (the handshake timeout is a minute: `benchNode`).
    nodes.push(await benchNode(o.seed, i, { intervalMs: o.intervalMs, ...(o.probeIntervalMs === undefined ? {} : { probeIntervalMs: o.probeIntervalMs }), nodeCrypto: o.nodeCrypto ? runtimeNodeCrypto() : undefined }));
  }
  // Each node writes one key, so "linked" can be judged by every node holding every other's state.
  nodes.forEach((x, i) => x.set("up", i));
  // Every node subscribes before it links, so the topic's swarm forms with the links. Warm-up
  // messages (payload byte 2 set to 1) shape the tree and are not counted.
  const firstAt = new Map<string, number>();
  const arrivals = new Map<string, number[]>();
  let deliveries = 0;
  const live = new Set(nodes.map((_, i) => i));
  nodes.forEach((node, i) => node.subscribe("bench", (m) => {
    if (!live.has(i) || (m.payload as Uint8Array)[2] === 1) return;
    const at = performance.now();
    if (m.local) firstAt.set(m.id, at);
    else {
      deliveries++;
      let a = arrivals.get(m.id);
      if (!a) arrivals.set(m.id, (a = []));
      a.push(at);
    }
  }));
  const servers = await Promise.all(nodes.map(listen));
  // A seeded random graph: node i dials 4–6 others it is not linked to yet.
  const edges = seededGraph(rng, n);
  note(`connecting ${n} nodes over ${edges.size} links`);
  const loop = new LoopDelay(5);
  loop.enable();
  const t0 = performance.now();
  try {
    // Each node opens its sockets in a task of its own (each would in its own process): opening
    // all 500 of a hundred nodes in one task is a fifth of a second of the WebSocket client's own
    // setup, which would be the bench's stall, not the nodes'. All are open within a few turns.
    const linking: Promise<unknown>[] = [];
    const dialsOf = new Map<number, number[]>();
    for (const e of edges) {
      const [i, j] = e.split("-").map(Number);
      if (!dialsOf.has(i)) dialsOf.set(i, []);
      dialsOf.get(i)!.push(j);
    }
    for (const [i, targets] of dialsOf) {
      for (const j of targets) {
        const link = nodes[i].connect(websocketLink(new nodeWebSocket(servers[j].url), { frameBytesMax: nodes[i].options.frameBytesMax }));
        link.catch(() => {}); // handled by the Promise.all below, which may come a few turns later
        linking.push(link);
      }
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(linking);
  } catch (e) {
    // A failed link fails the bench: close everything, or the open sockets keep the process alive.
    clearInterval(rssTimer);
    await shutDown(nodes, servers);
    throw e;
  }
  // Linked once every node holds its links and knows every other's state.
  // Counted on the store, not with `origins()` (which spells out every id): the bench's own polling
  // of 100 nodes every 20 ms must not be what holds the loop it measures.
  while (nodes.some((x) => !holdsAll(x, n)) && performance.now() - t0 < 120_000) await sleep(20);
  const connectMs = performance.now() - t0;
  loop.disable();
  const connectDelayP99 = loop.percentileMs(99);
  const connectDelayMax = loop.maxMs();

  // Idle: the linked mesh with nothing published, once it has been left alone for settleMs.
  note("idle");
  await sleep(Math.max(1000, o.settleMs));
  const traffic = () => nodes.reduce((s, x) => s + x.traffic().bytesOut, 0);
  const framesOut = () => nodes.reduce((s, x) => s + x.engine.stats.framesOut, 0);
  const probes = () => nodes.reduce((s, x) => s + (x.engine.membership?.stats.probes ?? 0), 0);
  let cpu0 = process.cpuUsage();
  let bytes0 = traffic();
  const frames0 = framesOut();
  const probes0 = probes();
  const slices = await cpuSlices(o.idleMs, 1000);
  let cpu = process.cpuUsage(cpu0);
  const idleCpu = ((cpu.user + cpu.system) / 1000) / (o.idleMs / 1000);
  const idleBytes = (traffic() - bytes0) / (o.idleMs / 1000);
  const idleFrames = (framesOut() - frames0) / (o.idleMs / 1000);
  const idleProbes = (probes() - probes0) / (o.idleMs / 1000);

  // Publishing.
  const payload = new Uint8Array(o.payloadBytes);
  const closeSome = async (fraction: number) => {
    const k = Math.floor(fraction * n);
    const order = [...live].sort((a, b) => deriveSeed(o.seed, 3000 + a) - deriveSeed(o.seed, 3000 + b));
    for (const i of order.slice(0, k)) {
      live.delete(i);
      await nodes[i].close({ leave: false });
    }
    return k;
  };
  let closed = 0;
  if (o.closeAfterTree > 0) {
    for (let k = 0; k < 5; k++) {
      nodes[[...live][randomBelow(rng, live.size)]].publish("bench", new Uint8Array(o.payloadBytes).fill(1)); // byte 2 is 1: warm-up
      await sleep(200);
    }
    await sleep(1000);
  }
  if (o.close > 0) closed += await closeSome(o.close);
  if (o.closeAfterTree > 0) closed += await closeSome(o.closeAfterTree);
  await sleep(200);
  const stats = () => {
    let copies = 0;
    let ihaveIds = 0;
    let grafts = 0;
    for (const i of live) {
      // The topic's own tree (a scope); the mesh-wide tree carries nothing here.
      const s = nodes[i].engine.scope(BENCH_SCOPE)!.broadcast!.stats;
      copies += s.payloadsReceived;
      ihaveIds += s.ihaveIdsSent;
      grafts += s.graftsSent;
    }
    return { copies, ihaveIds, grafts };
  };
  const liveTraffic = () => [...live].reduce((s, i) => s + nodes[i].traffic().bytesOut, 0);
  note(`publishing ${o.messages} messages at ${o.ratePerSecond}/s`);
  const s0 = stats();
  const pubFrames0 = framesOut();
  bytes0 = liveTraffic();
  cpu0 = process.cpuUsage();
  const publishT0 = performance.now();
  const loop2 = new LoopDelay(5);
  loop2.enable();
  const gap = 1000 / o.ratePerSecond;
  const pubStart = performance.now();
  for (let k = 0; k < o.messages; k++) {
    await sleep(Math.max(0, pubStart + k * gap - performance.now()));
    const ids = [...live];
    payload[0] = k & 255;
    payload[1] = k >> 8;
    nodes[ids[randomBelow(rng, ids.length)]].publish("bench", payload);
  }
  const want = o.messages * (live.size - 1);
  const drainBy = performance.now() + 15_000;
  while (deliveries < want && performance.now() < drainBy) await sleep(20);
  await sleep(200);
  loop2.disable();
  cpu = process.cpuUsage(cpu0);
  const publishMs = performance.now() - publishT0;
  const s1 = stats();
  const wire = liveTraffic() - bytes0;
  // Closed nodes' counters stand still, so this is what the live ones sent.
  const pubFrames = framesOut() - pubFrames0;
  const to50: number[] = [];
  const to99: number[] = [];
  const toAll: number[] = [];
  const others = live.size - 1;
  for (const [id, t0m] of firstAt) {
    const a = (arrivals.get(id) ?? []).sort((x, y) => x - y);
    const at = (q: number) => a[Math.ceil(q * others) - 1];
    if (a.length >= Math.ceil(0.5 * others)) to50.push(at(0.5) - t0m);
    if (a.length >= Math.ceil(0.99 * others)) to99.push(at(0.99) - t0m);
    if (a.length >= others) toAll.push(a[others - 1] - t0m);
  }
  const backend = o.nodeCrypto ? "node:crypto" : "webcrypto";
  const rawBy = { webcrypto: await rawVerifyMicros("webcrypto"), "node:crypto": await rawVerifyMicros("node:crypto") };
  const raw = rawBy[backend];
  const keyCheck = keyCheckMicros();
  const cpuPerDelivery = ((cpu.user + cpu.system) / Math.max(1, deliveries));
  // idleCpu is ms of CPU per s; over publishMs ms that is idleCpu × publishMs µs.
  const cpuAboveIdle = Math.max(0, cpu.user + cpu.system - idleCpu * publishMs) / Math.max(1, deliveries);
  clearInterval(rssTimer);
  await shutDown([...live].map((i) => nodes[i]), servers);
  // With the mesh closed, so the floor carries nothing else.
  note("idle floor (bare WebSockets)");
  const floorCpu = await socketFloorCpu(idleFrames, idleFrames > 0 ? idleBytes / idleFrames : 0, edges.size, Math.min(o.idleMs, 10_000));
  note("publishing floor (bare WebSockets)");
  const pubFloorCpu = await socketFloorCpu(pubFrames / (publishMs / 1000), pubFrames > 0 ? wire / pubFrames : 0, edges.size, Math.min(publishMs, 10_000));
  // ms per s over publishMs ms is pubFloorCpu × publishMs µs.
  const deliveryFloor = raw + (pubFloorCpu * publishMs) / Math.max(1, deliveries);
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    bench: "broadcast-mesh",
    nodes: n,
    messages: o.messages,
    rate: o.ratePerSecond,
    payload_bytes: o.payloadBytes,
    seed: o.seed,
    closed,
    close_after_tree: o.closeAfterTree > 0,
    links: edges.size,
    connect_ms: Math.round(connectMs),
    connect_loop_delay_p99_ms: r2(connectDelayP99),
    connect_loop_delay_max_ms: r2(connectDelayMax),
    settle_ms: o.settleMs,
    probe_interval_ms: o.probeIntervalMs ?? 1000,
    idle_cpu_ms_per_s: r2(idleCpu),
    idle_cpu_ms_per_s_slices: slices.map(r2),
    idle_cpu_ms_per_s_min: r2(slices.length ? Math.min(...slices) : idleCpu),
    idle_cpu_ms_per_s_median: r2(slices.length ? median(slices) : idleCpu),
    idle_bytes_per_s: Math.round(idleBytes),
    idle_frames_per_s: r2(idleFrames),
    idle_probes_per_s: r2(idleProbes),
    idle_floor_cpu_ms_per_s: r2(floorCpu),
    idle_cpu_over_floor: r2(idleCpu / Math.max(floorCpu, 0.01)),
    delivered_fraction: Math.floor((deliveries / Math.max(1, want)) * 1e4) / 1e4,
    copies_per_delivery: r2((s1.copies - s0.copies) / Math.max(1, deliveries)),
    wire_bytes_per_delivery: Math.round(wire / Math.max(1, deliveries)),
    ihave_ids_per_delivery: r2((s1.ihaveIds - s0.ihaveIds) / Math.max(1, deliveries)),
    graft_ids: s1.grafts - s0.grafts,
    cpu_us_per_delivery: Math.round(cpuPerDelivery),
    cpu_us_per_delivery_above_idle: Math.round(cpuAboveIdle),
    crypto: backend,
    raw_verify_us: Math.round(raw),
    cpu_per_delivery_over_raw_verify: r2(cpuPerDelivery / raw),
    cpu_per_delivery_above_idle_over_raw_verify: r2(cpuAboveIdle / raw),
    delivery_floor_us: Math.round(deliveryFloor),
    delivery_frames: r2(pubFrames / Math.max(1, deliveries)),
    cpu_per_delivery_over_floor: r2(cpuPerDelivery / deliveryFloor),
    raw_verify_us_by_backend: { webcrypto: Math.round(rawBy.webcrypto), "node:crypto": Math.round(rawBy["node:crypto"]) },
    key_check_us: Math.round(keyCheck),
    key_check_over_raw_verify: r2(keyCheck / raw),
    latency_ms: {
      to_50: { p50: pct(to50, 0.5), p99: pct(to50, 0.99) },
      to_99: { p50: pct(to99, 0.5), p99: pct(to99, 0.99) },
      to_all: { p50: pct(toAll, 0.5), p99: pct(toAll, 0.99) },
    },
    loop_delay_p99_ms: r2(loop2.percentileMs(99)),
    peak_rss_mb: Math.round(peakRss / 1e6),
    wall_ms: Math.round(performance.now() - started),
  };
}
