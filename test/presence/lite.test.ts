// `grapevine/lite`: nodes with only the engine parts they are given mesh with full nodes and relays
// — presence without membership or broadcast, room messages with the broadcast part alone — and a
// part left out is refused where it is needed, with a typed error, not silently.
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryLinkPair, createNode, GrapevineError, type GrapevineNode, type NodeOptions } from "../../mod.ts";
import { broadcastPart, createNode as createLiteNode, digestTreePart, exportSecretKey, keyPairFromSeedAsync, membershipPart, nodeIdToText, type LiteNodeOptions } from "../../src/lite/mod.ts";
import { DigestRows } from "../../src/core/digest-rows.ts";
import { DigestTrie } from "../../src/core/digest-tree.ts";
import { EngineCore } from "../../src/core/engine-core.ts";
import { seededRng } from "../../src/core/random.ts";
import { scopeIdOf } from "../../src/core/scopes.ts";
import type { Store } from "../../src/core/store.ts";
import { keyPairFromSeed } from "../../src/crypto/keys.ts";
import type { PresenceEvent, Room } from "../../src/presence/room.ts";
import { keyPair } from "../core/harness.ts";
import { until } from "../relay/helpers.ts";
import { CarriedScopes } from "../../relay/carry.ts";
import { SILENT_LOG } from "../../relay/log.ts";
import { FAST_TIMING, link, record } from "./helpers.ts";

const FAST: NodeOptions = { ...FAST_TIMING, network: "lite" };

const nodes: GrapevineNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close({ leave: false });
});

async function full(i: number): Promise<GrapevineNode> {
  const n = await createNode({ ...FAST, keyPair: keyPair(i), seed: i });
  nodes.push(n);
  return n;
}

async function lite(i: number, options: LiteNodeOptions = {}): Promise<GrapevineNode> {
  const n = await createLiteNode({ ...FAST, keyPair: keyPair(i), seed: i, ...options });
  nodes.push(n);
  return n;
}

/** A full node that carries the rooms its peers join, as a relay does. */
async function relay(i: number): Promise<GrapevineNode> {
  const n = await full(i);
  new CarriedScopes(n, () => false, SILENT_LOG);
  return n;
}

