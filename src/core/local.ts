/**
 * This node's own map: the live entries it writes, its version, tombstones and their collection,
 * its farewell, and the snapshot it signs. Part of the store (`store.ts`), which serves what was
 * last signed; writes made meanwhile wait for the next signature (`beginSign` snapshots them,
 * `finishSign` hands the signed snapshot back).
 *
 * Invariants: `version` grows with every write, collection and the farewell; a write is refused
 * before anything changes when it would break a cap (`keyBytesMax`, `valueBytesMax`,
 * `originBytesMax`, `keysPerOriginMax`, tombstones included until collected); after the farewell
 * nothing is written.
 *
 * @module
 */

import { leafHash, MerkleTree } from "../crypto/merkle.ts";
import { localError } from "../errors.ts";
import { encodeLeaf, encodeRootBody, ROOT_FLAG_LEFT, ROOT_FLAG_RENEWS, type RootBody } from "../wire/records.ts";
import { emptyMap, isShared } from "./empty.ts";
import type { EngineOptions } from "./options.ts";
import { byKeyBytes, type SignedRoot, type StoredEntry } from "./origin.ts";
import type { Change } from "./store.ts";

const utf8 = new TextEncoder();

/** An entry as stored, built from its leaf bytes (`keyBytes`: the key's bytes in them, when decoded from them). */
export function makeEntry(leaf: Uint8Array, key: string, version: number, value: Uint8Array | null, keyBytes: Uint8Array = utf8.encode(key)): StoredEntry {
  return { key, keyBytes, version, value, leaf, leafHash: leafHash(leaf) };
}

/** This node's own map. */
export class LocalMap {
  // #entries and #deletedAt start as the shared empty Map (src/core/empty.ts) until the first
  // write: most nodes of a large mesh never write.
  #entries = emptyMap<string, StoredEntry>();
  #bytes = 0;
  #version = 0;
  #floor = 0;
  #flags = 0;
  #deletedAt = emptyMap<string, number>();
  #dirty = false;
  #signing: { body: Uint8Array; fields: RootBody; entries: StoredEntry[] } | null = null;

  /**
   * A map renews (`ROOT_FLAG_RENEWS`, see `strangers.ts`) where nothing else vouches that its writer
   * is there: in a scope always, mesh-wide on a node running no membership.
   */
  constructor(readonly key: Uint8Array, readonly id: string, readonly generation: number, readonly opts: EngineOptions, readonly scope?: Uint8Array) {
    if (opts.strangerOriginTtlMs > 0 && (scope !== undefined || !opts.membership)) this.#flags = ROOT_FLAG_RENEWS;
  }

  /** Whether local writes wait to be signed. */
  get dirty(): boolean {
    return this.#dirty;
  }

  /** The live value of one of this node's own keys (read-your-writes). */
  getLocal(key: string): Uint8Array | null | undefined {
    const e = this.#entries.get(key);
    return e ? e.value : undefined;
  }

