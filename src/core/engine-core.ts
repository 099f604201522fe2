/**
 * The sans-I/O gossip engine's core: one per node. It never touches a socket, a clock, a timer or
 * an entropy source. It is a coordinator: it keeps the links (one penalty score and one answer
 * budget each), the output queues, and routes every frame by its type (`src/wire/registry.ts`) to
 * the subsystem that owns it — state sync (`sync.ts`), scopes (`scope-table.ts`), and the parts it
 * is given (`parts.ts`): broadcast (`broadcast.ts`) and membership (`membership.ts`) — which all
 * keep the same contract (`subsystem.ts`) and share one host. `engine.ts`'s `Engine` is this core
 * with every part.
 *
 * Call order (the driver's loop):
 * 1. feed an input — `linkUp`, `linkDown`, `receive`, `tick`, `set`/`delete`, `publish`, `leave`,
 *    `join`, `introduce`, `penalize`, or `completeJob` — always with the current time `now`;
 * 2. drain the outputs — `pollJob()` (crypto to run, results come back through `completeJob`),
 *    `pollTransmit()` (frames to send), `pollEvent()` (changes, penalties, disconnects);
 * 3. call `tick(now)` again no later than `nextWakeAt()`.
 * Given the same inputs in the same order (crypto results included), the engine produces the same
 * outputs: that is what makes the simulator reproducible.
 *
 * Clocks: `now` is monotonic milliseconds, only compared with other `now`s. Signed timestamps (a
 * broadcast message's validity window) come from `EngineInit.wallClock(now)`, which the driver
 * injects (the simulator's wall clock is its virtual time).
 *
 * @module
 */

import { toHex } from "../bytes.ts";
import { GrapevineError, remoteError } from "../errors.ts";
import { decodeFrame, type FrameLimits } from "../wire/frames.ts";
import { peekFrameType } from "../wire/link-frames.ts";
import type { ClaimWire } from "../wire/member-frames.ts";
import { frameOwner } from "../wire/registry.ts";
import type { Broadcast, BroadcastFrame, BroadcastView } from "./broadcast.ts";
import { bindEngineHost, EngineHost } from "./engine-host.ts";
import { EngineLink } from "./engine-link.ts";
import type { CryptoJob, EngineEvent, EngineStats, JobResult, LinkId, Transmit } from "./events.ts";
import { Fifo } from "./fifo.ts";
import type { MembershipHost } from "./membership/context.ts";
import type { Membership, ReadonlyMembership } from "./membership/membership.ts";
import type { EngineParts } from "./parts.ts";
import { scopeIdOf } from "./scopes.ts";
import { resolveOptions, type EngineOptions } from "./options.ts";
import { deriveSeed, seededRng } from "./random.ts";
import { Store, type StateView } from "./store.ts";
import { Sync, type SyncFrame, type SyncHost } from "./sync.ts";
import { ScopeTable, type ScopeView } from "./scope-table.ts";
import { type StrangerMap, type StrangersDue, tendStrangers } from "./strangers.ts";
import { frameLimitsFor, PENALTY } from "./limits.ts";
import type { EngineInit } from "./engine-init.ts";

export type { EngineInit, EngineParts };
export { frameLimitsFor };

/** Version of the gossip protocol; part of every signed byte string. */
export const PROTOCOL_VERSION = 2;

/** The wall clock of an engine given none: the engine's own clock. */
const sameClock = (now: number) => now;

/** Simulator memory profile only (not API): drops a subsystem of an engine never used again; then it only takes `linkDown`. */
export let releaseForProfile: (engine: EngineCore, part: "broadcast" | "membership" | "store") => void;

