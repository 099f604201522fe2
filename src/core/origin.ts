/**
 * One origin's map as a node holds it, and the immutable snapshots it is served from.
 *
 * Invariants:
 * - every stored entry was authenticated against a root signed by the origin (or written locally);
 * - `have` is the version through which this node holds *every* entry of `generation`: a peer
 *   whose digest says less gets the entries above it; `have === root.version` means complete;
 * - a snapshot exists only for a complete map whose recomputed Merkle root equals the signed one,
 *   so everything served can be proven against that root.
 *
 * @module
 */

import { leafHash, MerkleTree } from "../crypto/merkle.ts";
import { compareBytes } from "../bytes.ts";
import type { DecodedLeaf, RootBody } from "../wire/records.ts";
import { rootTag } from "./digest-rows.ts";

/** An entry as stored: the leaf bytes exactly as the origin encoded them, and what they say. */
export interface StoredEntry {
  readonly key: string;
  readonly keyBytes: Uint8Array;
  readonly version: number;
  readonly value: Uint8Array | null;
  readonly leaf: Uint8Array;
  readonly leafHash: Uint8Array;
}

/** A root as signed: the body bytes, the signature, and the decoded fields. */
export interface SignedRoot {
  readonly body: Uint8Array;
  readonly signature: Uint8Array;
  readonly fields: RootBody;
}

/** A complete, verified view of an origin's map at one signed root, used to serve deltas. */
export interface Snapshot {
  readonly root: SignedRoot;
  /** Tree order (by UTF-8 key bytes). */
  readonly byKey: readonly StoredEntry[];
  /** Ascending version order, for "everything above version v" in O(log n + d). */
  readonly byVersion: readonly StoredEntry[];
  /** Where each of `byVersion` stands in tree order (its leaf's index): `keyIndex[i]` for `byVersion[i]`. */
  readonly keyIndex: readonly number[];
  readonly tree: MerkleTree;
  /** Sum of leaf bytes. */
  readonly bytes: number;
}

/**
 * An entry taken in from a peer, held in one allocation: a copy of its leaf with the leaf's hash
 * after it. The key's bytes, the value and the hash are read from that copy when asked for (a
 * view each time): a heap holding many origins holds one buffer and one small object an entry,
 * not a view of each part.
 */
class HeldEntry implements StoredEntry {
  readonly key: string;
  readonly version: number;
  readonly leaf: Uint8Array;
  /** Where the key's bytes start and end in `leaf`. */
  readonly #keyAt: number;
  readonly #keyEnd: number;
  /** Where the value starts in `leaf` (it runs to the leaf's end), -1 for a tombstone. */
  readonly #valueAt: number;

  constructor(d: DecodedLeaf, leaf: Uint8Array) {
    this.key = d.key;
    this.version = d.version;
    this.leaf = leaf;
    this.#keyAt = d.keyBytes.byteOffset - leaf.byteOffset;
    this.#keyEnd = this.#keyAt + d.keyBytes.length;
    this.#valueAt = d.value === null ? -1 : d.value.byteOffset - leaf.byteOffset;
  }

