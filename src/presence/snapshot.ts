/**
 * What a room shows: the record it keeps of each other member, and the frozen entries and
 * snapshot (self, others, users) built from them.
 *
 * Invariants: entries and snapshots are frozen; an entry is rebuilt only when its record dropped
 * it (`entry = null`), so unchanged entries keep their identity across snapshots; claims are shown
 * only for a verified entry; users group entries by user key when verified or when the room has
 * no authority, else by peer (an unverified user key is only a name).
 *
 * @module
 */

import type { UserCredentialWire } from "../runtime/credential.ts";
import type { PresenceEntry, PresenceSnapshot, Reach } from "./types.ts";

/** What a room holds of another member. */
export interface Other {
  peer: string;
  /** The user key it gives (`u`). */
  user: string;
  state: unknown;
  lastSeen: number;
  /** Wall-clock ms since failure detection has held it suspect or dead; null while reachable. */
  unreachableSince: number | null;
  /** Shown in `others` (false while timed out, until it comes back). */
  present: boolean;
  credential: UserCredentialWire | null;
  verified: boolean;
  /** The frozen entry, until something in it changes. */
  entry: PresenceEntry | null;
}

/** A Map that refuses changes once built, for snapshots. */
class FrozenMap<K, V> extends Map<K, V> {
  constructor(entries: Iterable<[K, V]>) {
    super();
    for (const [k, v] of entries) Map.prototype.set.call(this, k, v);
    Object.freeze(this);
  }
  override set(): this {
    throw new TypeError("a presence snapshot is read-only");
  }
  override delete(): boolean {
    throw new TypeError("a presence snapshot is read-only");
  }
  override clear(): void {
    throw new TypeError("a presence snapshot is read-only");
  }
}

/** The entry of another member: its frozen entry, built once until the record drops it. */
export function entryOf<S>(o: Other, isDirect: (peer: string) => boolean): PresenceEntry<S> {
  if (o.entry) return o.entry as PresenceEntry<S>;
  const reach: Reach = isDirect(o.peer) ? "direct" : "mesh";
  const claims = o.verified && o.credential ? Object.freeze(Object.fromEntries(o.credential.claims)) : null;
  o.entry = Object.freeze({ peer: o.peer, user: o.user, verified: o.verified, claims, state: o.state, lastSeen: o.lastSeen, reach });
  return o.entry as PresenceEntry<S>;
}

/** Drops the entries whose reach (direct or mesh) is no longer true; whether any was dropped. */
export function dropStaleReach(others: Iterable<Other>, peerList: readonly string[]): boolean {
  const peers = new Set(peerList);
  let changed = false;
  for (const o of others) {
    if (o.entry && o.entry.reach !== (peers.has(o.peer) ? "direct" : "mesh")) {
      o.entry = null;
      changed = true;
    }
  }
  return changed;
}

/** The frozen snapshot of a room from its own entry and the present others' entries. */
export function buildSnapshot<S>(self: PresenceEntry<S> | null, others: readonly PresenceEntry<S>[], authority: string | null): PresenceSnapshot<S> {
  const groups = new Map<string, PresenceEntry<S>[]>();
  for (const e of self ? [self, ...others] : others) {
    const key = e.verified || authority === null ? e.user : e.peer;
    const list = groups.get(key);
    if (list) list.push(e);
    else groups.set(key, [e]);
  }
  const users = new FrozenMap([...groups].map(([k, v]) => [k, Object.freeze(v)] as [string, readonly PresenceEntry<S>[]]));
  return Object.freeze({ self, others, users });
}

/** This member's own entry: verified (and its claims shown) while its credential holds and has not run out. */
export function selfEntryOf<S>(peer: string, user: string, self: { state: S; at: number }, credential: { wire: UserCredentialWire; verified: boolean } | null): PresenceEntry<S> {
  const verified = !!credential?.verified && credential.wire.expiresAtMs > Date.now();
  const claims = verified ? Object.freeze(Object.fromEntries(credential!.wire.claims)) : null;
  return Object.freeze({ peer, user, verified, claims, state: self.state, lastSeen: self.at, reach: "self" as const });
}