/**
 * The protocol engine's core, with the parts it is given (`init.parts`); `Engine` has them all.
 *
 * @example
 * ```ts
 * import { broadcastPart } from "./broadcast-part.ts";
 * import { digestTreePart } from "./digest-tree.ts";
 * const a = new EngineCore({ publicKey, generation: 1, random: seededRng(1), now: 0, parts: { broadcast: broadcastPart, digest: digestTreePart }, options: { membership: false } });
 * a.linkUp(0, 1, peerKey);
 * a.set(0, "status", new TextEncoder().encode("online"));
 * for (let job; (job = a.pollJob()); ) a.completeJob(0, job.id, await runCrypto(job));
 * for (let t; (t = a.pollTransmit()); ) send(t.linkId, t.bytes);
 * ```
 */
export class EngineCore {
  readonly options: EngineOptions;
  readonly id: Uint8Array;
  readonly stats: EngineStats = {
    rounds: 0, framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, framesRejected: 0,
    verifies: 0, verifyCacheHits: 0, deltasDropped: 0, eventsDropped: 0, answersDeferred: 0,
  };
  #membership: Membership | null = null; // null while off and nothing asked for it (see `#members`)
  /** Makes the membership while membership is off and nothing has asked for it; null once made or without the part. */
  #makeMembership: (() => Membership) | null = null;
  #membershipPart: EngineParts["membership"];
  #scopes: ScopeTable;
  /** The latest `now` of any input: the time callbacks of jobs run at. */
  #now: number;
  #wallClock: (now: number) => number;
  #store: Store;
  #sync: Sync;
  #broadcast: Broadcast | null; // null without the broadcast part
  /** Bytes of broadcast messages kept to answer repairs, every topic and room together (the host's pool). */
  #messageCache: { held: number };
  #links = new Map<LinkId, EngineLink>();
  #transmits = new Fifo<Transmit>();
  #jobs = new Fifo<CryptoJob>();
  #events = new Fifo<EngineEvent>();
  #nextJobId = 1;
  /** Each job's result goes to the callback of the subsystem that asked for it. */
  #jobCallbacks = new Map<number, (result: JobResult) => void>();
  #frameLimits: FrameLimits;
  #closed = false;
  /** When strangers are next tended (`strangers.ts`): own maps renewed (a wake-up), or silent strangers' state forgotten (at a tick that comes by: an idle relay sleeps on). */
  #strangers: StrangersDue;

