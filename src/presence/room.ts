/**
 * Presence for web apps: who is in a room, what each one shows (a name, a colour, a cursor, a
 * status), and ephemeral messages among them.
 *
 * Built on the mesh, not beside it:
 * - a member's presence is one key, `presence/<roomId>`, in its own signed map (replicated state),
 *   so every entry is signed by its node and capped like any value: no peer can set another's;
 * - departures come from membership: a deleted key or a `left` claim is a leave with reason
 *   `left`; a member failure detection holds suspect or dead for `timeoutMs` (default 60 s, so a
 *   hidden tab whose timers run once a minute does not flap) is a leave with reason `timeout`;
 *   an entry that breaks the room's rules (too large, malformed) is a leave with reason `evicted`;
 * - `room.broadcast(type, payload)` rides on epidemic broadcast (one signed message per call, on
 *   the topic `room/<roomId>`), for high-rate things like cursors that are not worth storing.
 *
 * Several tabs of one user are several nodes (one key each) with the same `user` key, so
 * `presence.byUser()` groups them. The user key is what each node says; it is as trustworthy as
 * the admission policy that let the node in.
 *
 * Events, on `room.presence` (an `EventTarget`; `detail` holds the payload, or use `on`):
 * `sync` (a full snapshot: first once the room has caught up, then after each reconnection),
 * `join`, `update` (a changed state: never a leave plus a join) and `leave` (with `reason`).
 *
 * @module
 */

import type { ChangeEvent, GrapevineNode } from "../runtime/node.ts";
import { encode } from "../wire/cbor.ts";

/** Why someone left a room. */
export type LeaveReason = "left" | "timeout" | "evicted";

/** How a peer is reached: over a link of this node, or through the mesh (relays, gossip). */
export type Reach = "self" | "direct" | "mesh";

/** One member of a room, as `presence.self` and `presence.others` list them. */
export interface PresenceEntry<S = unknown> {
  /** The node id (one per tab or process). */
  peer: string;
  /** The user key the node gave (its node id unless the app set one). */
  user: string;
  state: S;
  /** Wall-clock ms when this node last heard of it (a state change, or membership seeing it alive). */
  lastSeen: number;
  reach: Reach;
}

/** Options of {@link GrapevineNode.room}. */
export interface RoomOptions<S = unknown> {
  /** This member's state on entering; without it the room is watched without joining. */
  presence?: S;
  /** Groups several nodes (tabs) of one user; default the node id. At most 256 UTF-8 bytes. */
  user?: string;
  /** Writes of `set`/`update` at most this often; later ones coalesce (default 100 ms). */
  throttleMs?: number;
  /** A member unreachable this long leaves with reason `timeout` (default 60,000; at least 1). */
  timeoutMs?: number;
  /** Largest encoded state in bytes (default 4,096; at most the mesh's `valueBytesMax`). */
  stateBytesMax?: number;
  /** Validity of `broadcast` messages in ms (default 10,000). */
  broadcastTtlMs?: number;
}

/** Detail of a presence event. */
export interface PresenceEventDetail<S = unknown> {
  /** For `join`, `update`, `leave`: the member. */
  entry?: PresenceEntry<S>;
  /** For `leave`. */
  reason?: LeaveReason;
  /** For `update`: the state before. */
  previous?: S;
  /** For `sync`: everyone else in the room. */
  others?: PresenceEntry<S>[];
}

/** A message sent with {@link Room.broadcast}. */
export interface RoomMessage<P = unknown> {
  type: string;
  payload: P;
  /** Sender's node id and user key. */
  peer: string;
  user: string;
}

const USER_BYTES_MAX = 256;
const SYNC_QUIET_MS = 300;

interface Other {
  peer: string;
  user: string;
  state: unknown;
  lastSeen: number;
  /** Wall-clock ms since failure detection has held it suspect or dead; null while reachable. */
  unreachableSince: number | null;
  /** Shown in `others` (false while timed out, until it comes back). */
  present: boolean;
}

/** The presence half of a room. Get it as `room.presence`. */
export class Presence<S = unknown> extends EventTarget {
  #room: Room<S>;

  /** @internal */
  constructor(room: Room<S>) {
    super();
    this.#room = room;
  }

  /** This member, or null before `set` (or after `leave`). */
  get self(): PresenceEntry<S> | null {
    return this.#room._self();
  }

