// Snapshots with stable identity (what useSyncExternalStore needs) and room handles that share one
// presence per id on a node (what React StrictMode's mount, unmount, mount needs).
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryLinkPair, createNode, type GrapevineNode, type NodeOptions } from "../../mod.ts";
import type { PresenceEvent, Room } from "../../src/presence/room.ts";
import { keyPair } from "../core/harness.ts";
import { until } from "../relay/helpers.ts";

const FAST: NodeOptions = { network: "presence", intervalMs: 50, probeIntervalMs: 100, probeTimeoutMs: 50, memberGossipIntervalMs: 20 };

const nodes: GrapevineNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close({ leave: false });
});

async function node(i: number): Promise<GrapevineNode> {
  const n = await createNode({ ...FAST, keyPair: keyPair(i), seed: i });
  nodes.push(n);
  return n;
}

async function pair(i: number): Promise<[GrapevineNode, GrapevineNode]> {
  const a = await node(i);
  const b = await node(i + 1);
  const [x, y] = createMemoryLinkPair();
  await Promise.all([a.connect(x), b.connect(y)]);
  return [a, b];
}

function record<S>(room: Room<S>): PresenceEvent<S>[] {
  const log: PresenceEvent<S>[] = [];
  for (const type of ["sync", "join", "update", "leave"] as const) room.presence.on(type, (d) => log.push(d));
  return log;
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe("presence snapshots", () => {
  it("self, others, byUser() and getSnapshot() keep their identity until something changes, and are frozen", async () => {
    const [a, b] = await pair(40);
    const ra = a.room("s", { presence: { n: 1 } });
    const rb = b.room("s", { presence: { n: 2 } });
    await until(() => ra.presence.others.length === 1, 3000, "b present");
    const snap = ra.presence.getSnapshot();
    expect(ra.presence.others).toBe(ra.presence.others);
    expect(ra.presence.self).toBe(ra.presence.self);
    expect(ra.presence.byUser()).toBe(ra.presence.byUser());
    expect(ra.presence.getSnapshot()).toBe(snap);
    expect(snap.others).toBe(ra.presence.others);
    expect(Object.isFrozen(snap) && Object.isFrozen(snap.others) && Object.isFrozen(snap.others[0]) && Object.isFrozen(snap.self)).toBe(true);
    expect(() => (snap.users as Map<string, unknown>).set("x", [])).toThrow(TypeError);
    expect(() => (snap.others as unknown[]).push(1)).toThrow(TypeError);

    // A change to b: a new snapshot and a new entry for b; a's own entry keeps its identity.
    const selfBefore = snap.self;
    const bBefore = snap.others[0];
    let notified = 0;
    const off = ra.presence.subscribe(() => notified++);
    rb.presence.update({ n: 3 });
    await until(() => (ra.presence.others[0]?.state as { n: number }).n === 3, 3000, "update");
    const next = ra.presence.getSnapshot();
    expect(next).not.toBe(snap);
    expect(next.others[0]).not.toBe(bBefore);
    expect(next.self).toBe(selfBefore);
    expect(notified).toBeGreaterThan(0);

    // A change to self: a new self entry, b's entry unchanged.
    ra.presence.update({ n: 9 });
    const after = ra.presence.getSnapshot();
    expect(after.self!.state).toEqual({ n: 9 });
    expect(after.others[0]).toBe(next.others[0]);
    off();
    const seen = notified;
    ra.presence.update({ n: 10 });
    expect(notified).toBe(seen); // unsubscribed
  });

  it("reading is free: a thousand reads with nothing changed build nothing new", async () => {
    const [a, b] = await pair(42);
    const ra = a.room("s", { presence: 1 });
    b.room("s", { presence: 2 });
    await until(() => ra.presence.others.length === 1, 3000, "b present");
    const first = ra.presence.getSnapshot();
    const all = new Set<unknown>();
    for (let i = 0; i < 1000; i++) all.add(ra.presence.getSnapshot()).add(ra.presence.others).add(ra.presence.byUser());
    expect(all.size).toBe(3);
    expect(all.has(first)).toBe(true);
  });
});

describe("room handles", () => {
  it("two handles of one id share one presence key: peers see no leave until the last one closes", async () => {
    const [a, b] = await pair(44);
    const watch = b.room("doc", { presence: "b" });
    const log = record(watch);
    await until(() => log.some((e) => e.type === "sync"), 3000, "synced");
    const h1 = a.room("doc", { presence: { tab: "one" } });
    const h2 = a.room("doc", { presence: { tab: "two" } });
    expect(h1.presence.self).toBe(h2.presence.self); // one member, one snapshot
    await until(() => watch.presence.others.length === 1, 3000, "a present");
    h1.close();
    await tick(500);
    expect(watch.presence.others.map((o) => o.peer)).toEqual([a.id]);
    expect(log.filter((e) => e.type === "leave")).toEqual([]);
    expect(h2.presence.self).not.toBeNull();
    expect(() => h1.presence.set({ tab: "x" })).toThrow(RangeError); // a closed handle is closed
    h2.close();
    await until(() => log.some((e) => e.type === "leave"), 3000, "leave after the last handle");
    expect(log.filter((e) => e.type === "leave")).toMatchObject([{ reason: "left", entry: { peer: a.id } }]);
  });

  it("close then reopen in the same task (React StrictMode) shows peers neither a leave nor a join", async () => {
    const [a, b] = await pair(46);
    const watch = b.room("doc", { presence: "b" });
    const first = a.room("doc", { presence: { name: "ada" } });
    const log = record(watch);
    await until(() => watch.presence.others.length === 1 && log.some((e) => e.type === "sync"), 3000, "a present, synced");
    log.length = 0; // from here on, nothing
    let writes = 0;
    a.subscribe((c) => void (c.local && c.key === "presence/doc" && writes++));
    // Mount, unmount, mount: what StrictMode does with an effect that opens a room.
    first.close();
    const second = a.room("doc", { presence: { name: "ada" } });
    await tick(500);
    expect(log).toEqual([]);
    expect(writes).toBe(0); // the same state: nothing written, nothing deleted
    expect(second.presence.self!.state).toEqual({ name: "ada" });
    // The new handle gets its own first snapshot.
    const got: PresenceEvent[] = [];
    const third = a.room("doc");
    third.presence.on("sync", (d) => got.push(d));
    await until(() => got.length === 1, 2000, "sync on a later handle");
    expect(got[0]).toMatchObject({ type: "sync", others: [{ peer: b.id }] });
    third.close();
    second.close();
    await until(() => log.some((e) => e.type === "leave"), 3000, "leave after the real close");
  });

  it("leave() on one handle keeps the member in while another handle is in; events reach open handles only", async () => {
    const [a, b] = await pair(48);
    const watch = b.room("doc", { presence: "b" });
    const h1 = a.room("doc", { presence: 1 });
    const h2 = a.room("doc", { presence: 2 });
    const l1 = record(h1);
    const l2 = record(h2);
    await until(() => watch.presence.others.length === 1 && l1.some((e) => e.type === "sync") && l2.some((e) => e.type === "sync"), 3000, "both synced");
    h1.presence.leave();
    await tick(300);
    expect(watch.presence.others.length).toBe(1);
    h1.close();
    watch.presence.update("b2");
    await until(() => l2.some((e) => e.type === "update"), 3000, "h2 hears the update");
    expect(l1.some((e) => e.type === "update")).toBe(false);
    h2.presence.leave();
    await until(() => watch.presence.others.length === 0, 3000, "left with the last one");
  });

  it("a later handle must agree on the user and the authority", async () => {
    const a = await node(50);
    const h = a.room("doc", { user: "ann" });
    expect(() => a.room("doc", { user: "bob" })).toThrow(RangeError);
    expect(() => a.room("doc", { authority: a.id })).toThrow(RangeError);
    expect(a.room("doc").user).toBe("ann");
    h.close();
  });
});
