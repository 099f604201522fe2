/**
 * Lazy announcements (IHAVE) waiting to go out: each link's ids gather in one list, and a batch
 * sends one frame per link. While its node has seen loss or a change of its tree lately, a batch
 * goes `ihaveIntervalMs` after its first id (announcements are then what repairs); otherwise it
 * waits for the node's next gossip round, when they are only the safety net of a tree that
 * delivers: fewer, fuller frames, sent on a wake-up the node has anyway (rounds of different nodes
 * fall at different times) — but never more than {@link SETTLED_WAIT_INTERVALS} × `ihaveIntervalMs`
 * (1 s by default), so a node with long rounds (a relay on Workers) does not hold them for a whole
 * round. A sign of loss brings a waiting batch forward to `ihaveIntervalMs`; a list that reaches
 * `idsPerFrameMax` goes at once.
 *
 * @module
 */

import { NO_IDS } from "./empty.ts";
import type { LinkId } from "./events.ts";
import type { EngineOptions } from "./options.ts";

/** The longest a settled batch waits for its round, in `ihaveIntervalMs`. */
export const SETTLED_WAIT_INTERVALS = 20;

/** A link's announcements not yet sent (`NO_IDS` when none). */
export interface Announcing {
  ihave: Uint8Array[];
}

/** The batch of one broadcast: whether one waits, when it goes, and how it is sent. */
export class IHaveBatch {
  /** When the waiting batch goes by the clock, unless a round sends it first (`Infinity`: nothing waits). */
  dueAt = Infinity;
  /** Whether any link's list holds ids. */
  waiting = false;
  #options: Readonly<EngineOptions>;
  #send: (linkId: LinkId, ids: Uint8Array[]) => void;

  constructor(options: Readonly<EngineOptions>, send: (linkId: LinkId, ids: Uint8Array[]) => void) {
    this.#options = options;
    this.#send = send;
  }

  /** Adds `id` to `peer`'s list; true when that list is full and the batch must go now. */
  add(now: number, peer: Announcing, id: Uint8Array, unsettled: boolean): boolean {
    if (peer.ihave === NO_IDS) peer.ihave = [];
    peer.ihave.push(id);
    this.waiting = true;
    const wait = this.#options.ihaveIntervalMs * (unsettled ? 1 : SETTLED_WAIT_INTERVALS);
    this.dueAt = Math.min(this.dueAt, now + wait);
    return peer.ihave.length >= this.#options.idsPerFrameMax;
  }

  /** Loss was seen: a waiting batch goes within `ihaveIntervalMs`. Returns when it goes. */
  hurry(now: number): number {
    if (this.waiting) this.dueAt = Math.min(this.dueAt, now + this.#options.ihaveIntervalMs);
    return this.dueAt;
  }

  /** Sends every waiting list, one frame per link. */
  flush(peers: Map<LinkId, Announcing>): void {
    this.dueAt = Infinity;
    this.waiting = false;
    for (const [linkId, peer] of peers) {
      if (!peer.ihave.length) continue;
      this.#send(linkId, peer.ihave);
      peer.ihave = NO_IDS;
    }
  }
}
