/**
 * The scopes of one node (see `scopes.ts`): which it has joined, which each peer wants, the
 * SUBSCRIBE frames that tell peers, and the routing of SCOPED frames to the scope they belong to.
 * Part of the engine, which hands it the frames of types 33 and 34.
 *
 * Invariants:
 * - a scope's sync and broadcast run over exactly the links whose peers want the scope while this
 *   node has joined it;
 * - what one peer can make this node hold or do is bounded: `scopesPerLinkMax` wanted scopes,
 *   `subscriptionChangesPerSecondMax` changes a second (a burst of twice as many, or a whole
 *   table when a link comes up); past them it is penalised — this node keeps to the same budget
 *   when it tells its peers, so an honest peer never is;
 * - a SCOPED frame of a scope this node has not joined is dropped unread (a peer may not have
 *   heard the unsubscription yet); its inner frame is bounded like any frame and may be neither
 *   SUBSCRIBE nor SCOPED.
 *
 * @module
 */

import { fromHex, toHex } from "../bytes.ts";
import { remoteError } from "../errors.ts";
import { decodeFrame, encodeFrame, FRAME, SUBSCRIBE_FLAG, type FrameLimits, type ScopedFrame, type SubscribeFrame } from "../wire/frames.ts";
import { peekFrameType } from "../wire/link-frames.ts";
import { frameOwner } from "../wire/registry.ts";
import type { BroadcastFrame, BroadcastView } from "./broadcast.ts";
import type { EngineParts } from "./parts.ts";
import { TokenBucket } from "./budget.ts";
import { emptyMap, emptySet, isShared } from "./empty.ts";
import type { EngineEvent, LinkId } from "./events.ts";
import { deriveSeed, seededRng } from "./random.ts";
import { Scope } from "./scopes.ts";
import type { BytePool, StateView } from "./store.ts";
import type { SyncFrame, SyncHost, SyncStats } from "./sync.ts";

/** What the facade may read of one joined scope. */
export interface ScopeView {
  readonly id: Uint8Array;
  readonly store: StateView;
  /** Null without the broadcast part. */
  readonly broadcast: BroadcastView | null;
  /** Links whose peers want the scope too. */
  readonly links: number;
  /** The node has left and the scope goes soon. */
  readonly leaving: boolean;
}

/**
 * What the table keeps per link that carries (or has carried) a subscription. A link that never
 * has has no record here (the engine's link table says it is up and whose it is), since most links
 * of a large mesh carry none.
 */
class PeerScopes {
  /** Scopes (hex ids) the peer wants (the shared empty set while none). */
  wants: Set<string> = emptySet();
  /**
   * Changes the peer may still announce (`subscriptionChangesPerSecondMax`); null until the first
   * (a bucket starts full, so one made at its first use is the one made when the link came up).
   */
  changesIn: TokenBucket | null = null;
  /** Changes this node may still announce to the peer (likewise), and those waiting for the budget. */
  changesOut: TokenBucket | null = null;
  /** Both the shared empty set until something is queued: most links of a mesh never carry a scope. */
  add: Set<string> = emptySet();
  remove: Set<string> = emptySet();
  constructor(readonly peer: Uint8Array | null) {}
}

/** How often queued subscription changes are tried again while a link's budget is spent. */
const FLUSH_RETRY_MS = 100;

/** The scope table of one engine. */
export class ScopeTable {
  #host: SyncHost;
  #selfKey: Uint8Array;
  #generation: number;
  #seedBase: number;
  #stats: SyncStats;
  #limits: FrameLimits;
  #emit: (e: EngineEvent) => void;
  /** Joined scopes; the shared empty Map until one is joined (most engines never join one). */
  #scopes = emptyMap<string, Scope>();
  /** Every link: its `PeerScopes` once it has carried a subscription, else the peer's key (`#entry`). */
  /** The engine's links, in the order they came up: which are up, and whose. */
  #links: ReadonlyMap<LinkId, { readonly peer: Uint8Array | null }>;
  /** Records of the links that carry or have carried a subscription (the shared empty Map until one does). */
  #records = emptyMap<LinkId, PeerScopes>();
  /** The generation of the latest join this run (`-1`: none yet), and when the first one was (see `join`). */
  #lastJoin = -1;
  #firstJoinAt: number | null = null;
  #flushAt = Infinity;

