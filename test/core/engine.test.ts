import { frameLimitsFor } from "../../src/core/engine.ts";
import { DEFAULT_OPTIONS } from "../../src/core/options.ts";
import { describe, expect, it } from "vitest";
import { DELTA_FLAG, DIGEST_FLAG, encodeFrame, FRAME } from "../../src/wire/frames.ts";
import { encode } from "../../src/wire/cbor.ts";
import { dec, enc, World } from "./harness.ts";

describe("engine: two and more nodes", () => {
  for (const mode of ["push", "pull", "pushpull"] as const) {
    it(`converges in ${mode} mode`, async () => {
      const w = new World(4, { mode, antiEntropyEveryRounds: 2 });
      for (let a = 0; a < 3; a++) w.link(a, a + 1); // a line: 0-1-2-3
      w.engines[0].set(w.now, "greeting", enc("hello"));
      w.engines[3].set(w.now, "status", enc("online"));
      await w.settle();
      for (let r = 0; r < 12; r++) await w.round();
      for (let i = 0; i < 4; i++) {
        expect(w.get(i, 0, "greeting")).toBe("hello");
        expect(w.get(i, 3, "status")).toBe("online");
      }
      expect(w.penalties()).toEqual([]);
    });
  }

  it("a new link learns the state at once, without waiting for a round", async () => {
    const w = new World(2);
    w.engines[0].set(0, "k", enc("v"));
    await w.settle();
    w.link(0, 1);
    await w.settle();
    expect(w.get(1, 0, "k")).toBe("v");
  });

  it("newest version wins per key, deletes propagate as tombstones", async () => {
    const w = new World(3);
    w.linkAll();
    w.engines[0].set(0, "k", enc("one"));
    await w.settle();
    w.engines[0].set(0, "k", enc("two"));
    w.engines[0].set(0, "gone", enc("soon"));
    await w.round();
    w.engines[0].delete(w.now, "gone");
    for (let r = 0; r < 5; r++) await w.round();
    for (let i = 1; i < 3; i++) {
      expect(w.get(i, 0, "k")).toBe("two");
      expect(w.get(i, 0, "gone")).toBeNull();
    }
    const changes = w.events.filter((x) => x.node === 1 && x.event.type === "change").map((x) => x.event.type === "change" && dec(x.event.change.value));
    expect(changes).toContain("two");
  });

  it("tombstones are collected after their TTL on the origin and then on every peer", async () => {
    const w = new World(2, { tombstoneTtlMs: 5000 });
    w.linkAll();
    w.engines[0].set(0, "a", enc("1"));
    w.engines[0].set(0, "b", enc("2"));
    await w.settle();
    w.engines[0].delete(0, "a");
    for (let r = 0; r < 3; r++) await w.round();
    expect(w.engines[1].store.origins.get(w.engines[0].store.selfId)!.entries.has("a")).toBe(true); // a tombstone
    for (let r = 0; r < 8; r++) await w.round();
    const st = w.engines[1].store.origins.get(w.engines[0].store.selfId)!;
    expect(st.entries.has("a")).toBe(false);
    expect(w.get(1, 0, "b")).toBe("2");
    expect(st.complete).toBe(true);
  });

  it("a restarted node (new generation) replaces its old state everywhere", async () => {
    const w = new World(2);
    w.linkAll();
    w.engines[0].set(0, "old", enc("x"));
    await w.settle();
    expect(w.get(1, 0, "old")).toBe("x");
    const { Engine } = await import("../../src/core/engine.ts");
    const { seededRng } = await import("../../src/core/random.ts");
    w.engines[0] = new Engine({ publicKey: w.keys[0].publicKey, generation: 2, random: seededRng(9), now: w.now });
    w.engines[1].linkDown(w.now, 0);
    w.link(0, 1);
    w.engines[0].set(w.now, "new", enc("y"));
    for (let r = 0; r < 3; r++) await w.round();
    expect(w.get(1, 0, "old")).toBeUndefined();
    expect(w.get(1, 0, "new")).toBe("y");
  });

  it("a farewell empties the origin on every peer, which forgets it after leftOriginTtlMs", async () => {
    const w = new World(2, { leftOriginTtlMs: 3000 });
    w.linkAll();
    w.engines[0].set(0, "k", enc("v"));
    await w.settle();
    w.engines[0].leave(w.now);
    await w.settle();
    expect(w.get(1, 0, "k")).toBeUndefined();
    expect(() => w.engines[0].set(w.now, "k", enc("again"))).toThrow(/left/);
    for (let r = 0; r < 5; r++) await w.round();
    expect(w.engines[1].store.origins.has(w.engines[0].store.selfId)).toBe(false);
  });

  it("Merkle digest descent reconciles many origins and finds the one difference", async () => {
    // 3 origins per node are few; force the summary path with a tiny digestEntriesMax.
    const w = new World(12, { digestEntriesMax: 2, treeLeafOriginsMax: 1 });
    for (let i = 1; i < 12; i++) w.link(0, i);
    for (let i = 0; i < 12; i++) w.engines[i].set(0, "k", enc(`v${i}`));
    const types = new Map<number, number>();
    w.filter = (_f, _t, b) => (types.set(b[1], (types.get(b[1]) ?? 0) + 1), true); // b[1]: the type number
    for (let r = 0; r < 10; r++) await w.round();
    for (let i = 0; i < 12; i++) for (let o = 0; o < 12; o++) expect(w.get(i, o, "k")).toBe(`v${o}`);
    expect(types.get(FRAME.TREE) ?? 0).toBeGreaterThan(0);
    expect(w.penalties()).toEqual([]);
  });
});

