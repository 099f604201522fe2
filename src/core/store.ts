/**
 * The replicated state of one node: every origin's map, the node's own map, and the rules that
 * keep them honest.
 *
 * Remote data enters in two steps. `check` is synchronous and does every check but the signature:
 * caps, shape, ordering, Merkle inclusion proofs (or, for a full map, the recomputed root). The
 * engine then verifies the root's signature (asynchronously, unless the very same signed root is
 * already held) and calls `apply`, which decides newest-wins, spots equivocation, and updates the
 * digest trie. Local writes go to a live map that is ahead of what is served until the next root
 * is signed: `beginSign` snapshots it, `finishSign` publishes the snapshot.
 *
 * @module
 */

import { bytesEqual, toHex } from "../bytes.ts";
import { leafHash, MerkleTree, verifyInclusion } from "../crypto/merkle.ts";
import { localError, remoteError, type GrapevineError } from "../errors.ts";
import type { OriginDeltaWire } from "../wire/frames.ts";
import { decodeLeaf, decodeRootBody, encodeLeaf, encodeRootBody, ROOT_FLAG_LEFT, type RootBody } from "../wire/records.ts";
import { DigestTrie } from "./digest-tree.ts";
import type { EngineOptions } from "./options.ts";
import { buildSnapshot, byKeyBytes, firstAbove, OriginState, type SignedRoot, type Snapshot, type StoredEntry } from "./origin.ts";

/** One key's value changed (or was deleted, `value: null`) in some origin's map. */
export interface Change {
  origin: Uint8Array;
  originId: string;
  key: string;
  value: Uint8Array | null;
  version: number;
  local: boolean;
}

/** A delta that passed every check but its root's signature. */
export interface CheckedDelta {
  root: SignedRoot;
  originId: string;
  from: number;
  through: number;
  entries: StoredEntry[];
}

/** What `apply` did. `penalty` is set when the sender provably misbehaved. */
export interface ApplyResult {
  status: "applied" | "stale" | "equivocation" | "distrusted" | "full" | "self" | "inconsistent";
  changes: Change[];
  penalty?: GrapevineError;
  evidence?: [SignedRoot, SignedRoot];
}

const utf8 = new TextEncoder();

function makeEntry(leaf: Uint8Array, key: string, version: number, value: Uint8Array | null): StoredEntry {
  return { key, keyBytes: utf8.encode(key), version, value, leaf, leafHash: leafHash(leaf) };
}

/** Every origin's state on one node. */
export class Store {
  readonly origins: Map<string, OriginState> = new Map<string, OriginState>();
  readonly trie: DigestTrie = new DigestTrie();
  readonly selfId: string;
  readonly self: OriginState;

  #local = new Map<string, StoredEntry>();
  #localBytes = 0;
  #localVersion = 0;
  #localFloor = 0;
  #localFlags = 0;
  #deletedAt = new Map<string, number>();
  /** Origins collected after their farewell, remembered for another TTL so stale copies do not revive them. */
  #departed = new Map<string, { generation: number; version: number; at: number }>();
  #dirty = false;
  #signing: { body: Uint8Array; fields: RootBody; entries: StoredEntry[] } | null = null;

  constructor(readonly selfKey: Uint8Array, readonly generation: number, readonly opts: EngineOptions) {
    if (!Number.isSafeInteger(generation) || generation < 0) throw new RangeError("generation must be a non-negative safe integer");
    this.selfId = toHex(selfKey);
    this.self = new OriginState(selfKey, this.selfId);
    this.self.generation = generation;
  }

  // ---------------------------------------------------------------- local writes

  /** Whether local writes wait to be signed. */
  get dirty(): boolean {
    return this.#dirty;
  }

  /** The live value of one of this node's own keys (read-your-writes). */
  getLocal(key: string): Uint8Array | null | undefined {
    const e = this.#local.get(key);
    return e ? e.value : undefined;
  }