  #pool: BytePool;
  /** When the node's next mesh-wide round is due (scopes' rounds line up with it). */
  #roundsAt: () => number;
  #parts: EngineParts;

  /**
   * @param pool the node's count of state bytes held, shared with its other stores (`storeBytesMax` bounds the sum)
   * @param parts the engine's parts: each scope gets its own broadcast (if the engine has the part) and digest index
   * @param links the engine's link table (a link is in it before `linkUp` is called here, and gone before `linkDown`)
   */
  constructor(host: SyncHost, selfKey: Uint8Array, generation: number, seedBase: number, stats: SyncStats, limits: FrameLimits, pool: BytePool, roundsAt: () => number, parts: EngineParts, links: ReadonlyMap<LinkId, { readonly peer: Uint8Array | null }>) {
    this.#links = links;
    this.#pool = pool;
    this.#parts = parts;
    this.#roundsAt = roundsAt;
    this.#host = host;
    this.#selfKey = selfKey;
    this.#generation = generation;
    this.#seedBase = seedBase;
    this.#stats = stats;
    this.#limits = limits;
    this.#emit = (e) => host.emit(e);
  }

  /** A joined scope, or undefined. */
  get(id: Uint8Array): Scope | undefined {
    return this.#scopes.get(toHex(id));
  }

  /** Every joined scope (leaving ones included). */
  values(): IterableIterator<Scope> {
    return this.#scopes.values();
  }

  /** A joined scope as the facade sees it. */
  view(id: Uint8Array): ScopeView | undefined {
    const s = this.get(id);
    return s && { id: s.id, store: s.store, broadcast: s.broadcast, links: s.links.size, leaving: s.leavingUntil !== null };
  }

