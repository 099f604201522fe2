// A farewell signed ahead (`presignFarewell`): a node whose state is quiet has its farewell roots
// (mesh-wide and each scope's) signed already, so `leave` publishes and pushes them before it
// returns. A page closing in `pagehide` runs nothing asynchronous to its end: here the leaving
// node "dies" right after `leave` — only the frames it queued during the call are delivered, its
// crypto jobs never run — and its peers must still drop its keys, with no penalty. A write after
// the farewell was signed ahead makes it stale: `leave` signs anew, as before.
import { describe, expect, it } from "vitest";
import { scopeIdOf } from "../../src/core/scopes.ts";
import { decodeRootBody, ROOT_FLAG_LEFT } from "../../src/wire/records.ts";
import { dec, enc, keyPair, suite, World } from "./harness.ts";

const ROOM = scopeIdOf("room/1");

/** Three nodes linked in a triangle, node 0 with a mesh-wide key and a key in ROOM, everything settled. */
async function world(presignFarewell: boolean): Promise<World> {
  const w = new World(3, { intervalMs: 500, membership: false, presignFarewell });
  w.linkAll();
  for (let i = 0; i < 3; i++) w.engines[i].joinScope(w.now, ROOM);
  await w.settle();
  w.engines[0].set(w.now, "k", enc("v0"));
  w.engines[0].set(w.now, "presence", enc("ada"), ROOM);
  await w.settle();
  for (let r = 0; r < 3; r++) await w.round(500);
  for (const i of [1, 2]) {
    expect(w.get(i, 0, "k")).toBe("v0");
    expect(roomValue(w, i)).toBe("ada");
  }
  return w;
}

function roomValue(w: World, i: number): string | null | undefined {
  return dec(w.engines[i].scope(ROOM)!.store.get(w.engines[0].store.selfId, "presence"));
}

/** Node 0 leaves and dies at once: only what it sent during `leave` reaches its peers. Returns whether it wanted a signature. */
async function leaveAndDie(w: World): Promise<boolean> {
  const e = w.engines[0];
  e.leave(w.now);
  let wantedSignature = false;
  for (let j; (j = e.pollJob()); ) if (j.kind === "sign") wantedSignature = true;
  for (let t; (t = e.pollTransmit()); ) w.engines[t.linkId].receive(w.now, 0, t.bytes);
  const inner = w.filter;
  w.filter = (from, to, bytes) => from !== 0 && to !== 0 && inner(from, to, bytes);
  await w.settle();
  for (let r = 0; r < 3; r++) await w.round(500);
  return wantedSignature;
}

