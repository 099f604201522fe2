/**
 * The rules that decide which claim about a member wins, and the transmit-limited queue that
 * spreads the winners.
 *
 * A member's history is ordered by `(generation, incarnation)`, its *rank*. At one rank, `left`
 * beats `dead` beats `suspect` beats `alive`; a higher rank beats everything at a lower one, except
 * that nothing but a newer generation revives a member that left. Only the member can raise its
 * own rank (it signs `alive` claims), so a suspicion or death is refuted by a newer `alive`.
 * A second `suspect` at the same rank from another claimer is a *confirmation*: it changes no
 * state, but shortens the suspicion (Lifeguard) and is spread like news.
 *
 * @module
 */

import { bytesEqual, toHex } from "../bytes.ts";
import type { ClaimWire } from "../wire/member-frames.ts";
import { CLAIM_KIND, claimId } from "../wire/member-frames.ts";

/** The state a member is in, in one node's view. */
export type MemberState = "alive" | "suspect" | "dead" | "left";

/** The state a claim kind puts a member in. */
export function stateOf(kind: number): MemberState {
  switch (kind) {
    case CLAIM_KIND.ALIVE:
      return "alive";
    case CLAIM_KIND.SUSPECT:
      return "suspect";
    case CLAIM_KIND.DEAD:
      return "dead";
    default:
      return "left";
  }
}

const STRENGTH: Record<MemberState, number> = { alive: 0, suspect: 1, dead: 2, left: 3 };

/** Compares ranks `(generation, incarnation)`: negative, zero or positive. */
export function compareRank(g1: number, i1: number, g2: number, i2: number): number {
  return g1 !== g2 ? g1 - g2 : i1 - i2;
}

/** What a claim would do to a member now in `state` at rank `(generation, incarnation)`. */
export type Effect = "none" | "change" | "confirm";

/**
 * Whether a claim of `kind` at `(g, i)` overrides the member's current `state` at `(generation,
 * incarnation)`: `"change"` when it wins, `"confirm"` for a same-rank suspicion of a suspect (the
 * caller checks that the claimer is new), `"none"` otherwise.
 */
export function effectOf(
  kind: number,
  g: number,
  i: number,
  cur: { state: MemberState; generation: number; incarnation: number },
): Effect {
  const cmp = compareRank(g, i, cur.generation, cur.incarnation);
  const next = stateOf(kind);
  if (cur.state === "left") return cmp > 0 && g > cur.generation ? "change" : "none";
  if (cmp > 0) return "change";
  if (cmp < 0) return "none";
  if (next === "suspect" && cur.state === "suspect") return "confirm";
  return STRENGTH[next] > STRENGTH[cur.state] ? "change" : "none";
}

/**
 * Peers a claim came from (as many copies of it, each from another peer) once it has spread
 * around this node: it is no longer sent whole from here, only announced by id.
 */
export const SPREAD_HEARD = 2;

interface Queued {
  claim: ClaimWire;
  /** Its id, hex (`claimId`). */
  id: string;
  memberId: string;
  transmits: number;
  order: number;
  /** Peers it went to or came from: links are reliable streams, so nobody is sent one claim twice. */
  sentTo: Set<string> | null;
  /** Peers it came from. */
  heard: number;
  /** A newer claim about the member replaced it: not worth announcing. */
  replaced?: boolean;
}

/**
 * Whether a queued accusation or farewell has spread around this node (see `ClaimQueue`). An
 * alive claim never has: a refutation races the suspicion's deadline, and a join is news to all.
 */
function spreadHere(q: Queued): boolean {
  return q.heard >= SPREAD_HEARD && q.claim.fields.kind !== CLAIM_KIND.ALIVE;
}

/**
 * Claims waiting to be sent, each at most `limit` times (memberlist's TransmitLimitedQueue). The
 * least-sent go first, the newest among equals, so fresh news overtakes old. A newer claim about a
 * member replaces the queued ones about it (confirmations of one suspicion are kept side by side).
 *
 * An accusation or farewell that came from `SPREAD_HEARD` peers has spread around this node
 * (Demers' rumor mongering loses interest the same way): it leaves the queue, so it is no longer
 * sent whole from here, and is still announced by id (`takeFresh`) to the peers not known to hold
 * it, which ask for it if they lack it. Pushing each claim whole to `limit` peers from every node
 * cost each node about `limit` copies of it; the copies that come late in a spread are the ones
 * this saves.
 */
export class ClaimQueue {
  #items: Queued[] = [];
  /** The items of `#items` by claim id. */
  #byId = new Map<string, Queued>();
  /** Claims queued since `takeFresh` last ran (to be announced by id). */
  #fresh: Queued[] = [];
  #order = 0;
  /** Every queued claim already went to every peer `settle` was given: nothing to gossip until news or a new peer. */
  #settled = false;

  constructor(readonly max: number) {}

  get size(): number {
    return this.#items.length;
  }

