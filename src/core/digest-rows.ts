/**
 * What a store's digest index is: the rows `origin → (generation, have, tag)` it holds, found by
 * trie position (a prefix of the origin id), with the hash of every position and the view a descent
 * frame carries — what anti-entropy (`exchange.ts`) sends and compares. Two indexes give the same
 * answers (the hashes are defined once, here):
 *
 * - the digest trie (`digest-tree.ts`, `digestTreePart`) keeps them in a 16-ary trie, so a change
 *   rehashes one path and a position's rows are found without a pass over the others: for a node
 *   holding thousands of origins (a relay, a peer in a big mesh);
 * - {@link DigestRows} (here) keeps the rows in one table and the keys under each position in a
 *   set, and hashes a position from its children when asked, remembering each hash until a row
 *   under it changes: the same answers in the same order (a node's frames are the same bytes with
 *   either), the same cost a read, about four sets' entries more a row, and a third of the trie's
 *   code — what a tab takes (`digestRowsPart`, `grapevine/lite`'s default).
 *
 * @module
 */

import { compareBytes } from "../bytes.ts";
import { sha256 } from "../crypto/hash.ts";
import type { DigestPart } from "./parts.ts";

/** Depth of the digest trie: 16^4 = 65,536 positions at the bottom, about one per origin at the largest stores. */
export const TRIE_DEPTH = 4;

/** One digest row. */
export interface DigestEntry {
  origin: Uint8Array;
  generation: number;
  have: number;
  /**
   * When the whole map at its signed version is held: the first bytes of the hash of that signed
   * root's body, so two nodes holding different roots for one version see a difference (an
   * origin that equivocated) instead of equal rows.
   */
  tag?: Uint8Array;
}

/** Bytes of a digest row's root tag. */
export const ROOT_TAG_BYTES = 8;

/** A digest row's root tag: the first bytes of SHA-256 of the signed root body. */
export function rootTag(body: Uint8Array): Uint8Array {
  return sha256(body).slice(0, ROOT_TAG_BYTES); // a copy: kept with the origin, not a view holding the whole hash
}

/** A node's position: `depth` nibbles of prefix, read as the integer `index` (< 16^depth). */
export interface TriePosition {
  depth: number;
  index: number;
}

/** Bytes of a position's hash (in digest summaries and descent frames). */
export const TRIE_HASH_BYTES = 16;

/** What a tree-descent frame carries for one node: its 16 children's hashes and origin counts. */
export interface TrieNodeView extends TriePosition {
  childHashes: Uint8Array; // 16 × TRIE_HASH_BYTES
  childCounts: number[]; // 16
}

/** Nibble `i` of `origin` (0: the high half of its first byte). */
export function nibble(origin: Uint8Array, i: number): number {
  const b = origin[i >> 1];
  return i % 2 === 0 ? b >> 4 : b & 15;
}

/** The trie position containing `origin` at `depth`. */
export function positionOf(origin: Uint8Array, depth: number): TriePosition {
  let index = 0;
  for (let i = 0; i < depth; i++) index = index * 16 + nibble(origin, i);
  return { depth, index };
}

/** Whether `origin` lies under the trie node at `pos`. */
export function inScope(origin: Uint8Array, pos: TriePosition): boolean {
  return positionOf(origin, pos.depth).index === pos.index;
}

/** A row as an index holds it, with its leaf hash. */
export interface Leaf {
  entry: DigestEntry;
  hash: Uint8Array;
}

/** Writes `n` (an integer < 2^53) as 8 bytes big-endian at `at`. */
function putU64be(out: Uint8Array, at: number, n: number): void {
  const hi = Math.floor(n / 2 ** 32);
  const lo = n >>> 0;
  out[at] = hi >>> 24; out[at + 1] = hi >>> 16; out[at + 2] = hi >>> 8; out[at + 3] = hi;
  out[at + 4] = lo >>> 24; out[at + 5] = lo >>> 16; out[at + 6] = lo >>> 8; out[at + 7] = lo;
}

/** A row's hash: H(origin ‖ generation ‖ have ‖ tag), cut to {@link TRIE_HASH_BYTES}. */
export function leafHash(e: DigestEntry): Uint8Array {
  const tag = e.tag ?? EMPTY_TAG;
  const buf = new Uint8Array(e.origin.length + 16 + tag.length);
  buf.set(e.origin, 0);
  putU64be(buf, e.origin.length, e.generation);
  putU64be(buf, e.origin.length + 8, e.have);
  buf.set(tag, e.origin.length + 16);
  return sha256(buf).subarray(0, TRIE_HASH_BYTES);
}

