/**
 * Strangers: origins whose state a node holds though it holds no member record of them. A node
 * that runs no membership (a `grapevine/lite` tab) is never a member anywhere, so when it vanishes
 * without a farewell (a crash, a lost network, a phone put away) nothing else collects its state:
 * a relay, where every tab's state passes, would hold it for its whole life (and, since
 * `storeBytesMax` counts each origin, at last refuse new ones).
 *
 * The rule, `strangerOriginTtlMs` (T): a node running membership forgets, from each of its stores
 * (the mesh-wide one and each scope's), an origin that its member table does not hold, that no
 * link of its leads to (a client linked here is there), that is neither departed nor distrusted
 * (those have their own collection) and that signed nothing newer for T — as it forgets a member
 * collected as dead: deletions for its keys, and its last version remembered so a stale copy
 * cannot bring it back. A node running no membership renews each map it has written every T / 4
 * (a root one version on, the same entries: one signature and a small delta), so a live one, linked
 * here or anywhere, is never silent that long; a renewal after it was forgotten brings it back.
 * A member table at `membersMax` cannot tell a stranger from a member it had no room for, so a node
 * with a full table forgets none.
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

/**
 * Renews this node's maps (no membership) or forgets the strangers in them (membership), as due;
 * returns when to come back. `linked`: the hex ids of the peers linked to this node now.
 */
export function tendStrangers(now: number, o: EngineOptions, membership: ReadonlyMembership | null, maps: Iterable<StrangerMap>, linked: () => Set<string>): number {
  const ttl = o.strangerOriginTtlMs;
  if (ttl <= 0) return Infinity;
  const every = ttl / 4;
  if (membership === null) {
    let next = now + every;
    for (const m of maps) {
      const self = m.store.self;
      if (!self.root) continue; // never signed: nothing out to renew
      const due = self.updatedAt + every;
      if (now >= due) m.sync.renew();
      else next = Math.min(next, due);
    }
    return next;
  }
  if (membership.known >= o.membersMax) return now + every;
  let peers: Set<string> | null = null;
  for (const m of maps) {
    const store = m.store;
    const gone: string[] = [];
    for (const st of store.origins.values()) {
      if (st.id === store.selfId || st.leftAt !== null || st.evidence || now - st.updatedAt < ttl) continue;
      if (membership.stateOf(st.id) !== undefined) continue;
      if ((peers ??= linked()).has(st.id)) continue;
      gone.push(st.id);
    }
    for (const id of gone) m.forget(id, now);
  }
  return now + every;
}
