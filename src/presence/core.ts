/**
 * One room on one node, shared by every handle (`node.room(id)`) of that id: the member's own
 * presence key, everyone else's entries, timeouts, the first snapshot, credential verdicts and the
 * cached snapshot. Handles are views: each has its own listeners and message handlers.
 *
 * Invariants:
 * - one presence key per room per node (`presence/<id>`): it is written while at least one handle
 *   has entered, and deleted when the last one leaves; a handle closed is a handle that left, but
 *   the deletion waits for the end of the task, so a handle closed and opened again at once (React
 *   StrictMode's double effects) never shows peers a leave;
 * - an entry carrying a credential is shown only once its verdict is known (no join as unverified
 *   followed by an update as verified);
 * - the snapshot (self, others, users) is rebuilt only after a change, and an entry object is
 *   rebuilt only when that entry changed, so unchanged parts keep their identity.
 *
 * The value format is in `value.ts`, entries and snapshots in `snapshot.ts`, deadlines in `deadlines.ts`.
 *
 * @module
 */

import type { ChangeEvent, GrapevineNode } from "../runtime/node.ts";
import type { ScopeHandle } from "../runtime/scopes.ts";
import { bytesEqual as sameBytes } from "../bytes.ts";
import { nodeIdFromText } from "../crypto/identity.ts";
import { userCredentialToWire, type UserCredential, type UserCredentialWire } from "../runtime/credential.ts";
import { encode } from "../wire/cbor.ts";
import type { LeaveReason, PresenceEntry, PresenceEventMap, PresenceSnapshot, RoomMessage, RoomOptions } from "./types.ts";
import type { UserVerifier } from "./user.ts";
import { buildSnapshot, dropStaleReach, entryOf, selfEntryOf, type Other } from "./snapshot.ts";
import { expiryDeadline, timeoutDeadline, timerAt } from "./deadlines.ts";
import { checkRoomId, parsePresence, presenceValue, roomLimits, roomMessage, roomUserOf, sameEntry, type Limits, type Parsed } from "./value.ts";

const SYNC_QUIET_MS = 300;
type Timer = ReturnType<typeof setTimeout>;

/** What the core asks of a handle. */
export interface HandleSink<S> {
  _emit<K extends keyof PresenceEventMap<S>>(type: K, detail: PresenceEventMap<S>[K]): void;
  _changed(): void;
  _message(message: RoomMessage): void;
}

/** @internal The shared state of one room id on one node. Handles reach it through {@link Room}. */
export class RoomCore<S = unknown> {
  readonly id: string;
  readonly key: string;
  readonly topic: string;
  readonly limits: Limits;
  readonly authority: string | null;
  user: string;
  #authorityKey: Uint8Array | null;
  #node: GrapevineNode;
  /** The room's scope (`room/<id>`): its members' presence and messages, and nobody else's. */
  #scope: ScopeHandle;
  #verifier: UserVerifier;
  #onDisposed: () => void;
  #handles = new Set<HandleSink<S>>();
  #entered = new Set<HandleSink<S>>();
  #self: { state: S; at: number } | null = null;
  #credential: { wire: UserCredentialWire; verified: boolean } | null = null;
  #selfEntry: PresenceEntry<S> | null = null;
  #others = new Map<string, Other>();
  /** Values waiting for their credential's verdict, by peer: only the newest is applied. */
  #pending = new Map<string, object>();
  #written: { bytes: string; at: number } | null = null;
  #writeTimer: Timer | null = null;
  #timeoutTimer: Timer | null = null;
  #timeoutAt = Infinity;
  #expiryTimer: Timer | null = null;
  #syncTimer: Timer | null = null;
  #settleTimer: Timer | null = null;
  #sweepTimer: ReturnType<typeof setInterval> | null = null;
  #synced = false;
  #disposed = false;
  #snapshot: PresenceSnapshot<S> | null = null;
  #off: (() => void)[] = [];

