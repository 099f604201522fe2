// Rooms and topics as swarms of their own: a node carries only the scopes it joined.
import { describe, expect, it } from "vitest";
import { toHex } from "../../src/bytes.ts";
import { frameLimitsFor } from "../../src/core/engine.ts";
import { DEFAULT_OPTIONS } from "../../src/core/options.ts";
import { scopeIdOf } from "../../src/core/scopes.ts";
import { decodeFrame, encodeFrame, FRAME, SUBSCRIBE_FLAG } from "../../src/wire/frames.ts";
import { Engine } from "../../src/core/engine.ts";
import { seededRng } from "../../src/core/random.ts";
import { dec, enc, World } from "./harness.ts";

const LIMITS = frameLimitsFor(DEFAULT_OPTIONS);
const A = scopeIdOf("room/a");
const B = scopeIdOf("room/b");

/** Scope ids (hex) of the SCOPED frames each node received. */
function tapScopes(w: World): Map<number, Set<string>> {
  const seen = new Map<number, Set<string>>();
  const inner = w.filter;
  w.filter = (from, to, bytes) => {
    if (bytes[1] === FRAME.SCOPED || (bytes[1] === 0x18 && bytes[2] === FRAME.SCOPED)) {
      const f = decodeFrame(bytes, LIMITS);
      if (f.type === FRAME.SCOPED) {
        let s = seen.get(to);
        if (!s) seen.set(to, (s = new Set()));
        s.add(toHex(f.scope));
      }
    }
    return inner(from, to, bytes);
  };
  return seen;
}

/** Nodes 0–3 in room A, 4–7 in room B, 8 (a hub, as a relay) in both; every node linked to the hub, and 3–4 across. */
async function twoRooms() {
  const w = new World(10, { intervalMs: 300, membership: false });
  for (let i = 0; i < 8; i++) w.link(i, 8);
  w.link(3, 4);
  w.link(9, 8);
  const seen = tapScopes(w);
  for (let i = 0; i < 4; i++) w.engines[i].joinScope(w.now, A);
  for (let i = 4; i < 8; i++) w.engines[i].joinScope(w.now, B);
  w.engines[8].joinScope(w.now, A);
  w.engines[8].joinScope(w.now, B);
  await w.settle();
  return { w, seen };
}