describe("engine: hostile input", () => {
  async function victim() {
    const w = new World(2, { penaltyThreshold: 100 });
    w.linkAll();
    w.engines[1].set(0, "k", enc("v"));
    await w.settle();
    return w;
  }

  it("garbage bytes, oversize frames and bad shapes are penalised, never thrown", async () => {
    const w = await victim();
    const e = w.engines[0];
    e.receive(w.now, 1, new Uint8Array([0xff, 0x00, 0x13]));
    e.receive(w.now, 1, new Uint8Array(2_000_000));
    e.receive(w.now, 1, encode([FRAME.DIGEST, "not flags", [0, 0], [], null, 1]));
    await w.settle();
    expect(w.penalties(0).map((p) => p.code)).toEqual(["WIRE_MALFORMED", "WIRE_FRAME_TOO_LARGE", "WIRE_SHAPE"]);
  });

  it("an unknown frame type is ignored without penalty", async () => {
    const w = await victim();
    w.engines[0].receive(w.now, 1, encode([99, "future", { x: 1 }]));
    await w.settle();
    expect(w.penalties(0)).toEqual([]);
  });

  it("a forged value (valid signature, wrong entry) fails its proof and is penalised", async () => {
    const w = await victim();
    const delta = captureDelta(w);
    // replace the value inside the leaf: same signed root, different leaf bytes
    const { decodeLeaf, encodeLeaf } = await import("../../src/wire/records.ts");
    const o = delta.origins[0];
    const leaf = decodeLeaf(o.entries[0].leaf, 256, 1 << 14);
    o.entries[0].leaf = encodeLeaf({ ...leaf, value: enc("forged") });
    o.full = false;
    o.entries[0].proof = [];
    const w2 = new World(3);
    w2.engines[2].linkUp(0, 1, w.keys[1].publicKey);
    w2.engines[2].receive(0, 1, encodeFrame({ ...delta, origins: [o] }));
    await w2.settle();
    expect(w2.penalties(2).map((p) => p.code)).toEqual(["STATE_BAD_PROOF"]);
  });

  it("a root signed by the wrong key is rejected and penalised", async () => {
    const w = await victim();
    const delta = captureDelta(w);
    delta.origins[0].signature = new Uint8Array(64).fill(7);
    const w2 = new World(3);
    w2.engines[2].linkUp(0, 1, null);
    w2.engines[2].receive(0, 1, encodeFrame(delta));
    await w2.settle();
    expect(w2.penalties(2).map((p) => p.code)).toEqual(["CRYPTO_BAD_SIGNATURE"]);
    expect(w2.engines[2].store.origins.size).toBe(0);
  });

  it("replaying an older version after saying we hold newer is penalised as stale", async () => {
    const w = await victim();
    const old = captureDelta(w);
    w.engines[1].set(w.now, "k", enc("v2"));
    await w.settle();
    await w.round(); // node 0 learns version 2
    expect(w.get(0, 1, "k")).toBe("v2");
    // node 0 says so in its next digest; answer that digest with version 1
    let digestId = 0;
    w.filter = (from, _to, bytes) => {
      if (from === 0 && bytes[1] === FRAME.DIGEST) digestId = decodeFrame(bytes, LIMITS).type === FRAME.DIGEST ? (decodeFrame(bytes, LIMITS) as { id: number }).id : 0;
      return from !== 1; // node 1's honest answer is dropped
    };
    w.engines[0].tick(w.now + 5000);
    await w.settle();
    expect(digestId).toBeGreaterThan(0);
    w.engines[0].receive(w.now, 1, encodeFrame({ ...old, flags: 0, replyTo: digestId }));
    await w.settle();
    expect(w.penalties(0).map((p) => p.code)).toContain("STATE_STALE");
    expect(w.get(0, 1, "k")).toBe("v2");
  });

  it("two roots signed for one version are kept as evidence and the origin is distrusted: its keys go", async () => {
    const w = new World(3);
    w.link(0, 2);
    w.engines[0].set(0, "k", enc("a"));
    await w.settle();
    const first = captureDeltaFrom(w, 0, 2);
    // A second engine with the same key and generation signs a different map at the same version.
    const { Engine } = await import("../../src/core/engine.ts");
    const { seededRng } = await import("../../src/core/random.ts");
    const twin = new World(1);
    twin.keys[0] = w.keys[0];
    twin.engines[0] = new Engine({ publicKey: w.keys[0].publicKey, generation: 1, random: seededRng(5), now: 0 });
    twin.engines[0].set(0, "k", enc("b"));
    await twin.settle();
    twin.engines[0].linkUp(0, 7, null);
    let second: Uint8Array | undefined;
    for (let t; (t = twin.engines[0].pollTransmit()); ) second = t.bytes;
    expect(first).toBeDefined();
    w.engines[2].receive(w.now, 0, second!); // a digest from the twin: harmless
    const d2 = await deltaOf(twin, 0);
    w.engines[2].receive(w.now, 0, d2);
    await w.settle();
    const eq = w.events.filter((x) => x.node === 2 && x.event.type === "equivocation");
    expect(eq.length).toBe(1);
    expect(w.get(2, 0, "k")).toBeUndefined(); // no stale value is kept for an origin that lied
    expect(w.engines[2].store.distrusted(w.engines[0].store.selfId)).toBe(true);
    const deleted = w.events.filter((x) => x.node === 2 && x.event.type === "change" && x.event.change.key === "k" && x.event.change.value === null);
    expect(deleted.length).toBe(1);
  });

  it("a peer that keeps misbehaving is disconnected once its score passes the threshold", async () => {
    const w = await victim();
    for (let i = 0; i < 5; i++) w.engines[0].receive(w.now, 1, new Uint8Array([0xff]));
    await w.settle();
    const disconnects = w.events.filter((x) => x.node === 0 && x.event.type === "disconnect");
    expect(disconnects.length).toBe(1);
    expect(w.engines[0].linkScore(1)).toBeGreaterThanOrEqual(100);
  });
});

