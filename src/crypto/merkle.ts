/**
 * RFC 6962 (Certificate Transparency) Merkle trees over SHA-256: leaves are hashed as
 * `SHA-256(0x00 || data)`, interior nodes as `SHA-256(0x01 || left || right)`, the empty tree's root
 * is `SHA-256("")`, and a tree of `n > 1` leaves splits at `k`, the largest power of two below `n`.
 * The distinct leaf and node prefixes stop a leaf from being passed off as a subtree.
 *
 * {@link MerkleTree} keeps every level so an audit path costs O(log n); {@link verifyInclusion}
 * checks one with the RFC 9162 §2.1.3.2 algorithm and never throws on hostile input.
 *
 * @module
 */

import { bytesEqual } from "../bytes.ts";
import { sha256 } from "./hash.ts";

/** Bytes in every hash the tree handles. */
const HASH_BYTES = 32;

/** The longest audit path accepted: a tree of 2^64 leaves is beyond any real one. */
export const MERKLE_PROOF_LENGTH_MAX = 64;

/**
 * The RFC 6962 leaf hash: `SHA-256(0x00 || data)`.
 *
 * @example
 * ```ts
 * import { leafHash } from "./merkle.ts";
 * leafHash(new TextEncoder().encode("entry")).length; // 32
 * ```
 */
export function leafHash(data: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + data.length);
  input.set(data, 1);
  return sha256(input);
}

/**
 * The RFC 6962 interior node hash: `SHA-256(0x01 || left || right)`.
 *
 * @example
 * ```ts
 * import { leafHash, nodeHash } from "./merkle.ts";
 * const root = nodeHash(leafHash(new Uint8Array([1])), leafHash(new Uint8Array([2])));
 * ```
 */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + left.length + right.length);
  input[0] = 1;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return sha256(input);
}

/**
 * An immutable RFC 6962 tree built from leaf hashes (see {@link leafHash}).
 *
 * Built bottom-up: each level pairs neighbours and carries a lone last node up unchanged, which
 * yields exactly the RFC 6962 split-at-largest-power-of-two tree. All levels are kept (about 2n
 * hashes in contiguous buffers), so {@link MerkleTree.proof} only reads one node per level.
 *
 * @example
 * ```ts
 * import { MerkleTree, leafHash, verifyInclusion } from "./merkle.ts";
 * const leaves = ["a", "b", "c"].map((s) => leafHash(new TextEncoder().encode(s)));
 * const tree = MerkleTree.fromLeafHashes(leaves);
 * verifyInclusion(leaves[2], 2, tree.size, tree.proof(2), tree.root); // true
 * ```
 */
export class MerkleTree {
  /** Number of leaves. */
  readonly size: number;
  /** The tree head: 32 bytes; `SHA-256("")` for an empty tree. */
  readonly root: Uint8Array;
  /** `levels[0]` holds the leaves, each later level the parents of the one before, 32 bytes each. */
  readonly #levels: readonly Uint8Array[];

  private constructor(levels: Uint8Array[], size: number, root: Uint8Array) {
    this.#levels = levels;
    this.size = size;
    this.root = root;
  }

  /**
   * Builds the tree over `hashes`, which are leaf hashes (32 bytes each, `TypeError` otherwise);
   * they are copied, so later changes to the caller's arrays do not affect the tree.
   */
  static fromLeafHashes(hashes: readonly Uint8Array[]): MerkleTree {
    const leaves = new Uint8Array(hashes.length * HASH_BYTES);
    hashes.forEach((h, i) => {
      if (!(h instanceof Uint8Array) || h.length !== HASH_BYTES) throw new TypeError(`MerkleTree: leaf hash ${i} is not 32 bytes`);
      leaves.set(h, i * HASH_BYTES);
    });
    if (hashes.length === 0) return new MerkleTree([leaves], 0, sha256(new Uint8Array()));
    const levels: Uint8Array[] = [leaves];
    let level: Uint8Array = leaves;
    while (level.length > HASH_BYTES) {
      level = parentLevel(level);
      levels.push(level);
    }
    return new MerkleTree(levels, hashes.length, level); // the top level is the root (32 bytes); levels are never written to
  }

  /**
   * The RFC 6962 audit path of leaf `index`, leaf-side sibling first; empty for a one-leaf tree.
   * Throws `RangeError` unless `0 <= index < size`.
   */
  proof(index: number): Uint8Array[] {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size) {
      throw new RangeError(`MerkleTree.proof: index ${index} outside a tree of ${this.size} leaves`);
    }
    const path: Uint8Array[] = [];
    let i = index;
    for (let depth = 0; depth < this.#levels.length - 1; depth++) {
      const level = this.#levels[depth];
      const sibling = i % 2 === 0 ? i + 1 : i - 1;
      // A lone last node has no sibling at this level: it is carried up unchanged.
      if (sibling * HASH_BYTES < level.length) path.push(level.slice(sibling * HASH_BYTES, (sibling + 1) * HASH_BYTES));
      i = Math.floor(i / 2);
    }
    return path;
  }
}

/** Hashes neighbouring pairs of a level; an odd last node moves up as it is. */
function parentLevel(level: Uint8Array): Uint8Array {
  const count = level.length / HASH_BYTES;
  const parents = new Uint8Array(Math.ceil(count / 2) * HASH_BYTES);
  for (let i = 0; i + 1 < count; i += 2) {
    const left = level.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES);
    const right = level.subarray((i + 1) * HASH_BYTES, (i + 2) * HASH_BYTES);
    parents.set(nodeHash(left, right), (i / 2) * HASH_BYTES);
  }
  if (count % 2 === 1) parents.set(level.subarray((count - 1) * HASH_BYTES), ((count - 1) / 2) * HASH_BYTES);
  return parents;
}

/**
 * Checks that `leafHash` sits at `index` in the tree of `size` leaves whose root is `root`, given
 * its audit path, by the RFC 9162 §2.1.3.2 algorithm. Returns `false`, never throws, for a bad
 * index or size, a proof of the wrong length (over {@link MERKLE_PROOF_LENGTH_MAX} included) or any
 * value that is not a 32-byte hash.
 *
 * @example
 * ```ts
 * import { MerkleTree, leafHash, verifyInclusion } from "./merkle.ts";
 * const leaves = [leafHash(new Uint8Array([7]))];
 * const tree = MerkleTree.fromLeafHashes(leaves);
 * verifyInclusion(leaves[0], 0, 1, [], tree.root); // true
 * ```
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!isHash(leafHash) || !isHash(root) || !Array.isArray(proof)) return false;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  if (proof.length > MERKLE_PROOF_LENGTH_MAX) return false;
  // fn walks the leaf's position up the tree, sn the last leaf's; they meet on the right spine.
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (!isHash(p) || sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesEqual(r, root);
}

function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_BYTES;
}
