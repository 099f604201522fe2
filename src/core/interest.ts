/**
 * What a relay carries: the scopes its clients want, and nothing else. A relay joins a scope while
 * at least one client link wants it and leaves once none does; peer relays' interest is not
 * followed (two relays following each other would hold every scope for ever), so rooms whose
 * members sit on different relays are one swarm through the relays' own links to each other,
 * each relay being in the room for its own clients.
 *
 * Sans-I/O: fed the engine's `interest` events, it calls `join`/`leave` with scope ids.
 *
 * @module
 */

import { toHex } from "../bytes.ts";
import type { LinkId } from "./events.ts";

/** What the follower does to the node it serves. */
export interface InterestHost {
  /** Join scope `id`; false when it cannot (e.g. past `scopesMax`): the scope is not carried. */
  join(id: Uint8Array): boolean;
  leave(id: Uint8Array): void;
  /** Whether the peer at the other end of a link is a peer relay (its interest is not followed). */
  isRelay(link: LinkId): boolean;
}

/** Joins the scopes client links want, leaves those none wants any more. */
export class InterestFollower {
  #host: InterestHost;
  /** Per scope (hex id): the client links that want it. */
  #wanted = new Map<string, { id: Uint8Array; links: Set<LinkId>; joined: boolean }>();
  /** Per link: the scopes it wants (hex ids), relays' included, so a link found to be a relay can be taken out. */
  #byLink = new Map<LinkId, Set<string>>();

  constructor(host: InterestHost) {
    this.#host = host;
  }

  /** Scopes carried now (hex ids). */
  get carried(): number {
    let n = 0;
    for (const w of this.#wanted.values()) if (w.joined) n++;
    return n;
  }

  /** Client links wanting scope `id` (0 when none). */
  clients(id: Uint8Array): number {
    return this.#wanted.get(toHex(id))?.links.size ?? 0;
  }

  /** An `interest` event of the engine. */
  interest(link: LinkId, scope: Uint8Array, wanted: boolean): void {
    const key = toHex(scope);
    let mine = this.#byLink.get(link);
    if (wanted) {
      if (!mine) this.#byLink.set(link, (mine = new Set()));
      mine.add(key);
      if (!this.#host.isRelay(link)) this.#add(key, scope, link);
    } else {
      mine?.delete(key);
      if (mine && !mine.size) this.#byLink.delete(link);
      this.#remove(key, link);
    }
  }

  /** The link turned out to be to a peer relay (known once its dialer authenticated it): its wants stop counting. */
  relayKnown(link: LinkId): void {
    for (const key of this.#byLink.get(link) ?? []) this.#remove(key, link);
  }

  #add(key: string, id: Uint8Array, link: LinkId): void {
    let w = this.#wanted.get(key);
    if (!w) this.#wanted.set(key, (w = { id, links: new Set(), joined: false }));
    w.links.add(link);
    if (!w.joined) w.joined = this.#host.join(id);
  }

  #remove(key: string, link: LinkId): void {
    const w = this.#wanted.get(key);
    if (!w || !w.links.delete(link) || w.links.size) return;
    this.#wanted.delete(key);
    if (w.joined) this.#host.leave(w.id);
  }
}
