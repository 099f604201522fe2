/**
 * How claims spread: piggybacked on PING, ACK and PING_REQ, gossiped on their own (CLAIMS),
 * announced by id (IDS), and the whole view exchanged in SYNC chunks.
 *
 * News waits in the transmit-limited claim queue (`claims.ts`); each node sends each claim in full
 * to at most `min(memberGossipFanout, retransmitLimit)` peers (`lifeguard.ts`), never twice to one
 * peer nor to one it came from; an accusation or farewell not at all once copies have come from
 * `SPREAD_HEARD` peers (it has spread around this node), while an alive claim, which may be a
 * refutation racing a deadline, always is. Once a protocol period it tells other peers it links to
 * the ids of the claims it queued since (IDS HAVE, 9 bytes a claim instead of about 300) — as many
 * as bring the claim's sends to `retransmitLimit`, so a hub does not announce every claim on every
 * link. A peer that was told an id and has not had the claim a gossip interval later asks for it
 * (IDS WANT), one announcer at a time.
 * Flooding the claims themselves over every link cost each node about as many copies of each
 * claim as it has links; now it takes two or three copies, and ids for the rest.
 * A frame to a peer that is suspect or dead in this node's view carries that accusation first, so
 * the peer can refute it at once (Lifeguard's buddy system).
 *
 * What a peer can make this node do with ids: hold at most `claimQueueMax` ids it is missing, a
 * quarter of them first announced by any one link (further ones are ignored until those are had
 * or given up, so one peer's junk cannot crowd out the others' news), and ask each announcer in
 * turn; a WANT is answered only with claims this node announced (checked, or its own) or, once it
 * shuffles by id, the alive claims it holds (a sample names those), charged to the link's answer
 * budget, so it never passes on a forgery. Ids a sample named are asked for the same way; a claim
 * that comes because only a sample named it fills the view and is not spread on (`heard`). An id
 * asked for and not sent is not provably anything (the claim may have left the announcer's
 * memory): nobody is penalised for it.
 *
 * Budgets: what this node sends because a peer asked (an ACK to its PING, a PING relayed for its
 * PING_REQ) carries at most the link's piggyback allowance of claims, a few per protocol period,
 * so a peer that pings without pause cannot drain the queue into itself; a SYNC sent in answer to
 * the peer's own SYNC is charged to the link's answer budget and stops where that runs out.
 *
 * @module
 */

import { bytesEqual, toHex } from "../../bytes.ts";
import { IDS_OP, MEMBER_FRAME, SYNC_FLAG, claimId, encodeMemberFrame, type ClaimWire, type IdsFrame, type MemberFrame } from "../../wire/member-frames.ts";
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

/** How long a node keeps a claim it has had, to answer WANTs for it: a few protocol periods. */
const KNOWN_PERIODS = 5;
/** Announcers of a missing id kept to ask, one after another. */
const ANNOUNCERS_MAX = 4;

/** Claim dissemination for one node. */
export class Dissemination {
  #cx: Context;
  #queue: ClaimQueue;
  #table: MemberTable;
  #self: SelfClaims;
  #links: LinkTable;
  /**
   * Claims had lately, by hex id, oldest first: not asked for again; and those this node queued
   * (checked, or its own) are sent when asked. A claim that merely came in is never sent from
   * here: its signature may not have been checked, and a forgery sent on would blame this node.
   */
  #known = new Map<string, { claim: ClaimWire | null; at: number }>();
  /**
   * Ids announced to this node whose claims it has not had: who announced them, when to ask, and
   * whether only shuffles' samples named them (their claims then only fill the view).
   */
  #missing = new Map<string, { id: Uint8Array; from: LinkId[]; due: number; by: LinkId; sample: boolean }>();
  /** Missing ids each link was the first to announce: no link holds more than a quarter of the list. */
  #missingBy = new Map<LinkId, number>();

  constructor(cx: Context, queue: ClaimQueue, table: MemberTable, self: SelfClaims, links: LinkTable) {
    this.#cx = cx;
    this.#queue = queue;
    this.#table = table;
    this.#self = self;
    this.#links = links;
  }