/** The full delta node 1 serves for its own origin (as answer to an empty digest). */
function captureDelta(w: World) {
  return captureDeltaFrom(w, 1, 0);
}

function captureDeltaFrom(w: World, owner: number, asker: number) {
  const e = w.engines[owner];
  e.receive(w.now, asker, encodeFrame({ type: FRAME.DIGEST, flags: DIGEST_FLAG.WANT, scope: { depth: 0, index: 0 }, rows: [], summary: null, id: 1 }));
  let frame;
  for (let t; (t = e.pollTransmit()); ) frame = t.bytes;
  // decode through the real decoder
  return decodeDelta(frame!);
}

async function deltaOf(w: World, owner: number): Promise<Uint8Array> {
  const e = w.engines[owner];
  e.receive(0, 7, encodeFrame({ type: FRAME.DIGEST, flags: DIGEST_FLAG.WANT, scope: { depth: 0, index: 0 }, rows: [], summary: null, id: 1 }));
  let frame: Uint8Array | undefined;
  for (let t; (t = e.pollTransmit()); ) frame = t.bytes;
  return frame!;
}

import { decodeFrame, type DeltaFrame } from "../../src/wire/frames.ts";
const LIMITS = frameLimitsFor(DEFAULT_OPTIONS);
function decodeDelta(bytes: Uint8Array): DeltaFrame {
  const f = decodeFrame(bytes, LIMITS);
  if (f.type !== FRAME.DELTA) throw new Error("not a delta");
  return { ...f, flags: f.flags & ~DELTA_FLAG.RUMOR };
}

describe("engine: backpressure", () => {
  it("a congested link is not picked for gossip rounds until it drains", async () => {
    const w = new World(3, { fanout: 2 });
    w.link(0, 1);
    w.link(0, 2);
    await w.settle();
    w.engines[0].setLinkCongested(w.now, 2, true);
    const sentTo = new Set<number>();
    // Gossip-round frames only: membership probes still go (failure detection must not stop).
    w.filter = (from, to, bytes) => (from === 0 && bytes[1] < 8 && sentTo.add(to), true);
    for (let r = 0; r < 5; r++) await w.round();
    expect([...sentTo]).toEqual([1]);
    w.engines[0].setLinkCongested(w.now, 2, false);
    for (let r = 0; r < 3; r++) await w.round();
    expect(sentTo.has(2)).toBe(true);
  });
});
