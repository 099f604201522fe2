/**
 * `grapevine bench first-contact`: one node's event loop while every other node of the mesh,
 * all of them keys it has never met, links up at once. The measured node runs on a thread of its
 * own (a worker: its own event loop, as a deployed node in its own process has), the N − 1 others
 * in this thread, all over real WebSockets on loopback. Two shapes:
 *
 * - `mesh`: the seeded random graph of `bench mesh` (each node dials 4–6 others; node 0 is the
 *   measured one), so the measured node meets N − 1 keys through a few links;
 * - `star`: every other node dials the measured node at once, as clients do a relay that has just
 *   started, so it runs N − 1 handshakes together and passes every node's state to every other.
 *
 * With `relay`, node 0 is the package's Node relay (`serveRelay`, as deployed: its own server,
 * `node:crypto` checks, upgrades in the thread's slice) with node 0's key.
 *
 * It reports the measured node's event-loop delay (sampled every 5 ms, less the resolution) from
 * the first dial until it holds every node's state, its busy time, and, beside it, the delay of
 * this thread, which runs the other N − 1 nodes (and opens their sockets) in one event loop: the
 * figure `bench mesh` reports as `connect_loop_delay_p99_ms`.
 *
 * @module
 */

import { performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import { WebSocket } from "ws";
import type { GrapevineNode } from "../mod.ts";
import { deriveSeed, seededRng } from "../src/core/random.ts";
import { websocketLink } from "../src/transport/websocket.ts";
import type { MeasuredNode } from "./bench-first-contact-worker.ts";
import { benchNode, holdsAll, listen, seededGraph, shutDown } from "./bench-mesh.ts";
import { LoopDelay } from "./loop-delay.ts";

/** What one run does. */
export interface FirstContactOptions {
  nodes: number;
  shape: "mesh" | "star";
  seed: number;
  /** The measured node is the package's Node relay (`serveRelay`) rather than a node behind the bench's own server. */
  relay?: boolean;
  progress?: (note: string) => void;
}

/** The report `grapevine bench first-contact` prints. */
export interface FirstContactReport {
  bench: "first-contact";
  nodes: number;
  shape: "mesh" | "star";
  seed: number;
  /** What node 0 is: a node behind the bench's WebSocket server, or the Node relay (`serveRelay`). */
  measured_kind: "node" | "relay";
  links: number;
  /** Node 0, on its own thread: from the first dial until it holds every node's state. */
  measured: MeasuredNode;
  /** This thread, running the other nodes, over the same window. */
  others_thread: { nodes: number; loop_delay_p99_ms: number; loop_delay_max_ms: number };
  /** Until every node held every node's state. */
  all_held_ms: number;
  wall_ms: number;
}

type FromWorker = { url: string } | { measured: MeasuredNode; held: boolean } | { closed: true };

/** Runs the bench. Throws where the measured node's thread cannot start (run from TypeScript sources). */
export async function runFirstContactBench(o: FirstContactOptions): Promise<FirstContactReport> {
  const started = performance.now();
  const note = o.progress ?? (() => {});
  const workerFile = new URL("./bench-first-contact-worker.js", import.meta.url);
  if (!import.meta.url.endsWith(".js")) throw new Error("bench first-contact runs from the built CLI (npm run build; npx grapevine bench first-contact)");
  const n = o.nodes;
  const worker = new Worker(workerFile, { workerData: { seed: o.seed, nodes: n, relay: o.relay ?? false } });
  const inbox: FromWorker[] = [];
  let wake: (() => void) | null = null;
  let failed: unknown = null;
  worker.on("message", (m: FromWorker) => (inbox.push(m), wake?.()));
  worker.on("error", (e) => ((failed = e), wake?.()));
  const next = async (): Promise<FromWorker> => {
    while (inbox.length === 0) {
      if (failed) throw failed;
      await new Promise<void>((r) => (wake = r));
    }
    return inbox.shift()!;
  };
  const nodes: (GrapevineNode | null)[] = [null];
  const servers: (Awaited<ReturnType<typeof listen>> | null)[] = [null];
  try {
    const first = await next();
    if (!("url" in first)) throw new Error("bench first-contact: the measured node did not start");
    for (let i = 1; i < n; i++) {
      const node = await benchNode(o.seed, i);
      node.set("up", i);
      node.subscribe("bench", () => {});
      nodes.push(node);
    }
    const urls = [first.url];
    for (let i = 1; i < n; i++) {
      const s = await listen(nodes[i]!);
      servers.push(s);
      urls.push(s.url);
    }
    const edges = o.shape === "star" ? new Set(Array.from({ length: n - 1 }, (_, i) => `0-${i + 1}`)) : seededGraph(seededRng(deriveSeed(o.seed, 1)), n);
    // A link with node 0 is dialed by the other end (this thread dials; the direction does not matter to state).
    const dials = [...edges].map((e) => e.split("-").map(Number)).map(([i, j]) => (i === 0 ? [j, i] : [i, j]));
    note(`linking ${n} nodes over ${dials.length} links (${o.shape})`);
    const loop = new LoopDelay(5);
    loop.enable();
    const t0 = performance.now();
    worker.postMessage("start");
    await Promise.all(dials.map(([i, j]) => nodes[i]!.connect(websocketLink(new WebSocket(urls[j]), { frameBytesMax: nodes[i]!.options.frameBytesMax }))));
    const result = await next();
    if (!("measured" in result)) throw new Error("bench first-contact: no measurement from the measured node");
    if (!result.held) throw new Error(`bench first-contact: the measured node did not hold every node's state within 120 s`);
    while (nodes.some((x) => x !== null && !holdsAll(x, n)) && performance.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 20));
    const allHeld = performance.now() - t0;
    loop.disable();
    const r2 = (x: number) => Math.round(x * 100) / 100;
    return {
      bench: "first-contact",
      nodes: n,
      shape: o.shape,
      seed: o.seed,
      measured_kind: o.relay ? "relay" : "node",
      links: dials.length,
      measured: result.measured,
      others_thread: { nodes: n - 1, loop_delay_p99_ms: r2(loop.percentileMs(99)), loop_delay_max_ms: r2(loop.maxMs()) },
      all_held_ms: Math.round(allHeld),
      wall_ms: Math.round(performance.now() - started),
    };
  } finally {
    worker.postMessage("close");
    await Promise.race([next().catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
    await worker.terminate();
    await shutDown(nodes.filter((x): x is GrapevineNode => x !== null), servers.filter((x) => x !== null));
  }
}
