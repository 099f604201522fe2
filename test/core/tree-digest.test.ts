// Descending the digest trie: where several children of a TREE node differ and hold at least half
// of the node's origins, the receiver sends one digest of the whole node (it fits one) instead of
// one digest a child — one frame and one answer instead of up to sixteen.
import { describe, expect, it } from "vitest";
import { frameLimitsFor } from "../../src/core/limits.ts";
import { decodeFrame, FRAME } from "../../src/wire/frames.ts";
import { enc, World } from "./harness.ts";

describe("the digest trie's descent", () => {
  it("two nodes that each hold different origins exchange one digest each way, not one a differing child", async () => {
    const w = new World(26, { intervalMs: 1000, membership: false }, 7);
    w.now = 1;
    // Node 0 holds origins 0 and 2–13, node 1 origins 1 and 14–25: nearly every child of the root differs.
    w.engines[0].set(w.now, "k", enc("v0"));
    w.engines[1].set(w.now, "k", enc("v1"));
    for (let i = 2; i < 26; i++) {
      w.engines[i].set(w.now, "k", enc(`v${i}`));
      w.link(i < 14 ? 0 : 1, i);
    }
    await w.settleDue();
    for (let r = 0; r < 3; r++) await w.round();
    expect(w.engines[0].store.origins.size).toBe(13);
    expect(w.engines[1].store.origins.size).toBe(13);
    const limits = frameLimitsFor(w.engines[0].options);
    const digests: { from: number; depth: number; rows: number | null }[] = [];
    let trees = 0;
    w.filter = (from, to, bytes) => {
      if ((from === 0 && to === 1) || (from === 1 && to === 0)) {
        const f = decodeFrame(bytes, limits);
        if (f.type === FRAME.DIGEST) digests.push({ from, depth: f.scope.depth, rows: f.rows ? f.rows.length : null });
        if (f.type === FRAME.TREE) trees++;
      }
      return true;
    };
    w.link(0, 1);
    await w.settleDue();
    for (let r = 0; r < 3; r++) await w.round();
    for (let i = 0; i < 26; i++) {
      expect(w.get(0, i, "k"), `node 0, origin ${i}`).toBe(`v${i}`);
      expect(w.get(1, i, "k"), `node 1, origin ${i}`).toBe(`v${i}`);
    }
    expect(trees).toBeGreaterThan(0); // the exchanges did descend
    // Every digest with rows is of the root: a whole node, never one a child.
    const withRows = digests.filter((d) => d.rows !== null);
    expect(withRows.length).toBeGreaterThan(0);
    for (const d of withRows) expect(d.depth, JSON.stringify(d)).toBe(0);
    expect(withRows.length).toBeLessThanOrEqual(2 * trees + 4);

    // One origin changes: its child alone differs, and the descent asks about that child only.
    digests.length = 0;
    trees = 0;
    w.engines[25].set(w.now, "k", enc("v25b"));
    await w.settleDue();
    for (let r = 0; r < 3; r++) await w.round();
    expect(w.get(0, 25, "k")).toBe("v25b");
    expect(trees).toBeGreaterThan(0);
    const asked = digests.filter((d) => d.rows !== null);
    expect(asked.length).toBeGreaterThan(0);
    for (const d of asked) expect(d.depth, JSON.stringify(d)).toBe(1);
  });
});