  /** Whether news waits to be gossiped to a peer that has not had it, or a claim to be asked for. */
  get pending(): boolean {
    return this.#queue.waiting || this.#missing.size > 0;
  }

  /**
   * A claim came in from `linkId` (any frame, before it is checked): its id is had, not missing,
   * and the peer holds it. True when this node asked for it because a shuffle's sample named it
   * (and no announcement did): it only fills the view, as a claim in a SHUFFLE frame does.
   */
  heard(now: number, c: ClaimWire, linkId: LinkId): boolean {
    const id = toHex(claimId(c));
    const sample = this.#missing.get(id)?.sample ?? false;
    this.#unmiss(id);
    this.#remember(now, id, null);
    const peerId = this.#links.get(linkId)?.peerId;
    if (peerId) this.#queue.heardFrom(id, c, peerId);
    return sample;
  }

  /**
   * Once a protocol period: tells peers the ids of the claims queued since the last time that they
   * were neither sent nor sent by (IDS HAVE) — for each claim, as many peers as make its full sends
   * up to `retransmitLimit`, drawn at random (on a hub, not every link).
   */
  announce(now: number): void {
    this.#forget(now);
    const fresh = this.#queue.takeFresh();
    if (!fresh.length) return;
    const o = this.#cx.options;
    const limit = retransmitLimit(this.#table.size, o.retransmitMult);
    const peers = this.#links.distinct();
    const ids = new Map<LinkId, Uint8Array[]>();
    for (const f of fresh) {
      const id = claimId(f.claim);
      this.#remember(now, toHex(id), f.claim);
      const lacking = peers.filter((l) => !l.peerId || !f.has(l.peerId));
      for (const link of sample(this.#cx.rng, lacking, Math.max(0, limit - f.transmits))) {
        const list = ids.get(link.id) ?? [];
        if (!list.length) ids.set(link.id, list);
        list.push(id);
      }
    }
    const per = o.claimsPerFrameMax;
    for (const [link, list] of ids) {
      this.#cx.stats.idsAnnounced += list.length;
      for (let k = 0; k < list.length; k += per) this.#cx.send(link, { type: MEMBER_FRAME.IDS, op: IDS_OP.HAVE, ids: list.slice(k, k + per) });
    }
  }

  /**
   * An IDS frame from `linkId`: note the ids announced (or named by a shuffle's sample) that this
   * node lacks, or send the claims asked for.
   */
  onIds(now: number, linkId: LinkId, f: IdsFrame): void {
    if (f.op !== IDS_OP.WANT) {
      const sample = f.op !== IDS_OP.HAVE;
      if (sample) this.#table.indexById(); // which of the claims named this node holds
      const wait = this.#cx.options.memberGossipIntervalMs;
      const max = this.#cx.options.claimQueueMax;
      const share = Math.max(1, Math.floor(max / 4));
      for (const id of f.ids) {
        const hex = toHex(id);
        if (this.#known.has(hex) || (sample && this.#held(id))) continue;
        const m = this.#missing.get(hex);
        if (m) {
          if (m.from.length < ANNOUNCERS_MAX && !m.from.includes(linkId)) m.from.push(linkId);
          if (!sample) m.sample = false; // announced: news after all
        } else if (this.#missing.size < max && (this.#missingBy.get(linkId) ?? 0) < share) {
          this.#missing.set(hex, { id: id.slice(), from: [linkId], due: now + wait, by: linkId, sample });
          this.#missingBy.set(linkId, (this.#missingBy.get(linkId) ?? 0) + 1);
        }
      }
      return;
    }
    // Each claim once, however often the frame names it: a WANT of one id 256 times buys one copy.
    // Claims announced lately, or any alive claim held (a shuffle's sample names those).
    const claims = new Set<ClaimWire>();
    for (const id of f.ids) {
      const hex = toHex(id);
      const c = this.#known.get(hex)?.claim ?? this.#held(id);
      if (c) claims.add(c);
    }
    if (!claims.size) return;
    this.#cx.answer(linkId, now, { type: MEMBER_FRAME.CLAIMS, claims: [...claims].map((c) => this.#gossiped(c, now)) });
  }

  /** The alive claim this node holds (checked, or its own) with this claim id. */
  #held(id: Uint8Array): ClaimWire | null {
    const own = this.#self.alive;
    if (own && bytesEqual(claimId(own), id)) return own;
    return this.#table.aliveById(id);
  }

  /** Asks for the claims announced a gossip interval ago and still not had, each of its next announcer. */
  #want(now: number): void {
    if (!this.#missing.size) return;
    const asks = new Map<LinkId, Uint8Array[]>();
    for (const [hex, m] of this.#missing) {
      if (m.due > now) continue;
      let link: LinkId | undefined;
      while (m.from.length && !this.#links.has((link = m.from.shift()!))) link = undefined;
      if (link === undefined) {
        this.#unmiss(hex);
        continue;
      }
      m.due = now + 2 * this.#cx.options.memberGossipIntervalMs;
      const list = asks.get(link) ?? [];
      if (!list.length) asks.set(link, list);
      list.push(m.id);
    }
    const per = this.#cx.options.claimsPerFrameMax;
    for (const [link, ids] of asks) {
      this.#cx.stats.idsWanted += ids.length;
      for (let k = 0; k < ids.length; k += per) this.#cx.send(link, { type: MEMBER_FRAME.IDS, op: IDS_OP.WANT, ids: ids.slice(k, k + per) });
    }
  }

  /** The id is had, or given up: off the missing list, and off its first announcer's share. */
  #unmiss(id: string): void {
    const m = this.#missing.get(id);
    if (!m) return;
    this.#missing.delete(id);
    const n = (this.#missingBy.get(m.by) ?? 1) - 1;
    if (n > 0) this.#missingBy.set(m.by, n);
    else this.#missingBy.delete(m.by);
  }

  #remember(now: number, id: string, c: ClaimWire | null): void {
    const k = this.#known.get(id);
    if (k) {
      k.claim ??= c; // a claim queued after it came in: checked now, so it may be sent
      return;
    }
    this.#known.set(id, { claim: c, at: now });
    if (this.#known.size > this.#cx.options.claimQueueMax) this.#known.delete(this.#known.keys().next().value!);
  }

  /** Forgets the claims had more than a few protocol periods ago (the map is in the order they came). */
  #forget(now: number): void {
    const before = now - KNOWN_PERIODS * this.#cx.options.probeIntervalMs;
    for (const [id, k] of this.#known) {
      if (k.at >= before) break;
      this.#known.delete(id);
    }
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
  gossip(now: number): void {
    this.#want(now);
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
    const o = this.#cx.options;
    const limit = Math.min(o.memberGossipFanout, retransmitLimit(this.#table.size, o.retransmitMult));
    const now = this.#cx.clock.now();
    return out.concat(this.#queue.take(max - out.length, limit, out[0], peerId)).map((c) => this.#gossiped(c, now));
  }

  /**
   * A claim as gossip sends it: an accusation without its proof once this node has held the
   * accused rank for as long as news takes to reach every member (`spreadMs`: a few gossip
   * intervals and one protocol period), so its peers hold that alive claim too and would not check
   * the proof anyway — 112 bytes of a 257-byte suspicion. A peer without it ignores the accusation
   * and sends back the claim it holds, which this node answers with the accusation whole
   * (`ClaimIntake`); SYNC always carries proofs, and so does gossip of a fresh rank (a refutation
   * just signed, a restart), where a peer may not have the alive claim yet.
   */
  #gossiped(c: ClaimWire, now: number): ClaimWire {
    if (!c.proof) return c;
    const f = c.fields;
    const m = this.#table.get(toHex(f.member));
    if (!m || m.generation !== f.generation || m.incarnation !== f.incarnation || now - m.rankAt < this.#table.spreadMs()) return c;
    return { body: c.body, signature: c.signature, fields: f };
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
