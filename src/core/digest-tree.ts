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

import { type DigestEntry, type DigestIndex, grouped, innerHash, inScope, type Leaf, leafHash, nibble, positionOf, subtreeHash, TRIE_DEPTH, TRIE_HASH_BYTES, type TrieNodeView, type TriePosition } from "./digest-rows.ts";
import type { DigestPart } from "./parts.ts";

const EMPTY = new Uint8Array(TRIE_HASH_BYTES);


/**
 * Every row under its position, in one table. At bucket depth ({@link TRIE_DEPTH}) that is what
 * the trie is made of; above it, a flat node stands for a subtree of at most {@link FLAT_MAX} rows
 * (it splits into an inner node past that), so a small store keeps one table instead of a chain of
 * sixteen-slot nodes down to every row. Its table's order is the order its rows came in, which is
 * what a bucket's would be.
 */
interface Flat {
  count: number;
  hash: Uint8Array | null;
  leaves: Map<string, Leaf>;
  /**
   * Hashes of positions below it asked for since it last changed (`hashBelow`): a peer's descent
   * frames that keep asking about a small subtree cost a lookup, not its hashes again. At most one
   * per position with rows under it: 16 rows × 4 depths.
   */
  below: Map<number, Uint8Array> | null;
}

interface Inner {
  count: number;
  hash: Uint8Array | null;
  children: (Node | undefined)[];
}

type Node = Inner | Flat;

/**
 * Rows a node above bucket depth holds in one table before it splits; an inner node that falls to
 * half of it becomes flat again. Hashes, counts, views and orders are those of the full trie either
 * way: a flat node computes what its subtree would (a few hashes per row, when asked).
 */
export const FLAT_MAX = 16;

function isFlat(n: Node): n is Flat {
  return (n as Flat).leaves !== undefined;
}

function flat(): Flat {
  return { count: 0, hash: null, leaves: new Map(), below: null };
}

/** The hash of the subtree at `pos` holding exactly `leaves`, from `below` when it was asked before. */
function hashBelow(below: Map<number, Uint8Array>, leaves: Leaf[], pos: TriePosition): Uint8Array {
  const key = pos.depth * 16 ** TRIE_DEPTH + pos.index;
  let h = below.get(key);
  if (!h) below.set(key, (h = subtreeHash(leaves, pos.depth)));
  return h;
}

/** A flat node's rows in trie order: by bucket, and within a bucket in the order they came. */
function inTrieOrder(n: Flat): [string, Leaf][] {
  const rows = [...n.leaves];
  if (rows.length < 2) return rows;
  const bucket = rows.map(([, l]) => positionOf(l.entry.origin, TRIE_DEPTH).index);
  const order = rows.map((_, i) => i).sort((a, b) => bucket[a] - bucket[b] || a - b);
  return order.map((i) => rows[i]);
}

/** Replaces flat `n` at `depth` by an inner node over flat children (split again where still too big). */
function split(n: Flat, depth: number): Inner {
  const children: (Node | undefined)[] = new Array(16);
  for (const [key, l] of n.leaves) {
    const i = nibble(l.entry.origin, depth);
    const c = (children[i] ??= flat()) as Flat;
    c.leaves.set(key, l);
    c.count++;
  }
  if (depth + 1 < TRIE_DEPTH) {
    for (let i = 0; i < 16; i++) {
      const c = children[i] as Flat | undefined;
      if (c && c.count > FLAT_MAX) children[i] = split(c, depth + 1);
    }
  }
  return { count: n.count, hash: null, children };
}

/** Every row under `n` into `out` (by key), keeping each bucket's order. */
function gather(n: Node, out: Map<string, Leaf>): void {
  if (isFlat(n)) for (const [key, l] of n.leaves) out.set(key, l);
  else for (const c of n.children) if (c) gather(c, out);
}

