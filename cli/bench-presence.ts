/**
 * `grapevine bench presence`: how fast presence crosses relays. One or two Node relays on loopback
 * (the second dials the first as its peer relay), N tabs in one room — Node nodes dialing over real
 * WebSockets, alternately on each relay — then M steps, in each of which K tabs (`--writers`, by
 * default one) update their presence at the same moment: how long until every other tab saw each
 * update (and half of them), what the relays sent for it, and the time the relays' engines took
 * per step (handling frames, flushes and rounds; their signature checks run on the thread pool and
 * are not in it). Also the time until every tab saw every other after dialing.
 *
 * Tabs are `grapevine/lite` nodes (no membership, as a tab that counts its bytes) unless `--full`.
 *
 * Memory: the process's heap after a full GC once every tab saw every other, and again after the
 * updates, and the growth per update between them — the relays' and the tabs' together, as they
 * share this process. Bounded caches fill meanwhile (signature verdicts, imported keys), so a short
 * run grows by their share; what grows without bound shows as growth that does not level off over
 * longer runs.
 *
 * Churn (`--churn N`): after the updates, N times the oldest tab leaves — every other one with its
 * farewell (`close()`), the rest vanishing (`close({ leave: false })`, a crashed tab) — and a new
 * tab takes its place; then the heap after a full GC again, its growth per departure, and what the
 * relays still hold of the departed: origins whose farewell they keep (`leftOriginTtlMs`) and
 * members that left or died (`deadMemberTtlMs`, with `--full`). Both are kept for a time, not for
 * good: a run shorter than those TTLs (10 and 5 minutes by default) sees them all.
 *
 * @module
 */

import { createNode, type GrapevineNode, type Room } from "../mod.ts";
import { serveRelay, type ServedRelay } from "../relay/node.ts";
import { dial } from "../src/runtime/dial.ts";
import { createNode as createLiteNode } from "../src/lite/mod.ts";
import { nodeWebSocket } from "../src/transport/ws-node.ts";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { median } from "./median.ts";
import { scopeIdOf } from "../src/core/scopes.ts";
import { ROOT_FLAG_LEFT } from "../src/wire/records.ts";

/** What one run does. */
export interface PresenceBenchOptions {
  tabs: number;
  relays: 1 | 2;
  updates: number;
  /** Tabs that update at the same moment in each step (default 1). */
  writers?: number;
  /** Tabs from the main entry (membership on) instead of `grapevine/lite`. */
  full: boolean;
  /** Gossip interval of every node and relay, ms. */
  intervalMs: number;
  /** How long a wait (everyone joined, an update seen) may take before the run fails, ms. */
  waitMaxMs?: number;
  /** Departures after the updates, each replaced by a new tab (default 0). */
  churn?: number;
}

/** The figures, one JSON object. */
export interface PresenceBenchReport {
  bench: "presence";
  tabs: number;
  relays: number;
  full: boolean;
  interval_ms: number;
  updates: number;
  writers: number;
  join_all_ms: number;
  /** Per update, until every other tab saw it: median and max over the updates. */
  update_to_all_ms: { p50: number; max: number };
  /** Per update, until half the other tabs saw it: median over the updates. */
  update_to_half_ms: { p50: number };
  /** Frames and bytes the relays sent, per update, while the updates ran. */
  relay_frames_per_update: number;
  relay_bytes_per_update: number;
  /** Time in the relays' engines (frames handled, ticks, checks completed) per step, ms: median and max. */
  relay_engine_ms_per_step: { p50: number; max: number };
  /** Heap after a full GC once every tab saw every other, and after the updates, MB; growth per update between them, bytes. */
  heap_after_join_mb: number;
  heap_after_updates_mb: number;
  heap_growth_bytes_per_update: number;
  churn: number;
  /** After the churn (null without): the heap after a full GC, MB, and its growth per departure since the updates, bytes. */
  heap_after_churn_mb: number | null;
  heap_growth_bytes_per_departure: number | null;
  /** What the relays hold of departed tabs after the churn: farewelled origins in the room, left or dead members. */
  relay_departed_held: { origins: number; members: number } | null;
}

