// What a peer's descent frames make a node hash, with either digest index: a hash asked for is
// remembered until a row under it changes, so asking about it again must cost lookups, not hashes.
import { describe, expect, it, vi } from "vitest";

const calls = vi.hoisted(() => ({ sha256: 0 }));
vi.mock("../../src/crypto/hash.ts", async (original) => {
  const m = await original<typeof import("../../src/crypto/hash.ts")>();
  return { ...m, sha256: (data: Uint8Array) => (calls.sha256++, m.sha256(data)) };
});

const { DigestTrie } = await import("../../src/core/digest-tree.ts");
const { DigestRows, TRIE_DEPTH, positionOf } = await import("../../src/core/digest-rows.ts");
const { toHex } = await import("../../src/bytes.ts");

describe("digest indexes: the cost of descent requests", () => {
  it.each([
    ["the trie", () => new DigestTrie()],
    ["the rows in one table", () => new DigestRows()],
  ])("%s: asking again about positions hashes nothing, nor does asking where nothing lies; a change makes the next ask hash again", (_name, make) => {
    const t = make();
    // 16 rows, the most a subtree above bucket depth keeps flat, spread under one depth-1 position.
    const origins = Array.from({ length: 16 }, (_, i) => new Uint8Array(32).map((_, k) => (k === 0 ? 0x30 | (i % 4) : k === 1 ? i * 17 : (i * 31 + k) & 255)));
    for (const o of origins) t.set(toHex(o), { origin: o, generation: 1, have: 1 });
    const positions = origins.flatMap((o) => Array.from({ length: TRIE_DEPTH }, (_, d) => positionOf(o, d)));
    const ask = () => {
      const before = calls.sha256;
      for (const p of positions) {
        t.nodeView(p);
        t.hashAt(p);
      }
      return calls.sha256 - before;
    };
    const first = ask();
    expect(first).toBeGreaterThan(0);
    expect(ask()).toBe(0);
    // Positions where no row lies, a descent frame's worth at every depth: no hash either.
    const before = calls.sha256;
    for (let d = 1; d <= TRIE_DEPTH; d++) for (let i = 0; i < 64; i++) {
      const p = { depth: d, index: (i * 7919 + 0x4000) % 16 ** d };
      if (t.countAt(p) > 0) continue;
      t.hashAt(p);
      t.nodeView(p);
    }
    expect(calls.sha256 - before).toBe(0);
    t.set(toHex(origins[3]), { origin: origins[3], generation: 1, have: 2 });
    expect(ask()).toBeGreaterThan(0);
    expect(ask()).toBe(0);
  });
});
