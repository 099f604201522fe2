// A node whose digest is `digestRowsPart` (`grapevine/lite`'s default) keeps the digest's rows in one
// table and hashes a position from its rows when asked. Its answers must be the trie's exactly —
// counts, hashes, descent views, rows and walks, in the same order — or two nodes in sync would see
// a difference every round and send each other what they already hold (and the same node would send
// other bytes with either index). Checked against the trie over random
// changes, then in a mesh of both kinds: they converge, mesh-wide and in a room, and once in sync
// exchange hashes only, no rows and no deltas.
import { describe, expect, it } from "vitest";
import { toHex } from "../../src/bytes.ts";
import { DigestRows, digestRowsPart, positionOf, TRIE_DEPTH, type DigestEntry, type DigestIndex, type TriePosition } from "../../src/core/digest-rows.ts";
import { DigestTrie } from "../../src/core/digest-tree.ts";
import { frameLimitsFor } from "../../src/core/limits.ts";
import { DEFAULT_OPTIONS } from "../../src/core/options.ts";
import { seededRng } from "../../src/core/random.ts";
import { scopeIdOf } from "../../src/core/scopes.ts";
import type { Store } from "../../src/core/store.ts";
import { decodeFrame, FRAME, type Frame } from "../../src/wire/frames.ts";
import { dec, enc, World } from "./harness.ts";

const LIMITS = frameLimitsFor(DEFAULT_OPTIONS);
const ROOM = scopeIdOf("room");

/** The frame inside a SCOPED frame, or the frame itself. */
function innerOf(bytes: Uint8Array): Frame {
  const f = decodeFrame(bytes, LIMITS) as Frame;
  return f.type === FRAME.SCOPED ? (decodeFrame(f.frame, LIMITS) as Frame) : f;
}

/** The rows of `index` under `pos`, some of them, and walks from a few places: in the index's order. */
function rowsOf(index: DigestIndex, pos: TriePosition) {
  const row = (e: DigestEntry) => `${toHex(e.origin)}:${e.generation}:${e.have}:${e.tag ? toHex(e.tag) : "-"}`;
  const n = index.countAt(pos);
  return {
    rows: index.entriesUnder(pos, 1 << 20).map(row),
    some: index.entriesUnder(pos, 3).map(row),
    walks: [0, 3, n - 1, n + 5].map((start) => [...index.walkIds(pos, start)]),
    firstTwo: [...take(index.walkIds(pos, 7), 2)],
  };
}

function* take<T>(it: Iterable<T>, n: number): Generator<T> {
  if (n <= 0) return;
  for (const x of it) {
    yield x;
    if (--n === 0) return;
  }
}