/** The ids of `take` rows of `root`'s subtree in trie order, after skipping its first `skip`. */
function* idsOf(root: Node, skip: number, take: number): Generator<string> {
  const stack: Node[] = [root];
  while (stack.length > 0 && take > 0) {
    const n = stack.pop()!;
    if (skip >= n.count) {
      skip -= n.count;
      continue;
    }
    if (isFlat(n)) {
      const keys = n.count === 1 ? n.leaves.keys() : inTrieOrder(n).slice(skip).map(([key]) => key);
      skip = 0;
      for (const key of keys) {
        if (take-- <= 0) return;
        yield key;
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
export class DigestTrie implements DigestIndex {
  #root: Node = flat();

  /** Number of origins. */
  get size(): number {
    return this.#root.count;
  }

  /** Inserts or updates an origin's row. */
  set(key: string, entry: DigestEntry): void {
    const path: Node[] = [];
    let node: Node = this.#root;
    let depth = 0;
    while (!isFlat(node)) {
      path.push(node);
      const i = nibble(entry.origin, depth++);
      node = node.children[i] ??= flat();
    }
    const isNew = !node.leaves.has(key);
    node.leaves.set(key, { entry, hash: leafHash(entry) });
    node.hash = null;
    node.below = null;
    for (const n of path) n.hash = null;
    if (!isNew) return;
    node.count++;
    for (const n of path) n.count++;
    if (depth === TRIE_DEPTH || node.count <= FLAT_MAX) return;
    const inner = split(node, depth);
    if (path.length === 0) this.#root = inner;
    else (path[path.length - 1] as Inner).children[nibble(entry.origin, depth - 1)] = inner;
  }

  /** Removes an origin's row, pruning empty nodes and flattening small subtrees. */
  delete(key: string, origin: Uint8Array): void {
    const path: Inner[] = [];
    let node: Node = this.#root;
    let depth = 0;
    while (!isFlat(node)) {
      path.push(node);
      const child: Node | undefined = node.children[nibble(origin, depth++)];
      if (!child) return;
      node = child;
    }
    if (!node.leaves.delete(key)) return;
    node.count--;
    node.hash = null;
    node.below = null;
    for (const n of path) {
      n.count--;
      n.hash = null;
    }
    // The highest inner node on the path that is now small becomes flat (its rows in bucket order);
    // below it nothing needs pruning. Otherwise an emptied node leaves its parent.
    const small = path.findIndex((n) => n.count <= FLAT_MAX / 2);
    if (small >= 0) {
      const f = flat();
      gather(path[small], f.leaves);
      f.count = f.leaves.size;
      if (small === 0) this.#root = f;
      else path[small - 1].children[nibble(origin, small - 1)] = f;
    } else if (node.count === 0 && path.length > 0) {
      path[path.length - 1].children[nibble(origin, depth - 1)] = undefined;
    }
  }

  /** The root hash and origin count: what a digest summary carries. */
  summary(): { hash: Uint8Array; count: number } {
    return { hash: this.#hash(this.#root, 0), count: this.#root.count };
  }

  /**
   * The node at `pos`, or undefined where no origin lies below it. Below a flat node it is a flat
   * node made for the call (the rows of the flat node that lie under `pos`), with `below` the flat
   * node's table of hashes asked below it.
   */
  #locate(pos: TriePosition): { node: Node; below: Map<number, Uint8Array> | null } | undefined {
    if (pos.depth < 0 || pos.depth > TRIE_DEPTH || pos.index < 0 || pos.index >= 16 ** pos.depth) return undefined;
    let node: Node | undefined = this.#root;
    for (let d = 0; d < pos.depth && node; d++) {
      if (isFlat(node)) {
        const under = flat();
        for (const [key, l] of node.leaves) if (inScope(l.entry.origin, pos)) under.leaves.set(key, l);
        under.count = under.leaves.size;
        return under.count > 0 ? { node: under, below: (node.below ??= new Map()) } : undefined;
      }
      const shift = 16 ** (pos.depth - d - 1);
      node = node.children[Math.floor(pos.index / shift) % 16];
    }
    return node ? { node, below: null } : undefined;
  }

  #find(pos: TriePosition): Node | undefined {
    return this.#locate(pos)?.node;
  }

  /** Origin count under `pos` (0 where nothing lies). */
  countAt(pos: TriePosition): number {
    return this.#find(pos)?.count ?? 0;
  }

  /** Hash of the node at `pos` (zeros where nothing lies). */
  hashAt(pos: TriePosition): Uint8Array {
    const at = this.#locate(pos);
    if (!at) return EMPTY;
    return at.below ? hashBelow(at.below, [...(at.node as Flat).leaves.values()], pos) : this.#hash(at.node, pos.depth);
  }

  /** Children of an inner node at `pos`, as a descent frame carries them; undefined at bucket depth. */
  nodeView(pos: TriePosition): TrieNodeView | undefined {
    if (pos.depth >= TRIE_DEPTH) return undefined;
    const at = this.#locate(pos);
    const n = at?.node;
    const childHashes = new Uint8Array(16 * TRIE_HASH_BYTES);
    const childCounts = new Array<number>(16).fill(0);
    if (n && isFlat(n)) {
      const below = at!.below ?? (n.below ??= new Map());
      grouped(n.leaves.values(), pos.depth).forEach((g, i) => {
        if (!g) return;
        childHashes.set(hashBelow(below, g, { depth: pos.depth + 1, index: pos.index * 16 + i }), i * TRIE_HASH_BYTES);
        childCounts[i] = g.length;
      });
    } else if (n) {
      for (let i = 0; i < 16; i++) {
        const c = n.children[i];
        if (!c) continue;
        childHashes.set(this.#hash(c, pos.depth + 1), i * TRIE_HASH_BYTES);
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
    if (isFlat(n)) {
      for (const [, { entry }] of inTrieOrder(n)) {
        if (out.length >= max) return;
        out.push(entry);
      }
      return;
    }
    for (const c of n.children) if (c) this.#collect(c, out, max);
  }

  #hash(n: Node, depth: number): Uint8Array {
    if (n.hash) return n.hash;
    if (isFlat(n)) {
      n.hash = subtreeHash([...n.leaves.values()], depth);
    } else {
      const children = n.children;
      n.hash = innerHash((i) => children[i] && this.#hash(children[i]!, depth + 1));
    }
    return n.hash;
  }
}

/** The digest kept in a trie, as an engine part (`parts.ts`): for a node that holds many origins. */
export const digestTreePart: DigestPart = { make: () => new DigestTrie() };
