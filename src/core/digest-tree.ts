/**
 * A Merkle trie over the digest `origin → (generation, have)`, so two nodes holding many origins
 * find their d differences in O(d log n) bytes instead of swapping the whole digest.
 *
 * Shape: a 16-ary trie on the nibbles of the origin id (ids are public keys, so uniformly spread),
 * of fixed depth {@link TRIE_DEPTH}; nodes exist only where origins do. A leaf's hash is
 * H(origin ‖ generation ‖ have ‖ tag); a bucket hashes its sorted leaf hashes; an inner node hashes its 16
 * child hashes (zeros where a child is empty). Hashes are SHA-256 cut to 16 bytes: they find
 * differences, they do not authenticate anything (state is authenticated by signed roots).
 * Updates mark the path dirty; hashes are recomputed lazily, when asked for.
 *
 * @module
 */

import { sha256 } from "../crypto/hash.ts";
import { compareBytes } from "../bytes.ts";

/** Depth of the trie: 16^4 = 65,536 buckets, about one per origin at the largest stores. */
export const TRIE_DEPTH = 4;
/** Bytes of a trie hash. */
export const TRIE_HASH_BYTES = 16;
const EMPTY = new Uint8Array(TRIE_HASH_BYTES);

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
  return sha256(body).subarray(0, ROOT_TAG_BYTES);
}


/** A node's position: `depth` nibbles of prefix, read as the integer `index` (< 16^depth). */
export interface TriePosition {
  depth: number;
  index: number;
}

/** What a tree-descent frame carries for one node: its 16 children's hashes and origin counts. */
export interface TrieNodeView extends TriePosition {
  childHashes: Uint8Array; // 16 × TRIE_HASH_BYTES
  childCounts: number[]; // 16
}

interface Bucket {
  count: number;
  hash: Uint8Array | null;
  leaves: Map<string, { entry: DigestEntry; hash: Uint8Array }>;
}

interface Inner {
  count: number;
  hash: Uint8Array | null;
  children: (Inner | Bucket | undefined)[];
}

type Node = Inner | Bucket;

function isBucket(n: Node): n is Bucket {
  return (n as Bucket).leaves !== undefined;
}

