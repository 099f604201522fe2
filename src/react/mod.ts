/**
 * React hooks over rooms (`grapevine/react`): open a room for as long as a component is mounted,
 * read its presence as snapshots that change identity only when something changed (so a component
 * re-renders only then), update this member's state, and send and receive room messages.
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

const NO_OTHERS: readonly never[] = Object.freeze([]);
const NO_USERS: PresenceUsers<never> = new Map();
const noSubscription = () => () => {};

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

/** This member's entry (null before it enters, or while `room` is null); re-renders when it changes. */
export function useSelf<S>(room: Room<S> | null): PresenceEntry<S> | null {
  const getSelf = () => (room ? room.presence.self : null);
  return useSyncExternalStore(room ? room.presence.subscribe : noSubscription, getSelf, getSelf);
}

/** Everyone else present; re-renders when someone joins, changes or leaves. */
export function useOthers<S>(room: Room<S> | null): readonly PresenceEntry<S>[] {
  const getOthers = () => (room ? room.presence.others : NO_OTHERS);
  return useSyncExternalStore(room ? room.presence.subscribe : noSubscription, getOthers, getOthers);
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