  constructor(node: GrapevineNode, id: string, options: RoomOptions<S>, verifier: UserVerifier, onDisposed: () => void) {
    checkRoomId(id);
    this.authority = options.authority ?? null;
    this.#authorityKey = this.authority === null ? null : nodeIdFromText(this.authority); // TypeError if malformed
    this.user = roomUserOf(node, options);
    this.limits = roomLimits(node, options);
    this.id = id;
    this.key = "presence";
    this.topic = `room/${id}`;
    this.#node = node;
    this.#scope = node.scope(this.topic); // RangeError past scopesMax, before anything is held
    this.#verifier = verifier;
    this.#onDisposed = onDisposed;
    this.#off.push(node.on("change", (c) => this.#onChange(c)));
    this.#off.push(node.on("member", (m) => this.#onMember(m.id, m.state)));
    this.#off.push(node.on("link", (l) => this.#onLink(l.up)));
    this.#off.push(node.on("close", () => this.#dispose()));
    this.#off.push(node.subscribe(this.topic, (m) => this.#onMessage(m.origin, m.payload, m.local)));
    // One timer: the sweep (members membership forgets) and renewals (members heard of only through their entries).
    this.#sweepTimer = setInterval(() => (this.#sweep(), this.#renew()), Math.max(250, Math.min(this.limits.timeoutMs / 3, 10_000)));
    (this.#sweepTimer as { unref?: () => void }).unref?.();
    for (const origin of this.#scope.origins()) {
      if (origin === node.id) continue;
      const v = this.#scope.get(this.key, origin);
      if (v !== undefined) this.#receive(origin, v, false);
    }
    this.#resync();
  }

  /** Throws unless a later handle's options agree with this room's on who it is and whom it trusts. */
  checkCompatible(options: RoomOptions<S>): void {
    if ((options.authority ?? null) !== this.authority && options.authority !== undefined) {
      throw new RangeError(`room ${JSON.stringify(this.id)} is open on this node with another authority`);
    }
    const user = options.user ?? options.credential?.user;
    if (user !== undefined && user !== this.user) {
      throw new RangeError(`room ${JSON.stringify(this.id)} is open on this node as user ${JSON.stringify(this.user)}`);
    }
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  get node(): GrapevineNode {
    return this.#node;
  }

  // ---------------------------------------------------------------- handles

  attach(handle: HandleSink<S>): void {
    this.#handles.add(handle);
    // A handle opened after the first snapshot gets its own, once its listeners are attached.
    if (this.#synced) {
      queueMicrotask(() => {
        if (this.#handles.has(handle) && this.#synced) handle._emit("sync", { type: "sync", others: this.snapshot().others });
      });
    }
  }

  /** A handle closed: it leaves, and the room settles at the end of the task (see the module doc). */
  detach(handle: HandleSink<S>): void {
    this.#handles.delete(handle);
    this.#entered.delete(handle);
    if (this.#settleTimer === null && !this.#disposed) {
      this.#settleTimer = setTimeout(() => {
        this.#settleTimer = null;
        if (this.#entered.size === 0) this.#leaveNow();
        if (this.#handles.size === 0) this.#dispose();
      }, 0);
    }
  }

  // ---------------------------------------------------------------- self

  setCredential(credential: UserCredential | undefined): void {
    if (credential === undefined) return;
    const wire = userCredentialToWire(credential, this.#node.id, Date.now());
    if (this.#credential && sameBytes(this.#credential.wire.signature, wire.signature)) return; // presented again: nothing new
    if (wire.user !== this.user) throw new TypeError(`credential is for user ${JSON.stringify(wire.user)}, the room's user is ${JSON.stringify(this.user)}`);
    const c = { wire, verified: false };
    this.#credential = c;
    this.#selfChanged();
    this.#written = null; // the entry changes even if the state does not
    if (this.#self) this.#scheduleWrite();
    if (this.#authorityKey) {
      void this.#verifier.check(this.#authorityKey, this.#node.publicKey, wire).then((problem) => {
        if (this.#credential !== c || this.#disposed) return;
        c.verified = problem === null;
        this.#selfChanged();
        this.#armExpiry();
      });
    }
  }

  set(handle: HandleSink<S>, state: S): void {
    if (state === undefined) throw new TypeError("presence state must not be undefined");
    const size = encode(state).length;
    if (size > this.limits.stateBytesMax) throw new RangeError(`presence state of ${size} bytes exceeds stateBytesMax ${this.limits.stateBytesMax}`);
    this.#entered.add(handle);
    this.#self = { state, at: Date.now() };
    this.#selfChanged();
    this.#scheduleWrite();
  }

  selfState(): S | undefined {
    return this.#self?.state;
  }

  /** `handle` leaves; the member leaves when no handle is left in. */
  leave(handle: HandleSink<S>): void {
    this.#entered.delete(handle);
    if (this.#entered.size === 0) this.#leaveNow();
  }

  #leaveNow(): void {
    if (!this.#self) return;
    this.#self = null;
    this.#selfChanged();
    if (this.#writeTimer) clearTimeout(this.#writeTimer);
    this.#writeTimer = null;
    this.#written = null;
    if (this.#disposed) return;
    try {
      this.#scope.delete(this.key);
    } catch {
      // the node is closed: its farewell says it all
    }
  }

  #selfChanged(): void {
    this.#selfEntry = null;
    this.#changed();
  }

  #scheduleWrite(): void {
    if (this.#writeTimer) return; // the pending write takes the latest state
    const wait = this.#written ? this.#written.at + this.limits.throttleMs - Date.now() : 0;
    if (wait <= 0) return this.#write();
    this.#writeTimer = setTimeout(() => {
      this.#writeTimer = null;
      this.#write();
    }, wait);
  }

  #write(): void {
    const s = this.#self;
    if (!s || this.#disposed) return;
    const { value, bytes } = presenceValue(s.state, this.user, this.#credential?.wire);
    if (this.#written?.bytes === bytes) return;
    this.#written = { bytes, at: Date.now() };
    try {
      this.#scope.set(this.key, value);
    } catch {
      // the node closed since: nothing left to write to
    }
  }

  // ---------------------------------------------------------------- others

  #onChange(c: ChangeEvent): void {
    if (c.scope !== this.topic || c.key !== this.key || c.origin === this.#node.id) return;
    if (c.deleted) return this.#remove(c.origin, "left");
    this.#receive(c.origin, c.value, true);
  }

  /** A member's presence value arrived: parsed, its credential judged, then applied. */
  #receive(peer: string, value: unknown, announce: boolean): void {
    this.#pending.delete(peer);
    const parsed = parsePresence(value, this.limits.stateBytesMax);
    if (!parsed) {
      if (this.#others.has(peer)) this.#remove(peer, "evicted");
      return;
    }
    const authority = this.#authorityKey;
    if (!parsed.credential || !authority) return this.#apply(peer, parsed, false, announce);
    const token = {};
    this.#pending.set(peer, token);
    void this.#verifier.check(authority, nodeIdFromText(peer), parsed.credential).then((problem) => {
      if (this.#pending.get(peer) !== token || this.#disposed) return; // superseded, removed or closed
      this.#pending.delete(peer);
      this.#apply(peer, parsed, problem === null, announce);
    });
  }

  #apply(peer: string, parsed: Parsed, signatureHolds: boolean, announce: boolean): void {
    const now = Date.now();
    const verified = signatureHolds && parsed.credential !== null && parsed.credential.expiresAtMs > now;
    const cur = this.#others.get(peer);
    if (!cur) {
      const member = this.#node.memberState(peer);
      // A member that membership does not know (or any member, on a node without membership) is
      // heard of only through its entry, which it renews (`#renew`): unless it becomes known, it
      // times out that long after it was last written. The sweep catches members membership forgets later.
      const unknown = member === undefined;
      const o: Other = {
        peer, user: parsed.user, state: parsed.state, lastSeen: now, unreachableSince: unknown ? now : null,
        present: member !== "dead" && member !== "left", credential: parsed.credential, verified, entry: null,
      };
      this.#others.set(peer, o);
      if (unknown) this.#armTimeout();
      this.#changed();
      if (o.present && announce && this.#synced) this.#emit("join", { type: "join", entry: this.#entry(o) });
    } else {
      const previous = cur.state as S;
      const heardOnly = this.#node.memberState(peer) === undefined; // known only through its entry: a write is its sign of life
      if (heardOnly) (cur.unreachableSince = now), this.#armTimeout();
      if (cur.present && sameEntry(cur, parsed, verified)) return; // a renewal: nothing to show
      Object.assign(cur, { state: parsed.state, user: parsed.user, credential: parsed.credential, verified, lastSeen: now, entry: null });
      this.#changed();
      if (!cur.present) {
        cur.present = true;
        if (!heardOnly) cur.unreachableSince = null;
        if (this.#synced) this.#emit("join", { type: "join", entry: this.#entry(cur) });
      } else if (this.#synced) this.#emit("update", { type: "update", entry: this.#entry(cur), previous });
    }
    if (verified) this.#armExpiry();
    this.#notify();
  }

  #remove(peer: string, reason: LeaveReason): void {
    this.#pending.delete(peer);
    const o = this.#others.get(peer);
    if (!o) return;
    this.#others.delete(peer);
    if (!o.present) return;
    this.#changed();
    if (this.#synced) this.#emit("leave", { type: "leave", entry: this.#entry(o), reason });
    this.#notify();
  }

  /** Failure detection's view of a member: unreachable members time out after `timeoutMs`. */
  #onMember(peer: string, state: string): void {
    const o = this.#others.get(peer);
    if (!o) return;
    if (state === "left") return this.#remove(peer, "left");
    const now = Date.now();
    if (state === "alive") {
      o.lastSeen = now;
      o.unreachableSince = null;
      o.entry = null;
      if (!o.present) {
        o.present = true;
        this.#changed();
        if (this.#synced) this.#emit("join", { type: "join", entry: this.#entry(o) });
      } else this.#changed();
      this.#notify();
      return;
    }
    o.unreachableSince ??= now;
    this.#armTimeout();
  }

  /**
   * Members membership does not know (never learnt, or evicted from a full table) get no member
   * events: they are held unreachable from the moment this is noticed, and time out unless
   * membership learns of them.
   */
  #sweep(): void {
    const now = Date.now();
    let armed = false;
    for (const o of this.#others.values()) {
      if (!o.present) continue;
      const m = this.#node.memberState(o.peer);
      if (m === undefined && o.unreachableSince === null) {
        o.unreachableSince = now;
        armed = true;
      }
    }
    if (armed) this.#armTimeout();
  }

  /** Renews this member's entry (same value, new version) while some member may know of it only through it: this node runs no membership, or the room holds one its membership does not know. */
  #renew(): void {
    if (!this.#self || this.#disposed || this.#writeTimer || (this.#written && Date.now() - this.#written.at < this.limits.timeoutMs / 3)) return;
    if (this.#node.options.membership && ![...this.#others.values()].some((o) => this.#node.memberState(o.peer) === undefined)) return;
    this.#written = null;
    this.#write();
  }

  #armTimeout(): void {
    const at = timeoutDeadline(this.#others.values(), this.limits.timeoutMs);
    if (at === this.#timeoutAt) return;
    if (this.#timeoutTimer) clearTimeout(this.#timeoutTimer);
    this.#timeoutAt = at;
    this.#timeoutTimer = at === Infinity ? null : timerAt(at, () => {
      this.#timeoutTimer = null;
      this.#timeoutAt = Infinity;
      this.#expire();
    });
  }

  #expire(): void {
    const now = Date.now();
    for (const o of this.#others.values()) {
      if (!o.present || o.unreachableSince === null || now - o.unreachableSince < this.limits.timeoutMs) continue;
      // Still not answering: it leaves; its state stays until collected, so a return is a join.
      o.present = false;
      this.#changed();
      if (this.#synced) this.#emit("leave", { type: "leave", entry: this.#entry(o), reason: "timeout" });
    }
    this.#notify();
    this.#armTimeout();
  }

  /** Verified entries whose credential has run out become unverified (an `update`). */
  #armExpiry(): void {
    const at = expiryDeadline(this.#others.values(), this.#credential);
    if (this.#expiryTimer) clearTimeout(this.#expiryTimer);
    this.#expiryTimer = at === Infinity || this.#disposed ? null : timerAt(at, () => {
      this.#expiryTimer = null;
      this.#expireCredentials();
    });
  }

  #expireCredentials(): void {
    const now = Date.now();
    const c = this.#credential;
    if (c?.verified && c.wire.expiresAtMs <= now) {
      c.verified = false;
      this.#selfChanged();
    }
    for (const o of this.#others.values()) {
      if (!o.verified || !o.credential || o.credential.expiresAtMs > now) continue;
      o.verified = false;
      o.entry = null;
      this.#changed();
      if (o.present && this.#synced) this.#emit("update", { type: "update", entry: this.#entry(o), previous: o.state as S });
    }
    this.#notify();
    this.#armExpiry();
  }

  #onLink(up: boolean): void {
    if (up && this.#node.linkCount === 1) this.#resync();
    // Reach may have changed: entries whose reach did are rebuilt.
    if (dropStaleReach(this.#others.values(), this.#node.peers())) {
      this.#changed();
      this.#notify();
    }
  }

  // ---------------------------------------------------------------- snapshots

  #entry(o: Other): PresenceEntry<S> {
    return entryOf<S>(o, (peer) => this.#node.peers().includes(peer));
  }

  #selfEntryOf(): PresenceEntry<S> | null {
    const s = this.#self;
    if (!s) return null;
    return (this.#selfEntry ??= selfEntryOf<S>(this.#node.id, this.user, s, this.#credential));
  }

  /** The current snapshot: the same frozen object until something in it changes. */
  snapshot(): PresenceSnapshot<S> {
    if (this.#snapshot) return this.#snapshot;
    const self = this.#selfEntryOf();
    const others = Object.freeze([...this.#others.values()].filter((o) => o.present).map((o) => this.#entry(o)));
    this.#snapshot = buildSnapshot(self, others, this.authority);
    return this.#snapshot;
  }

  /** Something in the snapshot changed: it is rebuilt on the next read. */
  #changed(): void {
    this.#snapshot = null;
  }

  #notify(): void {
    for (const h of [...this.#handles]) h._changed();
  }

  #emit<K extends keyof PresenceEventMap<S>>(type: K, detail: PresenceEventMap<S>[K]): void {
    for (const h of [...this.#handles]) h._emit(type, detail);
  }

  // ---------------------------------------------------------------- sync and messages

  /** A full snapshot once the room has been quiet a moment after (re)connecting. */
  #resync(): void {
    if (this.#node.linkCount === 0 && !this.#synced) return;
    this.#synced = false;
    if (this.#syncTimer) clearTimeout(this.#syncTimer);
    // Joins, updates and leaves while catching up are folded into the snapshot.
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = null;
      this.#synced = true;
      this.#emit("sync", { type: "sync", others: this.snapshot().others });
    }, SYNC_QUIET_MS);
  }

  broadcast(type: string, payload: unknown): void {
    if (typeof type !== "string") throw new TypeError("broadcast type must be a string");
    this.#node.publish(this.topic, { t: type, p: payload, u: this.user }, { ttlMs: this.limits.broadcastTtlMs });
  }

  #onMessage(origin: string, payload: unknown, local: boolean): void {
    const message = local ? null : roomMessage(origin, payload, this.#others.get(origin));
    if (message) for (const h of [...this.#handles]) h._message(message);
  }

  /** Stops everything and lets go of the room's scope (this node's key there goes with the scope's farewell). */
  dispose(): void {
    this.#dispose();
  }

  #dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const off of this.#off) off();
    for (const t of [this.#writeTimer, this.#timeoutTimer, this.#syncTimer, this.#expiryTimer, this.#settleTimer]) if (t) clearTimeout(t);
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    this.#sweepTimer = null;
    this.#writeTimer = this.#timeoutTimer = this.#syncTimer = this.#expiryTimer = this.#settleTimer = null;
    this.#pending.clear();
    this.#scope.close(); // the last hold leaves the room's scope: the member's key goes with its farewell
    this.#onDisposed();
  }
}
