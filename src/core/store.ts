/**
 * The replicated state of one node: every origin's map, its own map, and the rules that keep them honest.
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
import { MerkleTree, verifyInclusion } from "../crypto/merkle.ts";
import { remoteError, type GrapevineError } from "../errors.ts";
import type { OriginDeltaWire } from "../wire/frames.ts";
import { decodeLeaf, decodeRootBody, ROOT_FLAG_LEFT } from "../wire/records.ts";
import type { DigestEntry, DigestIndex } from "./digest-rows.ts";
import { emptyMap, isShared } from "./empty.ts";
import { LocalMap } from "./local.ts";
import { deltaOf } from "./serve.ts";
import type { EngineOptions } from "./options.ts";
import { type BytePool, ENTRY_HELD_BYTES, entriesHeld, ORIGIN_HELD_BYTES } from "./held.ts";
import { buildSnapshot, byKeyBytes, OriginState, rootBytes, takenEntry, type OriginView, type SignedRoot, type StoredEntry } from "./origin.ts";

export { type BytePool, ENTRY_HELD_BYTES, ORIGIN_HELD_BYTES };

/** One key's value changed (or was deleted, `value: null`) in some origin's map. */
export interface Change {
  origin: Uint8Array;
  originId: string;
  key: string;
  value: Uint8Array | null;
  version: number;
  local: boolean;
  /** The scope the key lives in (its id), for a change in a joined scope; absent for mesh-wide state. */
  scope?: Uint8Array;
}

/** A delta that passed every check but its root's signature. */
export interface CheckedDelta {
  root: SignedRoot;
  originId: string;
  from: number;
  through: number;
  /** The delta carries the whole map (its entries hash to the signed root): the only proof of absence. */
  full: boolean;
  entries: StoredEntry[];
}

/** What `apply` did. `penalty` is set when the sender provably misbehaved. */
export interface ApplyResult {
  status: "applied" | "stale" | "equivocation" | "distrusted" | "full" | "self" | "inconsistent";
  changes: Change[];
  penalty?: GrapevineError;
  evidence?: [SignedRoot, SignedRoot];
}

/** What the node's facade (and tests, and the simulator) may read of the store. */
export interface StateView {
  /** This node's origin id (hex). */
  readonly selfId: string;
  /** This node's own map as last signed (what peers are served). */
  readonly self: OriginView;
  /** Whether local writes wait to be signed. */
  readonly dirty: boolean;
  readonly origins: ReadonlyMap<string, OriginView>;
  /** Bytes held of other origins, as `storeBytesMax` counts them: their leaf bytes, {@link ENTRY_HELD_BYTES} an entry and {@link ORIGIN_HELD_BYTES} an origin. */
  readonly heldBytes: number;
  /** The node's count of every store together, the mesh-wide one and each scope's: what `storeBytesMax` bounds. */
  readonly pool: Readonly<BytePool>;
  get(originId: string, key: string): Uint8Array | null | undefined;
  getLocal(key: string): Uint8Array | null | undefined;
  localEntries(): StoredEntry[];
  position(originId: string): { generation: number; have: number; version: number } | null;
  distrusted(originId: string): boolean;
}

const sameScope = (a?: Uint8Array, b?: Uint8Array): boolean => (a === undefined || b === undefined ? a === b : bytesEqual(a, b));

/** Every origin's state on one node, in one scope. */
export class Store implements StateView {
  readonly origins: Map<string, OriginState> = new Map<string, OriginState>();
  readonly selfId: string;
  readonly self: OriginState;

  #local: LocalMap;
  /** Origins collected after their farewell, remembered for another TTL so stale copies do not revive them. */
  #departed = emptyMap<string, { generation: number; version: number; at: number }>(); // the shared empty Map until one departs
  #heldBytes = 0; // as `heldBytes` says
  readonly pool: BytePool;

  /**
   * @param scope the scope (room, topic) whose maps this store holds (absent: the mesh-wide maps); every root it signs or takes in names it
   * @param pool the node's byte count shared by all its stores
   * @param trie the digest's index (`parts.ts`'s `DigestPart`: the trie, or the rows in one table)
   */
  constructor(readonly selfKey: Uint8Array, readonly generation: number, readonly opts: EngineOptions, readonly trie: DigestIndex, readonly scope?: Uint8Array, pool: BytePool = { held: 0 }) {
    this.pool = pool;
    if (!Number.isSafeInteger(generation) || generation < 0) throw new RangeError("generation must be a non-negative safe integer");
    this.selfId = toHex(selfKey);
    this.self = new OriginState(selfKey, this.selfId);
    this.self.generation = generation;
    this.#local = new LocalMap(selfKey, this.selfId, generation, opts, scope);
  }