const EMPTY_TAG = new Uint8Array(0);

/** `leaves` split by their nibble at `depth`: the sixteen children a full trie would hold there. */
export function grouped(leaves: Iterable<Leaf>, depth: number): (Leaf[] | undefined)[] {
  const groups: (Leaf[] | undefined)[] = new Array(16);
  for (const l of leaves) (groups[nibble(l.entry.origin, depth)] ??= []).push(l);
  return groups;
}

/** The hash of a bottom position holding exactly `leaves`: of their hashes, sorted. */
export function bucketHash(leaves: Leaf[]): Uint8Array {
  const hashes = leaves.map((l) => l.hash).sort(compareBytes);
  const buf = new Uint8Array(hashes.length * TRIE_HASH_BYTES);
  hashes.forEach((h, i) => buf.set(h, i * TRIE_HASH_BYTES));
  return sha256(buf).subarray(0, TRIE_HASH_BYTES);
}

/** The hash of a position above the bottom: of its sixteen children's hashes (`child(i)`; zeros where empty). */
export function innerHash(child: (i: number) => Uint8Array | undefined): Uint8Array {
  const buf = new Uint8Array(16 * TRIE_HASH_BYTES);
  for (let i = 0; i < 16; i++) {
    const h = child(i);
    if (h) buf.set(h, i * TRIE_HASH_BYTES);
  }
  return sha256(buf).subarray(0, TRIE_HASH_BYTES);
}

/** The hash of the subtree at `depth` holding exactly `leaves` (none: the empty trie's root). */
export function subtreeHash(leaves: Leaf[], depth: number): Uint8Array {
  if (depth === TRIE_DEPTH) return bucketHash(leaves);
  const groups = grouped(leaves, depth);
  return innerHash((i) => groups[i] && subtreeHash(groups[i]!, depth + 1));
}

/** What a store's digest index does; see the module's notes. Keys are origin ids as lowercase hex (the store's key). */
export interface DigestIndex {
  /** Number of origins. */
  readonly size: number;
  /** Inserts or updates an origin's row. */
  set(key: string, entry: DigestEntry): void;
  /** Removes an origin's row. */
  delete(key: string, origin: Uint8Array): void;
  /** Origin count under `pos` (0 where nothing lies). */
  countAt(pos: TriePosition): number;
  /** The digest rows under `pos`, at most `max` of them. */
  entriesUnder(pos: TriePosition, max: number): DigestEntry[];
  /** The ids of the rows under `pos`, starting at the `start`-th (wrapping round), one at a time. */
  walkIds(pos: TriePosition, start: number): Generator<string>;
  /** The hash of the position (zeros where nothing lies below the root). */
  hashAt(pos: TriePosition): Uint8Array;
  /** The children of the node at `pos`, as a descent frame carries them; undefined at the bottom. */
  nodeView(pos: TriePosition): TrieNodeView | undefined;
}

/** The hash of a position where nothing lies (below the root). */
const EMPTY_HASH = new Uint8Array(TRIE_HASH_BYTES);

/** A key for a position, one number. */
const keyOf = (pos: TriePosition): number => pos.depth * 16 ** TRIE_DEPTH + pos.index;

/** The position below `pos` at nibble `i`. */
const childOf = (pos: TriePosition, i: number): TriePosition => ({ depth: pos.depth + 1, index: pos.index * 16 + i });

/**
 * The rows in one table, with the keys under each position that holds any (one set a position
 * and depth: each row is in {@link TRIE_DEPTH} of them); see the module's notes. Every read costs
 * what the trie's does — a count, a lookup, sixteen for a descent view, a walk that skips by counts
 * and pays for what it yields — and gives what the trie's gives, in the same order (by bottom
 * position, and there as the rows came), so a node's frames are the same bytes with either index.
 * A hash asked for is remembered until a row under it changes (at most one a position that holds rows).
 */
export class DigestRows implements DigestIndex {
  readonly #leaves = new Map<string, Leaf>();
  readonly #under = new Map<number, Set<string>>();
  readonly #hashes = new Map<number, Uint8Array>();

  get size(): number {
    return this.#leaves.size;
  }

