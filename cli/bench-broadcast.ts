/**
 * `grapevine bench broadcast`: what broadcast costs on real sockets and real signatures.
 *
 * - `ingest`: signed-message ingest on one core — GOSSIP frames decoded, checked, verified, validated
 *   and deduplicated by a real engine — as a ratio to the runtime's raw Ed25519 verify rate measured
 *   in the same run, with the same concurrency and one libuv thread (`UV_THREADPOOL_SIZE=1`).
 * - `sockets`: peers in separate processes, each dialing one Node relay over WebSockets on
 *   loopback, publishing at a fixed total rate: deliveries per second, latency until the last peer
 *   has a message (p50/p99), CPU ms per delivered message (peers and relay), duplicates.
 *
 * @module
 */

import { spawn, spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Engine, PROTOCOL_VERSION } from "../src/core/engine.ts";
import { seededRng } from "../src/core/random.ts";
import { signingBytes } from "../src/crypto/context.ts";
import { createSignatureSuite } from "../src/crypto/ed25519.ts";
import { keyPairFromSeed } from "../src/crypto/keys.ts";
import { encodeFrame, FRAME } from "../src/wire/frames.ts";
import { encodeMessageBody } from "../src/wire/records.ts";
import { serveRelay } from "../relay/node.ts";
import { median } from "./median.ts";

/** Options of the broadcast bench. */
export interface BroadcastBenchOptions {
  messages: number;
  peers: number;
  processes: number;
  ratePerSecond: number;
  durationS: number;
  payloadBytes: number;
  /** Told which part is running (the command draws it as a progress line). */
  progress?: (what: string) => void;
}

/** Runs both parts and returns one JSON-able report. */
export async function benchBroadcast(o: BroadcastBenchOptions): Promise<Record<string, unknown>> {
  o.progress?.(`ingest: ${o.messages} signed messages on one core`);
  const ingest = await ingestInOneThread(o.messages);
  o.progress?.(`sockets: ${o.peers} peers in ${o.processes} processes, ${o.durationS} s`);
  const sockets = await socketsBench(o);
  return { bench: "broadcast", ingest, sockets };
}