/** The heap in use after a full GC, bytes (`gc` made reachable for this call, as `--expose-gc` would). */
function heapAfterGc(): number {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
  return process.memoryUsage().heapUsed;
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`bench presence: ${what} not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * Starts timing the relays' engines (the calls their nodes make: frames, ticks, completed checks);
 * returns a reader of the milliseconds spent so far.
 */
function timeEngines(relays: ServedRelay[]): () => number {
  let spent = 0;
  let depth = 0; // a call made from inside another is in the outer one's time
  for (const r of relays) {
    const engine = r.relay.node.engine as unknown as Record<"receive" | "tick" | "completeJob", (...a: unknown[]) => void>;
    for (const name of ["receive", "tick", "completeJob"] as const) {
      const call = engine[name].bind(engine);
      engine[name] = (...a: unknown[]) => {
        const t0 = performance.now();
        depth++;
        try {
          call(...a);
        } finally {
          if (--depth === 0) spent += performance.now() - t0;
        }
      };
    }
  }
  return () => spent;
}

/** What the relays hold of departed tabs: origins in the room under a farewell root, members that left or died. */
function departedHeld(relays: ServedRelay[]): { origins: number; members: number } {
  let origins = 0;
  let members = 0;
  for (const r of relays) {
    const engine = r.relay.node.engine;
    for (const st of engine.scope(scopeIdOf("room/bench"))?.store.origins.values() ?? []) if (st.root && st.root.fields.flags & ROOT_FLAG_LEFT) origins++;
    for (const m of engine.membership?.members() ?? []) if (m.state === "left" || m.state === "dead") members++;
  }
  return { origins, members };
}

/** Runs the bench and closes everything it opened. */
export async function runPresenceBench(o: PresenceBenchOptions): Promise<PresenceBenchReport> {
  const network = `bench-presence-${process.pid}`;
  const waitMax = o.waitMaxMs ?? 60_000;
  // Every tab dials from 127.0.0.1: the relays' per-address caps (made for tabs behind one NAT)
  // are raised to the room, or the bench would measure its own refusals.
  const timing = { intervalMs: o.intervalMs };
  const perAddress = { connectionsPerIpMax: o.tabs + 8, connectionsPerIpPerSecond: o.tabs + 8 };
  const relays: ServedRelay[] = [];
  const writers = o.writers ?? 1;
  if (!Number.isInteger(writers) || writers < 1 || writers > o.tabs) throw new RangeError(`bench presence: writers must be 1–${o.tabs}`);
  // An update is named by its step and its writer: step · tabs + writer.
  const tabs: { node: GrapevineNode; room: Room<{ n: number; k: number }>; seen: Map<number, number>; synced: boolean }[] = [];
  const churn = o.churn ?? 0;
  if (!Number.isInteger(churn) || churn < 0) throw new RangeError("bench presence: churn must be a whole number ≥ 0");
  try {
    relays.push(await serveRelay({ port: 0, network, ...timing, ...perAddress }));
    if (o.relays === 2) relays.push(await serveRelay({ port: 0, network, ...timing, ...perAddress, peers: [relays[0].url], WebSocket: nodeWebSocket }));
    const start = Date.now();
    const addTab = async (i: number) => {
      const node = await (o.full ? createNode : createLiteNode)({ network, ...timing });
      dial(node, relays[i % relays.length].url, { WebSocket: nodeWebSocket });
      const room = node.room<{ n: number; k: number }>("bench", { presence: { n: i, k: -1 } });
      const tab = { node, room, seen: new Map<number, number>(), synced: false };
      // An update is seen as an `update`, or as a `join` for a tab that arrived with it.
      for (const type of ["update", "join"] as const) {
        room.presence.on(type, ({ entry }) => {
          const u = entry.state.k * o.tabs + entry.state.n;
          if (entry.state.k >= 0 && !tab.seen.has(u)) tab.seen.set(u, performance.now());
        });
      }
      room.presence.on("sync", () => (tab.synced = true));
      tabs.push(tab);
      return tab;
    };
    for (let i = 0; i < o.tabs; i++) await addTab(i);
    // Every room's first snapshot too: what happens before it is folded into it, not an event.
    await waitFor(() => tabs.every((t) => t.synced && t.room.presence.others.length === o.tabs - 1), waitMax, "every tab seeing every other");
    const joinAllMs = Date.now() - start;
    const heapAfterJoin = heapAfterGc();
    const sent = () => relays.reduce((a, r) => ({ frames: a.frames + r.relay.node.engine.stats.framesOut, bytes: a.bytes + r.relay.node.engine.stats.bytesOut }), { frames: 0, bytes: 0 });
    const engineMs = timeEngines(relays);
    const before = sent();
    const toAll: number[] = [];
    const toHalf: number[] = [];
    const stepMs: number[] = [];
    for (let k = 0; k < o.updates; k++) {
      const ws = Array.from({ length: writers }, (_, j) => ((k * 7) + j) % o.tabs);
      const engine0 = engineMs();
      const at = performance.now();
      for (const w of ws) tabs[w].room.presence.update({ k });
      const updates = ws.map((w) => ({ u: k * o.tabs + w, others: tabs.filter((_, i) => i !== w) }));
      await waitFor(() => updates.every(({ u, others }) => others.every((t) => t.seen.has(u))), waitMax, `step ${k} reaching every tab`);
      for (const { u, others } of updates) {
        const ms = others.map((t) => t.seen.get(u)! - at).sort((a, b) => a - b);
        toAll.push(ms[ms.length - 1]);
        toHalf.push(ms[Math.floor((ms.length - 1) / 2)]);
      }
      await new Promise((r) => setTimeout(r, 200)); // past the room's write throttle
      stepMs.push(engineMs() - engine0);
    }
    const after = sent();
    const count = o.updates * writers;
    const heapAfterUpdates = heapAfterGc();
    const round = (x: number) => Math.round(x * 10) / 10;
    let afterChurn: Pick<PresenceBenchReport, "heap_after_churn_mb" | "heap_growth_bytes_per_departure" | "relay_departed_held"> = { heap_after_churn_mb: null, heap_growth_bytes_per_departure: null, relay_departed_held: null };
    if (churn > 0) {
      for (let i = 0; i < churn; i++) {
        const gone = tabs.shift()!;
        await gone.node.close(i % 2 === 0 ? {} : { leave: false });
        const fresh = await addTab(o.tabs + i);
        await waitFor(() => fresh.synced, waitMax, `tab ${o.tabs + i} joining`);
      }
      const heapAfterChurn = heapAfterGc();
      afterChurn = { heap_after_churn_mb: round(heapAfterChurn / 1e6), heap_growth_bytes_per_departure: Math.round((heapAfterChurn - heapAfterUpdates) / churn), relay_departed_held: departedHeld(relays) };
    }
    return {
      bench: "presence",
      tabs: o.tabs,
      relays: relays.length,
      full: o.full,
      interval_ms: o.intervalMs,
      updates: o.updates,
      writers,
      join_all_ms: joinAllMs,
      update_to_all_ms: { p50: round(median(toAll)), max: round(Math.max(...toAll)) },
      update_to_half_ms: { p50: round(median(toHalf)) },
      relay_frames_per_update: round((after.frames - before.frames) / count),
      relay_bytes_per_update: Math.round((after.bytes - before.bytes) / count),
      relay_engine_ms_per_step: { p50: round(median(stepMs)), max: round(Math.max(...stepMs)) },
      heap_after_join_mb: round(heapAfterJoin / 1e6),
      heap_after_updates_mb: round(heapAfterUpdates / 1e6),
      heap_growth_bytes_per_update: Math.round((heapAfterUpdates - heapAfterJoin) / count),
      churn,
      ...afterChurn,
    };
  } finally {
    for (const t of tabs) await t.node.close().catch(() => undefined);
    for (const r of relays.reverse()) await r.close().catch(() => undefined);
  }
}
