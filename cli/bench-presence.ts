/**
 * `grapevine bench presence`: how fast presence crosses relays. One or two Node relays on loopback
 * (the second dials the first as its peer relay), N tabs in one room — Node nodes dialing over real
 * WebSockets, alternately on each relay — then M presence updates, each by a different tab, one at
 * a time: how long until every other tab saw it (and half of them), and what the relays sent for
 * it. Also the time until every tab saw every other after dialing.
 *
 * Tabs are `grapevine/lite` nodes (no membership, as a tab that counts its bytes) unless `--full`.
 *
 * @module
 */

import { createNode, type GrapevineNode, type Room } from "../mod.ts";
import { serveRelay, type ServedRelay } from "../relay/node.ts";
import { dial } from "../src/runtime/dial.ts";
import { createNode as createLiteNode } from "../src/lite/mod.ts";
import { nodeWebSocket } from "../src/transport/ws-node.ts";
import { median } from "./median.ts";

/** What one run does. */
export interface PresenceBenchOptions {
  tabs: number;
  relays: 1 | 2;
  updates: number;
  /** Tabs from the main entry (membership on) instead of `grapevine/lite`. */
  full: boolean;
  /** Gossip interval of every node and relay, ms. */
  intervalMs: number;
  /** How long a wait (everyone joined, an update seen) may take before the run fails, ms. */
  waitMaxMs?: number;
}

/** The figures, one JSON object. */
export interface PresenceBenchReport {
  bench: "presence";
  tabs: number;
  relays: number;
  full: boolean;
  interval_ms: number;
  updates: number;
  join_all_ms: number;
  /** Per update, until every other tab saw it: median and max over the updates. */
  update_to_all_ms: { p50: number; max: number };
  /** Per update, until half the other tabs saw it: median over the updates. */
  update_to_half_ms: { p50: number };
  /** Frames and bytes the relays sent, per update, while the updates ran. */
  relay_frames_per_update: number;
  relay_bytes_per_update: number;
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`bench presence: ${what} not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Runs the bench and closes everything it opened. */
export async function runPresenceBench(o: PresenceBenchOptions): Promise<PresenceBenchReport> {
  const network = `bench-presence-${process.pid}`;
  const waitMax = o.waitMaxMs ?? 60_000;
  const timing = { intervalMs: o.intervalMs };
  const relays: ServedRelay[] = [];
  const tabs: { node: GrapevineNode; room: Room<{ n: number; k: number }>; seen: Map<number, number>; synced: boolean }[] = [];
  try {
    relays.push(await serveRelay({ port: 0, network, ...timing }));
    if (o.relays === 2) relays.push(await serveRelay({ port: 0, network, ...timing, peers: [relays[0].url], WebSocket: nodeWebSocket }));
    const start = Date.now();
    for (let i = 0; i < o.tabs; i++) {
      const node = await (o.full ? createNode : createLiteNode)({ network, ...timing });
      dial(node, relays[i % relays.length].url, { WebSocket: nodeWebSocket });
      const room = node.room<{ n: number; k: number }>("bench", { presence: { n: i, k: -1 } });
      const tab = { node, room, seen: new Map<number, number>(), synced: false };
      // An update is seen as an `update`, or as a `join` for a tab that arrived with it.
      for (const type of ["update", "join"] as const) {
        room.presence.on(type, ({ entry }) => {
          if (entry.state.k >= 0 && !tab.seen.has(entry.state.k)) tab.seen.set(entry.state.k, performance.now());
        });
      }
      room.presence.on("sync", () => (tab.synced = true));
      tabs.push(tab);
    }
    // Every room's first snapshot too: what happens before it is folded into it, not an event.
    await waitFor(() => tabs.every((t) => t.synced && t.room.presence.others.length === o.tabs - 1), waitMax, "every tab seeing every other");
    const joinAllMs = Date.now() - start;
    const sent = () => relays.reduce((a, r) => ({ frames: a.frames + r.relay.node.engine.stats.framesOut, bytes: a.bytes + r.relay.node.engine.stats.bytesOut }), { frames: 0, bytes: 0 });
    const before = sent();
    const toAll: number[] = [];
    const toHalf: number[] = [];
    for (let k = 0; k < o.updates; k++) {
      const writer = (k * 7) % o.tabs;
      const at = performance.now();
      tabs[writer].room.presence.update({ k });
      const others = tabs.filter((_, i) => i !== writer);
      await waitFor(() => others.every((t) => t.seen.has(k)), waitMax, `update ${k} reaching every tab`);
      const ms = others.map((t) => t.seen.get(k)! - at).sort((a, b) => a - b);
      toAll.push(ms[ms.length - 1]);
      toHalf.push(ms[Math.floor((ms.length - 1) / 2)]);
      await new Promise((r) => setTimeout(r, 200)); // past the room's write throttle
    }
    const after = sent();
    const round = (x: number) => Math.round(x * 10) / 10;
    return {
      bench: "presence",
      tabs: o.tabs,
      relays: relays.length,
      full: o.full,
      interval_ms: o.intervalMs,
      updates: o.updates,
      join_all_ms: joinAllMs,
      update_to_all_ms: { p50: round(median(toAll)), max: round(Math.max(...toAll)) },
      update_to_half_ms: { p50: round(median(toHalf)) },
      relay_frames_per_update: round((after.frames - before.frames) / o.updates),
      relay_bytes_per_update: Math.round((after.bytes - before.bytes) / o.updates),
    };
  } finally {
    for (const t of tabs) await t.node.close().catch(() => undefined);
    for (const r of relays.reverse()) await r.close().catch(() => undefined);
  }
}