/** Re-runs the ingest part in a child with one libuv thread, so "one core" means one. */
async function ingestInOneThread(messages: number): Promise<unknown> {
  if (process.env.UV_THREADPOOL_SIZE === "1") return ingestBench(messages);
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", `import(${JSON.stringify(self)}).then(async (m) => console.log(JSON.stringify(await m.ingestBench(${messages}))))`], {
    env: { ...process.env, UV_THREADPOOL_SIZE: "1" },
    encoding: "utf8",
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`ingest bench failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

/** In-process ingest against raw verification. */
export async function ingestBench(count: number): Promise<Record<string, unknown>> {
  const subtle = globalThis.crypto.subtle;
  const suite = await createSignatureSuite({ subtle, verifiedCacheMax: 0 });
  const author = keyPairFromSeed(new Uint8Array(32).fill(9));
  const network = "bench";
  const now = Date.now();
  const frames: Uint8Array[] = [];
  const signed: { message: Uint8Array; signature: Uint8Array }[] = [];
  for (let k = 0; k < count; k++) {
    const body = encodeMessageBody({ origin: author.publicKey, topic: "tx", issuedAtMs: now, expiresAtMs: now + 60_000, nonce: k, payload: new Uint8Array(200).fill(k & 255) });
    const message = signingBytes("message", network, PROTOCOL_VERSION, body);
    const signature = await suite.sign(author, message);
    signed.push({ message, signature });
    frames.push(encodeFrame({ type: FRAME.GOSSIP, body, signature, hops: 1 }));
  }
  const concurrency = 64;
  const key = await subtle.importKey("raw", author.publicKey as Uint8Array<ArrayBuffer>, { name: "Ed25519" }, false, ["verify"]);
  // Both sides keep `concurrency` checks in flight as a stream, the way frames arrive at a node,
  // so the crypto thread never waits on a batch boundary.
  const window = async (n: number, start: (k: number) => Promise<void>) => {
    let next = 0;
    const lane = async () => {
      while (next < n) await start(next++);
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
  };
  // Raw: the runtime's own Ed25519 verify on the same signed bytes, key imported once.
  const raw = async () => {
    const t = performance.now();
    await window(count, async (k) => {
      const s = signed[k];
      if (!(await subtle.verify({ name: "Ed25519" }, key, s.signature as Uint8Array<ArrayBuffer>, s.message as Uint8Array<ArrayBuffer>))) throw new Error("raw verify failed");
    });
    return count / ((performance.now() - t) / 1000);
  };
  // Ingest: a fresh engine receives the frames from one link; decode, checks, verify, validate, dedupe.
  let duplicatesReverified = 0;
  const ingest = async (round: number) => {
    const engine = new Engine({ publicKey: keyPairFromSeed(new Uint8Array(32).fill(3 + round)).publicKey, generation: 1, random: seededRng(round), now, options: { network, seenMax: count + 10 } });
    engine.linkUp(now, 1, null);
    while (engine.pollTransmit());
    let delivered = 0;
    // The driver's part: run every job the engine asks for; validation here accepts at once.
    const pump = async (): Promise<void> => {
      const jobs = [];
      for (let j; (j = engine.pollJob()); ) jobs.push(j);
      for (let ev; (ev = engine.pollEvent()); ) if (ev.type === "message") delivered++;
      while (engine.pollTransmit());
      await Promise.all(jobs.map(async (j) => {
        const r = j.kind === "verify" ? await suite.verify(j.publicKey, j.message, j.signature) : "accept" as const;
        engine.completeJob(now, j.id, r);
        await pump();
      }));
    };
    const t = performance.now();
    await window(count, async (k) => {
      engine.receive(now, 1, frames[k]);
      await pump();
    });
    await pump();
    // Every frame once more: a duplicate must be dropped before any crypto.
    for (const f of frames) engine.receive(now, 1, f);
    for (let j; (j = engine.pollJob()); ) duplicatesReverified++;
    const rate = count / ((performance.now() - t) / 1000);
    if (delivered !== count) throw new Error(`ingest delivered ${delivered} of ${count}`);
    return rate;
  };
  // One unmeasured round of each warms the JIT; then alternate the two, three times each, so load
  // on a shared machine hits both alike; take medians.
  await raw();
  await ingest(9);
  const raws: number[] = [];
  const ingests: number[] = [];
  for (let round = 0; round < 3; round++) {
    raws.push(await raw());
    ingests.push(await ingest(round));
  }
  const rawPerSecond = median(raws);
  const ingestPerSecond = median(ingests);
  return {
    messages: count,
    concurrency,
    uv_threadpool_size: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
    backend: suite.backend,
    raw_verify_per_s: Math.round(rawPerSecond),
    ingest_per_s: Math.round(ingestPerSecond),
    ratio_ingest_to_raw: Math.round((ingestPerSecond / rawPerSecond) * 1000) / 1000,
    duplicates_reverified: duplicatesReverified,
    raw_runs_per_s: raws.map(Math.round),
    ingest_runs_per_s: ingests.map(Math.round),
    node: process.version,
  };
}

async function socketsBench(o: BroadcastBenchOptions): Promise<Record<string, unknown>> {
  const served = await serveRelay({ port: 0, network: "bench", connectionsPerIpMax: o.peers + 10, connectionsPerIpPerSecond: o.peers + 10 });
  const peerScript = fileURLToPath(new URL("./bench-broadcast-peer.js", import.meta.url));
  const perProcess = Math.ceil(o.peers / o.processes);
  const startAt = Date.now() + 4000 + o.peers * 60;
  const durationMs = o.durationS * 1000;
  const drainMs = 3000;
  const children = [];
  const results: Record<string, unknown>[] = [];
  const ready: Promise<void>[] = [];
  for (let p = 0, left = o.peers; p < o.processes && left > 0; p++, left -= perProcess) {
    const peers = Math.min(perProcess, left);
    const cfg = { relayUrl: served.url, peers, process: p, ratePerPeer: o.ratePerSecond / o.peers, startAt, durationMs, drainMs, payloadBytes: o.payloadBytes };
    const child = spawn(process.execPath, [peerScript, JSON.stringify(cfg)], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(child);
    const lines = createInterface({ input: child.stdout! });
    ready.push(new Promise((resolve) => lines.on("line", (line) => {
      const msg = JSON.parse(line);
      if (msg.ready) resolve();
      else results.push(msg);
    })));
  }
  const cpuRelay0 = process.cpuUsage();
  await Promise.all(ready);
  await Promise.all(children.map((c) => new Promise((r) => c.on("exit", r))));
  const cpuRelay = process.cpuUsage(cpuRelay0);
  const relayFrames = served.relay.node.engine.stats;
  await served.close();
  const latencies = new Map<string, number>();
  let deliveries = 0;
  let published = 0;
  let duplicates = 0;
  let peerCpu = 0;
  for (const r of results) {
    deliveries += r.deliveries as number;
    published += r.published as number;
    duplicates += r.duplicates as number;
    peerCpu += r.cpu_ms as number;
    for (const [k, l] of r.latencies as [string, number][]) latencies.set(k, Math.max(latencies.get(k) ?? 0, l));
  }
  const expected = published * (o.peers - 1);
  const toAll = [...latencies.values()].sort((a, b) => a - b);
  const q = (p: number) => (toAll.length ? toAll[Math.min(toAll.length - 1, Math.floor(p * toAll.length))] : null);
  const relayCpuMs = (cpuRelay.user + cpuRelay.system) / 1000;
  return {
    peers: o.peers,
    processes: children.length,
    transport: "WebSocket (ws) on 127.0.0.1 through one Node relay",
    rate_per_s: o.ratePerSecond,
    duration_s: o.durationS,
    payload_bytes: o.payloadBytes,
    published,
    delivered: deliveries,
    delivered_fraction: expected ? Math.round((deliveries / expected) * 10000) / 10000 : null,
    delivered_per_s: Math.round(deliveries / o.durationS),
    latency_to_all_ms_p50: q(0.5),
    latency_to_all_ms_p99: q(0.99),
    cpu_ms_per_delivered: deliveries ? Math.round(((peerCpu + relayCpuMs) / deliveries) * 1000) / 1000 : null,
    relay_cpu_ms: Math.round(relayCpuMs),
    peers_cpu_ms: Math.round(peerCpu),
    duplicates_per_delivered: deliveries ? Math.round((duplicates / deliveries) * 10000) / 10000 : null,
    relay_frames_out: relayFrames.framesOut,
  };
}