  constructor(init: EngineInit) {
    if (!(init.publicKey instanceof Uint8Array) || init.publicKey.length !== 32) throw new TypeError("publicKey must be 32 bytes");
    this.options = resolveOptions(init.options);
    this.id = init.publicKey;
    this.#now = init.now;
    this.#wallClock = init.wallClock ?? sameClock;
    this.#frameLimits = frameLimitsFor(this.options);
    this.#strangers = { at: init.now + (this.options.strangerOriginTtlMs || Infinity) / 4, wake: true };
    const parts = init.parts ?? {};
    if (this.options.membership && !parts.membership) throw new TypeError("options.membership needs the membership part (parts.membership), or set membership: false");
    if (!parts.digest) throw new TypeError("parts.digest is needed: digestTreePart or digestRowsPart");
    this.#membershipPart = parts.membership;
    const pool = { held: 0 }; // storeBytesMax bounds the mesh-wide store and every scope's together
    this.#store = new Store(init.publicKey, init.generation, this.options, parts.digest.make(), undefined, pool);
    const host = new EngineHost(this, init.generation, PROTOCOL_VERSION);
    this.#messageCache = host.messageCache;
    this.#broadcast = parts.broadcast?.make(host) ?? null;
    // State sync draws the round phase first, then membership its own stream, so probing never
    // shifts the gossip rounds' choices.
    this.#sync = new Sync(host, this.#store, init.random, this.stats, init.now, { round: (peers) => this.#broadcast?.round(this.#now, peers), wanted: () => this.#broadcast?.announcing() ?? false }, undefined, this.#links);
    const base = init.random.nextU32();
    // Membership off: none is made until asked for (its stream and start time fixed here, so it is the same one).
    // Membership's periodic work runs at the rounds' phase (one wake-up a round for both).
    const made = parts.membership;
    const makeMembership = made ? () => made.make(this.#membershipHost(host), seededRng(deriveSeed(base, 4)), init.now, this.#sync.wakeAt()) : null;
    if (this.options.membership) this.#membership = makeMembership!();
    else this.#makeMembership = makeMembership;
    this.#scopes = new ScopeTable(host, init.publicKey, init.generation, deriveSeed(base, 5), this.stats, this.#frameLimits, pool, () => this.#sync.wakeAt(), parts, this.#links);
  }

  /** Membership's host: the engine's, and a member forgotten or gone takes its state along. */
  #membershipHost(host: SyncHost): MembershipHost {
    const forget = (member: Uint8Array, now: number) => {
      for (const change of this.#store.forget(toHex(member), now)) host.emit({ type: "change", change });
      this.#scopes.forget(toHex(member), now);
    };
    // A member that left (a claim only it signs) takes its scoped keys along at once: its scoped farewell may not have gone out.
    const emit = (e: EngineEvent) => (e.type === "member" && e.state === "left" && this.#scopes.forget(toHex(e.member), this.#now), host.emit(e));
    return Object.assign(Object.create(host) as SyncHost, { forget, emit });
  }

  /** Bytes of broadcast messages kept to answer repairs, every topic and room together (`messageCacheBytesMax` bounds them). */
  get messageCacheBytes(): number {
    return this.#messageCache.held;
  }

  /** Every origin's state as this node holds it, read-only. */
  get store(): StateView {
    return this.#store;
  }

  /** Membership's view of the mesh, read-only; null without the membership part. */
  get membership(): ReadonlyMembership | null {
    return this.#members();
  }

  /** The Membership, made now (and told of the links up) if it was not yet; null without the part. */
  #members(): Membership | null {
    if (!this.#membership && this.#makeMembership) {
      const m = (this.#membership = this.#makeMembership());
      this.#makeMembership = null;
      for (const link of this.#links.values()) m.linkUp(this.#now, link.id, link.peer);
    }
    return this.#membership;
  }

  /** Broadcast's counters and eager links, read-only; null without the broadcast part. */
  get broadcast(): BroadcastView | null {
    return this.#broadcast;
  }

  // ------------------------------------------------------------------ inputs

  /**
   * A link to a peer is ready (for links with a handshake: after it). `resumed`: the link was
   * taken over from an earlier run of this node without a handshake (the peer does not know this
   * node restarted), so the peer is asked what it wants again. `client`: the peer is a client this
   * node serves (a relay's tab): every change of state this node takes in goes to it at once, in
   * every scope both are in, instead of at a later gossip round, and what it sends goes on at once
   * to every link, as this node's own would. For links to leaves: a node that marked links to
   * forwarders so would flood them (each would get a copy from every such peer).
   */
  linkUp(now: number, linkId: LinkId, peer: Uint8Array | null = null, resumed = false, client = false): void {
    this.#assertOpen();
    this.#observe(now);
    const link = new EngineLink(linkId, peer, this.#sync.behindNow());
    link.client = client;
    this.#links.set(linkId, link);
    this.#broadcast?.linkUp(now, linkId, peer);
    this.#membership?.linkUp(now, linkId, peer);
    this.#sync.linkUp(now, linkId, peer, link);
    this.#scopes.linkUp(now, linkId, resumed);
  }

  /** A link is gone. */
  linkDown(now: number, linkId: LinkId): void {
    this.#observe(now);
    this.#links.delete(linkId);
    this.#broadcast?.linkDown(now, linkId);
    this.#membership?.linkDown(now, linkId);
    this.#sync.linkDown(now, linkId);
    this.#scopes.linkDown(now, linkId);
  }

  /**
   * The driver reports backpressure: while a link is congested no round picks it (answers to the
   * peer's own requests still go out, within its answer budget, so it can catch up once drained).
   */
  setLinkCongested(now: number, linkId: LinkId, congested: boolean): void {
    this.#observe(now);
    const link = this.#links.get(linkId);
    if (link) link.congested = congested;
  }

  /** Bytes arrived on a link. Bad frames penalise the link; nothing here throws for remote input. */
  receive(now: number, linkId: LinkId, bytes: Uint8Array): void {
    this.#observe(now);
    const link = this.#links.get(linkId);
    if (!link || link.closed || this.#closed) return;
    this.stats.framesIn++;
    this.stats.bytesIn += bytes.length;
    this.#membership?.heard(now, linkId); // any frame shows the peer alive: no probe is needed soon
    if (bytes.length > this.options.frameBytesMax) {
      this.#penalize(link, remoteError("WIRE_FRAME_TOO_LARGE", `frame of ${bytes.length} bytes exceeds frameBytesMax ${this.options.frameBytesMax}`));
      return;
    }
    try {
      switch (frameOwner(peekFrameType(bytes))) {
        case "membership": {
          if (!this.#membership?.enabled) return; // with membership off its frames are ignored, undecoded
          const f = this.#membershipPart!.decode(bytes, { frameBytesMax: this.options.frameBytesMax, claimsMax: this.options.claimsPerFrameMax });
          if (f.type !== "unknown") this.#membership!.receive(now, linkId, f);
          return;
        }
        case "scopes":
          return this.#scopes.receive(now, linkId, bytes);
        default: {
          // Sync, broadcast, and types no one owns here (the link layer's are the driver's), which
          // are scanned, bounded, and then ignored.
          const f = decodeFrame(bytes, this.#frameLimits);
          if (f.type === "unknown") return;
          const owner = frameOwner(f.type);
          if (owner === "sync") this.#sync.receive(now, linkId, f as SyncFrame);
          else if (owner === "broadcast") this.#broadcast?.receive(now, linkId, f as BroadcastFrame); // without the part: ignored
        }
      }
    } catch (e) {
      this.#penalize(link, e);
    }
  }

  /** Time passes: every subsystem whose work is due runs it. */
  tick(now: number): void {
    if (this.#closed) return;
    this.#observe(now);
    if (this.#broadcast && now >= this.#broadcast.wakeAt()) this.#broadcast.tick(now);
    if (this.#membership && now >= this.#membership.wakeAt()) this.#membership.tick(now);
    if (now >= this.#sync.wakeAt()) this.#sync.tick(now);
    if (now >= this.#scopes.wakeAt()) this.#scopes.tick(now);
    if (now >= this.#strangers.at) this.#strangers = tendStrangers(now, this.options, this.#membership?.enabled ? this.#membership : null, this.#maps(), () => new Set([...this.#links.values()].flatMap((l) => (l.peer ? [toHex(l.peer)] : []))));
  }

  /** This node's maps: the mesh-wide one, then each scope's (a forgotten origin's deletions go to the application). */
  *#maps(): Iterable<StrangerMap> {
    yield { store: this.#store, sync: this.#sync, forget: (id, now, remember) => this.#store.forget(id, now, remember).forEach((change) => this.#emit({ type: "change", change })) };
    yield* this.#scopes.values();
  }

  /**
   * Writes one of this node's keys: mesh-wide, or in a scope this node has joined (`scope`, its
   * id); throws `RangeError` for a scope not joined.
   */
  set(now: number, key: string, value: Uint8Array, scope?: Uint8Array): void {
    if (!(value instanceof Uint8Array)) throw new TypeError("value must be a Uint8Array");
    this.#assertOpen();
    this.#observe(now);
    this.#syncOf(scope).write(now, key, value);
  }

  /** Deletes one of this node's keys (a tombstone until `tombstoneTtlMs` has passed). */
  delete(now: number, key: string, scope?: Uint8Array): void {
    this.#assertOpen();
    this.#observe(now);
    this.#syncOf(scope).write(now, key, null);
  }

  #syncOf(scope: Uint8Array | undefined): Sync {
    if (scope === undefined) return this.#sync;
    const s = this.#scopes.get(scope);
    if (!s || s.leavingUntil !== null) throw new RangeError("not a scope this node has joined");
    return s.sync;
  }

  /** Joins a scope (room or topic, by id: `scopeIdOf(name)`): its state and messages reach this node now on. `RangeError` past `scopesMax`. */
  joinScope(now: number, id: Uint8Array): void {
    this.#assertOpen();
    this.#observe(now);
    this.#scopes.join(now, id);
  }

  /** Leaves a scope: its keys go (a signed farewell with two gossip intervals to spread), then the scope and its frames. */
  leaveScope(now: number, id: Uint8Array): void {
    this.#assertOpen();
    this.#observe(now);
    this.#scopes.leave(now, id, 2 * this.options.intervalMs);
  }

  /** A joined scope, read-only, or undefined. */
  scope(id: Uint8Array): ScopeView | undefined {
    return this.#scopes.view(id);
  }

  /** Publishes on `topic` in its scope: through its tree if joined, else through ≤ `fanout` peers that joined; false: nobody wants it. */
  publishScoped(now: number, topic: string, payload: Uint8Array, ttlMs: number = this.options.messageTtlMs): boolean {
    this.#assertOpen();
    this.#observe(now);
    this.#broadcasting(this.#broadcast); // without the part: refused, whoever wants the topic
    const id = scopeIdOf(topic);
    const scope = this.#scopes.get(id);
    if (scope && scope.leavingUntil === null) {
      this.#broadcasting(scope.broadcast).publish(now, this.id, topic, payload, ttlMs);
      return true;
    }
    const links = this.#scopes.wanting(id).filter((l) => { const s = this.#links.get(l); return !!s && !s.closed; }).slice(0, this.options.fanout);
    if (!links.length) return false;
    this.#broadcasting(this.#broadcast).publishOutside(now, this.id, topic, payload, ttlMs, (gossip) => this.#scopes.publishOutside(links, gossip, id));
    return true;
  }

  /** Publishes mesh-wide on `topic`, valid `ttlMs` from the wall clock: signed (a job), delivered here (`local`), spread. */
  publish(now: number, topic: string, payload: Uint8Array, ttlMs: number = this.options.messageTtlMs): void {
    this.#assertOpen();
    this.#observe(now);
    this.#broadcasting(this.#broadcast).publish(now, this.id, topic, payload, ttlMs);
  }

  #broadcasting(b: Broadcast | null): Broadcast {
    if (!b) throw new GrapevineError("ENGINE_PART_MISSING", "local", "this node has no broadcast part: publishing needs it (createNode from the package's main entry has it)");
    return b;
  }

  /** Says farewell: own keys are deleted, in every joined scope too, and the farewell roots are gossiped; no writes afterwards. */
  leave(now: number): void {
    this.#assertOpen();
    this.#observe(now);
    this.#sync.leave();
    for (const s of [...this.#scopes.values()]) this.#scopes.leave(now, s.id, 2 * this.options.intervalMs);
    this.#membership?.leave(now); // off: nothing to say
  }

  /**
   * The nodes to stay linked to (relays; in the simulator any nodes): membership asks the driver
   * for a link to one (`want-link`) whenever this node has none, and seeds keep linked to each
   * other. Replaces the previous seeds.
   */
  join(now: number, seeds: readonly Uint8Array[]): void {
    this.#assertOpen();
    this.#observe(now);
    this.#members()?.setSeeds(seeds); // without membership: seeds ask for nothing
  }

  /** Member claims learned out of band (a cached view, a warm start): checked like any others. */
  introduce(now: number, claims: readonly ClaimWire[]): void {
    this.#assertOpen();
    this.#observe(now);
    this.#membership?.introduce(now, claims); // off: ignored
  }

  /**
   * Penalises a link for a fault the driver found in its own frames (link layer): one ledger per
   * link, one threshold. `err` must be a remote `GrapevineError`; `points` default to its code's.
   */
  penalize(now: number, linkId: LinkId, err: GrapevineError, points?: number): void {
    this.#observe(now);
    const link = this.#links.get(linkId);
    if (link && !link.closed) this.#penalize(link, err, points);
  }

  /** Stops the engine: no more inputs are taken and no more frames produced. */
  close(): void {
    this.#closed = true;
  }

  /** A crypto job finished: a signature (sign), a verdict (verify, validate), or an `Error`. */
  completeJob(now: number, jobId: number, result: JobResult): void {
    this.#observe(now);
    const callback = this.#jobCallbacks.get(jobId);
    if (!callback) return;
    this.#jobCallbacks.delete(jobId);
    callback(result);
  }

  // ------------------------------------------------------------------ outputs

  /** The next frame to send, or undefined. */
  pollTransmit(): Transmit | undefined {
    return this.#transmits.shift();
  }

  /** The next crypto job, or undefined. */
  pollJob(): CryptoJob | undefined {
    return this.#jobs.shift();
  }

  /** The next event, or undefined. */
  pollEvent(): EngineEvent | undefined {
    return this.#events.shift();
  }

  /** When `tick` must next be called. */
  nextWakeAt(): number {
    return this.#closed ? Infinity : Math.min(this.#sync.wakeAt(), this.#broadcast?.wakeAt() ?? Infinity, this.#membership?.wakeAt() ?? Infinity, this.#scopes.wakeAt(), this.#strangers.wake ? this.#strangers.at : Infinity);
  }

  /** Ids of links currently up. */
  links(): LinkId[] {
    return [...this.#links.keys()];
  }

  /** Penalty score of a link (0 when unknown). */
  linkScore(linkId: LinkId): number {
    return this.#links.get(linkId)?.score ?? 0;
  }

  // ------------------------------------------------------------------ plumbing

  #observe(now: number): void {
    if (now > this.#now) this.#now = now;
  }

  /** Queues an encoded frame for a live link; frames for a closed or unknown link are dropped. */
  #sendEncoded(linkId: LinkId, bytes: Uint8Array): void {
    const link = this.#links.get(linkId);
    if (!link || link.closed) return;
    this.stats.framesOut++;
    this.stats.bytesOut += bytes.length;
    this.#transmits.push({ linkId, bytes });
  }

  #emit(e: EngineEvent): void {
    if (this.#events.size >= this.options.eventsMax) {
      this.#events.drop();
      this.stats.eventsDropped++;
    }
    this.#events.push(e);
  }

  #penalize(link: EngineLink, err: unknown, points?: number): void {
    this.stats.framesRejected++;
    if (!(err instanceof GrapevineError)) throw err; // a bug of ours must not be blamed on the peer
    points ??= PENALTY[err.code] ?? 10;
    link.score += points;
    this.#emit({ type: "penalty", linkId: link.id, peer: link.peer, code: err.code, message: err.message, score: link.score });
    if (link.score >= this.options.penaltyThreshold && !link.closed) {
      link.closed = true;
      this.#emit({ type: "disconnect", linkId: link.id, reason: `penalty score ${link.score}: ${err.code}` });
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new GrapevineError("ENGINE_CLOSED", "local", "the engine is closed");
  }

  static {
    // What the engine's subsystem host reaches inside it: one set of functions for every engine.
    bindEngineHost({
      now: (e) => e.#now,
      wallClock: (e, now) => e.#wallClock(now),
      send: (e, linkId, bytes) => e.#sendEncoded(linkId, bytes),
      link: (e, linkId) => e.#links.get(linkId),
      job: (e, j, done) => {
        const id = e.#nextJobId++;
        e.#jobCallbacks.set(id, done);
        e.#jobs.push({ ...j, id } as CryptoJob);
      },
      emit: (e, event) => e.#emit(event),
      penalize: (e, link, err) => e.#penalize(link, err),
    });
    releaseForProfile = (e, part) => {
      // Stand-ins that take the calls a released engine still gets (its links going down).
      const stub = { linkDown() {}, wakeAt: () => Infinity } as unknown;
      if (part === "broadcast") e.#broadcast = stub as Broadcast;
      else if (part === "membership") e.#membership = stub as Membership;
      else {
        e.#store = stub as Store;
        e.#sync = stub as Sync;
        e.#scopes = stub as ScopeTable;
      }
    };
  }
}
