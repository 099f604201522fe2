/**
 * How claims spread: piggybacked on PING, ACK and PING_REQ, gossiped on their own (CLAIMS), and
 * the whole view exchanged in SYNC chunks.
 *
 * News waits in the transmit-limited claim queue (`claims.ts`); each node sends each claim at
 * most `retransmitLimit` times (`lifeguard.ts`), and never twice to one peer. A frame to a peer
 * that is suspect or dead in this node's view carries that accusation first, so the peer can
 * refute it at once (Lifeguard's buddy system).
 *
 * Budgets: what this node sends because a peer asked (an ACK to its PING, a PING relayed for its
 * PING_REQ) carries at most the link's piggyback allowance of claims, a few per protocol period,
 * so a peer that pings without pause cannot drain the queue into itself; a SYNC sent in answer to
 * the peer's own SYNC is charged to the link's answer budget and stops where that runs out.
 *
 * @module
 */

import { MEMBER_FRAME, SYNC_FLAG, encodeMemberFrame, type ClaimWire, type MemberFrame } from "../../wire/member-frames.ts";
import { TokenBucket } from "../budget.ts";
import type { ClaimQueue } from "../claims.ts";
import type { LinkId } from "../events.ts";
import { retransmitLimit } from "../lifeguard.ts";
import type { EngineOptions } from "../options.ts";
import { sample } from "../random.ts";
import type { Context } from "./context.ts";
import type { LinkTable, PeerLink } from "./links.ts";
import type { SelfClaims } from "./self.ts";
import type { MemberTable } from "./table.ts";

/** A new link's piggyback allowance: several claims a period, what an honest peer's probes and relays take. */
export function piggybackAllowance(o: EngineOptions, now: number): TokenBucket {
  const perPeriod = 4 * o.claimsPerMessageMax;
  return new TokenBucket((perPeriod * 1000) / o.probeIntervalMs, 2 * perPeriod, now);
}

/** Claim dissemination for one node. */
export class Dissemination {
  #cx: Context;
  #queue: ClaimQueue;
  #table: MemberTable;
  #self: SelfClaims;
  #links: LinkTable;

  constructor(cx: Context, queue: ClaimQueue, table: MemberTable, self: SelfClaims, links: LinkTable) {
    this.#cx = cx;
    this.#queue = queue;
    this.#table = table;
    this.#self = self;
    this.#links = links;
  }

  /** Whether news waits to be gossiped to a peer that has not had it. */
  get pending(): boolean {
    return this.#queue.waiting;
  }

  /** A link came up: its peer may not have had the queued claims. */
  linked(): void {
    this.#queue.unsettle();
  }

  /**
   * Gossips queued claims to `memberGossipFanout` random peers. A CLAIMS frame of its own carries
   * up to `claimsPerFrameMax` claims, not just the `claimsPerMessageMax` that ride on a PING or
   * ACK: links are streams, not UDP datagrams, so a burst of news (a partition healing: every
   * member refutes at once) drains in a few rounds instead of 16 claims per peer per round. Each
   * claim is still sent at most `retransmitLimit` times, so the bytes are the same; they go sooner.
   */
  gossip(): void {
    const o = this.#cx.options;
    const peers = this.#links.distinct();
    let sent = false;
    for (const link of sample(this.#cx.rng, peers, o.memberGossipFanout)) {
      const claims = this.claimsFor(link.peerId, o.claimsPerFrameMax);
      if (claims.length) this.#cx.send(link.id, { type: MEMBER_FRAME.CLAIMS, claims }), (sent = true);
      if (!this.#queue.size) break;
    }
    // Nothing for the peers drawn: if no peer lacks a queued claim, stop waking for the queue.
    if (!sent) this.#queue.settle(peers.map((l) => l.peerId));
  }

  /** Claims to piggyback to `peerId`: first what is said about the peer itself (so it can refute), then queued news. */
  claimsFor(peerId: string | null, max = this.#cx.options.claimsPerMessageMax): ClaimWire[] {
    const out: ClaimWire[] = [];
    const m = peerId ? this.#table.get(peerId) : undefined;
    if (m && (m.state === "suspect" || m.state === "dead")) out.push(m.claim);
    const limit = retransmitLimit(this.#table.size, this.#cx.options.retransmitMult);
    return out.concat(this.#queue.take(max - out.length, limit, out[0], peerId));
  }

  /** Claims to piggyback on a frame the peer made this node send, within the link's allowance. */
  claimsInAnswer(now: number, link: PeerLink): ClaimWire[] {
    const n = Math.min(this.#cx.options.claimsPerMessageMax, Math.floor(link.piggyback.room(now)));
    const claims = n > 0 ? this.claimsFor(link.peerId, n) : [];
    link.piggyback.spend(now, claims.length);
    return claims;
  }

  /**
   * The whole view, in SYNC chunks; only the first carries `flags` (WANT asks for an answer). Sent
   * in answer to the peer's own SYNC (`answerAt` set), the chunks are charged to the link's answer
   * budget and stop where it runs out: a SYNC of a few bytes must not buy the whole table again
   * and again.
   */
  sendView(linkId: LinkId, flags: number, answerAt?: number): void {
    const cx = this.#cx;
    const claims: ClaimWire[] = [];
    const own = this.#self.viewClaim();
    if (own) claims.push(own);
    for (const m of this.#table.values()) claims.push(m.claim); // an accusation carries the accused's alive claim
    if (!claims.length && !(flags & SYNC_FLAG.WANT)) return;
    const per = cx.options.claimsPerFrameMax;
    for (let k = 0; k < claims.length || k === 0; k += per) {
      const f: MemberFrame = { type: MEMBER_FRAME.SYNC, flags: k === 0 ? flags : 0, claims: claims.slice(k, k + per) };
      const bytes = encodeMemberFrame(f);
      if (answerAt !== undefined && !cx.host.answer(linkId, answerAt, bytes.length)) return;
      cx.stats.claimsSent += f.claims.length;
      cx.host.send(linkId, bytes);
      if (!claims.length) break;
    }
  }
}
