/**
 * The measured node of `bench first-contact` (`bench-first-contact.ts`), on a thread of its own:
 * node 0 of the run, listening on loopback (with `relay`, the package's Node relay with node 0's
 * key). On "start" it measures its event loop (delay sampled every 5 ms, busy time) until it holds
 * every node's state, and posts what it measured.
 *
 * @module
 */

import { performance } from "node:perf_hooks";
import { parentPort, workerData } from "node:worker_threads";
import type { GrapevineNode } from "../mod.ts";
import { serveRelay } from "../relay/node.ts";
import { benchNode, benchNodeOptions, holdsAll, listen, shutDown } from "./bench-mesh.ts";
import { LoopDelay } from "./loop-delay.ts";

/** What the measured node posts once it holds every node's state. */
export interface MeasuredNode {
  held_ms: number;
  loop_delay_p50_ms: number;
  loop_delay_p99_ms: number;
  loop_delay_max_ms: number;
  /** Samples of the delay (one per 5 ms of the window). */
  samples: number;
  /** This thread's busy time in the window, ms (event-loop utilisation). */
  busy_ms: number;
  links: number;
}

const { seed, nodes, relay } = workerData as { seed: number; nodes: number; relay: boolean };
const port = parentPort!;
/** The measured node and how to stop it: node 0 behind the bench's WebSocket server, or the package's Node relay with node 0's key. */
const { node, url, stop } = relay ? await servedRelay() : await listened();
node.set("up", 0);
node.subscribe("bench", () => {});

async function listened(): Promise<{ node: GrapevineNode; url: string; stop: () => Promise<void> }> {
  const node = await benchNode(seed, 0);
  const server = await listen(node);
  return { node, url: server.url, stop: () => shutDown([node], [server]) };
}

/** `serveRelay` as deployed (its server, its node:crypto checks, upgrades in turns), the per-address limits opened for N − 1 loopback clients. */
async function servedRelay(): Promise<{ node: GrapevineNode; url: string; stop: () => Promise<void> }> {
  const served = await serveRelay({ port: 0, ...benchNodeOptions(seed, 0), connectionsPerIpMax: nodes, connectionsPerIpPerSecond: 2 * nodes });
  return { node: served.relay.node, url: served.url, stop: () => served.close() };
}

port.on("message", async (m: string) => {
  if (m === "start") {
    const loop = new LoopDelay(5);
    const elu0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    loop.enable();
    while (!holdsAll(node, nodes) && performance.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 20));
    loop.disable();
    const elu = performance.eventLoopUtilization(elu0);
    const r2 = (x: number) => Math.round(x * 100) / 100;
    const report: MeasuredNode = {
      held_ms: Math.round(performance.now() - t0),
      loop_delay_p50_ms: r2(loop.percentileMs(50)),
      loop_delay_p99_ms: r2(loop.percentileMs(99)),
      loop_delay_max_ms: r2(loop.maxMs()),
      samples: loop.count(),
      busy_ms: Math.round(elu.active),
      links: node.linkCount,
    };
    port.postMessage({ measured: report, held: holdsAll(node, nodes) });
  } else if (m === "close") {
    await stop();
    port.postMessage({ closed: true });
  }
});
port.postMessage({ url });