describe("grapevine/lite", () => {
  it("keeps a tab's identity across a reload: its secret key's text form, passed back as keyPair, is the same node", async () => {
    const seed = new Uint8Array(32).fill(9);
    const kp = await keyPairFromSeedAsync(seed, globalThis.crypto.subtle);
    expect(kp.publicKey).toEqual(keyPairFromSeed(seed).publicKey);
    const first = await createLiteNode({ ...FAST, keyPair: exportSecretKey(kp) });
    nodes.push(first);
    expect(first.id).toBe(nodeIdToText(kp.publicKey));
    // A node made without a key gets a fresh one, derived the same way.
    const fresh = await createLiteNode(FAST);
    nodes.push(fresh);
    expect(fresh.id).not.toBe(first.id);
    await expect(createLiteNode({ ...FAST, keyPair: "gvsk1.nope" })).rejects.toThrow(TypeError);
  });

  it("a node with no parts shows presence to full nodes through a relay: join, update, leave with its farewell", async () => {
    const tab = await lite(1);
    const r = await relay(2);
    const b = await full(3);
    await link(tab, r);
    await link(r, b);
    const rb = b.room("doc", { presence: { name: "bob" } });
    const log = record(rb);
    await until(() => log.some((e) => e.type === "sync"), 3000, "b's snapshot");
    const rt = tab.room<{ name: string; typing?: boolean }>("doc", { presence: { name: "ada" } });
    await until(() => log.some((e) => e.type === "join") && rt.presence.others.length === 1, 5000, "each sees the other");
    expect(rb.presence.others[0]).toMatchObject({ peer: tab.id, state: { name: "ada" } });
    expect(rt.presence.others[0]).toMatchObject({ peer: b.id, state: { name: "bob" } });
    rt.presence.update({ name: "ada", typing: true });
    await until(() => log.some((e) => e.type === "update"), 3000, "update");
    expect(log.find((e) => e.type === "update")).toMatchObject({ entry: { peer: tab.id, state: { name: "ada", typing: true } }, previous: { name: "ada" } });
    rt.close();
    await until(() => log.some((e) => e.type === "leave"), 3000, "leave");
    expect(log.find((e) => e.type === "leave")).toMatchObject({ reason: "left", entry: { peer: tab.id } });
    // No failure detection ran on the tab, and membership elsewhere never heard of it.
    expect(tab.memberState(tab.id)).toBe("alive");
    expect(tab.members()).toEqual([]);
    expect(b.memberState(tab.id)).toBeUndefined();
  });

  it("a node with no parts that vanishes without a farewell leaves after the room's timeoutMs", async () => {
    const tab = await lite(4);
    const r = await relay(5);
    const b = await full(6);
    await link(tab, r);
    await link(r, b);
    const rb = b.room("doc", { presence: "b", timeoutMs: 800 });
    const log = record(rb);
    await until(() => log.some((e) => e.type === "sync"), 3000, "b's snapshot");
    tab.room("doc", { presence: "tab", timeoutMs: 800 });
    await until(() => log.some((e) => e.type === "join"), 5000, "tab present");
    let lastWrite = 0;
    let writes = 0;
    b.on("change", (c) => void (c.origin === tab.id && ((lastWrite = Date.now()), writes++)));
    // The tab renews its entry (once timeoutMs / 3 has passed): alive and quiet, it stays, and a
    // renewal shows no update.
    await new Promise((r) => setTimeout(r, 2000));
    expect(writes).toBeGreaterThan(1);
    expect(log.map((e) => e.type)).toEqual(["sync", "join"]);
    await tab.close({ leave: false }); // killed: no farewell
    nodes.splice(nodes.indexOf(tab), 1);
    await until(() => log.some((e) => e.type === "leave"), 10_000, "timeout leave");
    expect(log.find((e) => e.type === "leave")).toMatchObject({ reason: "timeout", entry: { peer: tab.id } });
    // Counted from the last write that reached b (timers may fire a few ms early).
    expect(Date.now() - lastWrite).toBeGreaterThanOrEqual(800 - 20);
  });

  it("a full node renews its entry while a member without membership is in the room, and only then", async () => {
    const tab = await lite(14);
    const r = await relay(15);
    const b = await full(16);
    const c = await full(17);
    await link(tab, r);
    await link(r, b);
    await link(r, c);
    // Full nodes among themselves: membership speaks for them, their entries are written once.
    const rb = b.room("doc", { presence: "b", timeoutMs: 800 });
    const rc = c.room("doc", { presence: "c", timeoutMs: 800 });
    await until(() => rc.presence.others.length === 1 && rb.presence.others.length === 1, 5000, "b and c");
    const writesOf = (n: GrapevineNode, origin: string) => {
      let count = 0;
      n.addEventListener("change", (e) => void ((e as CustomEvent<{ origin: string; key: string }>).detail.origin === origin && count++));
      return () => count;
    };
    const bSeenAtC = writesOf(c, b.id);
    await new Promise((res) => setTimeout(res, 1200));
    expect(bSeenAtC()).toBe(0);
    // A tab without membership comes in: b's entry is renewed, so the tab keeps b while b is quiet.
    const rt = tab.room("doc", { presence: "tab", timeoutMs: 800 });
    const log = record(rt);
    await until(() => rt.presence.others.length === 2, 5000, "tab sees b and c");
    await new Promise((res) => setTimeout(res, 2000));
    expect(bSeenAtC()).toBeGreaterThan(0);
    expect(rt.presence.others.map((o) => o.peer).sort()).toEqual([b.id, c.id].sort());
    expect(log.filter((e) => e.type === "leave" || e.type === "update")).toEqual([]);
    // b killed: the tab has no failure detector, and b's entry stops being renewed.
    await b.close({ leave: false });
    nodes.splice(nodes.indexOf(b), 1);
    await until(() => log.some((e) => e.type === "leave"), 10_000, "b times out at the tab");
    expect(log.find((e) => e.type === "leave")).toMatchObject({ reason: "timeout", entry: { peer: b.id } });
    expect(rt.presence.others.map((o) => o.peer)).toEqual([c.id]);
  });

  it("without the broadcast part, publishing throws ENGINE_PART_MISSING; with it, room messages go both ways", async () => {
    const bare = await lite(7);
    const room = bare.room("doc");
    const refusal = (f: () => void) => {
      try {
        f();
      } catch (e) {
        return e;
      }
      return null;
    };
    for (const e of [refusal(() => room.broadcast("cursor", { x: 1 })), refusal(() => bare.publish("news", "hi"))]) {
      expect(e).toBeInstanceOf(GrapevineError);
      expect((e as GrapevineError).code).toBe("ENGINE_PART_MISSING");
    }

    const tab = await lite(8, { parts: { broadcast: broadcastPart } });
    const r = await relay(9);
    const b = await full(10);
    await link(tab, r);
    await link(r, b);
    const rt = tab.room("doc", { user: "ada", presence: "ada" });
    const rb = b.room("doc", { user: "bob", presence: "bob" });
    const atB: unknown[] = [];
    const atTab: unknown[] = [];
    rb.subscribe<{ x: number }>("cursor", (m) => atB.push(m.payload));
    rt.subscribe<{ x: number }>("cursor", (m) => atTab.push(m.payload));
    await until(() => rt.presence.others.length === 1 && rb.presence.others.length === 1, 5000, "both in the room");
    rt.broadcast("cursor", { x: 1 });
    rb.broadcast("cursor", { x: 2 });
    await until(() => atB.length === 1 && atTab.length === 1, 5000, "cursor messages");
    expect(atB).toEqual([{ x: 1 }]);
    expect(atTab).toEqual([{ x: 2 }]);
    expect(tab.members()).toEqual([]); // still no membership
  });

  it("a full node does not probe a linked peer without membership (no failed probes, no health penalty)", async () => {
    const tab = await lite(18);
    const r = await relay(19);
    const b = await full(20);
    await link(tab, r);
    await link(r, b);
    await until(() => r.memberState(b.id) === "alive", 5000, "b a member of r");
    const turns = () => r.engine.membership!.stats.probes + r.engine.membership!.stats.probesSkipped;
    const [before, probesBefore] = [turns(), r.engine.membership!.stats.probes];
    await new Promise((res) => setTimeout(res, 1500)); // 15 protocol periods
    const m = r.engine.membership!;
    // Its probe turns go to b: a probe, or passed over when b was heard from within the period.
    expect(turns() - before).toBeGreaterThan(5);
    expect(m.stats.probes - probesBefore).toBeGreaterThan(0);
    expect(m.stats.probesFailed).toBe(0);
    expect(m.stats.indirectProbes).toBe(0);
    expect(m.awareness).toBe(0);
  });

  it("membership needs its part: refused without it, run with it", async () => {
    await expect(lite(11, { membership: true })).rejects.toThrow(TypeError);
    await expect(lite(11, { parts: null as never })).rejects.toThrow(TypeError);
    const a = await lite(12, { parts: { membership: membershipPart } });
    const b = await full(13);
    await link(a, b);
    await until(() => a.memberState(b.id) === "alive" && b.memberState(a.id) === "alive", 5000, "members of each other");
    expect(a.members().map((m) => m.id)).toEqual([b.id]);
  });

  it("keeps its digest in one table unless given the trie, in every store, and meshes either way with a full node", async () => {
    const tab = await lite(14);
    const trieTab = await lite(15, { parts: { digest: digestTreePart } });
    const f = await full(16);
    for (const n of [tab, trieTab, f]) n.room("doc", { presence: { id: n.id } });
    const index = (n: GrapevineNode, scoped: boolean) => ((scoped ? n.engine.scope(scopeIdOf("room/doc"))!.store : n.engine.store) as Store).trie;
    for (const scoped of [false, true]) {
      expect(index(tab, scoped)).toBeInstanceOf(DigestRows);
      expect(index(trieTab, scoped)).toBeInstanceOf(DigestTrie);
      expect(index(f, scoped)).toBeInstanceOf(DigestTrie);
    }
    await link(tab, f);
    await link(trieTab, f);
    const others = (n: GrapevineNode) => n.room("doc").presence.others.length;
    await until(() => [tab, trieTab, f].every((n) => others(n) === 2), 5000, "everyone present everywhere");
    // The engine itself takes no default: a digest is chosen where the node is made.
    expect(() => new EngineCore({ publicKey: keyPair(17).publicKey, generation: 1, random: seededRng(1), now: 0, options: { membership: false } })).toThrow(/parts.digest/);
  });
});
