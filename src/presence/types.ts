/**
 * The shapes presence shows an application: entries, snapshots, events and options. Everything a
 * snapshot returns is frozen and keeps its identity until something in it changes, so UI code can
 * compare by reference (`useSyncExternalStore`, memoised components).
 *
 * @module
 */

import type { UserCredential } from "../runtime/credential.ts";

/** Why someone left a room. */
export type LeaveReason = "left" | "timeout" | "evicted";

/** How a peer is reached: over a link of this node, or through the mesh (relays, gossip). */
export type Reach = "self" | "direct" | "mesh";

/** One member of a room, as `presence.self` and `presence.others` list them. Frozen. */
export interface PresenceEntry<S = unknown> {
  /** The node id (one per tab or process). */
  readonly peer: string;
  /**
   * The user key: the verified user id when `verified`, else what the node says (its node id
   * unless the app set one).
   */
  readonly user: string;
  /**
   * Whether the room's `authority` vouches for `user` through a credential bound to this very node
   * key, unexpired. Always false in a room without an `authority`.
   */
  readonly verified: boolean;
  /** The display claims of a verified credential (a name, an avatar URL); null when not verified. */
  readonly claims: Readonly<Record<string, string>> | null;
  /** The member's state, shared with the room: treat it as read-only. */
  readonly state: S;
  /** Wall-clock ms when this node last heard of it (a state change, or membership seeing it alive). */
  readonly lastSeen: number;
  readonly reach: Reach;
}

/** Everything present, by user; see {@link PresenceSnapshot.users}. */
export type PresenceUsers<S = unknown> = ReadonlyMap<string, readonly PresenceEntry<S>[]>;

/** One consistent view of a room, as `presence.getSnapshot()` returns it. Frozen. */
export interface PresenceSnapshot<S = unknown> {
  /** This member, or null before it enters (or after it leaves). */
  readonly self: PresenceEntry<S> | null;
  /** Everyone else present, in order of arrival. */
  readonly others: readonly PresenceEntry<S>[];
  /**
   * Everyone present, this member included, grouped: a verified entry under its verified user id;
   * in a room with an `authority`, an unverified entry alone under its node id (so claiming
   * someone's user id never joins their group); in a room without one, under the user key it gives.
   */
  readonly users: PresenceUsers<S>;
}

/** The details of presence events, by event type. */
export interface PresenceEventMap<S = unknown> {
  /** A full snapshot: once the room has caught up, and again after each reconnection. */
  sync: { readonly type: "sync"; readonly others: readonly PresenceEntry<S>[] };
  join: { readonly type: "join"; readonly entry: PresenceEntry<S> };
  /** A changed entry, never a leave plus a join; `previous` is the state before (equal when only `verified` changed). */
  update: { readonly type: "update"; readonly entry: PresenceEntry<S>; readonly previous: S };
  leave: { readonly type: "leave"; readonly entry: PresenceEntry<S>; readonly reason: LeaveReason };
}

/** A presence event's detail: a union discriminated by `type`. */
export type PresenceEvent<S = unknown> = PresenceEventMap<S>[keyof PresenceEventMap<S>];

/** Same as {@link PresenceEvent}. */
export type PresenceEventDetail<S = unknown> = PresenceEvent<S>;

/** Options of {@link GrapevineNode.room}. */
export interface RoomOptions<S = unknown> {
  /** This member's state on entering; without it the room is watched without joining. */
  presence?: S;
  /**
   * Groups several nodes (tabs) of one user; default the credential's user, else the node id.
   * At most 256 UTF-8 bytes.
   */
  user?: string;
  /**
   * A user credential for this node (from `issueUserCredential` on the app's server): peers whose
   * room trusts its authority see this member's `user` as verified. Throws `TypeError` if it was
   * issued for another node or its user differs from `user`, `RangeError` if it has expired.
   */
  credential?: UserCredential;
  /**
   * Node id of the authority whose user credentials this room trusts. Without it, no entry is
   * verified and entries are grouped by the user key they give.
   */
  authority?: string;
  /** Writes of `set`/`update` at most this often; later ones coalesce (default 100 ms). */
  throttleMs?: number;
  /** A member unreachable this long leaves with reason `timeout` (default 60,000; at least 1). */
  timeoutMs?: number;
  /** Largest encoded state in bytes (default 4,096; at most what the mesh's `valueBytesMax` leaves). */
  stateBytesMax?: number;
  /** Validity of `broadcast` messages in ms (default 10,000). */
  broadcastTtlMs?: number;
}

/** A message sent with `room.broadcast`. */
export interface RoomMessage<P = unknown> {
  type: string;
  payload: P;
  /** Sender's node id. */
  peer: string;
  /** Sender's user: its verified user id when its presence entry is verified, else the key it gives. */
  user: string;
  /** Whether `user` is verified (the sender is present in the room with a verified credential). */
  verified: boolean;
}
