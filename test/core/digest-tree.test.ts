import { randomBelow, seededRng } from "../../src/core/random.ts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toHex } from "../../src/bytes.ts";
import { DigestTrie, inScope, positionOf, TRIE_DEPTH } from "../../src/core/digest-tree.ts";

const origin = fc.uint8Array({ minLength: 32, maxLength: 32 });
const row = fc.record({ origin, generation: fc.nat(1000), have: fc.nat(1000) });

describe("digest trie", () => {
  it("the summary depends on the content only, not on the order of updates", () => {
    fc.assert(
      fc.property(fc.uniqueArray(row, { selector: (r) => toHex(r.origin), maxLength: 60 }), fc.nat(), (rows, seed) => {
        const a = new DigestTrie();
        const b = new DigestTrie();
        for (const r of rows) a.set(toHex(r.origin), r);
        const shuffled = rows.slice().sort((x, y) => ((toHex(x.origin) + seed).localeCompare(toHex(y.origin) + seed)));
        for (const r of shuffled) b.set(toHex(r.origin), { ...r, have: r.have + 1 }); // a detour…
        for (const r of shuffled) b.set(toHex(r.origin), r); // …then the same content
        expect(toHex(a.summary().hash)).toBe(toHex(b.summary().hash));
        expect(a.size).toBe(rows.length);
      }),
      { seed: 7, numRuns: 100 },
    );
  });

  it("one changed row changes the hash along its path only", () => {
    const t = new DigestTrie();
    const rows = Array.from({ length: 300 }, (_, i) => ({ origin: new Uint8Array(32).fill(i % 256).map((x, k) => (x + k * i) & 255), generation: 1, have: i }));
    for (const r of rows) t.set(toHex(r.origin), r);
    const before = new Map<number, string>();
    for (let i = 0; i < 16; i++) before.set(i, toHex(t.hashAt({ depth: 1, index: i })));
    const r = rows[123];
    t.set(toHex(r.origin), { ...r, have: 9999 });
    const changed = [...before].filter(([i, h]) => toHex(t.hashAt({ depth: 1, index: i })) !== h).map(([i]) => i);
    expect(changed).toEqual([positionOf(r.origin, 1).index]);
  });

  it("delete prunes and restores the earlier hash; scopes and views are consistent", () => {
    const t = new DigestTrie();
    const a = { origin: new Uint8Array(32).fill(0x12), generation: 1, have: 1 };
    const b = { origin: new Uint8Array(32).fill(0x34), generation: 1, have: 1 };
    t.set("a", a);
    const h1 = toHex(t.summary().hash);
    t.set("b", b);
    expect(t.countAt({ depth: 1, index: 3 })).toBe(1);
    expect(t.entriesUnder({ depth: 1, index: 1 }, 10)).toEqual([a]);
    const view = t.nodeView({ depth: 0, index: 0 })!;
    expect(view.childCounts[1] + view.childCounts[3]).toBe(2);
    expect(inScope(b.origin, { depth: 2, index: 0x34 })).toBe(true);
    expect(t.nodeView({ depth: TRIE_DEPTH, index: 0 })).toBeUndefined();
    t.delete("b", b.origin);
    expect(toHex(t.summary().hash)).toBe(h1);
    expect(t.countAt({ depth: 1, index: 3 })).toBe(0);
  });

  it("walkIds yields the id of every row under a node once, in trie order, from any starting rank (wrapping round)", () => {
    const t = new DigestTrie();
    const rng = seededRng(7);
    for (let i = 0; i < 300; i++) {
      const origin = new Uint8Array(32);
      for (let k = 0; k < 4; k++) origin[k] = randomBelow(rng, 256);
      origin[31] = i & 0xff;
      origin[30] = i >> 8;
      t.set(toHex(origin), { origin, generation: 1, have: i });
    }
    for (const pos of [{ depth: 0, index: 0 }, { depth: 1, index: 5 }, { depth: 2, index: 0x5a }]) {
      const all = t.entriesUnder(pos, 1e9);
      expect(all.length).toBe(t.countAt(pos));
      for (const start of [0, 1, Math.floor(all.length / 2), all.length - 1, all.length, all.length + 3]) {
        const walked = [...t.walkIds(pos, start)];
        const k = all.length ? start % all.length : 0;
        expect(walked).toEqual([...all.slice(k), ...all.slice(0, k)].map((e) => toHex(e.origin)));
      }
    }
    expect([...t.walkIds({ depth: 4, index: 0 }, 3)]).toEqual([]);
  });
});
