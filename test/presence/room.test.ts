// Presence over real nodes joined by in-memory links: joins, updates, the three leave reasons,
// sync snapshots, tabs grouped by user, caps, throttling and ephemeral room messages.
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryLinkPair, createNode, type GrapevineNode, type NodeOptions } from "../../mod.ts";
import type { PresenceEvent, Room } from "../../src/presence/room.ts";
import { keyPair } from "../core/harness.ts";
import { until } from "../relay/helpers.ts";
import { CarriedScopes } from "../../relay/carry.ts";
import { SILENT_LOG } from "../../relay/log.ts";
import { link, record } from "./helpers.ts";

const FAST: NodeOptions = { network: "presence", intervalMs: 50, probeIntervalMs: 100, probeTimeoutMs: 50, memberGossipIntervalMs: 20 };

const nodes: GrapevineNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close({ leave: false });
});

async function node(i: number, options: NodeOptions = {}): Promise<GrapevineNode> {
  const n = await createNode({ ...FAST, keyPair: keyPair(i), seed: i, ...options });
  nodes.push(n);
  return n;
}

/** `n` carries the rooms its peers join, as a relay does (a room's members are one swarm through it). */
function carry(n: GrapevineNode): void {
  new CarriedScopes(n, () => false, SILENT_LOG);
}

/** The first recorded event of `type`, typed as such. */
function first<S, K extends PresenceEvent<S>["type"]>(log: PresenceEvent<S>[], type: K): Extract<PresenceEvent<S>, { type: K }> {
  const e = log.find((x) => x.type === type);
  if (!e) throw new Error(`no ${type} event`);
  return e as Extract<PresenceEvent<S>, { type: K }>;
}