describe("farewell signed ahead", () => {
  it("leaves with the call: peers drop the node's mesh-wide and room keys though it never runs again", async () => {
    const w = await world(true);
    expect(await leaveAndDie(w)).toBe(false); // nothing left to sign
    for (const i of [1, 2]) {
      expect(w.get(i, 0, "k") ?? null, `node ${i}, mesh-wide`).toBeNull();
      expect(roomValue(w, i) ?? null, `node ${i}, room`).toBeNull();
    }
    expect(w.penalties()).toEqual([]);
  });

  it("without it, a node that dies right after leave leaves nothing behind but its state", async () => {
    const w = await world(false);
    expect(await leaveAndDie(w)).toBe(true); // the farewell waits for a signature that never comes
    for (const i of [1, 2]) {
      expect(w.get(i, 0, "k")).toBe("v0");
      expect(roomValue(w, i)).toBe("ada");
    }
  });

  it("a write after the farewell was signed ahead makes it stale: leave signs anew and the farewell still spreads", async () => {
    const w = await world(true);
    w.engines[0].set(w.now, "k", enc("v1")); // not signed yet: the farewell signed ahead is for the state before
    w.engines[0].leave(w.now);
    const jobs = [];
    for (let j; (j = w.engines[0].pollJob()); ) jobs.push(j);
    expect(jobs.some((j) => j.kind === "sign")).toBe(true);
    // Hand the jobs back: the world runs them (and everything else) as usual.
    const e = w.engines[0];
    const s = await suite();
    for (const j of jobs) if (j.kind === "sign") e.completeJob(w.now, j.id, await s.sign(keyPair(0), j.message));
    await w.settle();
    for (let r = 0; r < 3; r++) await w.round(500);
    for (const i of [1, 2]) {
      expect(w.get(i, 0, "k") ?? null).toBeNull();
      expect(roomValue(w, i) ?? null).toBeNull();
    }
    expect(w.engines[1].store.origins.get(e.store.selfId)?.root?.fields.flags).toBeTruthy(); // the left flag
    expect(w.penalties()).toEqual([]);
  });

  it("a tab leaving a busy room sends its farewell alone, even when what it just took in would fill a frame", async () => {
    // A relay (0) serving tab 1 (the one that leaves) and 40 writing tabs, each writing 8 KB: the
    // 40 changes are hot at tab 1 (it took them in from its relay) and together pass the delta
    // budget (256 KiB). Tab 1 leaves and dies: what it sent during the call must carry its
    // farewell, and only that (the relay has the rest: it sent it).
    const w = new World(42, { intervalMs: 3_600_000, membership: false, presignFarewell: true });
    w.now = 1;
    for (let c = 1; c <= 41; c++) w.link(0, c, c);
    for (const e of w.engines) e.joinScope(w.now, ROOM);
    await w.settleDue();
    w.engines[1].set(w.now, "presence", enc("ada"), ROOM);
    await w.settleDue();
    for (const batch of [[2, 21], [22, 41]]) { // two flushes of the relay: each under the budget
      for (let c = batch[0]; c <= batch[1]; c++) w.engines[c].set(w.now, "presence", enc("x".repeat(8_000)), ROOM);
      await w.settleDue();
      w.now += 200;
      await w.settleDue();
    }
    for (let c = 2; c <= 41; c++) expect(dec(w.engines[1].scope(ROOM)!.store.get(w.engines[c].store.selfId, "presence"))?.length, `tab ${c} at tab 1`).toBe(8_000);
    expect(dec(w.engines[0].scope(ROOM)!.store.get(w.engines[1].store.selfId, "presence"))).toBe("ada");
    const e = w.engines[1];
    e.leave(w.now);
    let sent = 0;
    for (let t; (t = e.pollTransmit()); ) {
      sent += t.bytes.length;
      w.engines[t.linkId].receive(w.now, 1, t.bytes);
    }
    const inner = w.filter;
    w.filter = (from, to, bytes) => from !== 1 && to !== 1 && inner(from, to, bytes);
    await w.settleDue();
    expect(w.engines[0].scope(ROOM)!.store.get(w.engines[1].store.selfId, "presence") ?? null).toBeNull();
    expect(sent).toBeLessThan(4_000); // its farewells (mesh-wide and in the room) and digests, none of the 40 × 8 KB
    expect(w.penalties()).toEqual([]);
  });

  it("signs nothing ahead for a map never written (a relay's scopes), nor again in quiet rounds", async () => {
    const s = await suite();
    const sign = s.sign;
    let signs = 0;
    s.sign = (kp, message) => (signs++, sign.call(s, kp, message));
    try {
      const w = new World(2, { intervalMs: 500, membership: false, presignFarewell: true });
      w.linkAll();
      for (const e of w.engines) e.joinScope(w.now, ROOM);
      await w.settle();
      for (let r = 0; r < 6; r++) await w.round(500);
      expect(signs).toBe(0); // nothing written, nothing signed
      w.engines[0].set(w.now, "presence", enc("ada"), ROOM);
      await w.settle();
      expect(signs).toBe(2); // the root, then its farewell ahead
      for (let r = 0; r < 6; r++) await w.round(500);
      expect(signs).toBe(2); // quiet rounds sign nothing more
    } finally {
      s.sign = sign;
    }
  });

  it("signs no farewell for a map never written: a tab that wrote only in a room says goodbye there, and its relay keeps nothing mesh-wide for it", async () => {
    const w = new World(2, { intervalMs: 500, membership: false, presignFarewell: false }); // 0 the relay, 1 the tab
    w.linkAll();
    for (const e of w.engines) e.joinScope(w.now, ROOM);
    const tab = w.engines[1];
    const tabId = tab.store.selfId;
    tab.set(w.now, "presence", enc("ada"), ROOM);
    await w.settle();
    expect(dec(w.engines[0].scope(ROOM)!.store.get(tabId, "presence"))).toBe("ada");
    tab.leave(w.now);
    const farewells: string[] = [];
    const jobs = [];
    for (let j; (j = tab.pollJob()); ) jobs.push(j);
    for (const j of jobs) {
      if (j.kind !== "sign") continue;
      const body = decodeRootBody(j.message.subarray(14 + j.message[13])); // past the signing context
      farewells.push(body.scope ? "room" : "mesh-wide");
      tab.completeJob(w.now, j.id, await (await suite()).sign(keyPair(1), j.message));
    }
    expect(farewells).toEqual(["room"]); // the mesh-wide map was never written: no root of it anywhere to take back
    await w.settle();
    for (let r = 0; r < 3; r++) await w.round(500);
    expect(w.engines[0].scope(ROOM)!.store.get(tabId, "presence") ?? null).toBeNull();
    expect(w.engines[0].store.origins.has(tabId)).toBe(false); // nothing to hold for leftOriginTtlMs
    expect(() => tab.set(w.now, "k", enc("late"))).toThrow(/left/); // closed to writes all the same
    expect(w.penalties()).toEqual([]);
  });

  it("costs one signature a quiet spell, none while writes keep coming", async () => {
    const w = new World(2, { intervalMs: 500, membership: false, presignFarewell: true });
    w.linkAll();
    const e = w.engines[0];
    const s = await suite();
    /** Runs node 0's sign jobs one by one; the kinds of root each signed. */
    const signAll = async (): Promise<string[]> => {
      const kinds: string[] = [];
      for (let j; (j = e.pollJob()); ) {
        if (j.kind !== "sign") continue;
        const body = decodeRootBody(j.message.subarray(14 + j.message[13])); // past the signing context
        kinds.push(body.flags & ROOT_FLAG_LEFT ? "farewell" : `root v${body.version}`);
        e.completeJob(w.now, j.id, await s.sign(keyPair(0), j.message));
      }
      return kinds;
    };
    e.set(w.now, "k", enc("v1")); // its root's signature pending while two more writes come
    const first = e.pollJob()!;
    if (first.kind !== "sign") throw new Error(`expected a sign job, got ${first.kind}`);
    e.set(w.now, "k", enc("v2"));
    e.set(w.now, "k", enc("v3"));
    e.completeJob(w.now, first.id, await s.sign(keyPair(0), first.message));
    expect(await signAll()).toEqual(["root v3", "farewell"]); // the farewell only once quiet
    expect(await signAll()).toEqual([]);
    e.set(w.now, "k", enc("v4"));
    expect(await signAll()).toEqual(["root v4", "farewell"]); // a new quiet spell, a new farewell
    e.leave(w.now);
    expect(await signAll()).toEqual([]); // the last one serves
    expect(e.store.self.root!.fields.flags & ROOT_FLAG_LEFT).toBeTruthy();
  });
});
