/**
 * Strangers: origins whose state a node holds though nothing else tells it whether they are still
 * there. A node that runs no membership (a `grapevine/lite` tab) is never a member anywhere, and a
 * scope (a room) has no member table, so when such a writer vanishes without a farewell (a crash,
 * a lost network, a phone put away) nothing else collects its state: a relay, where every tab's
 * state passes, would hold it for its whole life (and, since `storeBytesMax` counts each origin,
 * at last refuse new ones), and so would every other tab of its room — whose digests, listing it
 * where the relay no longer does, would then never match the relay's again.
 *
 * The rule, `strangerOriginTtlMs` (T), is the origin's own word: a map nothing else vouches for —
 * every scope map, and the mesh-wide map of a node running no membership — carries
 * `ROOT_FLAG_RENEWS` in every root its writer signs, and its writer renews it every T / 4 (a root
 * one version on, the same entries: one signature and a small delta), so a live one, linked here
 * or anywhere, is never silent that long. Every node forgets, from each of its maps, an origin
 * whose last root carries the flag and that signed nothing newer for T — as a member collected as
 * dead is forgotten: deletions for its keys, and its last version remembered so a stale copy
 * cannot bring it back; a newer root (a renewal) brings it back. Never forgotten this way: this
 * node, an origin a link of this node leads to (a client linked here is there), one that left or
 * is distrusted (those have their own collection).
 *
 * Maps without the flag are forgotten the same way where nothing vouches for them either, so that
 * keys minted to fill a node's stores with maps that never say they renew are not held for good:
 * in a scope (an honest writer there always says it renews), and mesh-wide at a node running
 * membership whose member table does not hold the origin. The mesh-wide map of a member carries no
 * flag and is collected by membership; a node whose member table is at `membersMax` cannot tell a
 * stranger from a member it had no room for, and a node running no membership cannot tell one at
 * all, so neither forgets an unflagged mesh-wide map on its silence alone. It goes on its peers'
 * word: once digests of this node's peers have lacked it twice, at least T / 4 apart, with no row
 * since listing it as far as this node holds it (`OriginState.lacked`) — a member that crashed,
 * collected by the relays' membership, which the tabs would otherwise hold for good, their
 * digests never matching the relays' again. That is one peer's word, so the origin's version is
 * not remembered: an honest peer's copy brings it back.
 *
 * @module
 */

import { ROOT_FLAG_RENEWS } from "../wire/records.ts";
import type { ReadonlyMembership } from "./membership/membership.ts";
import type { EngineOptions } from "./options.ts";
import type { Store } from "./store.ts";

/** One of a node's maps: its store, what renews it, and what forgets an origin in it (emitting its deletions). */
export interface StrangerMap {
  readonly store: Store;
  readonly sync: { renew(): boolean };
  forget(origin: string, now: number, remember: boolean): void;
}

/** When strangers are next tended, and whether a renewal is due then (a node must wake for it; a sweep waits for a tick that comes by). */
export interface StrangersDue {
  at: number;
  wake: boolean;
}

/**
 * Renews this node's maps that carry `ROOT_FLAG_RENEWS` and forgets the silent strangers, as due
 * (see the module doc); returns when to come back. `membership`: this node's, if it runs it;
 * `linked`: the hex ids of the peers linked to this node now.
 */
export function tendStrangers(now: number, o: EngineOptions, membership: ReadonlyMembership | null, maps: Iterable<StrangerMap>, linked: () => Set<string>): StrangersDue {
  const ttl = o.strangerOriginTtlMs;
  if (ttl <= 0) return { at: Infinity, wake: false };
  const every = ttl / 4;
  let renewAt = Infinity;
  let peers: Set<string> | null = null;
  // Whether this node can tell that an unflagged mesh-wide origin is no member.
  const tells = membership !== null && membership.known < o.membersMax;
  for (const m of maps) {
    const store = m.store;
    const self = store.self;
    if (self.root && self.root.fields.flags & ROOT_FLAG_RENEWS) {
      const due = self.updatedAt + every;
      if (now >= due) m.sync.renew();
      renewAt = Math.min(renewAt, now >= due ? now + every : due);
    }
    const gone: [string, boolean][] = [];
    for (const st of store.origins.values()) {
      if (st.id === store.selfId || st.leftAt !== null || st.evidence || now - st.updatedAt < ttl) continue;
      const renews = st.root !== null && (st.root.fields.flags & ROOT_FLAG_RENEWS) !== 0;
      const stranger = renews || store.scope !== undefined || (tells && membership!.stateOf(st.id) === undefined);
      // No member table here vouches for it, and its peers have said, twice over a quarter of the TTL, that they lack it.
      const lacked = !stranger && membership?.stateOf(st.id) === undefined && st.lacked !== null && st.lacked.first >= st.updatedAt && st.lacked.last - st.lacked.first >= every;
      if ((!stranger && !lacked) || (peers ??= linked()).has(st.id)) continue;
      gone.push([st.id, stranger]);
    }
    for (const [id, remember] of gone) m.forget(id, now, remember);
  }
  return renewAt <= now + every ? { at: renewAt, wake: true } : { at: now + every, wake: false };
}
