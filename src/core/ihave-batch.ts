/**
 * Lazy announcements (IHAVE) waiting to go out: each link's ids gather in one list, and a batch
 * sends one frame per link. A batch waits `ihaveIntervalMs` while its node has seen loss or a
 * change of its tree lately — announcements are then what repairs — and `ihaveSettledIntervalMs`
 * otherwise, when they are only the safety net of a tree that delivers; a sign of loss brings a
 * waiting batch forward. A list that reaches `idsPerFrameMax` goes at once.
 *
 * @module
 */

import { NO_IDS } from "./empty.ts";
import type { LinkId } from "./events.ts";
import type { EngineOptions } from "./options.ts";

/** A link's announcements not yet sent (`NO_IDS` when none). */
export interface Announcing {
  ihave: Uint8Array[];
}

/** The batch of one broadcast: when it goes, and how it is sent. */
export class IHaveBatch {
  /** When the waiting batch goes (`Infinity`: nothing waits). */
  dueAt = Infinity;
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
    if (this.dueAt === Infinity) this.dueAt = now + (unsettled ? this.#options.ihaveIntervalMs : this.#options.ihaveSettledIntervalMs);
    return peer.ihave.length >= this.#options.idsPerFrameMax;
  }

  /** Loss was seen: a batch waiting longer than `ihaveIntervalMs` goes by then. Returns when it goes. */
  hurry(now: number): number {
    if (this.dueAt !== Infinity) this.dueAt = Math.min(this.dueAt, now + this.#options.ihaveIntervalMs);
    return this.dueAt;
  }

  /** Sends every waiting list, one frame per link. */
  flush(peers: Map<LinkId, Announcing>): void {
    this.dueAt = Infinity;
    for (const [linkId, peer] of peers) {
      if (!peer.ihave.length) continue;
      this.#send(linkId, peer.ihave);
      peer.ihave = NO_IDS;
    }
  }
}
