// Idle anti-entropy between ends that hold nothing: a node holding nothing in a store (a topic only
// published on, a mesh nobody wrote to) sends its idle digests only to peers not known to hold
// nothing too; a write still reaches every node, also when its pushes were lost.
import { describe, expect, it } from "vitest";
import { frameLimitsFor } from "../../src/core/engine.ts";
import { DEFAULT_OPTIONS } from "../../src/core/options.ts";
import { scopeIdOf } from "../../src/core/scopes.ts";
import { decodeFrame, DIGEST_FLAG, FRAME } from "../../src/wire/frames.ts";
import { dec, enc, World } from "./harness.ts";

const OPTIONS = { membership: false, fanout: 3, intervalMs: 1000, idleRoundEvery: 4 };
const LIMITS = frameLimitsFor(DEFAULT_OPTIONS);
const TOPIC = scopeIdOf("cursors");

/** Counts the digests that open exchanges (not answers: those are EXACT), by `sender` only if given, mesh-wide and inside scopes. */
function tapDigests(w: World, sender?: number): { wide: number; scoped: number } {
  const n = { wide: 0, scoped: 0 };
  const inner = w.filter;
  w.filter = (from, to, bytes) => {
    if (sender !== undefined && from !== sender) return inner(from, to, bytes);
    const f = decodeFrame(bytes, LIMITS);
    const opens = (d: ReturnType<typeof decodeFrame>) => d.type === FRAME.DIGEST && (d.flags & DIGEST_FLAG.EXACT) === 0;
    if (opens(f)) n.wide++;
    else if (f.type === FRAME.SCOPED && opens(decodeFrame(f.frame, LIMITS))) n.scoped++;
    return inner(from, to, bytes);
  };
  return n;
}

async function rounds(w: World, k: number): Promise<void> {
  for (let r = 0; r < k; r++) await w.round(1000);
}

describe("idle rounds between ends that hold nothing", () => {
  it("six nodes in a topic nobody writes to stop sending its digests once idle; their mesh-wide idle digests go on", async () => {
    const w = new World(6, OPTIONS);
    w.linkAll();
    for (let i = 0; i < 6; i++) {
      w.engines[i].joinScope(w.now, TOPIC);
      w.engines[i].set(w.now, "k", enc(`v${i}`)); // mesh-wide state: that store is not empty
    }
    await w.settle();
    await rounds(w, 24); // everything spread, every store idle, every peer's empty digest heard
    const n = tapDigests(w);
    await rounds(w, 64);
    console.log(`empty-idle.test.ts: 64 quiet rounds: ${n.wide} mesh-wide digests, ${n.scoped} in the empty topic`);
    expect(n.scoped).toBe(0); // without the rule: about 6 × 64 / 16 = 24, as mesh-wide
    expect(n.wide).toBeGreaterThanOrEqual(6 * 64 / 16 - 6);
    expect(w.penalties()).toEqual([]);
  });

  it("a write into a quiet empty topic reaches every node, also when all its pushes are lost", async () => {
    const w = new World(6, OPTIONS);
    w.linkAll();
    for (let i = 0; i < 6; i++) w.engines[i].joinScope(w.now, TOPIC);
    await w.settle();
    await rounds(w, 24);
    const n = tapDigests(w);
    await rounds(w, 32);
    expect(n.scoped).toBe(0); // the topic is quiet: nothing sent in it

    // Node 0 writes while everything it sends is lost: its pushes and full rounds never arrive,
    // and every peer still takes it to hold nothing.
    const inner = w.filter;
    w.filter = (from, to, bytes) => from !== 0 && inner(from, to, bytes);
    w.engines[0].set(w.now, "k", enc("late news"), TOPIC);
    await w.settle();
    await rounds(w, 8);
    const heard = () => [1, 2, 3, 4, 5].filter((i) => dec(w.engines[i].scope(TOPIC)!.store.get(w.engines[0].store.selfId, "k")) === "late news").length;
    expect(heard()).toBe(0);

    // Frames flow again: node 0 now holds something, so its own idle digests go out and carry it.
    w.filter = inner;
    let k = 0;
    while (heard() < 5 && k < 80) {
      await w.round(1000);
      k++;
    }
    console.log(`empty-idle.test.ts: the write lost at first reached every node ${k} rounds after frames flowed again`);
    expect(heard()).toBe(5);
    expect(w.penalties()).toEqual([]);
  });
});
