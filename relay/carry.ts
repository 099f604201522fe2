/**
 * What a relay carries: the scopes (rooms, topics) its clients joined, and nothing else. The
 * relay's node joins a scope while at least one client link wants it and leaves once none does
 * (`InterestFollower`); peer relays' interest is not followed, so a room whose members sit on
 * different relays is one swarm over the relays' links to each other — peer relays should be
 * linked in a full mesh (every relay lists the others), since a relay with no client in a room
 * does not carry it between two that have.
 *
 * @module
 */

import { fromHex, toHex } from "../src/bytes.ts";
import { InterestFollower } from "../src/core/interest.ts";
import type { GrapevineNode } from "../src/runtime/node.ts";
import type { ScopeHandle } from "../src/runtime/scopes.ts";
import type { RelayLog } from "./log.ts";

/** The scopes a relay carries for its clients. */
export class CarriedScopes {
  #follower: InterestFollower;
  #holds = new Map<string, ScopeHandle>();
  /** Peer of each link that said what it wants. */
  #peers = new Map<number, string | null>();
  #isRelay: (peer: string) => boolean;

  /** @param isRelay whether a peer id is one of the relay's peer relays */
  constructor(node: GrapevineNode, isRelay: (peer: string) => boolean, log: RelayLog) {
    this.#isRelay = isRelay;
    this.#follower = new InterestFollower({
      join: (id) => {
        try {
          this.#holds.set(toHex(id), node.scope(id));
          return true;
        } catch (e) {
          if (!(e instanceof RangeError)) throw e;
          log.warn("scope_not_carried", { scope: toHex(id), reason: e.message });
          return false;
        }
      },
      leave: (id) => {
        const key = toHex(id);
        this.#holds.get(key)?.close();
        this.#holds.delete(key);
      },
      isRelay: (link) => {
        const peer = this.#peers.get(link);
        return peer != null && this.#isRelay(peer);
      },
    });
    node.on("interest", (d) => {
      this.#peers.set(d.link, d.peer);
      this.#follower.interest(d.link, fromHex(d.scope), d.wanted);
    });
    node.on("link", (d) => {
      if (!d.up) this.#peers.delete(d.link);
    });
  }

  /** Scopes carried now. */
  get count(): number {
    return this.#follower.carried;
  }

  /** Whether the relay carries scope `id` (16 bytes). */
  carries(id: Uint8Array): boolean {
    return this.#holds.has(toHex(id));
  }

  /** `peer` turned out to be a peer relay (its dialed link authenticated): what its links want stops counting. */
  relayKnown(peer: string): void {
    for (const [link, p] of this.#peers) if (p === peer) this.#follower.relayKnown(link);
  }
}