describe("the digest's rows without the trie", () => {
  it("give the trie's counts, hashes, descent views, rows and walks, in its order, at every position, through random changes (seed 11)", () => {
    const r = seededRng(11);
    const rng = () => r.nextU32() / 2 ** 32;
    const byte = () => Math.floor(rng() * 256);
    const rows = new DigestRows();
    const trie = new DigestTrie();
    const held = new Map<string, DigestEntry>();
    // Origins clustered under a few prefixes too, so positions deep in the trie hold several rows.
    const origin = () => {
      const o = Uint8Array.from({ length: 32 }, byte);
      if (rng() < 0.5) o[0] = 0xab;
      if (rng() < 0.3) o[1] = 0xcd;
      return o;
    };
    const positions = (): TriePosition[] => {
      const out: TriePosition[] = [{ depth: 0, index: 0 }];
      for (let i = 0; i < 16; i++) out.push({ depth: 1, index: i });
      for (const e of held.values()) for (let d = 2; d <= TRIE_DEPTH; d++) out.push(positionOf(e.origin, d));
      out.push({ depth: 3, index: 7 }, { depth: TRIE_DEPTH, index: 12345 });
      return out;
    };
    // 400 changes, a quarter of them deletions (the trie's subtrees split as they grow), then
    // deletions down to a few rows (they flatten again).
    let peak = 0;
    for (let step = 0; step < 400 || held.size > 4; step++) {
      const keys = [...held.keys()];
      peak = Math.max(peak, keys.length);
      if (keys.length > 0 && (step >= 400 || rng() < 0.25)) {
        const key = keys[Math.floor(rng() * keys.length)];
        const o = held.get(key)!.origin;
        held.delete(key);
        rows.delete(key, o);
        trie.delete(key, o);
      } else {
        const again = keys.length > 0 && rng() < 0.3;
        const o = again ? held.get(keys[Math.floor(rng() * keys.length)])!.origin : origin();
        const e: DigestEntry = { origin: o, generation: 1 + Math.floor(rng() * 3), have: Math.floor(rng() * 50), tag: rng() < 0.5 ? Uint8Array.from({ length: 8 }, byte) : undefined };
        held.set(toHex(o), e);
        rows.set(toHex(o), e);
        trie.set(toHex(o), e);
      }
      // Every few changes (so remembered hashes are read back after later changes), every position.
      if (step % 7 !== 0) continue;
      expect(rows.size, `step ${step}`).toBe(trie.size);
      for (const pos of positions()) {
        const at = `step ${step}, position ${pos.depth}/${pos.index}`;
        expect(rows.countAt(pos), at).toBe(trie.countAt(pos));
        expect(toHex(rows.hashAt(pos)), at).toBe(toHex(trie.hashAt(pos)));
        const mine = rows.nodeView(pos);
        const theirs = trie.nodeView(pos);
        expect(mine && { ...mine, childHashes: toHex(mine.childHashes) }, at).toEqual(theirs && { ...theirs, childHashes: toHex(theirs.childHashes) });
        expect(rowsOf(rows, pos), at).toEqual(rowsOf(trie, pos));
      }
    }
    expect(peak).toBeGreaterThan(100);
  });

  it("mesh with nodes that have the trie: converge mesh-wide and in a room, both ways, then exchange hashes only", async () => {
    const noTrie = new Set([0, 1, 2]);
    const w = new World(6, { membership: false }, 1, (i) => (noTrie.has(i) ? { digest: digestRowsPart } : undefined));
    const log: { from: number; to: number; frame: Frame }[] = [];
    w.filter = (from, to, bytes) => (log.push({ from, to, frame: innerOf(bytes) }), true);
    const storeOf = (i: number) => w.engines[i].store as Store;
    expect(storeOf(0).trie).toBeInstanceOf(DigestRows);
    expect(storeOf(3).trie).toBeInstanceOf(DigestTrie);
    // A line 0-3-1-4-2-5: every hop between a node with the trie and one without.
    for (const [a, b] of [[0, 3], [3, 1], [1, 4], [4, 2], [2, 5]]) w.link(a, b);
    for (const e of w.engines) e.joinScope(w.now, ROOM);
    w.engines.forEach((e, i) => {
      e.set(w.now, "k", enc(`mesh ${i}`));
      e.set(w.now, "p", enc(`room ${i}`), ROOM);
    });
    const synced = (k: (j: number) => string, p: (j: number) => string) => w.engines.every((e) => w.engines.every((o, j) => {
      const id = o.store.selfId;
      return dec(e.store.get(id, "k")) === k(j) && dec(e.scope(ROOM)!.store.get(id, "p")) === p(j);
    }));
    const first = () => synced((j) => `mesh ${j}`, (j) => `room ${j}`);
    for (let r = 0; r < 30 && !first(); r++) await w.round();
    expect(first()).toBe(true);
    // A change on either kind of node reaches all.
    w.engines[2].set(w.now, "k", enc("again"));
    w.engines[5].set(w.now, "p", enc("again"), ROOM);
    const second = () => synced((j) => (j === 2 ? "again" : `mesh ${j}`), (j) => (j === 5 ? "again" : `room ${j}`));
    for (let r = 0; r < 30 && !second(); r++) await w.round();
    expect(second()).toBe(true);
    // In sync: thirty rounds of digests, every one a hash (each node holds six origins), and no delta.
    log.length = 0;
    for (let r = 0; r < 30; r++) await w.round();
    const digests = log.filter((x) => x.frame.type === FRAME.DIGEST);
    expect(digests.filter((x) => noTrie.has(x.from)).length).toBeGreaterThan(0);
    expect(digests.filter((x) => noTrie.has(x.to)).length).toBeGreaterThan(0);
    expect(digests.filter((x) => x.frame.type === FRAME.DIGEST && x.frame.rows !== null)).toEqual([]);
    expect(log.filter((x) => x.frame.type === FRAME.DELTA || x.frame.type === FRAME.TREE)).toEqual([]);
    expect(w.penalties()).toEqual([]);
  });
});
