/// <reference lib="esnext.disposable" preserve="true" />
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
 *   the topic `room/<roomId>`), for high-rate things like cursors that are not worth storing;
 * - a user is verified when the room's `authority` signed a credential binding that user id to the
 *   entry's node key (`user.ts`); otherwise the user key is what the node says.
 *
 * A {@link Room} is a handle: `node.room(id)` twice gives two handles on one shared room (one
 * presence key), each with its own listeners; see `core.ts` for how they share it.
 *
 * @module
 */

import type { UserCredential } from "../runtime/credential.ts";
import type { HandleSink, RoomCore } from "./core.ts";
import type { PresenceEntry, PresenceEventMap, PresenceSnapshot, PresenceUsers, RoomMessage } from "./types.ts";

export type {
  LeaveReason,
  PresenceEntry,
  PresenceEvent,
  PresenceEventDetail,
  PresenceEventMap,
  PresenceSnapshot,
  PresenceUsers,
  Reach,
  RoomMessage,
  RoomOptions,
} from "./types.ts";

/**
 * The presence half of a room. Get it as `room.presence`. Its `self`, `others`, `byUser()` and
 * `getSnapshot()` return frozen objects that keep their identity until something changes.
 *
 * @example
 * ```ts
 * const off = room.presence.on("join", ({ entry }) => toast(`${entry.user} joined`));
 * const { self, others } = room.presence.getSnapshot();
 * ```
 */
export class Presence<S = unknown> extends EventTarget {
  #room: Room<S>;
  #core: RoomCore<S>;
  #subscribers = new Set<() => void>();

  /** @internal */
  constructor(room: Room<S>, core: RoomCore<S>) {
    super();
    this.#room = room;
    this.#core = core;
  }

  /** This member, or null before `set` (or after `leave`). */
  get self(): PresenceEntry<S> | null {
    return this.#core.snapshot().self;
  }

  /** Everyone else present, in order of arrival. */
  get others(): readonly PresenceEntry<S>[] {
    return this.#core.snapshot().others;
  }

  /** Everyone present (this member included) by user; see {@link PresenceSnapshot.users} for the grouping. */
  byUser(): PresenceUsers<S> {
    return this.#core.snapshot().users;
  }

  /**
   * `self`, `others` and `users` together: one frozen object, the same until something changes —
   * what React's `useSyncExternalStore` wants, with {@link subscribe}.
   */
  getSnapshot = (): PresenceSnapshot<S> => this.#core.snapshot();

  /**
   * Calls `onChange` (no arguments) after every change to the snapshot; returns a function that
   * stops it. Bound to this object, so it can be passed around as is.
   *
   * @example
   * ```ts
   * const snapshot = useSyncExternalStore(room.presence.subscribe, room.presence.getSnapshot);
   * ```
   */
  subscribe = (onChange: () => void): (() => void) => {
    if (typeof onChange !== "function") throw new TypeError("subscribe takes a function");
    const f = () => onChange();
    this.#subscribers.add(f);
    return () => void this.#subscribers.delete(f);
  };

  /** Replaces this member's state (entering the room if not in it). Throws `RangeError` past `stateBytesMax`. */
  set(state: S): void {
    this.#room._assertOpen();
    this.#core.set(this.#room, state);
  }

  /** Merges `patch` into an object state (shallow), or replaces a non-object state. */
  update(patch: Partial<S>): void {
    this.#room._assertOpen();
    const cur = this.#core.selfState();
    const isObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
    this.#core.set(this.#room, (isObject(cur) && isObject(patch) ? { ...(cur as object), ...(patch as object) } : patch) as S);
  }

