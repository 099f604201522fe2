/**
 * React hooks over rooms (`grapevine/react`): keep a node and open a room for as long as a
 * component is mounted, read its presence as snapshots that change identity only when something
 * changed (so a component re-renders only then), update this member's state, and send and receive
 * room messages.
 *
 * Built on `useSyncExternalStore` with `presence.subscribe` and the presence snapshot; nothing is
 * copied or cached here. `react` (18 or later) is an optional peer dependency: only this entry
 * imports it.
 *
 * StrictMode mounts, unmounts and mounts again: the room handle opened by the first mount is closed
 * and a new one opened within the same task, which peers never see (see `Room`).
 *
 * @example
 * ```tsx
 * import { useBroadcast, useOthers, usePresence, useRoom, useSelf } from "grapevine/react";
 *
 * function Avatars({ node }: { node: GrapevineNode }) {
 *   const room = useRoom<{ name: string; x: number }>(node, "doc-42", { presence: { name: "Ada", x: 0 } });
 *   const others = useOthers(room);
 *   const [me, update] = usePresence(room);
 *   const wave = useBroadcast<string>(room, "wave", (m) => console.log(m.user, "waves", m.payload));
 *   return <ul onClick={() => wave("hi")} onPointerMove={(e) => update({ x: e.clientX })}>
 *     {others.map((o) => <li key={o.peer}>{o.state.name}{o.verified ? " ✓" : ""}</li>)}
 *   </ul>;
 * }
 * ```
 *
 * @module
 */

import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from "react";
import type { PresenceEntry, PresenceUsers, Room, RoomMessage, RoomOptions } from "../presence/room.ts";
import type { GrapevineNode } from "../runtime/node.ts";
import { selectFrom, type Selection } from "./select.ts";

const NO_OTHERS: readonly never[] = Object.freeze([]);
const NO_USERS: PresenceUsers<never> = new Map();
const noSubscription = () => () => {};

/**
 * A node for as long as the component is mounted, or null until `create` resolves. `create` runs
 * in an effect (again when `deps` change, the previous node closed first), and the node is closed
 * on unmount — a node `create` resolves after its effect was cleaned up too (StrictMode mounts,
 * unmounts and mounts again: its first node is closed, not left running). A `create` that rejects
 * throws its error from the component's next render, for an error boundary.
 *
 * @example
 * ```tsx
 * const node = useNode(async () => {
 *   const n = await createNode({ network: "my-app" });
 *   dial(n, "wss://relay.example.com");
 *   return n;
 * });
 * const room = useRoom(node, "doc-42", { presence: { name: "Ada" } });
 * ```
 */
export function useNode(create: () => Promise<GrapevineNode>, deps: readonly unknown[] = []): GrapevineNode | null {
  const [node, setNode] = useState<GrapevineNode | null>(null);
  const [failure, setFailure] = useState<{ error: unknown } | null>(null);
  const latest = useRef(create);
  latest.current = create;
  useEffect(() => {
    let live = true;
    let made: GrapevineNode | null = null;
    latest.current().then((n) => {
      if (!live) return void n.close();
      made = n;
      setNode(n);
    }, (error: unknown) => void (live && setFailure({ error })));
    return () => {
      live = false;
      if (made) void made.close();
      setNode((cur) => (cur === made ? null : cur));
    };
  }, deps); // eslint-disable-line react-hooks/exhaustive-deps -- `deps` are the caller's
  if (failure) throw failure.error;
  return node;
}

/**
 * A handle on the room `id` of `node`, open while the component is mounted (and `node` is given),
 * or null before it opens. `options` are read when the room opens; a changed `credential` is
 * presented to the open room, a changed `user` or `authority` reopens it. Change this member's
 * state with {@link usePresence}.
 *
 * @example
 * ```tsx
 * const room = useRoom(node, "doc-42", { presence: { name: "Ada" }, credential, authority });
 * ```
 */
export function useRoom<S = unknown>(node: GrapevineNode | null | undefined, id: string, options?: RoomOptions<S>): Room<S> | null {
  const [room, setRoom] = useState<Room<S> | null>(null);
  const latest = useRef(options);
  latest.current = options;
  const user = options?.user;
  const authority = options?.authority;
  useEffect(() => {
    if (!node) return;
    const r = node.room<S>(id, latest.current ?? {});
    setRoom(r);
    return () => {
      r.close();
      setRoom((cur) => (cur === r ? null : cur));
    };
  }, [node, id, user, authority]);
  const credential = options?.credential;
  useEffect(() => {
    if (room && credential && !room.closed) room.setCredential(credential);
  }, [room, credential]);
  return room;
}

/**
 * This member's entry (null before it enters, or while `room` is null); re-renders when it changes.
 * With a `selector`, returns what it picks from the entry and re-renders only when that changes
 * by `isEqual` (default `Object.is`; {@link shallow} compares arrays and plain objects one level
 * deep).
 */
export function useSelf<S>(room: Room<S> | null): PresenceEntry<S> | null;
export function useSelf<S, T>(room: Room<S> | null, selector: (self: PresenceEntry<S> | null) => T, isEqual?: (a: T, b: T) => boolean): T;
export function useSelf<S, T>(room: Room<S> | null, selector?: (self: PresenceEntry<S> | null) => T, isEqual?: (a: T, b: T) => boolean): T | PresenceEntry<S> | null {
  return useSelected(room, () => (room ? room.presence.self : null), selector, isEqual);
}

