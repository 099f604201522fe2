// Strangers (src/core/strangers.ts): a node running no membership renews its maps every quarter of
// strangerOriginTtlMs; a node running membership forgets the state of origins it holds no member
// record of, no link leads to, and that signed nothing newer for strangerOriginTtlMs.
import { describe, expect, it } from "vitest";
import { toHex } from "../../src/bytes.ts";
import { DELTA_FLAG, encodeFrame, FRAME } from "../../src/wire/frames.ts";
import { attachAttacker, fullOriginDelta, outsiderKey } from "../adversarial/helpers.ts";
import { enc, World } from "./harness.ts";

const TTL = 8000;

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
    expect(version()).toBeGreaterThanOrEqual(v0 + 7); // every TTL / 4: 8 in 2 × TTL
    expect(version()).toBeLessThanOrEqual(v0 + 9);
    expect(w.engines[1].store.origins.get(w.engines[0].store.selfId)!.root!.fields.version).toBe(version()); // renewals spread
    expect(w.get(1, 0, "k")).toBe("v");
    expect(changesAt1()).toBe(c0); // nothing changed for the application
    // A node that never wrote has nothing to renew.
    expect(w.engines[1].store.self.root).toBeFalsy();
  });

  it("a node running membership forgets a silent stranger, keeps a linked one and one that renews, and a renewal after brings it back", async () => {
    const w = new World(1, { strangerOriginTtlMs: TTL });
    const e = w.engines[0];
    const relay = attachAttacker(w, 0, 501, outsiderKey(1)); // a peer relaying others' state
    const push = async (i: number, version: number) => {
      const d = await fullOriginDelta(outsiderKey(i), 1, Array.from({ length: version }, (_, k) => ({ key: `k${k}`, value: enc(`v${k}`) })));
      relay.send(encodeFrame({ type: FRAME.DELTA, flags: DELTA_FLAG.RUMOR, replyTo: 0, origins: [d] }));
      await w.settle();
    };
    const id = (i: number) => toHex(outsiderKey(i).publicKey);
    await push(10, 1); // silent from now on
    await push(11, 1); // renews
    await push(1, 1); // the linked peer's own state
    for (const i of [10, 11, 1]) expect(e.store.origins.has(id(i))).toBe(true);
    let v11 = 1;
    for (let t = 0; t < 2 * TTL; t += 500) {
      await w.round(500);
      if (t % (TTL / 4) === 0) await push(11, ++v11);
    }
    expect(e.store.origins.has(id(10))).toBe(false);
    expect(e.store.origins.has(id(11))).toBe(true);
    expect(e.store.origins.has(id(1))).toBe(true); // linked here
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

  it("a member's state is never a stranger's, and a full member table forgets none", async () => {
    const w = new World(3, { strangerOriginTtlMs: TTL });
    w.link(0, 1);
    w.link(1, 2);
    w.engines[2].set(w.now, "k", enc("v"));
    await w.settle();
    for (let t = 0; t < 3 * TTL; t += 500) await w.round(500);
    expect(w.get(0, 2, "k")).toBe("v"); // node 2 is a member: not linked to 0, silent, still held
    const full = new World(2, { strangerOriginTtlMs: TTL, membersMax: 1 });
    full.link(0, 1);
    await full.settle();
    for (let r = 0; r < 4; r++) await full.round(500);
    expect(full.engines[0].membership!.known).toBe(1); // at membersMax
    const relay = attachAttacker(full, 0, 501, outsiderKey(1));
    const d = await fullOriginDelta(outsiderKey(20), 1, [{ key: "k", value: enc("v") }]);
    relay.send(encodeFrame({ type: FRAME.DELTA, flags: DELTA_FLAG.RUMOR, replyTo: 0, origins: [d] }));
    await full.settle();
    for (let t = 0; t < 2 * TTL; t += 500) await full.round(500);
    expect(full.engines[0].store.origins.has(toHex(outsiderKey(20).publicKey))).toBe(true);
  });
});
