/**
 * `grapevine demo`: a live mesh on this machine. Starts a few nodes (real timers, real Ed25519,
 * in-memory links in a ring with random chords), has each write its status, and shows the overlay
 * converging: a progress line, then a JSON summary.
 *
 * @module
 */

import { performance } from "node:perf_hooks";
import { createMemoryLinkPair, createNode, type GrapevineNode } from "../mod.ts";

/** Options of the demo. */
export interface DemoOptions {
  peers: number;
  durationS: number;
  json: boolean;
  intervalMs: number;
}

/** Runs the demo; resolves with its summary. */
export async function runDemo(o: DemoOptions): Promise<Record<string, unknown>> {
  const started = performance.now();
  const nodes: GrapevineNode[] = [];
  for (let i = 0; i < o.peers; i++) nodes.push(await createNode({ network: "demo", intervalMs: o.intervalMs }));
  const links = new Set<string>();
  const join = (a: number, b: number) => {
    const key = a < b ? `${a}-${b}` : `${b}-${a}`;
    if (a === b || links.has(key)) return;
    links.add(key);
    const [la, lb] = createMemoryLinkPair();
    void nodes[a].connect(la);
    void nodes[b].connect(lb);
  };
  for (let i = 0; i < o.peers; i++) join(i, (i + 1) % o.peers); // a ring…
  for (let i = 0; i < o.peers; i++) join(i, Math.floor(Math.random() * o.peers)); // …with chords
  const wroteAt = performance.now();
  nodes.forEach((n, i) => n.set("status", { name: `peer-${i}`, mood: ["curious", "busy", "idle"][i % 3] }));
  const pairs = o.peers * o.peers;
  const known = () => nodes.reduce((s, n) => s + nodes.filter((m) => n.get("status", m.id) !== undefined).length, 0);
  let convergedAt: number | null = null;
  const deadline = performance.now() + o.durationS * 1000;
  while (performance.now() < deadline) {
    const k = known();
    if (!o.json) process.stdout.write(`\r  ${bar(k / pairs)} ${k}/${pairs} (peer, status) pairs known after ${Math.round(performance.now() - wroteAt)} ms   `);
    if (k === pairs) {
      convergedAt = performance.now();
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!o.json) process.stdout.write("\n");
  const summary = {
    peers: o.peers,
    runtimes: ["node"],
    links: links.size,
    transport: "in-memory",
    interval_ms: o.intervalMs,
    converged: convergedAt !== null,
    ms_to_converge: convergedAt === null ? null : Math.round(convergedAt - wroteAt),
    frames_sent: nodes.reduce((s, n) => s + n.engine.stats.framesOut, 0),
    wall_ms: Math.round(performance.now() - started),
  };
  await Promise.all(nodes.map((n) => n.close()));
  return summary;
}

function bar(f: number): string {
  const width = 30;
  const full = Math.round(f * width);
  return `[${"#".repeat(full)}${".".repeat(width - full)}]`;
}