  set(key: string, entry: DigestEntry): void {
    if (!this.#leaves.has(key)) {
      for (let d = 1; d <= TRIE_DEPTH; d++) {
        const at = keyOf(positionOf(entry.origin, d));
        let keys = this.#under.get(at);
        if (!keys) this.#under.set(at, (keys = new Set()));
        keys.add(key);
      }
    }
    this.#leaves.set(key, { entry, hash: leafHash(entry) });
    this.#changed(entry.origin);
  }

  delete(key: string, origin: Uint8Array): void {
    if (!this.#leaves.delete(key)) return;
    for (let d = 1; d <= TRIE_DEPTH; d++) {
      const at = keyOf(positionOf(origin, d));
      const keys = this.#under.get(at)!;
      keys.delete(key);
      if (keys.size === 0) this.#under.delete(at);
    }
    this.#changed(origin);
  }

  /** The hashes on `origin`'s path are stale. */
  #changed(origin: Uint8Array): void {
    for (let d = 0; d <= TRIE_DEPTH; d++) this.#hashes.delete(keyOf(positionOf(origin, d)));
  }

  /** The keys under `pos`, below the root (none where no row lies). */
  #keys(pos: TriePosition): ReadonlySet<string> {
    return this.#under.get(keyOf(pos)) ?? NO_KEYS;
  }

  countAt(pos: TriePosition): number {
    return pos.depth === 0 ? this.#leaves.size : this.#keys(pos).size;
  }

  entriesUnder(pos: TriePosition, max: number): DigestEntry[] {
    return [...this.#inOrder(pos, 0, max)].map((key) => this.#leaves.get(key)!.entry);
  }

  *walkIds(pos: TriePosition, start: number): Generator<string> {
    const n = this.countAt(pos);
    if (n === 0) return;
    const first = ((start % n) + n) % n;
    yield* this.#inOrder(pos, first, n - first);
    if (first > 0) yield* this.#inOrder(pos, 0, first);
  }

  /** `take` keys under `pos` in order, after its first `skip`: whole positions skipped by their counts. */
  *#inOrder(pos: TriePosition, skip: number, take: number): Generator<string> {
    const stack: TriePosition[] = [pos];
    while (stack.length > 0 && take > 0) {
      const p = stack.pop()!;
      const n = this.countAt(p);
      if (skip >= n) {
        skip -= n;
        continue;
      }
      if (p.depth < TRIE_DEPTH) {
        for (let i = 15; i >= 0; i--) if (this.#keys(childOf(p, i)).size > 0) stack.push(childOf(p, i));
        continue;
      }
      for (const key of this.#keys(p)) {
        if (skip > 0) {
          skip--;
          continue;
        }
        if (take-- <= 0) return;
        yield key;
      }
    }
  }

  hashAt(pos: TriePosition): Uint8Array {
    return pos.depth > 0 && this.#keys(pos).size === 0 ? EMPTY_HASH : this.#hash(pos);
  }

  nodeView(pos: TriePosition): TrieNodeView | undefined {
    if (pos.depth >= TRIE_DEPTH) return undefined;
    const childHashes = new Uint8Array(16 * TRIE_HASH_BYTES);
    const childCounts = new Array<number>(16).fill(0);
    for (let i = 0; i < 16; i++) {
      const child = childOf(pos, i);
      childCounts[i] = this.#keys(child).size;
      if (childCounts[i] > 0) childHashes.set(this.#hash(child), i * TRIE_HASH_BYTES);
    }
    return { depth: pos.depth, index: pos.index, childHashes, childCounts };
  }

  /** The hash of `pos` (the root, or a position that holds rows): remembered, made from its children's. */
  #hash(pos: TriePosition): Uint8Array {
    const key = keyOf(pos);
    let h = this.#hashes.get(key);
    if (!h) {
      h = pos.depth === TRIE_DEPTH
        ? bucketHash([...this.#keys(pos)].map((k) => this.#leaves.get(k)!))
        : innerHash((i) => (this.#keys(childOf(pos, i)).size > 0 ? this.#hash(childOf(pos, i)) : undefined));
      this.#hashes.set(key, h);
    }
    return h;
  }
}

/** The keys under a position where no row lies. */
const NO_KEYS: ReadonlySet<string> = new Set();

/** The digest kept in one table, as an engine part (`parts.ts`): for a tab, which holds few origins. */
export const digestRowsPart: DigestPart = { make: () => new DigestRows() };
