/**
 * Strangers: origins whose state a node holds though nothing else tells it whether they are still
 * there. A node that runs no membership (a `grapevine/lite` tab) is never a member anywhere, so
 * when it vanishes without a farewell (a crash, a lost network, a phone put away) nothing else
 * collects its state: a relay, where every tab's state passes, would hold it for its whole life
 * (and, since `storeBytesMax` counts each origin, at last refuse new ones), and so would every
 * other tab of its room — whose digests, listing it where the relay no longer does, would then
 * never match the relay's again.
 *
 * The rule, `strangerOriginTtlMs` (T). A forgotten origin goes as a member collected as dead does:
 * deletions for its keys, and its last version remembered so a stale copy cannot bring it back; a
 * newer root (a renewal) brings it back. Never forgotten: this node, an origin a link of this node
 * leads to (a client linked here is there), one that left or is distrusted (those have their own
 * collection).
 * - In a scope (a room): every node renews each scope map it has written every T / 4 (a root one
 *   version on, the same entries: one signature and a small delta), so a live writer, linked here
 *   or anywhere, is never silent that long; every node, running membership or not, forgets an
 *   origin that signed nothing newer for T.
 * - In the mesh-wide map: a node running no membership renews its map as above; a node running
 *   membership forgets an origin its member table does not hold that was silent for T (members are
 *   collected by membership, and do not renew). A member table at `membersMax` cannot tell a
 *   stranger from a member it had no room for, so a node with a full table forgets none there. A
 *   node running no membership forgets nothing mesh-wide: it cannot tell a member that is silent
 *   from one that is gone.
 *
 * @module
 */

import type { ReadonlyMembership } from "./membership/membership.ts";
import type { EngineOptions } from "./options.ts";
import type { Store } from "./store.ts";

/** One of a node's maps: its store, what renews it, and what forgets an origin in it (emitting its deletions). */
export interface StrangerMap {
  readonly store: Store;
  readonly sync: { renew(): boolean };
  forget(origin: string, now: number): void;
}

/** When strangers are next tended, and whether a renewal is due then (a node must wake for it; a sweep waits for a tick that comes by). */
export interface StrangersDue {
  at: number;
  wake: boolean;
}

/**
 * Renews this node's maps and forgets the strangers in them, as due (see the module doc); returns
 * when to come back. `linked`: the hex ids of the peers linked to this node now.
 */
export function tendStrangers(now: number, o: EngineOptions, membership: ReadonlyMembership | null, maps: Iterable<StrangerMap>, linked: () => Set<string>): StrangersDue {
  const ttl = o.strangerOriginTtlMs;
  if (ttl <= 0) return { at: Infinity, wake: false };
  const every = ttl / 4;
  const sweep = { at: now + every, wake: false };
  let renewAt = Infinity;
  let peers: Set<string> | null = null;
  const full = membership !== null && membership.known >= o.membersMax;
  for (const m of maps) {
    const store = m.store;
    const scoped = store.scope !== undefined;
    const self = store.self;
    if ((scoped || membership === null) && self.root) {
      const due = self.updatedAt + every;
      if (now >= due) m.sync.renew();
      renewAt = Math.min(renewAt, now >= due ? now + every : due);
    }
    if (!scoped && (membership === null || full)) continue;
    const gone: string[] = [];
    for (const st of store.origins.values()) {
      if (st.id === store.selfId || st.leftAt !== null || st.evidence || now - st.updatedAt < ttl) continue;
      if (!scoped && membership!.stateOf(st.id) !== undefined) continue;
      if ((peers ??= linked()).has(st.id)) continue;
      gone.push(st.id);
    }
    for (const id of gone) m.forget(id, now);
  }
  return renewAt <= sweep.at ? { at: renewAt, wake: true } : sweep;
}
