import { randomBelow, seededRng } from "../../src/core/random.ts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareBytes, concatBytes, toHex } from "../../src/bytes.ts";
import { type DigestEntry, inScope, positionOf, TRIE_DEPTH, TRIE_HASH_BYTES, type TriePosition } from "../../src/core/digest-rows.ts";
import { DigestTrie } from "../../src/core/digest-tree.ts";
import { sha256 } from "../../src/crypto/hash.ts";

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

/**
 * The trie by its definition, computed from scratch: a leaf hashes its row, a bucket (depth 4) its
 * sorted leaf hashes, an inner node its 16 children's hashes (zeros where empty); trie order is by
 * bucket, then by when a row came into its bucket. The trie keeps small subtrees flat; every read
 * must be what this gives.
 */
function referenceTrie() {
  const rows = new Map<string, { entry: DigestEntry; seq: number }>();
  let seq = 0;
  const leaf = (e: DigestEntry) => {
    const buf = new Uint8Array(32 + 16 + (e.tag?.length ?? 0));
    buf.set(e.origin, 0);
    const v = new DataView(buf.buffer);
    v.setBigUint64(32, BigInt(e.generation));
    v.setBigUint64(40, BigInt(e.have));
    if (e.tag) buf.set(e.tag, 48);
    return sha256(buf).subarray(0, TRIE_HASH_BYTES);
  };
  const under = (pos: TriePosition) =>
    [...rows.values()].filter((r) => inScope(r.entry.origin, pos))
      .sort((a, b) => positionOf(a.entry.origin, TRIE_DEPTH).index - positionOf(b.entry.origin, TRIE_DEPTH).index || a.seq - b.seq);
  const hash = (pos: TriePosition): Uint8Array => {
    const rs = under(pos);
    if (rs.length === 0 && pos.depth > 0) return new Uint8Array(TRIE_HASH_BYTES);
    if (pos.depth === TRIE_DEPTH) return sha256(concatBytes(...rs.map((r) => leaf(r.entry)).sort(compareBytes))).subarray(0, TRIE_HASH_BYTES);
    return sha256(concatBytes(...Array.from({ length: 16 }, (_, i) => hash({ depth: pos.depth + 1, index: pos.index * 16 + i })))).subarray(0, TRIE_HASH_BYTES);
  };
  return {
    set(key: string, entry: DigestEntry) {
      const had = rows.get(key);
      rows.set(key, { entry, seq: had ? had.seq : seq++ });
    },
    delete(key: string) {
      rows.delete(key);
    },
    size: () => rows.size,
    under,
    hash,
  };
}

describe("digest trie against its definition", () => {
  const seed = 20261205;
  it(`every read equals the full trie's through splits and flattenings (seed ${seed})`, () => {
    const rng = seededRng(seed);
    const t = new DigestTrie();
    const ref = referenceTrie();
    const keys: string[] = [];
    const origins = new Map<string, Uint8Array>();
    // Ids drawn from a few prefixes so that subtrees cross FLAT_MAX at every depth, in both directions.
    const prefixes = Array.from({ length: 3 }, () => [randomBelow(rng, 256), randomBelow(rng, 256)]);
    const newOrigin = () => {
      const o = new Uint8Array(32);
      for (let k = 0; k < 32; k++) o[k] = randomBelow(rng, 256);
      const p = prefixes[randomBelow(rng, prefixes.length)];
      const shared = randomBelow(rng, 5); // nibbles in common with its prefix: 0-4
      if (shared >= 2) o[0] = p[0];
      else if (shared === 1) o[0] = (p[0] & 0xf0) | (o[0] & 15);
      if (shared === 4) o[1] = p[1];
      else if (shared === 3) o[1] = (p[1] & 0xf0) | (o[1] & 15);
      return o;
    };
    const positions = (o: Uint8Array) => Array.from({ length: TRIE_DEPTH + 1 }, (_, d) => positionOf(o, d));
    let checks = 0;
    for (let step = 0; step < 1200; step++) {
      const shrinking = Math.floor(step / 150) % 2 === 1; // grow to about 80 rows, shrink to none, again…
      const r = randomBelow(rng, 20);
      if (keys.length > 0 && (shrinking ? r < 17 : r < 3)) {
        const key = keys.splice(randomBelow(rng, keys.length), 1)[0];
        t.delete(key, origins.get(key)!);
        ref.delete(key);
      } else if (keys.length > 0 && (shrinking ? r < 18 : r < 6)) {
        const key = keys[randomBelow(rng, keys.length)];
        const e = { origin: origins.get(key)!, generation: 1, have: randomBelow(rng, 1000), tag: randomBelow(rng, 2) ? new Uint8Array(8).fill(step & 255) : undefined };
        t.set(key, e);
        ref.set(key, e);
      } else {
        const o = newOrigin();
        const key = toHex(o);
        keys.push(key);
        origins.set(key, o);
        const e = { origin: o, generation: 1, have: step };
        t.set(key, e);
        ref.set(key, e);
      }
      expect(t.size).toBe(ref.size());
      if (step % 7 !== 0) continue;
      const probe = keys.length ? origins.get(keys[randomBelow(rng, keys.length)])! : newOrigin();
      for (const pos of [...positions(probe), ...positions(newOrigin())]) {
        const want = ref.under(pos);
        expect(t.countAt(pos)).toBe(want.length);
        expect(toHex(t.hashAt(pos))).toBe(toHex(ref.hash(pos)));
        expect(t.entriesUnder(pos, 1e9)).toEqual(want.map((w) => w.entry));
        expect(t.entriesUnder(pos, 3)).toEqual(want.slice(0, 3).map((w) => w.entry));
        const start = randomBelow(rng, want.length + 2);
        const k = want.length ? start % want.length : 0;
        expect([...t.walkIds(pos, start)]).toEqual([...want.slice(k), ...want.slice(0, k)].map((w) => toHex(w.entry.origin)));
        if (pos.depth < TRIE_DEPTH) {
          const view = t.nodeView(pos)!;
          for (let i = 0; i < 16; i++) {
            const child = { depth: pos.depth + 1, index: pos.index * 16 + i };
            expect(view.childCounts[i]).toBe(ref.under(child).length);
            expect(toHex(view.childHashes.subarray(i * TRIE_HASH_BYTES, (i + 1) * TRIE_HASH_BYTES))).toBe(toHex(ref.hash(child)));
          }
        }
        checks++;
      }
      expect(toHex(t.summary().hash)).toBe(toHex(ref.hash({ depth: 0, index: 0 })));
    }
    expect(checks).toBeGreaterThan(1000);
  });
});