  /** Everyone else present, in order of arrival. */
  get others(): PresenceEntry<S>[] {
    return this.#room._others();
  }

  /** Everyone present (this member included) by user key: several tabs of a user under one key. */
  byUser(): Map<string, PresenceEntry<S>[]> {
    const out = new Map<string, PresenceEntry<S>[]>();
    for (const e of [...(this.self ? [this.self] : []), ...this.others]) {
      const list = out.get(e.user);
      if (list) list.push(e);
      else out.set(e.user, [e]);
    }
    return out;
  }

  /** Replaces this member's state (joining the room if not in it). Throws `RangeError` past `stateBytesMax`. */
  set(state: S): void {
    this.#room._set(state);
  }

  /** Merges `patch` into an object state (shallow), or replaces a non-object state. */
  update(patch: Partial<S>): void {
    const cur = this.#room._self()?.state;
    const isObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
    this.#room._set((isObject(cur) && isObject(patch) ? { ...(cur as object), ...(patch as object) } : patch) as S);
  }

  /** Leaves the room (peers see reason `left`); `set` enters again. */
  leave(): void {
    this.#room._leave();
  }

  /**
   * Listens to `sync`, `join`, `update` or `leave`; returns a function that stops listening.
   *
   * @example
   * ```ts
   * room.presence.on("join", ({ entry }) => console.log(entry!.user, "joined"));
   * room.presence.on("leave", ({ entry, reason }) => console.log(entry!.user, "left:", reason));
   * ```
   */
  on(type: "sync" | "join" | "update" | "leave", listener: (detail: PresenceEventDetail<S>) => void): () => void {
    const h = (e: Event) => listener((e as CustomEvent<PresenceEventDetail<S>>).detail);
    this.addEventListener(type, h);
    return () => this.removeEventListener(type, h);
  }

  /** @internal */
  _emit(type: string, detail: PresenceEventDetail<S>): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/**
 * A room on a node. Create it with {@link GrapevineNode.room}.
 *
 * @example
 * ```ts
 * const room = mesh.room("doc-42", { presence: { name: "Ada", color: "#c33" }, user: accountId });
 * room.presence.on("sync", ({ others }) => render(others!));
 * room.presence.on("join", ({ entry }) => toast(`${entry!.state.name} joined`));
 * room.presence.update({ color: "#36c" });
 * room.subscribe("cursor", (m) => drawCursor(m.peer, m.payload));
 * window.addEventListener("pointermove", (e) => room.broadcast("cursor", { x: e.clientX, y: e.clientY }));
 * ```
 */
export class Room<S = unknown> {
  readonly id: string;
  readonly presence: Presence<S>;
  readonly user: string;
  #node: GrapevineNode;
  #key: string;
  #topic: string;
  #o: Required<Omit<RoomOptions<S>, "presence" | "user">>;
  #selfState: { state: S; at: number } | null = null;
  #others = new Map<string, Other>();
  #written: { bytes: string; at: number } | null = null;
  #writeTimer: ReturnType<typeof setTimeout> | null = null;
  #timeoutTimer: ReturnType<typeof setTimeout> | null = null;
  #timeoutAt = Infinity;
  #syncTimer: ReturnType<typeof setTimeout> | null = null;
  #synced = false;
  #closed = false;
  #off: (() => void)[] = [];
  #handlers = new Map<string, Set<(m: RoomMessage) => void>>();