  get keyBytes(): Uint8Array {
    return this.leaf.subarray(this.#keyAt, this.#keyEnd);
  }

  get value(): Uint8Array | null {
    return this.#valueAt < 0 ? null : this.leaf.subarray(this.#valueAt);
  }

  get leafHash(): Uint8Array {
    const l = this.leaf;
    return new Uint8Array(l.buffer, l.byteOffset + l.length, 32);
  }
}

/**
 * An entry taken in from a peer, held in one allocation (see `HeldEntry`). `decode` reads the leaf
 * as it will be held and must return views of it; a value must run to the leaf's end, as a leaf
 * encodes it.
 */
export function takenEntry(leaf: Uint8Array, decode: (leaf: Uint8Array) => DecodedLeaf): StoredEntry {
  const n = leaf.length;
  const buf = new Uint8Array(n + 32);
  buf.set(leaf);
  const own = buf.subarray(0, n);
  const d = decode(own);
  if (d.value !== null && d.value.byteOffset + d.value.length !== own.byteOffset + n) throw new RangeError("takenEntry: the value must end the leaf");
  buf.set(leafHash(own), n);
  return new HeldEntry(d, own);
}

/** A received root's body and signature copied into one buffer, as views of it: a held root is one allocation. */
export function rootBytes(body: Uint8Array, signature: Uint8Array): { body: Uint8Array; signature: Uint8Array } {
  const buf = new Uint8Array(body.length + signature.length);
  buf.set(body);
  buf.set(signature, body.length);
  return { body: buf.subarray(0, body.length), signature: buf.subarray(body.length) };
}

/** Orders entries as the Merkle tree does. */
export function byKeyBytes(a: StoredEntry, b: StoredEntry): number {
  return compareBytes(a.keyBytes, b.keyBytes);
}

const NO_INDEX: readonly number[] = Object.freeze([]);
const ONE_INDEX: readonly number[] = Object.freeze([0]);

/** Builds the Merkle tree over `entries` and, if it matches `root`, the snapshot; else null. */
export function buildSnapshot(root: SignedRoot, entries: Iterable<StoredEntry>): Snapshot | null {
  const byKey = [...entries].sort(byKeyBytes);
  const tree = MerkleTree.fromLeafHashes(byKey.map((e) => e.leafHash));
  if (compareBytes(tree.root, root.fields.root) !== 0 || byKey.length !== root.fields.count) return null;
  let bytes = 0;
  for (const e of byKey) bytes += e.leaf.length;
  // Tree positions sorted by their entries' versions: byVersion and its indexes in one pass. A map
  // of one key (a presence entry) shares them: most origins a relay holds are such maps.
  if (byKey.length <= 1) return { root, byKey, byVersion: byKey, keyIndex: byKey.length ? ONE_INDEX : NO_INDEX, tree, bytes };
  const order = Array.from(byKey.keys()).sort((a, b) => byKey[a].version - byKey[b].version);
  const byVersion = order.map((i) => byKey[i]);
  return { root, byKey, byVersion, keyIndex: order, tree, bytes };
}

/** Merkle root of a set of entries (tree order), for signing. */
export function merkleRootOf(entries: Iterable<StoredEntry>): { root: Uint8Array; count: number } {
  const byKey = [...entries].sort(byKeyBytes);
  return { root: MerkleTree.fromLeafHashes(byKey.map((e) => e.leafHash)).root, count: byKey.length };
}

/** An origin's state as readers outside the engine see it. */
export interface OriginView {
  readonly id: string;
  readonly origin: Uint8Array;
  readonly generation: number;
  readonly have: number;
  readonly complete: boolean;
  readonly root: SignedRoot | null;
  readonly entries: ReadonlyMap<string, StoredEntry>;
  readonly evidence: readonly [SignedRoot, SignedRoot] | null;
}

/** Per-origin state. Plain data; the store owns the rules. */
export class OriginState implements OriginView {
  generation = 0;
  have = 0;
  root: SignedRoot | null = null;
  readonly entries: Map<string, StoredEntry> = new Map<string, StoredEntry>();
  bytes = 0;
  snapshot: Snapshot | null = null;
  /** When this node last accepted a new root for the origin (its own clock). */
  updatedAt = 0;
  /** When the origin's farewell was accepted. */
  leftAt: number | null = null;
  /** Two different roots signed for one version: the origin is no longer trusted. */
  evidence: [SignedRoot, SignedRoot] | null = null;
  /** When the evidence was accepted (the distrust lasts `distrustedOriginTtlMs`). */
  distrustedAt: number | null = null;
  /**
   * When a peer's digest first and last lacked the origin (`lackedAt`) with no digest since
   * that lists it at least as far as this node holds it: the peers' word that it is gone (see
   * `strangers.ts`). Lacks from before `updatedAt` are stale.
   */
  lacked: { first: number; last: number } | null = null;

  /** The root `#tag` was computed for (a digest row's tag is asked for each time a peer's row is compared). */
  #tagRoot: SignedRoot | null = null;
  #tag: Uint8Array | null = null;

  constructor(readonly origin: Uint8Array, readonly id: string) {}

  /** Whether every entry of the latest root is held. */
  get complete(): boolean {
    return this.root !== null && this.have === this.root.fields.version;
  }

  /** The digest row's root tag (`rootTag` of the signed root) when the whole root is held, else null. */
  get tag(): Uint8Array | null {
    const root = this.root;
    if (root === null || this.have !== root.fields.version) return null;
    if (this.#tagRoot !== root) {
      this.#tag = rootTag(root.body);
      this.#tagRoot = root;
    }
    return this.#tag;
  }

  /** Replaces (or adds) an entry, keeping the byte count. */
  put(e: StoredEntry): void {
    const old = this.entries.get(e.key);
    if (old) this.bytes -= old.leaf.length;
    this.entries.set(e.key, e);
    this.bytes += e.leaf.length;
    this.snapshot = null;
  }

  /** Removes an entry, keeping the byte count. */
  remove(key: string): StoredEntry | undefined {
    const old = this.entries.get(key);
    if (!old) return undefined;
    this.entries.delete(key);
    this.bytes -= old.leaf.length;
    this.snapshot = null;
    return old;
  }

  /** A peer's digest lacked this origin now (see `lacked`). */
  lackedAt(now: number): void {
    const l = this.lacked;
    if (l && l.first >= this.updatedAt) l.last = now;
    else this.lacked = { first: now, last: now };
  }

  /** A peer's digest row lists this origin at (`generation`, `have`): if as far as this node holds it, no lack stands. */
  listedAt(generation: number, have: number): void {
    if (this.lacked && (generation > this.generation || (generation === this.generation && have >= this.have))) this.lacked = null;
  }

  /** The snapshot to serve from, built lazily; null unless complete and consistent. */
  servable(): Snapshot | null {
    if (this.evidence || !this.root || !this.complete) return null;
    if (!this.snapshot) this.snapshot = buildSnapshot(this.root, this.entries.values());
    return this.snapshot;
  }
}

/** First index in `byVersion` whose version is above `v` (binary search). */
export function firstAbove(byVersion: readonly StoredEntry[], v: number): number {
  let lo = 0;
  let hi = byVersion.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (byVersion[mid].version <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