describe("presence", () => {
  it("sync, join, update (not leave + join) and leave with reason left", async () => {
    const a = await node(1);
    const b = await node(2);
    await link(a, b);
    const ra = a.room("r", { presence: { name: "ada" } });
    const logA = record(ra);
    await until(() => logA.some((e) => e.type === "sync"), 3000, "first sync");
    const rb = b.room("r", { presence: { name: "bob" } });
    const logB = record(rb);
    await until(() => logB.some((e) => e.type === "sync") && rb.presence.others.length === 1, 3000, "b's snapshot");
    expect(first(logB, "sync").others.map((o) => o.state)).toEqual([{ name: "ada" }]);
    await until(() => logA.some((e) => e.type === "join"), 3000, "a sees b join");
    const join = first(logA, "join").entry;
    expect(join).toMatchObject({ peer: b.id, user: b.id, state: { name: "bob" }, reach: "direct" });
    expect(ra.presence.self).toMatchObject({ peer: a.id, state: { name: "ada" }, reach: "self" });

    rb.presence.update({ name: "bobby" } as never);
    await until(() => logA.some((e) => e.type === "update"), 3000, "update");
    const up = first(logA, "update");
    expect(up.entry.state).toEqual({ name: "bobby" });
    expect(up.previous).toEqual({ name: "bob" });
    expect(logA.filter((e) => e.type === "leave")).toEqual([]);

    rb.presence.leave();
    await until(() => logA.some((e) => e.type === "leave"), 3000, "leave");
    expect(first(logA, "leave")).toMatchObject({ reason: "left", entry: { peer: b.id } });
    expect(ra.presence.others).toEqual([]);
  });

  it("a node that closes leaves with reason left at once (its signed farewell), even mid-update", async () => {
    const a = await node(3);
    const b = await node(4);
    await link(a, b);
    const ra = a.room("r", { presence: 1 });
    b.room("r", { presence: 2 });
    const log = record(ra);
    await until(() => ra.presence.others.length === 1 && log.some((e) => e.type === "sync"), 3000, "b present, synced");
    const t0 = Date.now();
    await b.close();
    await until(() => log.some((e) => e.type === "leave"), 2000, "leave within 2 s");
    expect(first(log, "leave").reason).toBe("left");
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it("a peer that stops answering leaves with reason timeout after timeoutMs, not before", async () => {
    const a = await node(5);
    const b = await node(6);
    const c = await node(7);
    carry(b);
    await link(a, b);
    await link(b, c);
    const ra = a.room("r", { presence: "a", timeoutMs: 1500 });
    c.room("r", { presence: "c" });
    const log = record(ra);
    await until(() => ra.presence.others.length === 1, 3000, "c present");
    const stopped = Date.now();
    await c.close({ leave: false }); // killed: no farewell
    nodes.splice(nodes.indexOf(c), 1);
    await until(() => log.some((e) => e.type === "leave"), 10_000, "timeout leave");
    const leave = first(log, "leave");
    expect(leave.reason).toBe("timeout");
    expect(Date.now() - stopped).toBeGreaterThanOrEqual(1500);
    expect(a.memberState(c.id)).toMatch(/suspect|dead/);
  });

  it("a member that comes back before the timeout does not flap", async () => {
    const a = await node(8);
    const b = await node(9);
    const [x, y] = createMemoryLinkPair();
    await Promise.all([a.connect(x), b.connect(y)]);
    const ra = a.room("r", { presence: "a", timeoutMs: 60_000 });
    b.room("r", { presence: "b" });
    const log = record(ra);
    await until(() => ra.presence.others.length === 1 && log.some((e) => e.type === "sync"), 3000, "b present");
    // The only link drops (a network blip): a suspects b. b comes back over a new link and refutes.
    x.close("blip");
    await until(() => a.memberState(b.id) === "suspect", 2000, "suspected");
    await link(a, b);
    await until(() => a.memberState(b.id) === "alive", 3000, "refuted");
    expect(b.engine.membership!.incarnation).toBeGreaterThan(0);
    expect(ra.presence.others.map((o) => o.peer)).toEqual([b.id]);
    expect(log.filter((e) => e.type === "leave" || e.type === "join")).toEqual([]);
  });

  it("tabs of one user are grouped by user key; entries belong to the node that signed them", async () => {
    const a = await node(10);
    const t1 = await node(11);
    const t2 = await node(12);
    await link(a, t1);
    await link(a, t2);
    const ra = a.room("doc", { presence: { me: true }, user: "alice" });
    t1.room("doc", { presence: { tab: 1 }, user: "bob" });
    t2.room("doc", { presence: { tab: 2 }, user: "bob" });
    await until(() => ra.presence.others.length === 2, 3000, "both tabs");
    const users = ra.presence.byUser();
    expect([...users.keys()].sort()).toEqual(["alice", "bob"]);
    expect(users.get("bob")!.map((e) => e.peer).sort()).toEqual([t1.id, t2.id].sort());
    // A tab's entry comes from its own signed map: it carries its own node id, whatever it claims.
    expect(ra.presence.others.find((o) => o.peer === t1.id)!.state).toEqual({ tab: 1 });
  });

  it("caps state size locally, evicts oversized or malformed remote entries", async () => {
    const a = await node(13);
    const b = await node(14);
    await link(a, b);
    const ra = a.room("r", { presence: "a", stateBytesMax: 64 });
    expect(() => ra.presence.set("x".repeat(100))).toThrow(RangeError);
    b.room("r", { presence: "small" });
    const log = record(ra);
    await until(() => ra.presence.others.length === 1, 3000, "b present");
    await until(() => log.some((e) => e.type === "sync"), 3000, "synced");
    const raw = b.scope("room/r"); // the room's key written past the room's API
    raw.set("presence", { s: "y".repeat(200), u: b.id }); // larger than a's room allows
    await until(() => log.some((e) => e.type === "leave"), 3000, "evicted");
    expect(first(log, "leave").reason).toBe("evicted");
    raw.set("presence", { s: "fine", u: b.id });
    await until(() => ra.presence.others.length === 1, 3000, "back");
  });

  it("coalesces fast updates to one write per throttle window, keeping the latest", async () => {
    const a = await node(15);
    const b = await node(16);
    await link(a, b);
    const ra = a.room("r", { presence: 0, throttleMs: 200 });
    const rb = b.room("r", { presence: "b" });
    await until(() => rb.presence.others.length === 1, 3000, "a present");
    let writes = 0;
    a.subscribe((c) => void (c.local && c.key === "presence/r" && writes++));
    for (let i = 1; i <= 20; i++) ra.presence.set(i);
    expect(ra.presence.self!.state).toBe(20); // local reads see the latest at once
    await until(() => (rb.presence.others[0]?.state as unknown) === 20, 3000, "latest state");
    expect(writes).toBeLessThanOrEqual(2);
  });

  it("room.broadcast reaches the others' subscribers, not the sender, and is not stored", async () => {
    const a = await node(17);
    const b = await node(18);
    const c = await node(19);
    carry(b);
    await link(a, b);
    await link(b, c);
    const ra = a.room("r", { user: "ann" });
    const rc = c.room("r");
    const got: unknown[] = [];
    const mine: unknown[] = [];
    rc.subscribe<{ x: number }>("cursor", (m) => got.push({ ...m }));
    ra.subscribe("cursor", (m) => mine.push(m));
    await new Promise((r) => setTimeout(r, 300));
    ra.broadcast("cursor", { x: 1 });
    ra.broadcast("cursor", { x: 2 });
    await until(() => got.length === 2, 3000, "cursor messages");
    // Broadcast does not promise order (each hop verifies messages concurrently): compare as a set.
    const byX = (m: unknown) => (m as { payload: { x: number } }).payload.x;
    expect(got.sort((p, q) => byX(p) - byX(q))).toEqual([
      { type: "cursor", payload: { x: 1 }, peer: a.id, user: "ann", verified: false },
      { type: "cursor", payload: { x: 2 }, peer: a.id, user: "ann", verified: false },
    ]);
    expect(mine).toEqual([]);
    const scope = c.scope("room/r");
    expect(scope.get("presence", a.id)).toBeUndefined(); // a never entered the room's presence
    scope.close();
    expect(ra.presence.self).toBeNull();
  });
});

describe("presence of members that membership does not know", () => {
  it("an entry whose node membership never learns of times out instead of staying for ever (its farewell never reaches here)", async () => {
    const r = await node(80);
    const a = await node(81);
    const b = await node(82, { membersMax: 1 }); // a full member table: b learns of a only through state
    carry(r);
    // b's one place goes to r, its link peer, before a exists anywhere b could hear of it (a linked
    // peer is never evicted for a newcomer), so b learns of a only through the room's state.
    await link(r, b);
    await until(() => b.memberState(r.id) === "alive", 3000, "r in b's member table");
    await link(r, a);
    const rb = b.room("x", { presence: "b", timeoutMs: 1500 });
    const log = record(rb);
    a.room("x", { presence: "a" });
    await until(() => rb.presence.others.length === 1 && log.some((e) => e.type === "sync"), 3000, "a present at b, synced");
    expect(b.memberState(a.id)).toBeUndefined();
    const closed = Date.now();
    await a.close();
    nodes.splice(nodes.indexOf(a), 1);
    // Membership here may drop a's farewell (a claim about a stranger, when a is not in its full
    // table): the entry then times out; either way it leaves, within the timeout and one sweep.
    await until(() => log.some((e) => e.type === "leave"), 5000, "leave");
    expect(first(log, "leave")).toMatchObject({ entry: { peer: a.id } });
    expect(["left", "timeout"]).toContain(first(log, "leave").reason);
    expect(Date.now() - closed).toBeLessThan(1500 + 750 + 1000); // the timeout, one sweep, slack
  });

  it("a member membership learns of soon after its state does not time out", async () => {
    const a = await node(83);
    const b = await node(84);
    await link(a, b);
    const ra = a.room("x", { presence: "a", timeoutMs: 400 });
    const log = record(ra);
    b.room("x", { presence: "b" });
    await until(() => ra.presence.others.length === 1, 3000, "b present");
    await new Promise((res) => setTimeout(res, 1000));
    expect(ra.presence.others.length).toBe(1);
    expect(log.filter((e) => e.type === "leave")).toEqual([]);
  });
});