  /** @internal Use {@link GrapevineNode.room}. */
  constructor(node: GrapevineNode, id: string, options: RoomOptions<S> = {}) {
    if (typeof id !== "string" || id.length === 0 || new TextEncoder().encode(id).length > 100) {
      throw new RangeError("room id must be 1..100 UTF-8 bytes");
    }
    const user = options.user ?? node.id;
    if (typeof user !== "string" || new TextEncoder().encode(user).length > USER_BYTES_MAX) throw new RangeError(`user must be a string of at most ${USER_BYTES_MAX} bytes`);
    const positive = (v: number | undefined, d: number, name: string) => {
      const x = v ?? d;
      if (!(typeof x === "number" && x > 0 && Number.isFinite(x))) throw new RangeError(`${name} must be a positive number`);
      return x;
    };
    this.#o = {
      throttleMs: positive(options.throttleMs, 100, "throttleMs"),
      timeoutMs: positive(options.timeoutMs, 60_000, "timeoutMs"),
      stateBytesMax: Math.min(positive(options.stateBytesMax, 4096, "stateBytesMax"), node.options.valueBytesMax - USER_BYTES_MAX - 16),
      broadcastTtlMs: positive(options.broadcastTtlMs, 10_000, "broadcastTtlMs"),
    };
    this.id = id;
    this.user = user;
    this.#node = node;
    this.#key = `presence/${id}`;
    this.#topic = `room/${id}`;
    this.presence = new Presence(this);
    this.#off.push(node.subscribe((c) => this.#onChange(c)));
    this.#off.push(this.#listen<{ id: string; state: string }>("member", (m) => this.#onMember(m.id, m.state)));
    this.#off.push(this.#listen<{ up: boolean }>("link", (l) => l.up && node.linkCount === 1 && this.#resync()));
    this.#off.push(node.subscribe(this.#topic, (m) => this.#onMessage(m.origin, m.payload, m.local)));
    for (const origin of node.origins()) {
      if (origin === node.id) continue;
      const v = node.get(this.#key, origin);
      if (v !== undefined) this.#apply(origin, v, false);
    }
    if (options.presence !== undefined) this._set(options.presence);
    this.#resync();
  }