  /**
   * Whether a queued claim may still go to someone. Claims stay queued after every peer has had
   * them (for peers yet to come, until their transmits run out), and a node must not wake each
   * gossip interval for a queue it cannot send from: `settle` says so, a new claim or `unsettle`
   * (a new peer) ends it.
   */
  get waiting(): boolean {
    return this.#items.length > 0 && !this.#settled;
  }

  /** Settles the queue when every queued claim has gone to each of `peers` (hex ids; null: a peer not known, who may always be sent one). */
  settle(peers: readonly (string | null)[]): void {
    this.#settled = !this.#items.some((q) => peers.some((p) => p === null || !q.sentTo?.has(p)));
  }

  /** A new peer: queued claims may go again. */
  unsettle(): void {
    this.#settled = false;
  }

  /**
   * Queues a claim about `memberId`; `confirmation` keeps same-rank suspicions already queued;
   * `heardFrom`: peers that sent it here, which have it (it is never sent to them).
   */
  push(memberId: string, claim: ClaimWire, confirmation = false, heardFrom: readonly string[] = []): void {
    if (!confirmation) {
      this.#keep((q) => q.memberId !== memberId);
      for (const q of this.#fresh) if (q.memberId === memberId) q.replaced = true; // queued or not (spread already, or sent out)
    }
    const sentTo = heardFrom.length ? new Set(heardFrom) : null;
    const q: Queued = { claim, id: toHex(claimId(claim)), memberId, transmits: 0, order: this.#order++, sentTo, heard: sentTo?.size ?? 0 };
    if (this.#fresh.length < this.max) this.#fresh.push(q);
    if (spreadHere(q)) return; // announced only (see the class)
    this.#items.push(q);
    this.#byId.set(q.id, q);
    this.#settled = false;
    if (this.#items.length > this.max) {
      // Over the bound: drop the most-sent (ties: oldest), which the mesh most likely has.
      let worst = 0;
      for (let k = 1; k < this.#items.length; k++) {
        const a = this.#items[k];
        const b = this.#items[worst];
        if (a.transmits > b.transmits || (a.transmits === b.transmits && a.order < b.order)) worst = k;
      }
      this.#unindex(this.#items[worst]);
      this.#items.splice(worst, 1);
    }
  }

  /**
   * A copy of a queued claim came from `peerId` (before any check: only an exact copy counts, and
   * an exact copy of a checked claim is that claim): the peer holds it, and from `SPREAD_HEARD`
   * peers it has spread around here, so it leaves the queue (see the class).
   */
  heardFrom(id: string, claim: ClaimWire, peerId: string): void {
    const q = this.#byId.get(id);
    if (!q || q.sentTo?.has(peerId) || !bytesEqual(q.claim.signature, claim.signature) || !bytesEqual(q.claim.body, claim.body)) return;
    (q.sentTo ??= new Set()).add(peerId);
    q.heard++;
    if (spreadHere(q)) this.#keep((x) => x !== q);
  }

  /** Keeps the items `pred` holds for, and their index entries. */
  #keep(pred: (q: Queued) => boolean): void {
    this.#items = this.#items.filter((q) => pred(q) || this.#unindex(q));
  }

  #unindex(q: Queued): false {
    if (this.#byId.get(q.id) === q) this.#byId.delete(q.id);
    return false;
  }

  /**
   * The claims queued since the last call, each with how often it was sent and the peers that have
   * it (it was sent to them, or came from them) — still current for claims that have since left the queue.
   */
  takeFresh(): { claim: ClaimWire; transmits: number; has: (peerId: string) => boolean }[] {
    const fresh = this.#fresh;
    this.#fresh = [];
    return fresh.filter((q) => !q.replaced).map((q) => ({ claim: q.claim, transmits: q.transmits, has: (peerId: string) => !!q.sentTo?.has(peerId) }));
  }

  /** Drops every queued claim about `memberId`. */
  drop(memberId: string): void {
    this.#keep((q) => q.memberId !== memberId);
  }

  /**
   * Takes up to `n` claims to send to peer `to` (hex id; null when unknown), counting one transmit
   * each; a claim sent `limit` times leaves. A claim already sent to `to` is not taken again (a peer
   * that keeps asking cannot drain the queue's transmits into itself); `skip` leaves out claims
   * already chosen for the frame.
   */
  take(n: number, limit: number, skip?: ClaimWire, to: string | null = null): ClaimWire[] {
    if (n <= 0 || !this.#items.length) return [];
    const picked = this.#items
      .filter((q) => q.claim !== skip && !(to !== null && q.sentTo?.has(to)))
      .sort((a, b) => a.transmits - b.transmits || b.order - a.order)
      .slice(0, n);
    for (const q of picked) {
      q.transmits++;
      if (to !== null) (q.sentTo ??= new Set()).add(to);
    }
    if (picked.some((q) => q.transmits >= limit)) this.#keep((q) => q.transmits < limit);
    return picked.map((q) => q.claim);
  }
}
