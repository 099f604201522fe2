// Changes that go at once, without waiting for a gossip round: a node's own change, and a change
// one of its clients sent, to every link; any change a node takes in to the clients it serves
// (`ConnectOptions.client`, a relay's tabs), mesh-wide and in a scope. What a peer sent goes on to
// other peers by rounds only (no flooding), and a client that sent a change does not get it back.
//
// Rounds are an hour apart here, so nothing below can have come by a round: every engine's round
// counter is checked to be 0.
import { describe, expect, it } from "vitest";
import { decodeFrame, DELTA_FLAG, encodeFrame, FRAME, type OriginDeltaWire } from "../../src/wire/frames.ts";
import type { EngineOptions } from "../../src/core/options.ts";
import { frameLimitsFor } from "../../src/core/limits.ts";
import { scopeIdOf } from "../../src/core/scopes.ts";
import { AT_ONCE_SPACING_MS } from "../../src/core/hot-origins.ts";
import { dec, enc, World } from "./harness.ts";
import { toHex } from "../../src/bytes.ts";
import { randomBelow, seededRng } from "../../src/core/random.ts";
import { buildRumor, type BuiltDeltas } from "../../src/core/rumor.ts";
import type { Store } from "../../src/core/store.ts";

// Rounds an hour apart, and the harness ticks only at rounds: the strangers rule (renewals every
// quarter of strangerOriginTtlMs, which a node wakes for) would see every map silent; it is off here.
const OPTIONS = { intervalMs: 3_600_000, membership: false, strangerOriginTtlMs: 0 };
const ROOM = scopeIdOf("room/at-once");

/**
 * A relay (0) serving clients 1, 2 and 3, and linked to two more nodes as peers (4 and 5: other
 * relays, say); node 6 is linked to 4 only, as a peer.
 */
async function star(): Promise<World> {
  const w = new World(7, OPTIONS, 3);
  w.now = 1;
  for (const c of [1, 2, 3]) w.link(0, c, c);
  w.link(0, 4);
  w.link(0, 5);
  w.link(4, 6);
  await w.settleDue();
  return w;
}

function rounds(w: World): number {
  return w.engines.reduce((n, e) => n + e.stats.rounds, 0);
}

function roomValue(w: World, at: number, origin: number, key: string): string | null | undefined {
  return dec(w.engines[at].scope(ROOM)!.store.get(w.engines[origin].store.selfId, key));
}

/** A rumor as built with no sharing: every delta under what is left of the budget. */
function rumorAlone(store: Store, o: EngineOptions, ids: string[], fromOf: (id: string) => number): { frame: Uint8Array; ids: string[] } | null {
  let budget = o.deltaBytesMax;
  const frameRoom = o.frameBytesMax - 1024;
  const origins: OriginDeltaWire[] = [];
  const carried: string[] = [];
  for (const id of ids) {
    const pos = store.position(id);
    if (!pos || budget <= 0 || origins.length >= o.deltaOriginsMax) continue;
    const d = store.deltaFor(id, pos.generation, fromOf(id), budget, frameRoom - (o.deltaBytesMax - budget));
    if (!d) continue;
    origins.push(d.delta);
    carried.push(id);
    budget -= d.bytes;
  }
  return origins.length ? { frame: encodeFrame({ type: FRAME.DELTA, flags: DELTA_FLAG.RUMOR, origins, replyTo: 0 }), ids: carried } : null;
}