/**
 * Everyone else present; re-renders when someone joins, changes or leaves. With a `selector`,
 * returns what it picks and re-renders only when that changes by `isEqual` (see {@link useSelf}):
 * `useOthers(room, (o) => o.map((e) => e.state.name), shallow)` re-renders on a rename, not on
 * every cursor move. An entry keeps its identity until its member changes, so a selector that
 * returns entries pairs well with `shallow`.
 */
export function useOthers<S>(room: Room<S> | null): readonly PresenceEntry<S>[];
export function useOthers<S, T>(room: Room<S> | null, selector: (others: readonly PresenceEntry<S>[]) => T, isEqual?: (a: T, b: T) => boolean): T;
export function useOthers<S, T>(room: Room<S> | null, selector?: (others: readonly PresenceEntry<S>[]) => T, isEqual?: (a: T, b: T) => boolean): T | readonly PresenceEntry<S>[] {
  return useSelected(room, () => (room ? room.presence.others : NO_OTHERS), selector, isEqual);
}

/**
 * One other member's entry by its node id (`peer`), or null while it is not present; re-renders
 * only when that entry changes (a list item that shows one member). With a `selector`, as
 * {@link useSelf}.
 */
export function useOther<S>(room: Room<S> | null, peer: string): PresenceEntry<S> | null;
export function useOther<S, T>(room: Room<S> | null, peer: string, selector: (entry: PresenceEntry<S> | null) => T, isEqual?: (a: T, b: T) => boolean): T;
export function useOther<S, T>(room: Room<S> | null, peer: string, selector?: (entry: PresenceEntry<S> | null) => T, isEqual?: (a: T, b: T) => boolean): T | PresenceEntry<S> | null {
  const select = (others: readonly PresenceEntry<S>[]) => {
    const entry = others.find((o) => o.peer === peer) ?? null;
    return selector ? selector(entry) : entry;
  };
  type Picked = T | PresenceEntry<S> | null;
  return useSelected(room, () => (room ? room.presence.others : NO_OTHERS), select, isEqual as ((a: Picked, b: Picked) => boolean) | undefined) as Picked; // a selector is always given
}

/**
 * Whether `a` and `b` are the same, or arrays of the same items, or plain objects with the same
 * keys and values (compared with `Object.is`, one level deep): the usual `isEqual` of a selector
 * that returns a new array or object each time.
 */
export function shallow(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => Object.is(x, b[i]));
  }
  if (Object.getPrototypeOf(a) !== Object.prototype || Object.getPrototypeOf(b) !== Object.prototype) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && Object.is((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * The room's snapshot through `selector` (none: the snapshot itself), kept by identity while the
 * snapshot and the selector are the same, and while the new selection `isEqual` to the last one.
 */
function useSelected<S, V, T>(room: Room<S> | null, read: () => V, selector: ((v: V) => T) | undefined, isEqual: ((a: T, b: T) => boolean) | undefined): T | V {
  const memo = useRef<Selection<V, T> | null>(null);
  const latest = useRef({ selector, isEqual });
  latest.current = { selector, isEqual };
  const get = () => {
    const value = read();
    const { selector: select, isEqual: same = Object.is } = latest.current;
    if (!select) return value;
    return (memo.current = selectFrom(memo.current, value, select, same)).selected;
  };
  return useSyncExternalStore(room ? room.presence.subscribe : noSubscription, get, get);
}

/** Everyone present by user (see `presence.byUser()`); re-renders when it changes. */
export function useUsers<S>(room: Room<S> | null): PresenceUsers<S> {
  const getUsers = () => (room ? room.presence.byUser() : (NO_USERS as PresenceUsers<S>));
  return useSyncExternalStore(room ? room.presence.subscribe : noSubscription, getUsers, getUsers);
}

/**
 * This member's state and a function that merges a patch into it (`presence.update`, throttled
 * by the room). The update function keeps its identity while `room` does; before the room opens
 * it does nothing (give the first state as `useRoom`'s `presence` option).
 *
 * @example
 * ```tsx
 * const [me, update] = usePresence(room);
 * <input value={me?.name ?? ""} onChange={(e) => update({ name: e.target.value })} />
 * ```
 */
export function usePresence<S>(room: Room<S> | null): [state: S | null, update: (patch: Partial<S>) => void] {
  const self = useSelf(room);
  const update = useCallback((patch: Partial<S>) => {
    if (room && !room.closed) room.presence.update(patch);
  }, [room]);
  return [self ? self.state : null, update];
}

/**
 * Sends and receives room messages of `type`: returns a function that broadcasts a payload, and
 * calls `onMessage` (the latest one given) for every message of that type from others.
 *
 * @example
 * ```tsx
 * const sendCursor = useBroadcast<{ x: number; y: number }>(room, "cursor", (m) => move(m.peer, m.payload));
 * <div onPointerMove={(e) => sendCursor({ x: e.clientX, y: e.clientY })} />
 * ```
 */
export function useBroadcast<P, S = unknown>(room: Room<S> | null, type: string, onMessage?: (message: RoomMessage<P>) => void): (payload: P) => void {
  const latest = useRef(onMessage);
  latest.current = onMessage;
  useEffect(() => {
    if (!room) return;
    return room.subscribe<P>(type, (m) => latest.current?.(m));
  }, [room, type]);
  return useCallback((payload: P) => {
    if (room && !room.closed) room.broadcast(type, payload);
  }, [room, type]);
}
