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

import { toHex } from "../bytes.ts";
import { NO_IDS } from "./empty.ts";
import type { LinkId } from "./events.ts";
import type { EngineOptions } from "./options.ts";
import { seededRng, type Rng } from "./random.ts";

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
  /** Ranks the lazy links for this round's settled announcements (`targets`): drawn anew each round (`nextRound`). */
  #salt: number;
  #draws: Rng;

  /** @param self this node's id: seeds its draws of lazy links (nodes draw apart) */
  constructor(options: Readonly<EngineOptions>, send: (linkId: LinkId, ids: Uint8Array[]) => void, self: Uint8Array) {
    this.#options = options;
    this.#send = send;
    this.#draws = seededRng(((self[0] << 24) | (self[1] << 16) | (self[2] << 8) | self[3]) >>> 0);
    this.#salt = this.#draws.nextU32();
  }

  /** A gossip round starts: this round's announcements go to another draw of lazy links. */
  nextRound(): void {
    this.#salt = this.#draws.nextU32();
  }

  /**
   * The lazy links a message is announced to: all of them while `unsettled`; otherwise at most
   * `lazyPushMax`, the same for every message of a round and drawn anew each round. Each node
   * hears of each message from several neighbours either way; drawn once a round, a node's
   * announcements fill `lazyPushMax` frames a round instead of one to nearly every lazy link.
   */
  targets<P>(lazy: [LinkId, P][], unsettled: boolean): [LinkId, P][] {
    const max = this.#options.lazyPushMax;
    if (lazy.length <= max || unsettled) return lazy;
    const salt = this.#salt;
    const rank = (linkId: LinkId) => Math.imul((linkId ^ salt) >>> 0, 0x9e3779b1) >>> 0;
    return lazy.sort((a, b) => rank(a[0]) - rank(b[0])).slice(0, max);
  }

  /**
   * A round's re-announcement of `ids` to `peer` joins what waits for that link, leaving out ids
   * already there, so the round sends the link one frame. False when they would not fit one frame
   * (`idsPerFrameMax`): they are then sent on their own.
   */
  join(peer: Announcing, ids: Uint8Array[]): boolean {
    const waiting = peer.ihave;
    const there = new Set(waiting.map(toHex));
    const fresh = there.size === 0 ? ids : ids.filter((id) => !there.has(toHex(id)));
    if (waiting.length + fresh.length > this.#options.idsPerFrameMax) return false;
    if (fresh.length === 0) return true;
    peer.ihave = waiting.length === 0 ? [...fresh] : [...waiting, ...fresh];
    this.waiting = true;
    return true;
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