function nibble(origin: Uint8Array, i: number): number {
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

function u64be(n: number): Uint8Array {
  const out = new Uint8Array(8);
  const hi = Math.floor(n / 2 ** 32);
  const lo = n >>> 0;
  out[0] = hi >>> 24; out[1] = hi >>> 16; out[2] = hi >>> 8; out[3] = hi;
  out[4] = lo >>> 24; out[5] = lo >>> 16; out[6] = lo >>> 8; out[7] = lo;
  return out;
}

function leafHash(e: DigestEntry): Uint8Array {
  const tag = e.tag ?? EMPTY_TAG;
  const buf = new Uint8Array(e.origin.length + 16 + tag.length);
  buf.set(e.origin, 0);
  buf.set(u64be(e.generation), e.origin.length);
  buf.set(u64be(e.have), e.origin.length + 8);
  buf.set(tag, e.origin.length + 16);
  return sha256(buf).subarray(0, TRIE_HASH_BYTES);
}

const EMPTY_TAG = new Uint8Array(0);

/** The ids of `take` rows of `root`'s subtree in trie order, after skipping its first `skip`. */
function* idsOf(root: Node, skip: number, take: number): Generator<string> {
  const stack: Node[] = [root];
  while (stack.length > 0 && take > 0) {
    const n = stack.pop()!;
    if (skip >= n.count) {
      skip -= n.count;
      continue;
    }
    if (isBucket(n)) {
      for (const id of n.leaves.keys()) {
        if (skip > 0) {
          skip--;
          continue;
        }
        if (take-- <= 0) return;
        yield id;
      }
      continue;
    }
    for (let i = 15; i >= 0; i--) {
      const c = n.children[i];
      if (c) stack.push(c);
    }
  }
}

/** The digest trie. Keys are origin ids as lowercase hex (the store's key), values digest rows. */
export class DigestTrie {
  #root: Inner = { count: 0, hash: null, children: new Array(16) };

  /** Number of origins. */
  get size(): number {
    return this.#root.count;
  }

  /** Inserts or updates an origin's row. */
  set(key: string, entry: DigestEntry): void {
    const path: Node[] = [this.#root];
    let node: Inner = this.#root;
    for (let d = 0; d < TRIE_DEPTH; d++) {
      const i = nibble(entry.origin, d);
      let child = node.children[i];
      if (!child) {
        child = d === TRIE_DEPTH - 1
          ? { count: 0, hash: null, leaves: new Map() }
          : { count: 0, hash: null, children: new Array(16) };
        node.children[i] = child;
      }
      path.push(child);
      if (isBucket(child)) break;
      node = child;
    }
    const bucket = path[path.length - 1] as Bucket;
    const isNew = !bucket.leaves.has(key);
    bucket.leaves.set(key, { entry, hash: leafHash(entry) });
    for (const n of path) {
      n.hash = null;
      if (isNew) n.count++;
    }
  }

  /** Removes an origin's row, pruning empty nodes. */
  delete(key: string, origin: Uint8Array): void {
    const path: Node[] = [this.#root];
    const slots: number[] = [];
    let node: Node = this.#root;
    for (let d = 0; d < TRIE_DEPTH; d++) {
      const i = nibble(origin, d);
      const child: Node | undefined = (node as Inner).children[i];
      if (!child) return;
      path.push(child);
      slots.push(i);
      node = child;
    }
    const bucket = node as Bucket;
    if (!bucket.leaves.delete(key)) return;
    for (let d = path.length - 1; d >= 0; d--) {
      const n = path[d];
      n.count--;
      n.hash = null;
      if (n.count === 0 && d > 0) (path[d - 1] as Inner).children[slots[d - 1]] = undefined;
    }
  }

  /** The root hash and origin count: what a digest summary carries. */
  summary(): { hash: Uint8Array; count: number } {
    return { hash: this.#hash(this.#root), count: this.#root.count };
  }

  /** The node at `pos`, or undefined where no origin lies below it. */
  #find(pos: TriePosition): Node | undefined {
    if (pos.depth < 0 || pos.depth > TRIE_DEPTH || pos.index < 0 || pos.index >= 16 ** pos.depth) return undefined;
    let node: Node | undefined = this.#root;
    for (let d = 0; d < pos.depth && node; d++) {
      if (isBucket(node)) return undefined;
      const shift = 16 ** (pos.depth - d - 1);
      node = node.children[Math.floor(pos.index / shift) % 16];
    }
    return node;
  }

  /** Origin count under `pos` (0 where nothing lies). */
  countAt(pos: TriePosition): number {
    return this.#find(pos)?.count ?? 0;
  }

  /** Hash of the node at `pos` (zeros where nothing lies). */
  hashAt(pos: TriePosition): Uint8Array {
    const n = this.#find(pos);
    return n ? this.#hash(n) : EMPTY;
  }

  /** Children of an inner node at `pos`, as a descent frame carries them; undefined at bucket depth. */
  nodeView(pos: TriePosition): TrieNodeView | undefined {
    if (pos.depth >= TRIE_DEPTH) return undefined;
    const n = this.#find(pos);
    const childHashes = new Uint8Array(16 * TRIE_HASH_BYTES);
    const childCounts = new Array<number>(16).fill(0);
    if (n && !isBucket(n)) {
      for (let i = 0; i < 16; i++) {
        const c = n.children[i];
        if (!c) continue;
        childHashes.set(this.#hash(c), i * TRIE_HASH_BYTES);
        childCounts[i] = c.count;
      }
    }
    return { depth: pos.depth, index: pos.index, childHashes, childCounts };
  }

  /** All digest rows under `pos`, at most `max` of them. */
  entriesUnder(pos: TriePosition, max: number): DigestEntry[] {
    const out: DigestEntry[] = [];
    const n = this.#find(pos);
    if (n) this.#collect(n, out, max);
    return out;
  }

  /**
   * The ids (store keys) of the rows under `pos` in trie order, starting at the `start`-th
   * (wrapping round), one at a time: a caller that stops early pays for what it took, not for every
   * origin under `pos`. One generator and one small stack per walk, however deep the trie.
   */
  *walkIds(pos: TriePosition, start: number): Generator<string> {
    const n = this.#find(pos);
    if (!n || n.count === 0) return;
    const first = ((start % n.count) + n.count) % n.count;
    yield* idsOf(n, first, n.count - first);
    if (first > 0) yield* idsOf(n, 0, first);
  }

  #collect(n: Node, out: DigestEntry[], max: number): void {
    if (out.length >= max) return;
    if (isBucket(n)) {
      for (const { entry } of n.leaves.values()) {
        if (out.length >= max) return;
        out.push(entry);
      }
      return;
    }
    for (const c of n.children) if (c) this.#collect(c, out, max);
  }

  #hash(n: Node): Uint8Array {
    if (n.hash) return n.hash;
    if (isBucket(n)) {
      const hashes = [...n.leaves.values()].map((l) => l.hash).sort(compareBytes);
      const buf = new Uint8Array(hashes.length * TRIE_HASH_BYTES);
      hashes.forEach((h, i) => buf.set(h, i * TRIE_HASH_BYTES));
      n.hash = sha256(buf).subarray(0, TRIE_HASH_BYTES);
    } else {
      const buf = new Uint8Array(16 * TRIE_HASH_BYTES);
      n.children.forEach((c, i) => c && buf.set(this.#hash(c), i * TRIE_HASH_BYTES));
      n.hash = sha256(buf).subarray(0, TRIE_HASH_BYTES);
    }
    return n.hash;
  }
}