  /** Joins a scope (or takes back one being left); throws `RangeError` past `scopesMax`. */
  join(now: number, id: Uint8Array): Scope {
    const key = toHex(id);
    const held = this.#scopes.get(key);
    if (held && held.leavingUntil === null) return held;
    if (held) this.#drop(now, held); // left already: its farewell is signed, so it starts over anew
    if (this.#scopes.size >= this.#host.options.scopesMax) throw new RangeError(`scopesMax ${this.#host.options.scopesMax} scopes joined already`);
    // A join's map takes a generation above every earlier join's this run, of any scope: the node's
    // generation plus the time since its first join, or one more than the last if that is more. So
    // a rejoin supersedes what peers still hold of the scope's earlier map, and a restart (whose
    // generation is the clock at start) supersedes this run's, with no record kept a scope — a
    // relay joins the scopes its clients name, and a record each would grow with every name.
    this.#firstJoinAt ??= now;
    const generation = Math.max(this.#generation + Math.max(0, Math.floor(now - this.#firstJoinAt)), this.#lastJoin + 1);
    this.#lastJoin = generation;
    const rng = seededRng(deriveSeed(this.#seedBase, parseInt(key.slice(0, 8), 16)));
    const scope = new Scope(id, this.#host, this.#selfKey, generation, rng, this.#stats, now, this.#pool, this.#roundsAt(), this.#parts);
    if (isShared(this.#scopes)) this.#scopes = new Map();
    this.#scopes.set(key, scope);
    for (const link of this.#links.keys()) {
      const p = this.#entry(link)!;
      this.#queue(p, key, true);
      if (p.wants.has(key)) scope.linkUp(now, link, p.peer);
    }
    this.#flush(now);
    return scope;
  }

  /**
   * Leaves a scope: its own keys go with a farewell, which has `lingerMs` to spread before the
   * scope is dropped and peers are told.
   */
  leave(now: number, id: Uint8Array, lingerMs: number): void {
    const scope = this.get(id);
    if (!scope || scope.leavingUntil !== null) return;
    scope.sync.leave();
    scope.leavingUntil = now + lingerMs;
  }

  /** A membership verdict: forget a member's state in every scope. */
  forget(member: string, now: number): void {
    for (const s of this.#scopes.values()) s.forget(member, now);
  }

  /** A link came up: the peer is told this node's whole set (asked for its own when `resumed`). */
  linkUp(now: number, link: LinkId, resumed = false): void {
    const mine: string[] = [];
    for (const s of this.#scopes.values()) if (s.leavingUntil === null) mine.push(s.key);
    if (mine.length || resumed) this.#send(now, link, this.#entry(link)!, SUBSCRIBE_FLAG.RESET | (resumed ? SUBSCRIBE_FLAG.ASK : 0), mine, []);
  }

  /** The link is gone: its scopes run without it, and each scope its peer wanted is an `interest` lost. */
  linkDown(now: number, link: LinkId): void {
    const p = this.#records.get(link);
    this.#records.delete(link);
    for (const s of this.#scopes.values()) s.linkDown(now, link);
    if (p) for (const k of p.wants) this.#emit({ type: "interest", linkId: link, peer: p.peer, scope: fromHex(k), wanted: false });
  }

  /** A SUBSCRIBE or SCOPED frame. Throws a remote `GrapevineError` for a bad one. */
  receive(now: number, link: LinkId, bytes: Uint8Array): void {
    const p = this.#entry(link);
    if (!p) return;
    const f = decodeFrame(bytes, this.#limits);
    if (f.type === FRAME.SUBSCRIBE) return this.#onSubscribe(now, link, p, f);
    if (f.type === FRAME.SCOPED) return this.#onScoped(now, link, f);
  }

  tick(now: number): void {
    for (const s of [...this.#scopes.values()]) {
      if (s.leavingUntil !== null && now >= s.leavingUntil) this.#drop(now, s);
      else s.tick(now);
    }
    if (now >= this.#flushAt) this.#flush(now);
  }

  wakeAt(): number {
    let t = this.#flushAt;
    for (const s of this.#scopes.values()) t = Math.min(t, s.wakeAt());
    return t;
  }

  #onSubscribe(now: number, link: LinkId, p: PeerScopes, f: SubscribeFrame): void {
    const reset = (f.flags & SUBSCRIBE_FLAG.RESET) !== 0;
    const add = f.add.map(toHex);
    const remove = f.remove.map(toHex);
    const next = reset ? new Set(add) : new Set(p.wants);
    if (!reset) {
      for (const k of add) next.add(k);
      for (const k of remove) next.delete(k);
    }
    let changes = 0;
    for (const k of next) if (!p.wants.has(k)) changes++;
    for (const k of p.wants) if (!next.has(k)) changes++;
    const o = this.#host.options;
    if (next.size > o.scopesPerLinkMax) throw remoteError("WIRE_LIMIT", `a peer wanting ${next.size} scopes, above scopesPerLinkMax ${o.scopesPerLinkMax}`);
    if (!(p.changesIn ??= this.#changeBucket(now)).take(now, changes)) throw remoteError("STATE_CAP_EXCEEDED", `subscription changes above subscriptionChangesPerSecondMax ${o.subscriptionChangesPerSecondMax}`);
    const before = p.wants;
    p.wants = next.size ? next : emptySet();
    for (const k of next) if (!before.has(k)) this.#interest(now, link, p, k, true);
    for (const k of before) if (!next.has(k)) this.#interest(now, link, p, k, false);
    if (f.flags & SUBSCRIBE_FLAG.ASK) this.#answerAsk(now, link, p);
  }

  /**
   * The peer lost what it knew of this link's subscriptions: it is sent this node's whole set,
   * within the same change budget as any subscription change (a peer asking again and again gets
   * at most `subscriptionChangesPerSecondMax` ids a second; past the budget the ask is dropped,
   * since a peer that keeps asking has had an answer).
   */
  #answerAsk(now: number, link: LinkId, p: PeerScopes): void {
    const mine = [...this.#scopes.values()].filter((s) => s.leavingUntil === null).map((s) => s.key);
    if (Math.floor((p.changesOut ??= this.#changeBucket(now)).room(now)) < Math.max(1, mine.length)) return;
    p.add.clear();
    p.remove.clear();
    this.#send(now, link, p, SUBSCRIBE_FLAG.RESET, mine, []);
  }

  #interest(now: number, link: LinkId, p: PeerScopes, key: string, wanted: boolean): void {
    const scope = this.#scopes.get(key);
    if (scope && scope.leavingUntil === null) {
      if (wanted) scope.linkUp(now, link, p.peer);
      else scope.linkDown(now, link);
    }
    this.#emit({ type: "interest", linkId: link, peer: p.peer, scope: fromHex(key), wanted });
  }

  #onScoped(now: number, link: LinkId, f: ScopedFrame): void {
    const scope = this.#scopes.get(toHex(f.scope));
    if (!scope) return; // not joined (or no longer): the peer may not have heard yet
    const owner = frameOwner(peekFrameType(f.frame));
    if (owner !== "sync" && owner !== "broadcast") throw remoteError("WIRE_SHAPE", "scoped: only sync and broadcast frames have a scope");
    const inner = decodeFrame(f.frame, this.#limits);
    if (inner.type === "unknown") return;
    if (owner === "sync") return scope.sync.receive(now, link, inner as SyncFrame);
    if (!scope.links.has(link)) {
      // A publisher that has not joined pushes its message in through a peer that has.
      if (inner.type === FRAME.GOSSIP) scope.broadcast?.receiveOutside(now, link, inner);
      return;
    }
    scope.broadcast?.receive(now, link, inner as BroadcastFrame); // without the part: ignored
  }

  /** Publishes into a scope this node has not joined, through up to `fanout` peers that want it. */
  publishOutside(link: LinkId[], gossip: Uint8Array, id: Uint8Array): void {
    for (const l of link) this.#host.send(l, encodeFrame({ type: FRAME.SCOPED, scope: id, frame: gossip }));
  }

  /** Links whose peers want scope `id`, in link order. */
  wanting(id: Uint8Array): LinkId[] {
    const key = toHex(id);
    return [...this.#links.keys()].filter((l) => this.#records.get(l)?.wants.has(key));
  }

  #drop(now: number, scope: Scope): void {
    for (const link of [...scope.links]) scope.linkDown(now, link);
    scope.store.release();
    scope.broadcast?.release();
    this.#scopes.delete(scope.key);
    for (const link of this.#links.keys()) this.#queue(this.#entry(link)!, scope.key, false);
    this.#flush(now);
  }

  /** Queues telling a peer this node now wants (or no longer wants) a scope. */
  #queue(p: PeerScopes, key: string, wanted: boolean): void {
    if (wanted) {
      if (!p.remove.delete(key)) (isShared(p.add) ? (p.add = new Set()) : p.add).add(key);
    } else if (!p.add.delete(key)) (isShared(p.remove) ? (p.remove = new Set()) : p.remove).add(key);
  }

  /** `link`'s entry, made from its peer's key the first time it is needed; undefined for a link not up. */
  #entry(link: LinkId): PeerScopes | undefined {
    const up = this.#links.get(link);
    if (!up) return undefined;
    let p = this.#records.get(link);
    if (!p) {
      if (isShared(this.#records)) this.#records = new Map();
      this.#records.set(link, (p = new PeerScopes(up.peer)));
    }
    return p;
  }

  /** A link's budget of subscription changes, one way, full at `now`. */
  #changeBucket(now: number): TokenBucket {
    const o = this.#host.options;
    const rate = o.subscriptionChangesPerSecondMax;
    return new TokenBucket(rate, Math.max(2 * rate, o.scopesPerLinkMax), now);
  }

  /** Sends what each link's budget allows of the queued changes; wakes to send the rest later. */
  #flush(now: number): void {
    this.#flushAt = Infinity;
    for (const link of this.#links.keys()) {
      const p = this.#records.get(link);
      if (!p || (!p.add.size && !p.remove.size)) continue;
      const room = Math.floor((p.changesOut ??= this.#changeBucket(now)).room(now));
      const add = [...p.add].slice(0, room);
      const remove = [...p.remove].slice(0, room - add.length);
      if (add.length || remove.length) this.#send(now, link, p, 0, add, remove);
      for (const k of add) p.add.delete(k);
      for (const k of remove) p.remove.delete(k);
      if (p.add.size || p.remove.size) this.#flushAt = Math.min(this.#flushAt, now + FLUSH_RETRY_MS);
    }
  }

  #send(now: number, link: LinkId, p: PeerScopes, flags: number, add: string[], remove: string[]): void {
    (p.changesOut ??= this.#changeBucket(now)).spend(now, add.length + remove.length);
    this.#host.send(link, encodeFrame({ type: FRAME.SUBSCRIBE, flags, add: add.map(fromHex), remove: remove.map(fromHex) }));
  }
}
