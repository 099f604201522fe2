// Strangers (src/core/strangers.ts): the maps nothing else vouches for (every scope map; the
// mesh-wide map of a node running no membership) carry ROOT_FLAG_RENEWS and are renewed every
// quarter of strangerOriginTtlMs; every node forgets an origin that no link leads to and that
// signed nothing newer for strangerOriginTtlMs if its last root carries the flag, or if nothing
// vouches for it either (in a scope; mesh-wide, no member of a node's table that is not full);
// and, where no member table vouches for an unflagged mesh-wide map, once its peers' digests have
// lacked it twice, a quarter of the TTL apart (not remembered: any copy brings it back).
import { describe, expect, it } from "vitest";
import { toHex } from "../../src/bytes.ts";
import { DELTA_FLAG, DIGEST_FLAG, encodeFrame, FRAME, SUBSCRIBE_FLAG } from "../../src/wire/frames.ts";
import { ROOT_FLAG_RENEWS } from "../../src/wire/records.ts";
import { attachAttacker, fullOriginDelta, outsiderKey } from "../adversarial/helpers.ts";
import { scopeIdOf } from "../../src/core/scopes.ts";
import { dec, enc, World } from "./harness.ts";

const TTL = 8000;

/** Bytes over the link between nodes 0 and 1 (a relay and its tab) in the next `ms` of rounds. */
async function bytesOver(w: World, ms: number): Promise<number> {
  let bytes = 0;
  const pass = w.filter;
  w.filter = (from, to, b) => {
    const ok = pass(from, to, b);
    if (ok && from + to === 1) bytes += b.length;
    return ok;
  };
  for (let t = 0; t < ms; t += 500) await w.round(500);
  w.filter = pass;
  return bytes;
}

