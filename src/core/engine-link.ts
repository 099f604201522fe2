/**
 * The engine's record of a link: its own fields and its state sync's in one object, kept in one
 * table that state sync shares (a simulated node holds dozens of links, a mesh of a million nodes
 * tens of millions: one record and one table entry a link instead of two of each).
 *
 * @module
 */

import type { TokenBucket } from "./budget.ts";
import type { LinkId } from "./events.ts";
import { SyncLink } from "./sync-link.ts";

const CLOSED = 1;
const CONGESTED = 2;
const CLIENT = 4;

/** What the engine keeps per link; broadcast and membership keep their own besides. */
export class EngineLink extends SyncLink {
  readonly peer: Uint8Array | null;
  /** The link's one penalty score (link-layer faults reported by the driver included). */
  score = 0;
  /** `closed`, `congested` and `client`, one field for all three. */
  #flags = 0;
  /** Bytes it may still send in answer to the peer (`answerBytesPerSecondMax`), made at first use (a bucket never spent from is full). */
  answers: TokenBucket | null = null;

  constructor(id: LinkId, peer: Uint8Array | null, behind: string | string[]) {
    super(id, behind);
    this.peer = peer;
  }

  /** State sync's round drops the full budgets of each link: the engine's answer budget goes with them. */
  override dropFullBudgets(now: number): void {
    super.dropFullBudgets(now);
    if (this.answers?.isFull(now)) this.answers = null;
  }

  /** Closed for penalties: nothing more is taken from it or sent to it. */
  get closed(): boolean {
    return (this.#flags & CLOSED) !== 0;
  }

  set closed(on: boolean) {
    this.#flags = on ? this.#flags | CLOSED : this.#flags & ~CLOSED;
  }

  /** The transport's send buffer is past its high-water mark: no gossip is started to it. */
  get congested(): boolean {
    return (this.#flags & CONGESTED) !== 0;
  }

  set congested(on: boolean) {
    this.#flags = on ? this.#flags | CONGESTED : this.#flags & ~CONGESTED;
  }

  /** The peer is a client this node serves (see `EngineCore.linkUp`): state changes go to it at once. */
  get client(): boolean {
    return (this.#flags & CLIENT) !== 0;
  }

  set client(on: boolean) {
    this.#flags = on ? this.#flags | CLIENT : this.#flags & ~CLIENT;
  }
}
