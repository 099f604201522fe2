/**
 * Scopes: rooms and topics as swarms of their own. A node carries only what it joined.
 *
 * A scope is named by a string (a room `room/<id>`, a topic `<topic>`) and known on the wire by
 * its 16-byte id, the first bytes of SHA-256 of the name behind a context tag. Each scope a node
 * joins is one instance of state sync (its own store of signed maps — every root names the scope,
 * so a root cannot be replayed into another — its own digests, trie and deltas) and one of
 * broadcast (its own Plumtree tree), over the links whose peers want the scope too. Their frames
 * travel inside SCOPED envelopes; a node that has not joined a scope receives none of its
 * payloads, digests or announcements. Membership stays mesh-wide.
 *
 * Each link tells the other which scopes it wants (SUBSCRIBE: the whole set when the link comes
 * up, changes afterwards), within `scopesPerLinkMax` scopes and `subscriptionChangesPerSecondMax`
 * changes a second — a sender keeps to the same budget, queuing what it cannot send yet.
 *
 * @module
 */

import { toHex } from "../bytes.ts";
import { sha256 } from "../crypto/hash.ts";
import { encodeFrame, FRAME } from "../wire/frames.ts";
import { SCOPE_ID_BYTES } from "../wire/records.ts";
import type { Broadcast } from "./broadcast.ts";
import type { EngineParts } from "./parts.ts";
import type { EngineEvent, LinkId } from "./events.ts";
import type { Rng } from "./random.ts";
import { type BytePool, Store } from "./store.ts";
import { Sync, type SyncHost, type SyncStats } from "./sync.ts";

const utf8 = new TextEncoder();
const CONTEXT = utf8.encode("grapevine scope\0");

/**
 * The id of the scope named `name` (a room is `room/<id>`, a topic its own name).
 *
 * @example
 * ```ts
 * import { scopeIdOf } from "./scopes.ts";
 * scopeIdOf("room/doc-42").length; // 16
 * ```
 */
export function scopeIdOf(name: string): Uint8Array {
  if (typeof name !== "string" || name.length === 0) throw new TypeError("a scope name must be a non-empty string");
  const n = utf8.encode(name);
  const buf = new Uint8Array(CONTEXT.length + n.length);
  buf.set(CONTEXT);
  buf.set(n, CONTEXT.length);
  return sha256(buf).slice(0, SCOPE_ID_BYTES);
}

/** One scope this node has joined. */
export class Scope {
  readonly id: Uint8Array;
  /** The id in hex: the key of tables. */
  readonly key: string;
  readonly store: Store;
  readonly sync: Sync;
  /** Null without the broadcast part: the scope carries state only. */
  readonly broadcast: Broadcast | null;
  /** Links whose peers want the scope too: the scope's subsystems run over these. */
  readonly links = new Set<LinkId>();
  /** Set once the node leaves: the scope goes at this time, after its farewell had a chance to spread. */
  leavingUntil: number | null = null;
  /** The engine's host as this scope's subsystems see it (its changes say the scope). */
  readonly #host: SyncHost;

  /**
   * @param host the engine's host; its `send` is wrapped so every frame goes in this scope's envelope
   * @param generation the generation of this node's map in the scope (a rejoin after a leave takes a newer one)
   * @param firstRoundAt the node's next gossip round: the scope's rounds run with it (one wake-up for both)
   * @param parts the engine's parts: its digest part (which `EngineCore` checked is there) and broadcast part, if any
   */
  constructor(id: Uint8Array, host: SyncHost, selfKey: Uint8Array, generation: number, rng: Rng, stats: SyncStats, now: number, pool: BytePool, firstRoundAt: number, parts: EngineParts) {
    this.id = id;
    this.key = toHex(id);
    // The engine's host underneath (its prototype: the engine's host keeps its methods there).
    const scoped: SyncHost = Object.assign(Object.create(host) as SyncHost, {
      generation,
      send: (link: LinkId, bytes: Uint8Array) => host.send(link, encodeFrame({ type: FRAME.SCOPED, scope: id, frame: bytes })),
      usable: (link: LinkId) => this.links.has(link) && host.usable(link),
      client: (link: LinkId) => this.links.has(link) && host.client(link),
      // Changes say which scope they are in: one key name may live in many rooms.
      emit: (e: EngineEvent) => host.emit(e.type === "change" ? { type: "change", change: { ...e.change, scope: id } } : e),
    });
    this.#host = scoped;
    this.store = new Store(selfKey, generation, host.options, parts.digest!.make(), id, pool);
    this.broadcast = parts.broadcast?.make(scoped, (topic) => toHex(scopeIdOf(topic)) === this.key) ?? null;
    this.sync = new Sync(scoped, this.store, rng, stats, now, { round: (peers) => this.broadcast?.round(scoped.now(), peers), wanted: () => this.broadcast?.announcing() ?? false }, firstRoundAt);
  }

  /** A member collected as dead, a silent stranger: its state here goes (`remember`: see `Store.forget`), and the application hears of its keys' deletion. */
  forget(member: string, now: number, remember = true): void {
    for (const change of this.store.forget(member, now, remember)) this.#host.emit({ type: "change", change });
  }

  /** Both ends want the scope over `link` now. */
  linkUp(now: number, link: LinkId, peer: Uint8Array | null): void {
    if (this.links.has(link)) return;
    this.links.add(link);
    this.broadcast?.linkUp(now, link, peer);
    this.sync.linkUp(now, link, peer);
  }

  /** The link is gone, or one end no longer wants the scope. */
  linkDown(now: number, link: LinkId): void {
    if (!this.links.delete(link)) return;
    this.broadcast?.linkDown(now, link);
    this.sync.linkDown(now, link);
  }

  tick(now: number): void {
    if (this.broadcast && now >= this.broadcast.wakeAt()) this.broadcast.tick(now);
    if (now >= this.sync.wakeAt()) this.sync.tick(now);
  }

  wakeAt(): number {
    return Math.min(this.broadcast?.wakeAt() ?? Infinity, this.sync.wakeAt(), this.leavingUntil ?? Infinity);
  }
}