describe("changes that go at once", () => {
  it("a client's change reaches the relay, every other client and the relay's peers without a round; the peers' peers wait for rounds", async () => {
    const w = await star();
    const deltasTo = new Map<number, number>();
    const filter = w.filter;
    w.filter = (from, to, bytes) => {
      if (from === 0 && bytes[1] === FRAME.DELTA) deltasTo.set(to, (deltasTo.get(to) ?? 0) + 1);
      return filter(from, to, bytes);
    };
    w.engines[1].set(w.now, "status", enc("online"));
    await w.settleDue();
    expect(rounds(w)).toBe(0);
    // The relay speaks for its client: one copy to each other client and each peer, none back.
    for (const i of [0, 2, 3, 4, 5]) expect(w.get(i, 1, "status"), `node ${i}`).toBe("online");
    for (const i of [2, 3, 4, 5]) expect(deltasTo.get(i), `deltas to ${i}`).toBe(1);
    expect(deltasTo.get(1)).toBeUndefined();
    // A peer pushes what a peer sent on by rounds only.
    expect(w.get(6, 1, "status")).toBeUndefined();
    for (let r = 0; r < 4 && w.get(6, 1, "status") === undefined; r++) await w.round(3_600_000);
    expect(w.get(6, 1, "status")).toBe("online");
    expect(w.penalties()).toEqual([]);
  });

  it("a node's own change goes to every link at once, clients or not", async () => {
    const w = await star();
    w.engines[0].set(w.now, "relay", enc("up"));
    await w.settleDue();
    expect(rounds(w)).toBe(0);
    for (const i of [1, 2, 3, 4, 5]) expect(w.get(i, 0, "relay"), `node ${i}`).toBe("up");
  });

  it("a change from a peer that is not a client goes on to the clients at once, not to the other peers", async () => {
    const w = await star();
    w.engines[6].set(w.now, "from", enc("peer"));
    await w.settleDue();
    expect(rounds(w)).toBe(0);
    expect(w.get(4, 6, "from")).toBe("peer"); // 6's own change, at once
    for (const i of [0, 1, 2, 3, 5]) expect(w.get(i, 6, "from"), `node ${i}`).toBeUndefined(); // 4 relays by rounds
    w.engines[4].set(w.now, "from", enc("peer"));
    await w.settleDue();
    for (const i of [0, 1, 2, 3]) expect(w.get(i, 4, "from"), `node ${i}`).toBe("peer");
    expect(w.get(5, 4, "from")).toBeUndefined();
  });

  it("in a scope: a client's presence and its farewell reach the other clients in the room at once", async () => {
    const w = await star();
    for (const i of [0, 1, 2, 3]) w.engines[i].joinScope(w.now, ROOM);
    await w.settleDue();
    w.engines[1].set(w.now, "presence", enc("ada"), ROOM);
    await w.settleDue();
    expect(rounds(w)).toBe(0);
    for (const i of [0, 2, 3]) expect(roomValue(w, i, 1, "presence"), `node ${i}`).toBe("ada");
    // A second change right after: flushes are AT_ONCE_SPACING_MS apart, so it goes that much later
    // (at the writer, then at the relay), still with no round.
    w.engines[1].set(w.now, "presence", enc("ada (away)"), ROOM);
    await w.settleDue();
    for (const i of [0, 2, 3]) expect(roomValue(w, i, 1, "presence"), `node ${i}`).toBe("ada");
    w.now += AT_ONCE_SPACING_MS;
    await w.settleDue();
    expect(roomValue(w, 0, 1, "presence")).toBe("ada (away)");
    w.now += AT_ONCE_SPACING_MS;
    await w.settleDue();
    for (const i of [2, 3]) expect(roomValue(w, i, 1, "presence"), `node ${i}`).toBe("ada (away)");
    w.engines[1].leave(w.now);
    await w.settleDue();
    expect(rounds(w)).toBe(0);
    for (const i of [0, 2, 3]) expect(roomValue(w, i, 1, "presence"), `node ${i}`).toBeUndefined();
    expect(w.penalties()).toEqual([]);
  });

  it("a client writing fast gets its relay to send each other client at most one frame per AT_ONCE_SPACING_MS, each with only what is new", async () => {
    const w = await star();
    const limits = frameLimitsFor(w.engines[0].options);
    const frames: number[] = [];
    const filter = w.filter;
    w.filter = (from, to, bytes) => {
      if (from === 0 && to === 2 && bytes[1] === FRAME.DELTA) {
        const f = decodeFrame(bytes, limits);
        if (f.type === FRAME.DELTA) frames.push(f.origins.reduce((n, o) => n + o.entries.length, 0));
      }
      return filter(from, to, bytes);
    };
    const start = w.now;
    for (let k = 0; k < 20; k++) {
      w.engines[1].set(w.now, `k${k}`, enc("x".repeat(100)));
      await w.settleDue();
      w.now += 5; // 200 writes a second
    }
    w.now = start + 200;
    await w.settleDue();
    expect(rounds(w)).toBe(0);
    for (let k = 0; k < 20; k++) expect(w.get(2, 1, `k${k}`)).toBe("x".repeat(100));
    // 100 ms of writes: the first frame at once, then at most one each 50 ms.
    expect(frames.length).toBeLessThanOrEqual(Math.floor(100 / AT_ONCE_SPACING_MS) + 2);
    expect(frames.length).toBeGreaterThanOrEqual(2);
    // Every write carried once: no frame resends what an earlier one had.
    expect(frames.reduce((a, b) => a + b, 0)).toBe(20);
    expect(w.penalties()).toEqual([]);
  });

  it("clients writing at once: each other client gets one frame with every writer's change, each writer the others' only, and the relay builds each change once", async () => {
    // A relay (0) serving 9 clients; 1–6 write in the same instant. Each writer lacks the five
    // other changes, each of 7–9 all six: seven different sets of the same six deltas.
    const w = new World(10, OPTIONS, 4);
    w.now = 1;
    for (let c = 1; c <= 9; c++) w.link(0, c, c);
    await w.settleDue();
    const limits = frameLimitsFor(w.engines[0].options);
    const got = new Map<number, string[][]>();
    const filter = w.filter;
    w.filter = (from, to, bytes) => {
      if (from === 0 && bytes[1] === FRAME.DELTA) {
        const f = decodeFrame(bytes, limits);
        if (f.type === FRAME.DELTA) got.set(to, [...(got.get(to) ?? []), f.origins.map((o) => toHex(o.rootBody))]);
      }
      return filter(from, to, bytes);
    };
    const store = w.engines[0].store as unknown as { deltaFor: (...a: unknown[]) => unknown };
    const deltaFor = store.deltaFor.bind(store);
    let built = 0;
    store.deltaFor = (...a: unknown[]) => (built++, deltaFor(...a));
    for (let c = 1; c <= 6; c++) w.engines[c].set(w.now, "cursor", enc(`at ${c}`));
    await w.settleDue();
    expect(rounds(w)).toBe(0);
    for (let c = 1; c <= 9; c++) {
      expect(got.get(c), `frames to ${c}`).toHaveLength(1);
      expect(got.get(c)![0], `origins to ${c}`).toHaveLength(c <= 6 ? 5 : 6);
      for (let o = 1; o <= 6; o++) expect(w.get(c, o, "cursor"), `${o} at ${c}`).toBe(`at ${o}`);
    }
    expect(built).toBe(6); // not 6 × 5 + 6 (one a set)
    expect(w.penalties()).toEqual([]);
  });

  it("rumors that share built deltas are the very frames built alone, budgets that cut them short included", async () => {
    // Six origins of 1–6 entries each at node 0; rumors of random sets of them, under budgets from
    // one entry to all: built sharing one map, against each delta built for its own rumor under
    // what is left of the budget.
    const w = new World(7, OPTIONS, 6);
    w.now = 1;
    for (let c = 1; c <= 6; c++) w.link(0, c, c);
    await w.settleDue();
    for (let c = 1; c <= 6; c++) for (let k = 0; k < c; k++) w.engines[c].set(w.now, `k${k}`, enc("v".repeat(40 * c)));
    await w.settleDue();
    const store = w.engines[0].store as unknown as Store;
    const ids = w.engines.slice(1).map((e) => e.store.selfId);
    const rng = seededRng(8);
    let cut = 0; // deltas cut short to fit what was left of a budget
    for (const deltaBytesMax of [200, 700, 1_500, 4_000, 65_536]) {
      const options = { ...w.engines[0].options, deltaBytesMax };
      const fromOf = (id: string) => (ids.indexOf(id) % 3 === 0 ? 0 : 2);
      const shared: BuiltDeltas = new Map();
      for (let t = 0; t < 40; t++) {
        const set = ids.filter(() => randomBelow(rng, 10) < 6);
        const alone = rumorAlone(store, options, set, fromOf);
        const sharing = buildRumor(store, options, set, () => true, fromOf, shared);
        expect(sharing?.ids, `budget ${deltaBytesMax}, try ${t}`).toEqual(alone?.ids);
        const f = alone && decodeFrame(alone.frame, frameLimitsFor(options));
        if (f?.type === FRAME.DELTA) f.origins.forEach((o, i) => (cut += o.through < store.position(alone!.ids[i])!.version ? 1 : 0));
        if (alone) expect(toHex(sharing!.frame), `budget ${deltaBytesMax}, try ${t}`).toBe(toHex(alone.frame));
      }
    }
    expect(cut).toBeGreaterThan(20);
  });

  it("a mesh without clients relays by rounds only: a relayed change is not pushed on at once", async () => {
    // A line 0 – 1 – 2: node 0 writes; 1 has it at once (0's own change), 2 only after a round of 1.
    const w = new World(3, OPTIONS, 5);
    w.now = 1;
    w.link(0, 1);
    w.link(1, 2);
    await w.settleDue();
    w.engines[0].set(w.now, "k", enc("v"));
    await w.settleDue();
    expect(rounds(w)).toBe(0);
    expect(w.get(1, 0, "k")).toBe("v");
    expect(w.get(2, 0, "k")).toBeUndefined();
    for (let r = 0; r < 3 && w.get(2, 0, "k") === undefined; r++) await w.round(3_600_000);
    expect(w.get(2, 0, "k")).toBe("v");
  });
});