  /**
   * Sends an ephemeral message to everyone in the room (signed, not stored): cursors, typing
   * indicators, reactions. `payload` is any CBOR-encodable value.
   */
  broadcast<P>(type: string, payload: P): void {
    if (this.#closed) throw new RangeError("room is closed");
    this.#node.publish(this.#topic, { t: type, p: payload, u: this.user }, { ttlMs: this.#o.broadcastTtlMs });
  }

  /** Calls `listener` for every `broadcast` of `type` from others; returns a function that stops it. */
  subscribe<P>(type: string, listener: (message: RoomMessage<P>) => void): () => void {
    let set = this.#handlers.get(type);
    if (!set) this.#handlers.set(type, (set = new Set()));
    const l = listener as (m: RoomMessage) => void;
    set.add(l);
    return () => void set.delete(l);
  }

  /** Leaves the room and stops listening. */
  close(): void {
    if (this.#closed) return;
    this._leave();
    this.#closed = true;
    for (const off of this.#off) off();
    for (const t of [this.#writeTimer, this.#timeoutTimer, this.#syncTimer]) if (t) clearTimeout(t);
  }

  // ---------------------------------------------------------------- self

  /** @internal */
  _self(): PresenceEntry<S> | null {
    const s = this.#selfState;
    return s ? { peer: this.#node.id, user: this.user, state: s.state, lastSeen: s.at, reach: "self" } : null;
  }

  /** @internal */
  _others(): PresenceEntry<S>[] {
    return [...this.#others.values()].filter((o) => o.present).map((o) => this.#entry(o));
  }

  /** @internal */
  _set(state: S): void {
    if (this.#closed) throw new RangeError("room is closed");
    if (state === undefined) throw new TypeError("presence state must not be undefined");
    const size = encode(state).length;
    if (size > this.#o.stateBytesMax) throw new RangeError(`presence state of ${size} bytes exceeds stateBytesMax ${this.#o.stateBytesMax}`);
    this.#selfState = { state, at: Date.now() };
    this.#scheduleWrite();
  }

  /** @internal */
  _leave(): void {
    if (this.#closed || !this.#selfState) return;
    this.#selfState = null;
    if (this.#writeTimer) clearTimeout(this.#writeTimer);
    this.#writeTimer = null;
    this.#written = null;
    try {
      this.#node.delete(this.#key);
    } catch {
      // the node is closed: its farewell says it all
    }
  }

  #scheduleWrite(): void {
    if (this.#writeTimer) return; // the pending write takes the latest state
    const wait = this.#written ? this.#written.at + this.#o.throttleMs - Date.now() : 0;
    if (wait <= 0) return this.#write();
    this.#writeTimer = setTimeout(() => {
      this.#writeTimer = null;
      this.#write();
    }, wait);
  }

  #write(): void {
    const s = this.#selfState;
    if (!s || this.#closed) return;
    const value = { s: s.state, u: this.user };
    const bytes = JSON.stringify([s.state, this.user]);
    if (this.#written?.bytes === bytes) return;
    this.#written = { bytes, at: Date.now() };
    this.#node.set(this.#key, value);
  }

  // ---------------------------------------------------------------- others

  #onChange(c: ChangeEvent): void {
    if (c.key !== this.#key || c.origin === this.#node.id) return;
    if (c.deleted) return this.#remove(c.origin, "left");
    this.#apply(c.origin, c.value, true);
  }

  /** A member's presence value arrived: join, update, or eviction if it breaks the rules. */
  #apply(peer: string, value: unknown, announce: boolean): void {
    const parsed = this.#parse(value);
    const cur = this.#others.get(peer);
    if (!parsed) {
      if (cur) this.#remove(peer, "evicted");
      return;
    }
    const now = Date.now();
    if (!cur) {
      const state = this.#node.memberState(peer);
      const o: Other = { peer, user: parsed.user, state: parsed.state, lastSeen: now, unreachableSince: null, present: state !== "dead" && state !== "left" };
      this.#others.set(peer, o);
      if (o.present && announce && this.#synced) this.presence._emit("join", { entry: this.#entry(o) });
      return;
    }
    const previous = cur.state;
    cur.state = parsed.state;
    cur.user = parsed.user;
    cur.lastSeen = now;
    if (!cur.present) {
      cur.present = true;
      cur.unreachableSince = null;
      if (this.#synced) this.presence._emit("join", { entry: this.#entry(cur) });
    } else if (this.#synced) this.presence._emit("update", { entry: this.#entry(cur), previous: previous as S });
  }

  #parse(value: unknown): { state: unknown; user: string } | null {
    if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) return null;
    const v = value as Record<string, unknown>;
    if (!Object.hasOwn(v, "s") || typeof v.u !== "string" || new TextEncoder().encode(v.u).length > USER_BYTES_MAX) return null;
    if (encode(v.s).length > this.#o.stateBytesMax) return null;
    return { state: v.s, user: v.u };
  }

  #remove(peer: string, reason: LeaveReason): void {
    const o = this.#others.get(peer);
    if (!o) return;
    this.#others.delete(peer);
    if (o.present && this.#synced) this.presence._emit("leave", { entry: this.#entry(o), reason });
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
      if (!o.present) {
        o.present = true;
        if (this.#synced) this.presence._emit("join", { entry: this.#entry(o) });
      }
      return;
    }
    o.unreachableSince ??= now;
    this.#armTimeout();
  }

  #armTimeout(): void {
    let at = Infinity;
    for (const o of this.#others.values()) if (o.present && o.unreachableSince !== null) at = Math.min(at, o.unreachableSince + this.#o.timeoutMs);
    if (at === this.#timeoutAt) return;
    if (this.#timeoutTimer) clearTimeout(this.#timeoutTimer);
    this.#timeoutAt = at;
    this.#timeoutTimer = at === Infinity ? null : setTimeout(() => {
      this.#timeoutTimer = null;
      this.#timeoutAt = Infinity;
      this.#expire();
    }, Math.max(0, at - Date.now()));
    (this.#timeoutTimer as { unref?: () => void } | null)?.unref?.();
  }

  #expire(): void {
    const now = Date.now();
    for (const o of this.#others.values()) {
      if (!o.present || o.unreachableSince === null || now - o.unreachableSince < this.#o.timeoutMs) continue;
      // Still not answering: it leaves; its state stays until collected, so a return is a join.
      o.present = false;
      if (this.#synced) this.presence._emit("leave", { entry: this.#entry(o), reason: "timeout" });
    }
    this.#armTimeout();
  }

  #entry(o: Other): PresenceEntry<S> {
    return { peer: o.peer, user: o.user, state: o.state as S, lastSeen: o.lastSeen, reach: this.#node.peers().includes(o.peer) ? "direct" : "mesh" };
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
      this.presence._emit("sync", { others: this._others() });
    }, SYNC_QUIET_MS);
  }

  #onMessage(origin: string, payload: unknown, local: boolean): void {
    if (local || typeof payload !== "object" || payload === null) return;
    const m = payload as Record<string, unknown>;
    if (typeof m.t !== "string" || typeof m.u !== "string") return;
    const set = this.#handlers.get(m.t);
    if (!set) return;
    for (const h of set) h({ type: m.t, payload: m.p, peer: origin, user: m.u });
  }

  #listen<T>(type: string, fn: (detail: T) => void): () => void {
    const h = (e: Event) => fn((e as CustomEvent<T>).detail);
    this.#node.addEventListener(type, h);
    return () => this.#node.removeEventListener(type, h);
  }
}