describe("scopes", () => {
  it("state and messages of a room reach its members, and no frame of it reaches anyone else", async () => {
    const { w, seen } = await twoRooms();
    w.engines[0].set(w.now, "presence", enc("ada in A"), A);
    w.engines[5].set(w.now, "presence", enc("bob in B"), B);
    w.engines[1].publishScoped(w.now, "room/a", enc("cursor A"));
    w.engines[6].publishScoped(w.now, "room/b", enc("cursor B"));
    for (let r = 0; r < 6; r++) await w.round(300);
    for (let i = 0; i < 4; i++) expect(dec(w.engines[i].scope(A)!.store.get(w.engines[0].store.selfId, "presence"))).toBe("ada in A");
    for (let i = 4; i < 8; i++) expect(dec(w.engines[i].scope(B)!.store.get(w.engines[5].store.selfId, "presence"))).toBe("bob in B");
    const got = (i: number) => w.events.filter((x) => x.node === i && x.event.type === "message").map((x) => (x.event as { message: { topic: string } }).message.topic);
    for (let i = 0; i < 4; i++) expect(got(i)).toEqual(["room/a"]);
    for (let i = 4; i < 8; i++) expect(got(i)).toEqual(["room/b"]);
    // Nodes of one room never receive a frame of the other; node 9, in none, receives none.
    for (let i = 0; i < 4; i++) expect([...(seen.get(i) ?? [])]).toEqual([toHex(A)]);
    for (let i = 4; i < 8; i++) expect([...(seen.get(i) ?? [])]).toEqual([toHex(B)]);
    expect(seen.get(9)).toBeUndefined();
    expect(w.engines[9].scope(A)).toBeUndefined();
    // The mesh-wide map is no room's business: nothing of either room is in it.
    expect(w.engines[8].store.get(w.engines[0].store.selfId, "presence")).toBeUndefined();
    expect(w.penalties()).toEqual([]);
  });

  it("a node that has not joined a topic publishes into it through a peer that has, and stays out", async () => {
    const { w, seen } = await twoRooms();
    expect(w.engines[9].publishScoped(w.now, "room/a", enc("from outside"))).toBe(true);
    for (let r = 0; r < 4; r++) await w.round(300);
    for (let i = 0; i < 4; i++) {
      expect(w.events.some((x) => x.node === i && x.event.type === "message" && dec(x.event.message.payload) === "from outside")).toBe(true);
    }
    expect(w.engines[9].scope(A)).toBeUndefined();
    expect(seen.get(9)).toBeUndefined(); // nothing of the room comes back to it
    // No one wants a topic nobody joined: nothing is sent.
    expect(w.engines[9].publishScoped(w.now, "room/nobody", enc("x"))).toBe(false);
    expect(w.penalties()).toEqual([]);
  });

  it("leaving a room takes this node's keys in it away from its peers, then the room's frames stop", async () => {
    const { w, seen } = await twoRooms();
    w.engines[2].set(w.now, "presence", enc("carol"), A);
    for (let r = 0; r < 4; r++) await w.round(300);
    const carol = w.engines[2].store.selfId;
    expect(dec(w.engines[0].scope(A)!.store.get(carol, "presence"))).toBe("carol");
    w.engines[2].leaveScope(w.now, A);
    for (let r = 0; r < 4; r++) await w.round(300);
    expect(w.engines[0].scope(A)!.store.get(carol, "presence") ?? null).toBeNull();
    expect(w.engines[2].scope(A)).toBeUndefined();
    seen.get(2)?.clear();
    w.engines[0].set(w.now, "presence", enc("still here"), A);
    for (let r = 0; r < 4; r++) await w.round(300);
    expect(seen.get(2)?.size ?? 0).toBe(0);
    // Coming back is a new generation of its map in the room: peers take it.
    w.engines[2].joinScope(w.now, A);
    w.engines[2].set(w.now, "presence", enc("carol again"), A);
    for (let r = 0; r < 6; r++) await w.round(300);
    expect(dec(w.engines[0].scope(A)!.store.get(carol, "presence"))).toBe("carol again");
    expect(w.penalties()).toEqual([]);
  });

  it("each join's map takes a generation above every earlier join's (any room), with no record kept a room", async () => {
    // A relay joins the rooms its clients name: thousands of names come and go, and what it keeps
    // of them must not grow with each. Generations come from one counter and the clock instead.
    const { w } = await twoRooms();
    const e = w.engines[8]; // in both rooms
    const gen = (id: Uint8Array) => (e.scope(id)!.store as unknown as { generation: number }).generation;
    const first = gen(A);
    const seen = [first, gen(B)];
    for (let i = 0; i < 2000; i++) {
      const room = scopeIdOf(`room/churn-${i}`);
      e.joinScope(w.now, room);
      seen.push(gen(room));
      e.leaveScope(w.now, room);
      w.now += i % 100 === 0 ? 1000 : 0; // the clock moves now and then: no generation goes back
      e.tick(w.now);
    }
    e.leaveScope(w.now, A);
    w.now += 10_000;
    e.tick(w.now);
    e.joinScope(w.now, A);
    seen.push(gen(A));
    for (let i = 1; i < seen.length; i++) if (seen[i] <= seen[i - 1]) throw new Error(`generation ${seen[i]} after ${seen[i - 1]} (join ${i})`);
    expect(gen(A)).toBeGreaterThan(first + 10_000);
    expect(w.penalties()).toEqual([]);
  });

  it("a signed root of one room replayed into another is refused and its sender penalised", async () => {
    const { w } = await twoRooms();
    w.engines[0].set(w.now, "presence", enc("ada"), A);
    const captured: Uint8Array[] = [];
    const inner = w.filter;
    w.filter = (from, to, bytes) => {
      if (from === 0 && bytes.includes(FRAME.SCOPED)) captured.push(bytes);
      return inner(from, to, bytes);
    };
    for (let r = 0; r < 3; r++) await w.round(300);
    let delta: Uint8Array | undefined;
    for (const b of captured) {
      const f = decodeFrame(b, LIMITS);
      if (f.type === FRAME.SCOPED && f.frame[1] === FRAME.DELTA) delta = f.frame;
    }
    expect(delta).toBeDefined();
    // Node 8 (in both rooms) replays room A's delta as if it were room B's, to node 5.
    w.engines[5].receive(w.now, 8, encodeFrame({ type: FRAME.SCOPED, scope: B, frame: delta! }));
    await w.settle();
    expect(w.penalties(5).map((p) => p.code)).toEqual(["WIRE_SHAPE"]);
    expect(w.engines[5].scope(B)!.store.get(w.engines[0].store.selfId, "presence")).toBeUndefined();
  });

  it("a peer wanting more scopes than scopesPerLinkMax, or changing them faster than allowed, is penalised", async () => {
    const w = new World(2, { intervalMs: 300, membership: false, scopesPerLinkMax: 4, subscriptionChangesPerSecondMax: 2 });
    w.link(0, 1);
    await w.settle();
    const ids = Array.from({ length: 6 }, (_, i) => scopeIdOf(`t${i}`));
    w.engines[1].receive(w.now, 0, encodeFrame({ type: FRAME.SUBSCRIBE, flags: 0, add: ids.slice(0, 4), remove: [] }));
    await w.settle();
    expect(w.penalties(1)).toEqual([]); // within both
    w.engines[1].receive(w.now, 0, encodeFrame({ type: FRAME.SUBSCRIBE, flags: 0, add: [ids[4]], remove: [] }));
    await w.settle();
    expect(w.penalties(1).map((p) => p.code)).toEqual(["WIRE_LIMIT"]);
    for (let k = 0; k < 6; k++) w.engines[1].receive(w.now, 0, encodeFrame({ type: FRAME.SUBSCRIBE, flags: 0, add: [], remove: [ids[k % 4]] }));
    await w.settle();
    expect(w.penalties(1).map((p) => p.code)).toContain("STATE_CAP_EXCEEDED");
  });

  it("this node keeps to its peers' subscription budget: many rooms joined at once are announced over time", async () => {
    const w = new World(2, { intervalMs: 300, membership: false, subscriptionChangesPerSecondMax: 5, scopesPerLinkMax: 64 });
    w.link(0, 1);
    await w.settle();
    const ids = Array.from({ length: 40 }, (_, i) => scopeIdOf(`room/${i}`));
    for (const id of ids) w.engines[0].joinScope(w.now, id);
    for (const id of ids) w.engines[1].joinScope(w.now, id);
    for (let t = 0; t < 40; t++) await w.round(100);
    expect(w.penalties()).toEqual([]);
    for (const id of ids) expect(w.engines[0].scope(id)!.links).toBe(1);
  });

  it("a node that took a link over after a restart asks the peer what it wants, and is told at once; asks past the budget go unanswered", async () => {
    const w = new World(2, { intervalMs: 300, membership: false });
    w.link(0, 1);
    w.engines[1].joinScope(w.now, A);
    await w.settle();
    expect(w.engines[0].scope(A)).toBeUndefined();
    // Node 0 restarts on the same transport (a hibernated relay): a fresh engine, the link adopted.
    w.engines[0] = new Engine({ publicKey: w.keys[0].publicKey, generation: 2, random: seededRng(7), now: w.now, options: { intervalMs: 300, membership: false } });
    w.engines[0].linkUp(w.now, 1, w.keys[1].publicKey, true);
    const before = w.events.length;
    await w.settle();
    const interest = w.events.slice(before).filter((x) => x.node === 0 && x.event.type === "interest");
    expect(interest.map((x) => toHex((x.event as { scope: Uint8Array }).scope))).toEqual([toHex(A)]);
    // A peer asking without pause gets at most the change budget's worth of answers.
    const sent: number[] = [];
    w.filter = (from, _to, bytes) => (from === 1 && bytes[1] === 0x18 && bytes[2] === FRAME.SUBSCRIBE && sent.push(bytes.length), true);
    const ask = encodeFrame({ type: FRAME.SUBSCRIBE, flags: SUBSCRIBE_FLAG.RESET | SUBSCRIBE_FLAG.ASK, add: [], remove: [] });
    for (let k = 0; k < 1000; k++) w.engines[1].receive(w.now, 0, ask);
    await w.settle();
    // Answered while the budget lasts (a burst of its depth), then not: 1,000 asks buy far fewer answers.
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.length).toBeLessThanOrEqual(Math.max(2 * DEFAULT_OPTIONS.subscriptionChangesPerSecondMax, DEFAULT_OPTIONS.scopesPerLinkMax));
  });

  it("a node's farewell deletes its keys in every scope it joined, not only the mesh-wide ones", async () => {
    const { w } = await twoRooms();
    w.engines[0].set(w.now, "presence", enc("ada"), A);
    for (let r = 0; r < 4; r++) await w.round(300);
    expect(dec(w.engines[1].scope(A)!.store.get(w.engines[0].store.selfId, "presence"))).toBe("ada");
    w.engines[0].leave(w.now);
    for (let r = 0; r < 4; r++) await w.round(300);
    expect(w.engines[1].scope(A)!.store.get(w.engines[0].store.selfId, "presence") ?? null).toBeNull();
    const deleted = w.events.filter((x) => x.node === 1 && x.event.type === "change" && x.event.change.key === "presence" && x.event.change.value === null);
    expect(deleted.length).toBe(1);
  });

  it("storeBytesMax bounds the state held across the mesh-wide map and every scope together", async () => {
    const limits = { storeBytesMax: 16_384, originBytesMax: 2048, valueBytesMax: 1024, intervalMs: 300, membership: false };
    const w = new World(7, limits);
    for (let i = 1; i < 7; i++) w.link(0, i);
    for (let i = 0; i < 7; i++) w.engines[i].joinScope(w.now, A), w.engines[i].joinScope(w.now, B);
    await w.settle();
    // Six writers, each filling its own map in the mesh and in both rooms: 18 maps of ~1.9 KB of
    // leaves, each counted at what it takes in memory (about 5.6 KB): two or three fit.
    for (let i = 1; i < 7; i++) {
      for (const scope of [undefined, A, B]) {
        w.engines[i].set(w.now, "a", new Uint8Array(900).fill(i), scope);
        w.engines[i].set(w.now, "b", new Uint8Array(900).fill(i), scope);
      }
    }
    for (let r = 0; r < 12; r++) await w.round(300);
    const held = w.engines[0].store.heldBytes + w.engines[0].scope(A)!.store.heldBytes + w.engines[0].scope(B)!.store.heldBytes;
    expect(held).toBeGreaterThan(limits.storeBytesMax / 2); // it took what fits
    expect(held).toBeLessThanOrEqual(limits.storeBytesMax + limits.originBytesMax + limits.valueBytesMax);
    // Leaving a room gives its bytes back: room for others again.
    w.engines[0].leaveScope(w.now, A);
    for (let r = 0; r < 4; r++) await w.round(300);
    expect(w.engines[0].scope(A)).toBeUndefined();
    expect(w.engines[0].store.heldBytes + w.engines[0].scope(B)!.store.heldBytes).toBeLessThanOrEqual(limits.storeBytesMax + limits.originBytesMax + limits.valueBytesMax);
  });

  it("a member that left takes its keys in every scope with it, even when its scoped farewell never went out", async () => {
    const w = new World(3, { intervalMs: 300, probeIntervalMs: 300, probeTimeoutMs: 150 });
    w.link(0, 1);
    w.link(0, 2);
    for (let i = 0; i < 3; i++) w.engines[i].joinScope(w.now, A);
    await w.settle();
    w.engines[1].set(w.now, "presence", enc("here"), A);
    for (let r = 0; r < 6; r++) await w.round(300);
    const id1 = w.engines[1].store.selfId;
    expect(dec(w.engines[0].scope(A)!.store.get(id1, "presence"))).toBe("here");
    // Node 1 closes: its membership farewell gets out, nothing of its scopes does (a tab closing).
    const inner = w.filter;
    w.filter = (from, to, bytes) => !(from === 1 && bytes[1] === 0x18 && bytes[2] === FRAME.SCOPED) && inner(from, to, bytes);
    w.engines[1].leave(w.now);
    for (let r = 0; r < 6; r++) await w.round(300);
    expect(w.engines[0].membership.stateOf(id1)).toBe("left");
    expect(w.engines[0].scope(A)!.store.get(id1, "presence")).toBeUndefined(); // a newcomer gets nothing of it
    expect(w.engines[2].scope(A)!.store.get(id1, "presence")).toBeUndefined();
    expect(w.penalties()).toEqual([]);
  });
});