  /**
   * Leaves the room (peers see reason `left`) unless another handle of this room on this node is
   * still in it; `set` enters again.
   */
  leave(): void {
    if (this.#room.closed) return;
    this.#core.leave(this.#room);
  }

  /**
   * Listens to `sync`, `join`, `update` or `leave`; returns a function that stops listening. The
   * listener gets the event's detail, typed by its `type`.
   *
   * @example
   * ```ts
   * room.presence.on("join", ({ entry }) => console.log(entry.user, "joined"));
   * room.presence.on("leave", ({ entry, reason }) => console.log(entry.user, "left:", reason));
   * ```
   */
  on<K extends keyof PresenceEventMap<S>>(type: K, listener: (detail: PresenceEventMap<S>[K]) => void): () => void {
    const h = (e: Event) => listener((e as CustomEvent<PresenceEventMap<S>[K]>).detail);
    this.addEventListener(type, h);
    return () => this.removeEventListener(type, h);
  }

  /** Presence events arrive as `CustomEvent`s whose `detail` is typed by the event type. */
  override addEventListener<K extends keyof PresenceEventMap<S>>(
    type: K,
    listener: ((event: CustomEvent<PresenceEventMap<S>[K]>) => void) | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null | ((event: never) => void), options?: boolean | AddEventListenerOptions): void {
    super.addEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  override removeEventListener<K extends keyof PresenceEventMap<S>>(
    type: K,
    listener: ((event: CustomEvent<PresenceEventMap<S>[K]>) => void) | null,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
  override removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null | ((event: never) => void), options?: boolean | EventListenerOptions): void {
    super.removeEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  /** @internal */
  _emit<K extends keyof PresenceEventMap<S>>(type: K, detail: PresenceEventMap<S>[K]): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** @internal */
  _changed(): void {
    for (const f of [...this.#subscribers]) f();
  }

  /** @internal */
  _clear(): void {
    this.#subscribers.clear();
  }
}

/**
 * A handle on a room of a node. Get one with {@link GrapevineNode.room}; close it when done. Two
 * handles of one id on one node share one presence: the member leaves when the last handle in it
 * leaves or closes (a close takes effect at the end of the task, so closing and reopening at once,
 * as React StrictMode does, shows peers nothing).
 *
 * @example
 * ```ts
 * const room = mesh.room<{ name: string; color: string }>("doc-42", { presence: { name: "Ada", color: "#c33" }, user: accountId });
 * room.presence.on("sync", ({ others }) => render(others));
 * room.presence.on("join", ({ entry }) => toast(`${entry.state.name} joined`));
 * room.presence.update({ color: "#36c" });
 * room.subscribe<{ x: number; y: number }>("cursor", (m) => drawCursor(m.peer, m.payload));
 * window.addEventListener("pointermove", (e) => room.broadcast("cursor", { x: e.clientX, y: e.clientY }));
 * ```
 */
export class Room<S = unknown> implements HandleSink<S> {
  readonly id: string;
  readonly presence: Presence<S>;
  #core: RoomCore<S>;
  #closed = false;
  #handlers = new Map<string, Set<(m: RoomMessage) => void>>();

  /** @internal Use {@link GrapevineNode.room}. */
  constructor(core: RoomCore<S>, options: { presence?: S; credential?: UserCredential }) {
    this.id = core.id;
    this.#core = core;
    this.presence = new Presence(this, core);
    core.attach(this);
    try {
      core.setCredential(options.credential);
      if (options.presence !== undefined) core.set(this, options.presence);
    } catch (e) {
      // A bad option: this handle never was; a room it alone opened is released with it.
      this.#closed = true;
      core.detach(this);
      throw e;
    }
  }

  /** The user key this member gives (its verified user id when its credential holds). */
  get user(): string {
    return this.#core.user;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Presents a new user credential (one for the same user, say before the current one expires).
   * Throws like the `credential` option.
   */
  setCredential(credential: UserCredential): void {
    this._assertOpen();
    this.#core.setCredential(credential);
  }

  /**
   * Sends an ephemeral message to everyone in the room (signed, not stored): cursors, typing
   * indicators, reactions. `payload` is any CBOR-encodable value.
   */
  broadcast<P>(type: string, payload: P): void {
    this._assertOpen();
    this.#core.broadcast(type, payload);
  }

  /** Calls `listener` for every `broadcast` of `type` from others; returns a function that stops it. */
  subscribe<P>(type: string, listener: (message: RoomMessage<P>) => void): () => void {
    let set = this.#handlers.get(type);
    if (!set) this.#handlers.set(type, (set = new Set()));
    const l = listener as (m: RoomMessage) => void;
    set.add(l);
    return () => void set.delete(l);
  }

  /** Closes this handle: it leaves (see the class doc) and its listeners hear nothing more. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers.clear();
    this.presence._clear();
    this.#core.detach(this);
  }

  /** `using room = node.room(id)` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal */
  _assertOpen(): void {
    if (this.#closed) throw new RangeError("room is closed");
  }

  /** @internal */
  _emit<K extends keyof PresenceEventMap<S>>(type: K, detail: PresenceEventMap<S>[K]): void {
    this.presence._emit(type, detail);
  }

  /** @internal */
  _changed(): void {
    this.presence._changed();
  }

  /** @internal */
  _message(message: RoomMessage): void {
    const set = this.#handlers.get(message.type);
    if (set) for (const h of [...set]) h(message);
  }
}