  /** Lets another origin go, with what it counted, remembered as departed (see `#departed`) while there is room. */
  #drop(st: OriginState, at: number, remember = true): void {
    this.origins.delete(st.id);
    this.#hold(-entriesHeld(st) - ORIGIN_HELD_BYTES);
    this.trie.delete(st.id, st.origin);
    if (!remember || this.#departed.size >= this.opts.originsMax) return;
    if (isShared(this.#departed)) this.#departed = new Map();
    this.#departed.set(st.id, { generation: st.generation, version: st.root?.fields.version ?? 0, at });
  }

  // ---------------------------------------------------------------- this node's own map

  /** Whether local writes wait to be signed. */
  get dirty(): boolean {
    return this.#local.dirty;
  }

  /** The live value of one of this node's own keys (read-your-writes). */
  getLocal(key: string): Uint8Array | null | undefined {
    return this.#local.getLocal(key);
  }

  /** Live own keys with values (tombstones left out). */
  localEntries(): StoredEntry[] {
    return this.#local.localEntries();
  }

  /** Writes (or, with `null`, deletes) one of this node's keys. Throws on a cap or after leave. */
  write(now: number, key: string, value: Uint8Array | null): Change | null {
    return this.#local.write(now, key, value);
  }

  /** Says farewell: the map empties and the next signed root carries the left flag. */
  leave(): Change[] {
    return this.#local.leave();
  }

  /** Drops own tombstones older than `tombstoneTtlMs`; raising the floor tells peers to do the same. */
  collectTombstones(now: number): void {
    this.#local.collectTombstones(now);
  }

  /** This node's map one version on, same entries (see `LocalMap.renew`). */
  renew(): boolean {
    return this.#local.renew();
  }

  /** Snapshots the live map and returns the root body to sign, or null if clean or already signing. */
  beginSign(): Uint8Array | null {
    return this.#local.beginSign();
  }

  /** Publishes the snapshot taken by `beginSign` under its signature. */
  finishSign(signature: Uint8Array, now: number): void {
    const { root, entries } = this.#local.finishSign(signature);
    const st = this.self;
    st.entries.clear();
    st.bytes = 0;
    for (const e of entries) st.put(e);
    st.root = root;
    st.have = root.fields.version;
    st.updatedAt = now;
    st.snapshot = buildSnapshot(root, entries);
    if (!this.origins.has(this.selfId)) this.origins.set(this.selfId, st);
    this.#index(st);
  }

  /** Abandons a signature that failed; the next `beginSign` retries. */
  abortSign(): void {
    this.#local.abortSign();
  }

  /** The farewell's root body while it can be signed ahead (`LocalMap.farewellBody`), else null. */
  farewellBody(): Uint8Array | null {
    return this.#local.farewellBody();
  }

  // ---------------------------------------------------------------- remote data

  /** Everything but the signature: caps, shape, order, proofs. Throws a remote `GrapevineError`. */
  check(od: OriginDeltaWire): CheckedDelta {
    const o = this.opts;
    const { body, signature } = rootBytes(od.rootBody, od.signature);
    const fields = decodeRootBody(body);
    if (!sameScope(fields.scope, this.scope)) throw remoteError("WIRE_SHAPE", "root of another scope");
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
      const e = takenEntry(w.leaf, (own) => decodeLeaf(own, o.keyBytesMax, o.valueBytesMax));
      if (e.version <= prev || e.version > od.through) throw remoteError("WIRE_SHAPE", "entries must ascend by version within the delta range");
      if (keys.has(e.key)) throw remoteError("WIRE_SHAPE", `key ${JSON.stringify(e.key)} twice in one delta`);
      keys.add(e.key);
      prev = e.version;
      bytes += w.leaf.length;
      if (!od.full && !verifyInclusion(e.leafHash, w.index, fields.count, w.proof, fields.root)) {
        throw remoteError("STATE_BAD_PROOF", `inclusion proof of ${JSON.stringify(e.key)} does not match the signed root`);
      }
      entries.push(e);
    }
    if (bytes > o.originBytesMax) throw remoteError("STATE_CAP_EXCEEDED", `origin delta of ${bytes} bytes exceeds originBytesMax`);
    if (od.full) {
      const tree = MerkleTree.fromLeafHashes(entries.slice().sort(byKeyBytes).map((e) => e.leafHash));
      if (!bytesEqual(tree.root, fields.root)) throw remoteError("STATE_BAD_PROOF", "full map does not hash to the signed root");
    }
    return {
      root: { body, signature, fields },
      originId: toHex(fields.origin),
      from: od.from,
      through: od.through,
      full: od.full,
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

  /** Bytes held of other origins, as `storeBytesMax` counts them: their leaf bytes, {@link ENTRY_HELD_BYTES} an entry and {@link ORIGIN_HELD_BYTES} an origin. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  #hold(delta: number): void {
    this.#heldBytes += delta;
    this.pool.held += delta;
  }

  /** The store is dropped (a scope left): what it held no longer counts against the node's total. */
  release(): void {
    this.pool.held -= this.#heldBytes;
    this.#heldBytes = 0;
  }

  /** Whether the origin is distrusted (it equivocated). */
  distrusted(originId: string): boolean {
    return this.origins.get(originId)?.evidence != null;
  }

  /** Applies a checked delta whose root signature is verified. */
  apply(cd: CheckedDelta, now: number): ApplyResult {
    const held = (): number => {
      const st = this.origins.get(cd.originId);
      return st ? entriesHeld(st) : 0;
    };
    const before = held();
    try {
      return this.#apply(cd, now);
    } finally {
      if (cd.originId !== this.selfId) this.#hold(held() - before);
    }
  }

  /**
   * Distrusts an origin on proof that it signed two roots for one version: its entries go (their
   * deletions returned), the evidence stays, nothing of it is accepted or served for `distrustedOriginTtlMs`,
   * and the digest keeps a row at the equivocated version (a peer still offering it lacks the verdict). Null if already distrusted.
   */
  distrust(evidence: [SignedRoot, SignedRoot], now: number): Change[] | null {
    const f = evidence[0].fields;
    const id = toHex(f.origin);
    if (id === this.selfId) return null;
    let st = this.origins.get(id);
    if (st?.evidence) return null;
    if (!st) {
      if (this.origins.size >= this.opts.originsMax || this.pool.held + ORIGIN_HELD_BYTES > this.opts.storeBytesMax) return null;
      st = new OriginState(f.origin, id);
      this.origins.set(id, st);
      this.#hold(ORIGIN_HELD_BYTES);
    }
    this.#departed.delete(id);
    const changes = this.#deletions(st, f.version);
    this.#hold(-entriesHeld(st));
    st.entries.clear();
    st.bytes = 0;
    st.snapshot = null;
    st.evidence = evidence;
    st.root = evidence[0];
    st.generation = f.generation;
    st.have = f.version;
    st.updatedAt = now;
    st.leftAt = null;
    st.distrustedAt = now;
    this.#index(st);
    return changes;
  }

  #apply(cd: CheckedDelta, now: number): ApplyResult {
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
      // A new origin needs room under the total for its record and what it brings (a known one's
      // growth is checked below): the node never counts more than storeBytesMax.
      let incoming = ORIGIN_HELD_BYTES;
      for (const e of cd.entries) incoming += e.leaf.length + ENTRY_HELD_BYTES;
      if (this.pool.held + incoming > this.opts.storeBytesMax) return { status: "full", changes: [] };
      st = new OriginState(f.origin, cd.originId);
      this.origins.set(cd.originId, st);
      this.#hold(ORIGIN_HELD_BYTES);
    }
    if (st.evidence) return { status: "distrusted", changes: [] };
    const changes: Change[] = [];
    const cur = st.root?.fields;
    if (cur) {
      if (f.generation < st.generation) return { status: "stale", changes };
      if (f.generation === st.generation) {
        if (f.version < cur.version) return { status: "stale", changes };
        if (f.version === cur.version && !bytesEqual(st.root!.body, cd.root.body)) {
          // Proof of equivocation; the caller distrusts the origin (`distrust`) and spreads it.
          return { status: "equivocation", changes, evidence: [st.root!, cd.root] };
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
    const growth = bytes - st.bytes + (count - st.entries.size) * ENTRY_HELD_BYTES;
    if (growth > 0 && this.pool.held + growth > this.opts.storeBytesMax) return { status: "full", changes };

    if (!cur || f.version > cur.version || f.generation !== cur.generation) {
      st.root = cd.root;
      st.snapshot = null;
      st.updatedAt = now;
      if (f.flags & ROOT_FLAG_LEFT && st.leftAt === null) st.leftAt = now;
    }
    // Nothing held can be stale if nothing is held.
    const empty = st.entries.size === 0;
    if (cd.full) {
      // The whole map, hashed to the signed root: whatever we hold and it lacks is proven gone. A
      // partial delta proves only what it carries, so it never deletes (a replayed root with a
      // truncated delta must not erase the origin's keys).
      const sent = new Set(cd.entries.map((e) => e.key));
      for (const e of [...st.entries.values()]) {
        if (!sent.has(e.key)) {
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

    // `have` advances over a contiguous range only while nothing held can predate a collected
    // tombstone (`have >= floor`, or nothing held); behind the floor only a full map catches up.
    if (cd.full || (cd.from <= st.have && (st.have >= floor || empty))) st.have = Math.max(st.have, cd.through);
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

  /** The deletion of each of `st`'s keys that holds a value, as changes at `version`. */
  #deletions(st: OriginState, version: number): Change[] {
    return [...st.entries.values()].filter((e) => e.value !== null).map((e) => this.#change(st, e.key, null, version));
  }

  #index(st: OriginState): void {
    // A departed origin leaves the digests at once: its farewell is gossiped as a rumor, and a peer
    // that still shows the origin in a digest, or offers its old state, is sent the farewell
    // (`farewellFor`); digests do not grow with the nodes that left.
    if (st.leftAt !== null && st.id !== this.selfId) {
      this.trie.delete(st.id, st.origin);
      return;
    }
    const row: DigestEntry = { origin: st.origin, generation: st.generation, have: st.have };
    const tag = st.tag;
    if (tag) row.tag = tag;
    this.trie.set(st.id, row);
  }

  /** The signed root held for an origin as a delta with no entries: for a peer whose digest shows another root for that version (its proof of equivocation). */
  rootOnly(originId: string): OriginDeltaWire | null {
    const st = this.origins.get(originId);
    if (!st?.root || st.evidence) return null;
    const v = st.root.fields.version;
    return { rootBody: st.root.body, signature: st.root.signature, from: v, through: v, full: false, entries: [] };
  }

  /** A departed origin's farewell (its empty map under its farewell root, within `budget`) if a peer at (`generation`, `have`) lacks it. */
  farewellFor(originId: string, generation: number, have: number, budget: number): { delta: OriginDeltaWire; bytes: number } | null {
    const st = this.origins.get(originId);
    if (!st || st.leftAt === null || originId === this.selfId) return null;
    return this.deltaFor(originId, generation, have, budget);
  }

  /** The tag of the root this node holds complete for an origin (see `DigestEntry.tag`), or null. */
  tagOf(originId: string): Uint8Array | null {
    return this.origins.get(originId)?.tag ?? null;
  }

  // ---------------------------------------------------------------- serving

  /** The delta that brings a peer at (`generation`, `have`) up to this node's signed root of an origin (serve.ts), or null. */
  deltaFor(originId: string, generation: number, have: number, budget: number, roomForFull = budget): { delta: OriginDeltaWire; bytes: number } | null {
    const st = this.origins.get(originId);
    return st ? deltaOf(st, generation, have, budget, roomForFull) : null;
  }

  // ---------------------------------------------------------------- reading and collection

  /** A value of any origin's map (own keys read live). */
  get(originId: string, key: string): Uint8Array | null | undefined {
    if (originId === this.selfId) return this.getLocal(key);
    return this.origins.get(originId)?.entries.get(key)?.value;
  }

  /** Forgets an origin (collected as dead; a silent stranger), remembered as departed so a stale copy cannot revive it unless `remember` is false; returns its keys' deletions. */
  forget(originId: string, now: number, remember = true): Change[] {
    const st = this.origins.get(originId);
    if (!st || originId === this.selfId) return [];
    this.#drop(st, now, remember);
    return this.#deletions(st, st.root?.fields.version ?? st.have);
  }

  /** Forgets departed origins `leftOriginTtlMs` after their farewell, remembering their last version as long again (so a stale copy cannot revive them); returns how many went. */
  collectOrigins(now: number): number {
    let n = 0;
    const ttl = this.opts.leftOriginTtlMs;
    for (const [id, d] of this.#departed) if (now - d.at >= ttl) this.#departed.delete(id);
    for (const st of [...this.origins.values()]) {
      if (st.id === this.selfId) continue;
      const left = st.leftAt !== null && now - st.leftAt >= ttl;
      const pardoned = st.distrustedAt !== null && now - st.distrustedAt >= this.opts.distrustedOriginTtlMs;
      if (!left && !pardoned) continue;
      this.#drop(st, now);
      n++;
    }
    return n;
  }
}
