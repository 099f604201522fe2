import { describe, expect, it } from "vitest";
import { GrapevineError } from "../../src/errors.ts";
import { enc, World } from "./harness.ts";

describe("replicated state: flow control and caps", () => {
  it("a map larger than the delta budget arrives oldest-first over several exchanges, then completes", async () => {
    const w = new World(2, { deltaBytesMax: 8 * 1024, mode: "pull" });
    const value = new Uint8Array(1000).fill(7);
    for (let i = 0; i < 40; i++) w.engines[0].set(0, `k${String(i).padStart(2, "0")}`, value);
    await w.settle();
    const frames: number[] = [];
    w.filter = (from, _to, bytes) => (from === 0 && frames.push(bytes.length), true);
    w.link(0, 1);
    await w.settle();
    const st = w.engines[1].store.origins.get(w.engines[0].store.selfId)!;
    expect(st.complete).toBe(false); // one budget's worth only
    const firstHave = st.have;
    expect(firstHave).toBeGreaterThan(0);
    expect(firstHave).toBeLessThan(40);
    // Oldest first: everything up to `have` is there, nothing above it.
    for (let i = 0; i < 40; i++) expect(st.entries.has(`k${String(i).padStart(2, "0")}`)).toBe(i < firstHave);
    for (let r = 0; r < 10 && !st.complete; r++) await w.round();
    expect(st.complete).toBe(true);
    expect(st.entries.size).toBe(40);
    expect(Math.max(...frames)).toBeLessThan(8 * 1024 + 2048);
    expect(w.penalties()).toEqual([]);
  });

  it("holds what it takes in compactly: an entry's leaf, hash, key bytes and value in one buffer, a root's body and signature in another, none a view of a frame", async () => {
    const w = new World(3, { mode: "pull" });
    w.engines[0].set(0, "status", enc("online"));
    w.engines[0].set(0, "name", enc("Ada"));
    await w.settle();
    w.link(0, 1);
    await w.settle();
    const st = w.engines[1].store.origins.get(w.engines[0].store.selfId)!;
    expect(st.complete).toBe(true);
    for (const e of st.entries.values()) {
      const buffer = e.leaf.buffer;
      expect(buffer.byteLength).toBe(e.leaf.length + 32); // its own copy, the hash right after the leaf
      for (const part of [e.leafHash, e.keyBytes, e.value!]) expect(part.buffer).toBe(buffer);
      expect(new TextDecoder().decode(e.keyBytes)).toBe(e.key);
    }
    const root = st.root!;
    expect(root.signature.buffer).toBe(root.body.buffer);
    expect(root.body.buffer.byteLength).toBe(root.body.length + 64);
    expect(root.fields.root.buffer).toBe(root.body.buffer);
    // Served on from these copies, it verifies at a third node.
    w.link(1, 2);
    await w.settle();
    expect(w.get(2, 0, "name")).toBe("Ada");
    expect(w.get(2, 0, "status")).toBe("online");
    expect(w.penalties()).toEqual([]);
  });

  it("local writes beyond a cap throw before changing anything", () => {
    const w = new World(1, { keysPerOriginMax: 2, valueBytesMax: 100, originBytesMax: 1000, keyBytesMax: 8 });
    const e = w.engines[0];
    e.set(0, "a", enc("1"));
    e.set(0, "b", enc("2"));
    expect(() => e.set(0, "c", enc("3"))).toThrow(GrapevineError);
    expect(() => e.set(0, "a", new Uint8Array(101))).toThrow(RangeError);
    expect(() => e.set(0, "much-too-long-key", enc("x"))).toThrow(RangeError);
    e.set(0, "a", enc("overwrite is fine"));
    expect(new TextDecoder().decode(e.store.getLocal("a")!)).toBe("overwrite is fine");
    expect(e.store.getLocal("c")).toBeUndefined();
  });

  for (const [what, caps, write, code] of [
    ["too many keys: refused by the frame bound, before allocation", { keysPerOriginMax: 3 }, (i: number) => enc(`v${i}`), "WIRE_SHAPE"],
    ["too many bytes: refused by the origin cap", { originBytesMax: 2000, valueBytesMax: 1000 }, () => new Uint8Array(900), "STATE_CAP_EXCEEDED"],
  ] as const) {
    it(`an origin beyond this node's caps is refused and the link penalised (${what})`, async () => {
      const w = new World(2);
      // node 1 runs with tighter caps than node 0 writes with: node 0's map is over node 1's cap
      const { Engine } = await import("../../src/core/engine.ts");
      const { seededRng } = await import("../../src/core/random.ts");
      w.engines[1] = new Engine({ publicKey: w.keys[1].publicKey, generation: 1, random: seededRng(3), now: 0, options: caps });
      for (let i = 0; i < 5; i++) w.engines[0].set(0, `k${i}`, write(i));
      await w.settle();
      w.link(0, 1);
      await w.settle();
      expect(w.penalties(1).map((p) => p.code)).toContain(code);
      expect(w.engines[1].store.origins.has(w.engines[0].store.selfId)).toBe(false);
    });
  }
});

describe("peer selection", () => {
  async function roundsToInformStar(selection: "uniform" | "hot", seed: number): Promise<number> {
    // A star: a hub links to 13 leaves that do not link to each other. Leaf 1 writes (its own change
    // goes to the hub at once); the hub relays it to the 12 others by its rounds, so only the hub's
    // picks matter.
    const w = new World(14, { mode: "push", fanout: 1, peerSelection: selection, rumorRounds: 200, antiEntropyEveryRounds: 1000 }, seed);
    for (let i = 1; i < 14; i++) w.link(0, i);
    await w.settle();
    w.engines[1].set(w.now, "k", enc("v"));
    await w.settle();
    for (const e of w.engines) e.tick(w.now); // the writer's change goes to the hub at once
    await w.settle();
    expect(w.get(0, 1, "k")).toBe("v");
    for (let r = 1; r <= 200; r++) {
      await w.round();
      let all = true;
      for (let i = 2; i < 14; i++) if (w.get(i, 1, "k") !== "v") all = false;
      if (all) return r;
    }
    return Infinity;
  }

  it("hot-key bias reaches lagging peers sooner than uniform choice (same seeds)", async () => {
    let hot = 0;
    let uniform = 0;
    for (let seed = 1; seed <= 5; seed++) {
      hot += await roundsToInformStar("hot", seed);
      uniform += await roundsToInformStar("uniform", seed);
    }
    // Uniform is a coupon collector (about 12·H12 ≈ 37 rounds); the bias should need far fewer.
    expect(hot).toBeLessThan(uniform * 0.75);
  });

  it("uniform sampling is unbiased (seeded chi-square over 4,000 draws)", async () => {
    const { sample, seededRng } = await import("../../src/core/random.ts");
    const rng = seededRng(42);
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 4000; i++) for (const x of sample(rng, [0, 1, 2, 3, 4, 5, 6, 7], 2)) counts[x]++;
    const expected = 1000;
    const chi2 = counts.reduce((s, c) => s + ((c - expected) ** 2) / expected, 0);
    expect(chi2).toBeLessThan(24.3); // p = 0.001 for 7 degrees of freedom
    expect(counts.reduce((a, b) => a + b, 0)).toBe(8000);
  });
});