  /** Live own keys with values (tombstones left out). */
  localEntries(): StoredEntry[] {
    return [...this.#entries.values()].filter((e) => e.value !== null);
  }

  /** Writes (or, with `null`, deletes) one of this node's keys. Throws on a cap or after leave. */
  write(now: number, key: string, value: Uint8Array | null): Change | null {
    if (typeof key !== "string") throw new TypeError("key must be a string");
    if (value !== null && !(value instanceof Uint8Array)) throw new TypeError("value must be a Uint8Array or null");
    if (this.#flags & ROOT_FLAG_LEFT) throw localError("ENGINE_CLOSED", "this node has left the mesh");
    const keyBytes = utf8.encode(key).length;
    if (keyBytes > this.opts.keyBytesMax) throw new RangeError(`key of ${keyBytes} bytes exceeds keyBytesMax ${this.opts.keyBytesMax}`);
    if (value && value.length > this.opts.valueBytesMax) {
      throw new RangeError(`value of ${value.length} bytes exceeds valueBytesMax ${this.opts.valueBytesMax}`);
    }
    const old = this.#entries.get(key);
    if (value === null && (!old || old.value === null)) return null;
    const version = this.#version + 1;
    const leaf = encodeLeaf({ key, version, value });
    const bytes = this.#bytes - (old?.leaf.length ?? 0) + leaf.length;
    if (bytes > this.opts.originBytesMax) {
      throw localError("STATE_CAP_EXCEEDED", `this write would make ${bytes} bytes, above originBytesMax ${this.opts.originBytesMax}`);
    }
    if (!old && this.#entries.size >= this.opts.keysPerOriginMax) {
      throw localError("STATE_CAP_EXCEEDED", `keysPerOriginMax ${this.opts.keysPerOriginMax} reached (tombstones count until collected)`);
    }
    this.#version = version;
    this.#bytes = bytes;
    if (isShared(this.#entries)) this.#entries = new Map();
    this.#entries.set(key, makeEntry(leaf, key, version, value));
    if (value === null) {
      if (isShared(this.#deletedAt)) this.#deletedAt = new Map();
      this.#deletedAt.set(key, now);
    }
    else this.#deletedAt.delete(key);
    this.#dirty = true;
    return { origin: this.key, originId: this.id, key, value, version, local: true };
  }

  /**
   * Says farewell: the map empties and the next signed root carries the left flag. A map never
   * written has no root anywhere and nothing out to take back: it is closed to writes, and no
   * farewell is signed (peers would verify and keep one for `leftOriginTtlMs` for nothing — a tab
   * that only writes in rooms never writes its mesh-wide map).
   */
  leave(): Change[] {
    if (this.#flags & ROOT_FLAG_LEFT) return [];
    if (this.#version === 0) {
      this.#flags |= ROOT_FLAG_LEFT;
      return [];
    }
    const changes: Change[] = [];
    for (const e of this.#entries.values()) {
      if (e.value !== null) changes.push({ origin: this.key, originId: this.id, key: e.key, value: null, version: this.#version + 1, local: true });
    }
    this.#entries.clear();
    this.#deletedAt.clear();
    this.#bytes = 0;
    this.#version++;
    this.#floor = this.#version;
    this.#flags |= ROOT_FLAG_LEFT;
    this.#dirty = true;
    return changes;
  }

  /**
   * One version on with the same entries, to be signed: how the writer of a map that carries
   * `ROOT_FLAG_RENEWS` shows it is still there (`strangers.ts`). False for a map never written or
   * left, or one whose next root is due anyway.
   */
  renew(): boolean {
    if (this.#version === 0 || this.#flags & ROOT_FLAG_LEFT || this.#dirty || this.#signing) return false;
    this.#version++;
    this.#dirty = true;
    return true;
  }

  /** Drops own tombstones older than `tombstoneTtlMs`; raising the floor tells peers to do the same. */
  collectTombstones(now: number): void {
    let floor = this.#floor;
    for (const [key, at] of this.#deletedAt) {
      if (now - at < this.opts.tombstoneTtlMs) continue;
      const e = this.#entries.get(key)!;
      floor = Math.max(floor, e.version);
      this.#entries.delete(key);
      this.#bytes -= e.leaf.length;
      this.#deletedAt.delete(key);
    }
    if (floor !== this.#floor) {
      this.#floor = floor;
      this.#version++;
      this.#dirty = true;
    }
  }

  /**
   * The root body the farewell would be signed under (what `leave` then `beginSign` would give)
   * while the map is signed and quiet: clean, not signing, not left, and written at least once (a
   * map never written has nothing out to take back: a relay's scopes sign nothing ahead). Signed
   * ahead, it serves `leave` as long as the map does not change. Null otherwise.
   */
  farewellBody(): Uint8Array | null {
    if (this.#version === 0 || this.#dirty || this.#signing || this.#flags & ROOT_FLAG_LEFT) return null;
    const version = this.#version + 1;
    const fields: RootBody = {
      origin: this.key,
      generation: this.generation,
      version,
      root: MerkleTree.fromLeafHashes([]).root,
      count: 0,
      floor: version,
      flags: this.#flags | ROOT_FLAG_LEFT,
    };
    if (this.scope) fields.scope = this.scope;
    return encodeRootBody(fields);
  }

  /** Snapshots the live map and returns the root body to sign, or null if clean or already signing. */
  beginSign(): Uint8Array | null {
    if (!this.#dirty || this.#signing) return null;
    const entries = [...this.#entries.values()].sort(byKeyBytes);
    const tree = MerkleTree.fromLeafHashes(entries.map((e) => e.leafHash));
    const fields: RootBody = {
      origin: this.key,
      generation: this.generation,
      version: this.#version,
      root: tree.root,
      count: entries.length,
      floor: this.#floor,
      flags: this.#flags,
    };
    if (this.scope) fields.scope = this.scope;
    const body = encodeRootBody(fields);
    this.#signing = { body, fields, entries };
    this.#dirty = false;
    return body;
  }

  /** The snapshot taken by `beginSign`, now signed: the root and its entries, to be served. */
  finishSign(signature: Uint8Array): { root: SignedRoot; entries: StoredEntry[] } {
    const s = this.#signing;
    if (!s) throw new Error("finishSign without beginSign");
    this.#signing = null;
    return { root: { body: s.body, signature, fields: s.fields }, entries: s.entries };
  }

  /** Abandons a signature that failed; the next `beginSign` retries. */
  abortSign(): void {
    if (this.#signing) this.#dirty = true;
    this.#signing = null;
  }
}