  /** Live own keys with values (tombstones left out). */
  localEntries(): StoredEntry[] {
    return [...this.#local.values()].filter((e) => e.value !== null);
  }

  /** Writes (or, with `null`, deletes) one of this node's keys. Throws on a cap or after leave. */
  write(now: number, key: string, value: Uint8Array | null): Change | null {
    if (typeof key !== "string") throw new TypeError("key must be a string");
    if (value !== null && !(value instanceof Uint8Array)) throw new TypeError("value must be a Uint8Array or null");
    if (this.#localFlags & ROOT_FLAG_LEFT) throw localError("ENGINE_CLOSED", "this node has left the mesh");
    const keyBytes = utf8.encode(key).length;
    if (keyBytes > this.opts.keyBytesMax) throw new RangeError(`key of ${keyBytes} bytes exceeds keyBytesMax ${this.opts.keyBytesMax}`);
    if (value && value.length > this.opts.valueBytesMax) {
      throw new RangeError(`value of ${value.length} bytes exceeds valueBytesMax ${this.opts.valueBytesMax}`);
    }
    const old = this.#local.get(key);
    if (value === null && (!old || old.value === null)) return null;
    const version = this.#localVersion + 1;
    const leaf = encodeLeaf({ key, version, value });
    const bytes = this.#localBytes - (old?.leaf.length ?? 0) + leaf.length;
    if (bytes > this.opts.originBytesMax) {
      throw localError("STATE_CAP_EXCEEDED", `this write would make ${bytes} bytes, above originBytesMax ${this.opts.originBytesMax}`);
    }
    if (!old && this.#local.size >= this.opts.keysPerOriginMax) {
      throw localError("STATE_CAP_EXCEEDED", `keysPerOriginMax ${this.opts.keysPerOriginMax} reached (tombstones count until collected)`);
    }
    this.#localVersion = version;
    this.#localBytes = bytes;
    this.#local.set(key, makeEntry(leaf, key, version, value));
    if (value === null) this.#deletedAt.set(key, now);
    else this.#deletedAt.delete(key);
    this.#dirty = true;
    return { origin: this.selfKey, originId: this.selfId, key, value, version, local: true };
  }

  /** Says farewell: the map empties and the next signed root carries the left flag. */
  leave(): Change[] {
    if (this.#localFlags & ROOT_FLAG_LEFT) return [];
    const changes: Change[] = [];
    for (const e of this.#local.values()) {
      if (e.value !== null) changes.push({ origin: this.selfKey, originId: this.selfId, key: e.key, value: null, version: this.#localVersion + 1, local: true });
    }
    this.#local.clear();
    this.#deletedAt.clear();
    this.#localBytes = 0;
    this.#localVersion++;
    this.#localFloor = this.#localVersion;
    this.#localFlags |= ROOT_FLAG_LEFT;
    this.#dirty = true;
    return changes;
  }

  /** Drops own tombstones older than `tombstoneTtlMs`; raising the floor tells peers to do the same. */
  collectTombstones(now: number): void {
    let floor = this.#localFloor;
    for (const [key, at] of this.#deletedAt) {
      if (now - at < this.opts.tombstoneTtlMs) continue;
      const e = this.#local.get(key)!;
      floor = Math.max(floor, e.version);
      this.#local.delete(key);
      this.#localBytes -= e.leaf.length;
      this.#deletedAt.delete(key);
    }
    if (floor !== this.#localFloor) {
      this.#localFloor = floor;
      this.#localVersion++;
      this.#dirty = true;
    }
  }

  /** Snapshots the live map and returns the root body to sign, or null if clean or already signing. */
  beginSign(): Uint8Array | null {
    if (!this.#dirty || this.#signing) return null;
    const entries = [...this.#local.values()].sort(byKeyBytes);
    const tree = MerkleTree.fromLeafHashes(entries.map((e) => e.leafHash));
    const fields: RootBody = {
      origin: this.selfKey,
      generation: this.generation,
      version: this.#localVersion,
      root: tree.root,
      count: entries.length,
      floor: this.#localFloor,
      flags: this.#localFlags,
    };
    const body = encodeRootBody(fields);
    this.#signing = { body, fields, entries };
    this.#dirty = false;
    return body;
  }

  /** Publishes the snapshot taken by `beginSign` under its signature. */
  finishSign(signature: Uint8Array, now: number): void {
    const s = this.#signing;
    if (!s) throw new Error("finishSign without beginSign");
    this.#signing = null;
    const root: SignedRoot = { body: s.body, signature, fields: s.fields };
    const st = this.self;
    st.entries.clear();
    st.bytes = 0;
    for (const e of s.entries) st.put(e);
    st.root = root;
    st.have = s.fields.version;
    st.updatedAt = now;
    st.snapshot = buildSnapshot(root, s.entries);
    if (!this.origins.has(this.selfId)) this.origins.set(this.selfId, st);
    this.#index(st);
  }

  /** Abandons a signature that failed; the next `beginSign` retries. */
  abortSign(): void {
    if (this.#signing) this.#dirty = true;
    this.#signing = null;
  }

  // ---------------------------------------------------------------- remote data

  /** Everything but the signature: caps, shape, order, proofs. Throws a remote `GrapevineError`. */
  check(od: OriginDeltaWire): CheckedDelta {
    const o = this.opts;
    const fields = decodeRootBody(od.rootBody);
    if (fields.count > o.keysPerOriginMax) {
      throw remoteError("STATE_CAP_EXCEEDED", `origin holds ${fields.count} keys, above keysPerOriginMax ${o.keysPerOriginMax}`);
    }
    if (od.entries.length > fields.count) throw remoteError("WIRE_SHAPE", "more entries than the root counts");
    if (od.through > fields.version || od.from > od.through) throw remoteError("WIRE_SHAPE", "delta range outside the root");
    if (od.full && (od.from !== 0 || od.through !== fields.version || od.entries.length !== fields.count)) {
      throw remoteError("WIRE_SHAPE", "a full delta must carry every entry");
    }
    if (fields.flags & ROOT_FLAG_LEFT && fields.count !== 0) throw remoteError("WIRE_SHAPE", "a farewell root must be empty");
    const entries: StoredEntry[] = [];
    const keys = new Set<string>();
    let prev = od.from;
    let bytes = 0;
    for (const w of od.entries) {
      const leaf = decodeLeaf(w.leaf, o.keyBytesMax, o.valueBytesMax);
      if (leaf.version <= prev || leaf.version > od.through) throw remoteError("WIRE_SHAPE", "entries must ascend by version within the delta range");
      if (keys.has(leaf.key)) throw remoteError("WIRE_SHAPE", `key ${JSON.stringify(leaf.key)} twice in one delta`);
      keys.add(leaf.key);
      prev = leaf.version;
      bytes += w.leaf.length;
      const e = makeEntry(w.leaf, leaf.key, leaf.version, leaf.value);
      if (!od.full && !verifyInclusion(e.leafHash, w.index, fields.count, w.proof, fields.root)) {
        throw remoteError("STATE_BAD_PROOF", `inclusion proof of ${JSON.stringify(leaf.key)} does not match the signed root`);
      }
      entries.push(e);
    }
    if (bytes > o.originBytesMax) throw remoteError("STATE_CAP_EXCEEDED", `origin delta of ${bytes} bytes exceeds originBytesMax`);
    if (od.full) {
      const tree = MerkleTree.fromLeafHashes(entries.slice().sort(byKeyBytes).map((e) => e.leafHash));
      if (!bytesEqual(tree.root, fields.root)) throw remoteError("STATE_BAD_PROOF", "full map does not hash to the signed root");
    }
    return {
      root: { body: od.rootBody, signature: od.signature, fields },
      originId: toHex(fields.origin),
      from: od.from,
      through: od.through,
      entries,
    };
  }

  /** Whether this exact signed root is already held (so its signature need not be checked again). */
  holdsRoot(cd: CheckedDelta): boolean {
    const st = this.origins.get(cd.originId);
    const r = st?.root;
    return !!r && bytesEqual(r.body, cd.root.body) && bytesEqual(r.signature, cd.root.signature);
  }

  /** The (generation, have) this node holds for an origin, or null. */
  position(originId: string): { generation: number; have: number; version: number } | null {
    const gone = this.#departed.get(originId);
    if (gone) return { generation: gone.generation, have: gone.version, version: gone.version };
    const st = this.origins.get(originId);
    if (!st || !st.root) return null;
    return { generation: st.generation, have: st.have, version: st.root.fields.version };
  }

  /** Applies a checked delta whose root signature is verified. */
  apply(cd: CheckedDelta, now: number): ApplyResult {
    const f = cd.root.fields;
    if (cd.originId === this.selfId) return { status: "self", changes: [] };
    const gone = this.#departed.get(cd.originId);
    if (gone) {
      if (f.generation < gone.generation || (f.generation === gone.generation && f.version <= gone.version)) return { status: "stale", changes: [] };
      this.#departed.delete(cd.originId); // it came back with newer state: a rejoin
    }
    let st = this.origins.get(cd.originId);
    if (!st) {
      if (this.origins.size >= this.opts.originsMax) return { status: "full", changes: [] };
      st = new OriginState(f.origin, cd.originId);
      this.origins.set(cd.originId, st);
    }
    if (st.evidence) return { status: "distrusted", changes: [] };
    const changes: Change[] = [];
    const cur = st.root?.fields;
    if (cur) {
      if (f.generation < st.generation) return { status: "stale", changes };
      if (f.generation === st.generation) {
        if (f.version < cur.version) return { status: "stale", changes };
        if (f.version === cur.version && !bytesEqual(st.root!.body, cd.root.body)) {
          st.evidence = [st.root!, cd.root];
          return {
            status: "equivocation",
            changes,
            evidence: st.evidence,
            penalty: undefined,
          };
        }
      } else {
        for (const e of st.entries.values()) if (e.value !== null) changes.push(this.#change(st, e.key, null, f.version));
        st.entries.clear();
        st.bytes = 0;
        st.snapshot = null;
        st.have = 0;
        st.leftAt = null;
      }
    }
    st.generation = f.generation;

    // Caps on the result, before anything changes.
    let bytes = st.bytes;
    let count = st.entries.size;
    for (const e of cd.entries) {
      const old = st.entries.get(e.key);
      if (old && old.version >= e.version) continue;
      bytes += e.leaf.length - (old?.leaf.length ?? 0);
      if (!old) count++;
    }
    if (bytes > this.opts.originBytesMax + this.opts.valueBytesMax || count > this.opts.keysPerOriginMax * 2) {
      return { status: "stale", changes, penalty: remoteError("STATE_CAP_EXCEEDED", "origin would exceed its caps") };
    }

    if (!cur || f.version > cur.version || f.generation !== cur.generation) {
      st.root = cd.root;
      st.snapshot = null;
      st.updatedAt = now;
      if (f.flags & ROOT_FLAG_LEFT && st.leftAt === null) st.leftAt = now;
    }
    if (cd.from === 0) {
      // A resend from scratch: whatever we hold at or below `through` and it lacks is gone.
      const sent = new Set(cd.entries.map((e) => e.key));
      for (const e of [...st.entries.values()]) {
        if (e.version <= cd.through && !sent.has(e.key)) {
          st.remove(e.key);
          if (e.value !== null) changes.push(this.#change(st, e.key, null, f.version));
        }
      }
    }
    for (const e of cd.entries) {
      const old = st.entries.get(e.key);
      if (old && old.version >= e.version) continue;
      st.put(e);
      if (e.value !== null || (old && old.value !== null)) changes.push(this.#change(st, e.key, e.value, e.version));
    }
    const floor = st.root!.fields.floor;
    for (const e of [...st.entries.values()]) if (e.value === null && e.version <= floor) st.remove(e.key);

    if (cd.from <= st.have && (cd.from === 0 || st.have >= floor)) st.have = Math.max(st.have, cd.through);
    let status: ApplyResult["status"] = "applied";
    if (st.complete && !st.servable()) {
      // Held entries do not hash to the signed root: start over from a full resend.
      st.have = 0;
      status = "inconsistent";
    }
    this.#index(st);
    return { status, changes };
  }

  #change(st: OriginState, key: string, value: Uint8Array | null, version: number): Change {
    return { origin: st.origin, originId: st.id, key, value, version, local: false };
  }

  #index(st: OriginState): void {
    this.trie.set(st.id, { origin: st.origin, generation: st.generation, have: st.have });
  }

  // ---------------------------------------------------------------- serving

  /**
   * The delta that brings a peer at (`generation`, `have`) up to this node's signed root of an
   * origin, oldest entries first, within `budget` bytes (always at least one entry), or null if the
   * peer is not behind or this node cannot prove the entries.
   */
  deltaFor(originId: string, generation: number, have: number, budget: number): { delta: OriginDeltaWire; bytes: number } | null {
    const st = this.origins.get(originId);
    const snap: Snapshot | null | undefined = st?.servable();
    if (!st || !snap) return null;
    const f = snap.root.fields;
    if (generation > f.generation || (generation === f.generation && have >= f.version)) return null;
    let from = generation === f.generation ? have : 0;
    if (from < f.floor) from = 0;
    const overhead = snap.root.body.length + 64 + 24;
    if (from === 0 && snap.bytes + snap.byKey.length * 8 + overhead <= budget) {
      return {
        delta: {
          rootBody: snap.root.body,
          signature: snap.root.signature,
          from: 0,
          through: f.version,
          full: true,
          entries: snap.byVersion.map((e) => ({ leaf: e.leaf, index: snap.indexOf.get(e)!, proof: [] })),
        },
        bytes: overhead + snap.bytes + snap.byKey.length * 8,
      };
    }
    const entries: OriginDeltaWire["entries"] = [];
    let bytes = overhead;
    let through = f.version;
    for (let i = firstAbove(snap.byVersion, from); i < snap.byVersion.length; i++) {
      const e = snap.byVersion[i];
      const index = snap.indexOf.get(e)!;
      const proof = snap.tree.proof(index);
      const size = e.leaf.length + 33 * proof.length + 12;
      if (entries.length > 0 && bytes + size > budget) {
        through = snap.byVersion[i - 1].version;
        break;
      }
      entries.push({ leaf: e.leaf, index, proof });
      bytes += size;
    }
    return { delta: { rootBody: snap.root.body, signature: snap.root.signature, from, through, full: false, entries }, bytes };
  }

  // ---------------------------------------------------------------- reading and collection

  /** A value of any origin's map (own keys read live). */
  get(originId: string, key: string): Uint8Array | null | undefined {
    if (originId === this.selfId) return this.getLocal(key);
    return this.origins.get(originId)?.entries.get(key)?.value;
  }

  /**
   * Forgets an origin now (membership collected it as dead long enough ago), remembering its last
   * version for `leftOriginTtlMs` like a departed one, so a stale copy does not bring it back.
   */
  forget(originId: string, now: number): void {
    const st = this.origins.get(originId);
    if (!st || originId === this.selfId) return;
    this.origins.delete(originId);
    this.trie.delete(st.id, st.origin);
    if (this.#departed.size < this.opts.originsMax) {
      this.#departed.set(originId, { generation: st.generation, version: st.root?.fields.version ?? 0, at: now });
    }
  }

  /**
   * Forgets departed origins `leftOriginTtlMs` after their farewell, then remembers only their last
   * version for as long again, so a peer still holding the farewell cannot revive them.
   * Returns how many origins went.
   */
  collectOrigins(now: number): number {
    let n = 0;
    const ttl = this.opts.leftOriginTtlMs;
    for (const [id, d] of this.#departed) if (now - d.at >= ttl) this.#departed.delete(id);
    for (const st of [...this.origins.values()]) {
      if (st.id === this.selfId || st.leftAt === null || now - st.leftAt < ttl) continue;
      this.origins.delete(st.id);
      this.trie.delete(st.id, st.origin);
      if (this.#departed.size < this.opts.originsMax) {
        this.#departed.set(st.id, { generation: st.generation, version: st.root?.fields.version ?? 0, at: now });
      }
      n++;
    }
    return n;
  }
}