describe("strangers", () => {
  it("a node running no membership renews each map it wrote every quarter of the TTL: a new root, same entries, no change events", async () => {
    const w = new World(2, { membership: false, strangerOriginTtlMs: TTL });
    w.link(0, 1);
    w.engines[0].set(w.now, "k", enc("v"));
    await w.settle();
    for (let r = 0; r < 3; r++) await w.round(500);
    const version = () => w.engines[0].store.self.root!.fields.version;
    const v0 = version();
    const changesAt1 = () => w.events.filter((x) => x.node === 1 && x.event.type === "change").length;
    const c0 = changesAt1();
    for (let t = 0; t < 2 * TTL; t += 500) await w.round(500);
    expect(w.engines[0].store.self.root!.fields.flags & ROOT_FLAG_RENEWS).toBe(ROOT_FLAG_RENEWS); // its word that it renews
    expect(version()).toBeGreaterThanOrEqual(v0 + 7); // every TTL / 4: 8 in 2 × TTL
    expect(version()).toBeLessThanOrEqual(v0 + 9);
    expect(w.engines[1].store.origins.get(w.engines[0].store.selfId)!.root!.fields.version).toBe(version()); // renewals spread
    expect(w.get(1, 0, "k")).toBe("v");
    expect(changesAt1()).toBe(c0); // nothing changed for the application
    // A node that never wrote has nothing to renew.
    expect(w.engines[1].store.self.root).toBeFalsy();
  });

  it("a node running membership forgets a silent stranger, whether its map says it renews or not (keys minted to fill stores), keeps a linked one and one that renews; a renewal after brings it back", async () => {
    const w = new World(1, { strangerOriginTtlMs: TTL });
    const e = w.engines[0];
    const relay = attachAttacker(w, 0, 501, outsiderKey(1)); // a peer relaying others' state
    const push = async (i: number, version: number, flags = ROOT_FLAG_RENEWS) => {
      const d = await fullOriginDelta(outsiderKey(i), 1, Array.from({ length: version }, (_, k) => ({ key: `k${k}`, value: enc(`v${k}`) })), "grapevine", flags);
      relay.send(encodeFrame({ type: FRAME.DELTA, flags: DELTA_FLAG.RUMOR, replyTo: 0, origins: [d] }));
      await w.settle();
    };
    const id = (i: number) => toHex(outsiderKey(i).publicKey);
    await push(10, 1); // silent from now on
    await push(11, 1); // renews
    await push(1, 1); // the linked peer's own state
    await push(12, 1, 0); // silent, its map does not say it renews, and it is no member
    for (const i of [10, 11, 1, 12]) expect(e.store.origins.has(id(i))).toBe(true);
    let v11 = 1;
    for (let t = 0; t < 2 * TTL; t += 500) {
      await w.round(500);
      if (t % (TTL / 4) === 0) await push(11, ++v11);
    }
    expect(e.store.origins.has(id(10))).toBe(false);
    expect(e.store.origins.has(id(11))).toBe(true);
    expect(e.store.origins.has(id(1))).toBe(true); // linked here
    expect(e.store.origins.has(id(12))).toBe(false);
    const deleted = w.events.filter((x) => x.event.type === "change" && x.event.change.value === null && toHex(x.event.change.origin) === id(10));
    expect(deleted.map((x) => (x.event as { change: { key: string } }).change.key)).toEqual(["k0"]);
    // The same state again cannot bring it back (a stale copy); a newer one can.
    await push(10, 1);
    expect(e.store.origins.has(id(10))).toBe(false);
    await push(10, 2);
    expect(e.store.origins.has(id(10))).toBe(true);
    expect(w.penalties(0)).toEqual([]);
  });

  it("the sweep wakes no node running membership (an idle relay sleeps on); renewals wake a node without it", async () => {
    const withRule = new World(2, { strangerOriginTtlMs: 40 }, 3); // a sweep due every 10 ms, were it to wake the node
    const without = new World(2, { strangerOriginTtlMs: 0 }, 3);
    for (const w of [withRule, without]) {
      w.link(0, 1);
      w.engines[1].set(w.now, "k", enc("v"));
      await w.settle();
      for (let t = 0; t < 30_000; t += 1000) await w.round(1000);
    }
    expect(withRule.engines[0].nextWakeAt()).toBe(without.engines[0].nextWakeAt());
    const lite = new World(1, { membership: false, strangerOriginTtlMs: TTL });
    lite.engines[0].set(lite.now, "k", enc("v"));
    await lite.settle();
    expect(lite.engines[0].nextWakeAt()).toBeLessThanOrEqual(lite.now + TTL / 4);
  });

  it("a member's mesh-wide map (no flag) is never a stranger's; a map that says it renews goes even where the member table is full", async () => {
    const w = new World(3, { strangerOriginTtlMs: TTL });
    w.link(0, 1);
    w.link(1, 2);
    w.engines[2].set(w.now, "k", enc("v"));
    await w.settle();
    expect(w.engines[2].store.self.root!.fields.flags & ROOT_FLAG_RENEWS).toBe(0); // membership vouches for it
    for (let t = 0; t < 3 * TTL; t += 500) await w.round(500);
    expect(w.get(0, 2, "k")).toBe("v"); // node 2 is a member: not linked to 0, silent, still held
    const full = new World(2, { strangerOriginTtlMs: TTL, membersMax: 1 });
    full.link(0, 1);
    await full.settle();
    for (let r = 0; r < 4; r++) await full.round(500);
    expect(full.engines[0].membership!.known).toBe(1); // at membersMax
    const relay = attachAttacker(full, 0, 501, outsiderKey(1));
    for (const [i, flags] of [[20, ROOT_FLAG_RENEWS], [21, 0]]) {
      const d = await fullOriginDelta(outsiderKey(i), 1, [{ key: "k", value: enc("v") }], "grapevine", flags);
      relay.send(encodeFrame({ type: FRAME.DELTA, flags: DELTA_FLAG.RUMOR, replyTo: 0, origins: [d] }));
    }
    await full.settle();
    for (let t = 0; t < 2 * TTL; t += 500) await full.round(500);
    expect(full.engines[0].store.origins.has(toHex(outsiderKey(20).publicKey))).toBe(false);
    expect(full.engines[0].store.origins.has(toHex(outsiderKey(21).publicKey))).toBe(true);
  });

  it("in a scope a silent map goes whether it says it renews or not (a tab too): keys minted to fill a room's store are not held for good", async () => {
    const ROOM = scopeIdOf("room/minted");
    for (const membership of [true, false]) {
      const w = new World(1, { membership, strangerOriginTtlMs: TTL });
      const e = w.engines[0];
      e.joinScope(w.now, ROOM);
      const relay = attachAttacker(w, 0, 501, outsiderKey(1));
      relay.send(encodeFrame({ type: FRAME.SUBSCRIBE, flags: SUBSCRIBE_FLAG.RESET, add: [ROOM], remove: [] }));
      await w.settle();
      for (const [i, flags] of [[30, ROOT_FLAG_RENEWS], [31, 0]]) {
        const d = await fullOriginDelta(outsiderKey(i), 1, [{ key: "k", value: enc("v") }], "grapevine", flags, ROOM);
        relay.send(encodeFrame({ type: FRAME.SCOPED, scope: ROOM, frame: encodeFrame({ type: FRAME.DELTA, flags: DELTA_FLAG.RUMOR, replyTo: 0, origins: [d] }) }));
      }
      await w.settle();
      const held = () => [30, 31].filter((i) => e.scope(ROOM)!.store.origins.has(toHex(outsiderKey(i).publicKey)));
      expect(held(), `membership ${membership}`).toEqual([30, 31]);
      for (let t = 0; t < 2 * TTL; t += 500) await w.round(500);
      expect(held(), `membership ${membership}`).toEqual([]);
      expect(w.penalties(0)).toEqual([]);
    }
  });

  it("in a room, a tab that vanished is forgotten by the relay and by the other tabs, whose digests then match the relay's again; live writers, a relay's own map too, are kept", async () => {
    const ROOM = scopeIdOf("room/strangers");
    /** A relay (node 0, running membership) and tabs 1 … n − 1 (no membership) as its clients, all in ROOM; the relay writes there too. */
    const room = async (n: number) => {
      const w = new World(n, (i) => ({ membership: i === 0, strangerOriginTtlMs: TTL }));
      for (let t = 1; t < n; t++) w.link(0, t, t);
      for (const e of w.engines) e.joinScope(w.now, ROOM);
      for (let i = 0; i < n; i++) w.engines[i].set(w.now, "p", enc(`node ${i}`), ROOM);
      await w.settle();
      for (let r = 0; r < 20; r++) await w.round(1000);
      return w;
    };
    const holds = (w: World, at: number, origin: number) => w.engines[at].scope(ROOM)!.store.origins.has(w.engines[origin].store.selfId);
    const w = await room(4);
    for (const at of [0, 1, 2]) expect(holds(w, at, 3)).toBe(true);
    const relayVersion = () => w.engines[0].scope(ROOM)!.store.self.root!.fields.version;
    const relayAt = relayVersion();
    // Tab 3 vanishes: no farewell, its link gone, nothing from it again.
    w.filter = (from, to) => from !== 3 && to !== 3;
    w.engines[0].linkDown(w.now, 3);
    for (let t = 0; t < 2 * TTL; t += 500) await w.round(500);
    for (const at of [0, 1, 2]) expect(holds(w, at, 3), `node ${at}`).toBe(false);
    for (const at of [1, 2]) {
      const deleted = w.events.filter((x) => x.node === at && x.event.type === "change" && x.event.change.value === null && toHex(x.event.change.origin) === w.engines[3].store.selfId);
      expect(deleted.length, `node ${at}`).toBe(1);
    }
    // The live writers, the relay included (it renews its room map, though it runs membership), stay.
    for (let t = 0; t < 2 * TTL; t += 500) await w.round(500);
    const roomValue = (at: number, origin: number) => dec(w.engines[at].scope(ROOM)!.store.get(w.engines[origin].store.selfId, "p"));
    for (const at of [0, 1, 2]) for (const origin of [0, 1, 2]) expect(roomValue(at, origin), `${at} holds ${origin}`).toBe(`node ${origin}`);
    // The relay renews its room map too (it runs membership, but a room has no member table): 16
    // quarters of the TTL have passed.
    expect(relayVersion() - relayAt).toBeGreaterThanOrEqual(14);
    // The relay and tab 1 now exchange what a room that never had tab 3 does: before, the tab's
    // digest listed tab 3 where the relay's did not, and the two never matched again.
    const never = await room(3);
    for (let t = 0; t < 4 * TTL; t += 500) await never.round(500);
    const after = await bytesOver(w, 2 * TTL);
    const baseline = await bytesOver(never, 2 * TTL);
    expect(after).toBeLessThanOrEqual(baseline * 1.1);
    expect(w.penalties()).toEqual([]);
  });

  it("mesh-wide, a tab that vanished is forgotten by the other tabs too (its map says it renews); a member's map, linked to no tab, is kept", async () => {
    // 0: a relay; 1–3: tabs, its clients; 4: a server node running membership, linked to the relay.
    const w = new World(5, (i) => ({ membership: i === 0 || i === 4, strangerOriginTtlMs: TTL }));
    for (const t of [1, 2, 3]) w.link(0, t, t);
    w.link(0, 4);
    for (let i = 0; i < 5; i++) w.engines[i].set(w.now, "m", enc(`node ${i}`));
    await w.settle();
    for (let r = 0; r < 20; r++) await w.round(1000);
    for (const at of [0, 1, 2, 4]) for (const origin of [1, 3, 4]) expect(w.get(at, origin, "m"), `${at} holds ${origin}`).toBe(`node ${origin}`);
    w.filter = (from, to) => from !== 3 && to !== 3;
    w.engines[0].linkDown(w.now, 3);
    for (let t = 0; t < 4 * TTL; t += 500) await w.round(500);
    for (const at of [0, 1, 2, 4]) expect(w.get(at, 3, "m"), `node ${at}`).toBeUndefined();
    for (const at of [0, 1, 2, 4]) for (const origin of [0, 1, 2, 4]) expect(w.get(at, origin, "m"), `${at} holds ${origin}`).toBe(`node ${origin}`);
    expect(w.penalties()).toEqual([]);
  });

  /** 0: a relay; 1, 2: tabs, its clients (no membership); 3: a server node (a member) linked to the relay only; all write mesh-wide. */
  const serverMesh = async (n = 4) => {
    const w = new World(n, (i) => ({ membership: i === 0 || i === 3, strangerOriginTtlMs: TTL, deadMemberTtlMs: 5000 }));
    for (let t = 1; t < Math.min(n, 3); t++) w.link(0, t, t);
    if (n > 3) w.link(0, 3);
    for (let i = 0; i < n; i++) w.engines[i].set(w.now, "m", enc(`node ${i}`));
    await w.settle();
    for (let r = 0; r < 20; r++) await w.round(1000);
    return w;
  };

  it("mesh-wide, a member that crashed is let go by the tabs once the relay has collected it (their digests then match the relay's again); a silent live member is kept", async () => {
    const w = await serverMesh();
    for (const at of [0, 1, 2]) expect(w.get(at, 3, "m"), `${at} holds 3`).toBe("node 3");
    // The server crashes: no farewell, its link gone. The relay's membership finds it dead and collects it.
    w.filter = (from, to) => from !== 3 && to !== 3;
    w.engines[0].linkDown(w.now, 3);
    let collectedAt = -1;
    for (let t = 0; t < 60_000 && collectedAt < 0; t += 500) {
      await w.round(500);
      if (w.get(0, 3, "m") === undefined) collectedAt = w.now;
    }
    expect(collectedAt).toBeGreaterThan(0);
    for (const at of [1, 2]) expect(w.get(at, 3, "m"), `tab ${at}, just after`).toBe("node 3"); // only the relay's word so far
    for (let t = 0; t < TTL; t += 500) await w.round(500);
    for (const at of [0, 1, 2]) expect(w.get(at, 3, "m"), `node ${at}`).toBeUndefined();
    for (const at of [1, 2]) {
      const deleted = w.events.filter((x) => x.node === at && x.event.type === "change" && x.event.change.value === null && toHex(x.event.change.origin) === w.engines[3].store.selfId);
      expect(deleted.length, `tab ${at}`).toBe(1);
    }
    for (const at of [0, 1, 2]) for (const origin of [0, 1, 2]) expect(w.get(at, origin, "m"), `${at} holds ${origin}`).toBe(`node ${origin}`);
    // The relay and tab 1 now exchange what a mesh that never had the server does: before, the
    // tabs' digests listed it where the relay's did not, and they never matched again.
    const never = await serverMesh(3);
    for (let t = 0; t < 60_000; t += 500) await never.round(500);
    const after = await bytesOver(w, 2 * TTL);
    const baseline = await bytesOver(never, 2 * TTL);
    expect(after).toBeLessThanOrEqual(baseline * 1.1);
    expect(w.penalties()).toEqual([]);
  });

  it("a peer that says it lacks a member's map gets it let go at a tab only as its word (never remembered): an honest relay brings it back, and a member table that holds it keeps it", async () => {
    const w = await serverMesh();
    const liar = attachAttacker(w, 1, 501, outsiderKey(1)); // linked to tab 1: every digest of its lacks everything
    const server = w.engines[3].store.selfId;
    const deletions = () => w.events.filter((x) => x.node === 1 && x.event.type === "change" && x.event.change.value === null && toHex(x.event.change.origin) === server).length;
    let id = 1;
    let missing = 0;
    for (let t = 0; t < 4 * TTL; t += 500) {
      liar.send(encodeFrame({ type: FRAME.DIGEST, flags: DIGEST_FLAG.WANT, scope: { depth: 0, index: 0 }, rows: [], summary: null, id: id++ }));
      await w.round(500);
      if (w.get(1, 3, "m") === undefined) missing++;
    }
    // Let go at most once a TTL (a copy brought back is not silent again for the TTL), and brought back by the relay at its next exchange.
    expect(deletions()).toBeGreaterThanOrEqual(1); // the rule ran: the liar was the tab's peer too
    expect(deletions()).toBeLessThanOrEqual(4);
    expect(missing).toBeLessThanOrEqual(2 * deletions());
    for (let r = 0; r < 4 && w.get(1, 3, "m") === undefined; r++) await w.round(500);
    expect(w.get(1, 3, "m")).toBe("node 3");
    // The relay, whose member table holds the server, keeps it whatever a peer lacks.
    const liar2 = attachAttacker(w, 0, 502, outsiderKey(2));
    for (let t = 0; t < 3 * TTL; t += 500) {
      liar2.send(encodeFrame({ type: FRAME.DIGEST, flags: DIGEST_FLAG.WANT, scope: { depth: 0, index: 0 }, rows: [], summary: null, id: id++ }));
      await w.round(500);
      expect(w.get(0, 3, "m")).toBe("node 3");
    }
    expect(w.penalties()).toEqual([]); // lacking is no offence: no one is penalised, the liars neither
  });
});
