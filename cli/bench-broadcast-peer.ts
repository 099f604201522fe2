/**
 * One process of `grapevine bench broadcast`: hosts several peers that dial the relay, subscribe to
 * the bench topic, publish at a fixed rate inside the measured window, and print one JSON line of
 * what they saw (per-message latencies, deliveries, duplicates, CPU time) when done.
 *
 * @module
 */

import { createNode, dial, type GrapevineNode } from "../mod.ts";
import { nodeWebSocket } from "../src/transport/ws-node.ts";

interface PeerConfig {
  relayUrl: string;
  peers: number;
  process: number;
  ratePerPeer: number;
  startAt: number;
  durationMs: number;
  drainMs: number;
  payloadBytes: number;
}

const cfg = JSON.parse(process.argv[2]) as PeerConfig;
const nodes: GrapevineNode[] = [];
const seen = new Map<string, number>(); // "process:peer:seq" → latest latency seen (ms) = time to the last of our peers
let deliveries = 0;
for (let p = 0; p < cfg.peers; p++) {
  const node = await createNode({ network: "bench", intervalMs: 1000 });
  node.subscribe("bench", (m) => {
    if (m.local) return;
    deliveries++;
    const payload = m.payload as { k: string; t: number };
    const latency = Date.now() - payload.t;
    seen.set(payload.k, Math.max(seen.get(payload.k) ?? 0, latency));
  });
  dial(node, cfg.relayUrl, { WebSocket: nodeWebSocket, backoffMinMs: 100 });
  nodes.push(node);
}
const readyBy = Date.now() + 20_000;
while (nodes.some((n) => n.linkCount === 0) && Date.now() < readyBy) await new Promise((r) => setTimeout(r, 20));
console.log(JSON.stringify({ ready: true, process: cfg.process }));

await new Promise((r) => setTimeout(r, Math.max(0, cfg.startAt - Date.now())));
const cpuStart = process.cpuUsage();
const filler = "x".repeat(Math.max(0, cfg.payloadBytes - 40));
let published = 0;
const end = cfg.startAt + cfg.durationMs;
const gap = 1000 / cfg.ratePerPeer;
await Promise.all(nodes.map(async (node, p) => {
  let next = cfg.startAt + Math.random() * gap;
  for (let seq = 0; ; seq++) {
    if (next >= end) break;
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    node.publish("bench", { k: `${cfg.process}:${p}:${seq}`, t: Date.now(), f: filler });
    published++;
    next += gap;
  }
}));
await new Promise((r) => setTimeout(r, cfg.drainMs));
const cpu = process.cpuUsage(cpuStart);
const duplicates = nodes.reduce((s, n) => s + n.engine.broadcast!.stats.duplicates, 0);
const payloads = nodes.reduce((s, n) => s + n.engine.broadcast!.stats.payloadsReceived, 0);
console.log(JSON.stringify({
  process: cfg.process,
  published,
  deliveries,
  duplicates,
  payloads,
  cpu_ms: (cpu.user + cpu.system) / 1000,
  latencies: [...seen.entries()],
}));
await Promise.all(nodes.map((n) => n.close({ leave: false })));
process.exit(0);
