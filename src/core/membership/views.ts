/**
 * HyParView-style views: which links this node keeps (the active view) and which members it knows
 * but is not linked to (the passive view, the rest of the member table).
 *
 * The engine cannot dial, so it asks the driver: a `want-link` event when it holds fewer links than
 * it wants (`activeViewTarget`, about log10 N + 1), a `drop-link` event for a link to a dead or
 * departed member. Above `activeViewMax` a node tells one peer it lets their link go (SHUFFLE with
 * DISCONNECT) and the peer closes it, so the peer does not take the closed link for a crash.
 * Random samples of alive claims are swapped with a linked peer every `shuffleIntervalMs`, so a
 * node whose table is full still sees fresh members. A node whose table has room swaps them by id
 * (IDS SAMPLE, answered with SAMPLE_REPLY; each side asks for the claims it lacks): nine bytes a
 * member where a whole claim is about 110, and the peer mostly holds them already. A full table
 * swaps whole claims (SHUFFLE): its peer most likely lacks them. A periodic SYNC with one peer
 * (push-pull) repairs what gossip missed, as after a partition. Seeds are re-tried every
 * `seedRetryMs`: seeds keep linked to each other, any other node that lost all its links asks for
 * one, so a partitioned or isolated node rejoins by itself; and a member declared dead is retried
 * now and then (`reconnect`), so one that was only cut off can hear of it and refute.
 *
 * Invariants: a member asked for (`wanted`) is not asked for again within `WANT_RETRY_MS` (a seed:
 * half a seed retry) unless its link comes up and goes; a link being let go is `dropping` from the
 * moment it is decided, so it is neither probed nor counted again.
 *
 * @module
 */

import { IDS_OP, MEMBER_FRAME, SHUFFLE_FLAG, SYNC_FLAG, claimId, type ClaimWire } from "../../wire/member-frames.ts";
import { toHex } from "../../bytes.ts";
import type { LinkId } from "../events.ts";
import { randomBelow, randomUnit, sample } from "../random.ts";
import type { Context } from "./context.ts";
import type { Dissemination } from "./dissemination.ts";
import type { LinkTable, PeerLink } from "./links.ts";
import type { SelfClaims } from "./self.ts";
import type { Member, MemberTable } from "./table.ts";

const WANT_RETRY_MS = 30_000;

/** The active and passive views of one node. */
export class Views {
  #cx: Context;
  #table: MemberTable;
  #links: LinkTable;
  #spread: Dissemination;
  #self: SelfClaims;
  /** Called for a link being let go, so nothing is probed over it any more. */
  #released: (linkId: LinkId) => void;
  #seeds = new Set<string>();
  #seedKeys = new Map<string, Uint8Array>();
  /** Members asked for (hex id → when). */
  #wanted = new Map<string, number>();

  constructor(cx: Context, table: MemberTable, links: LinkTable, spread: Dissemination, self: SelfClaims, released: (linkId: LinkId) => void) {
    this.#cx = cx;
    this.#table = table;
    this.#links = links;
    this.#spread = spread;
    this.#self = self;
    this.#released = released;
  }

  /** Nodes to keep linked to (relays; in the simulator any nodes). */
  setSeeds(ids: readonly Uint8Array[]): void {
    this.#seeds = new Set(ids.map((k) => toHex(k)));
    this.#seedKeys = new Map(ids.map((k) => [toHex(k), k]));
  }

  get hasSeeds(): boolean {
    return this.#seeds.size > 0;
  }

  /** How many links the node wants. */
  activeViewTarget(): number {
    const o = this.#cx.options;
    return o.activeViewSize > 0 ? o.activeViewSize : Math.max(3, Math.ceil(Math.log10(this.#table.size + 1)) + 1);
  }

  /** A link to `peerId` came up: whatever was asked for it is answered. */
  linked(peerId: string): void {
    this.#wanted.delete(peerId);
  }

  // ---------------------------------------------------------------- shuffles

  /** The peer lets this link go (its view is full) and stays up: close it, suspect nobody. */
  letGo(link: PeerLink): void {
    if (!link.dropping) this.#drop(link, "peer let the link go");
  }

  /** Answers a peer's shuffle with a sample of ours, within the link's answer budget. */
  answerShuffle(now: number, link: PeerLink): void {
    this.#cx.answer(link.id, now, { type: MEMBER_FRAME.SHUFFLE, flags: SHUFFLE_FLAG.REPLY, claims: this.#sampleAlive(link.peerId) });
  }

  /**
   * Answers a peer's sample (IDS SAMPLE) with the ids of a sample of ours, within the link's answer
   * budget. The index by id that answers the WANTs that follow was built as the sample came in
   * (`Dissemination.onIds`).
   */
  answerSample(now: number, link: PeerLink): void {
    this.#cx.answer(link.id, now, { type: MEMBER_FRAME.IDS, op: IDS_OP.SAMPLE_REPLY, ids: this.#sampleAlive(link.peerId).map(claimId) });
  }

  /** This node's alive claim and a random sample of alive members' (not the peer's own). */
  #sampleAlive(exceptId: string | null): ClaimWire[] {
    const alive: ClaimWire[] = [];
    for (const m of this.#table.values()) if (m.state === "alive" && m.alive && m.id !== exceptId) alive.push(m.alive);
    const out = sample(this.#cx.rng, alive, this.#cx.options.shuffleLength - 1);
    if (this.#self.alive) out.unshift(this.#self.alive);
    return out;
  }

  // ---------------------------------------------------------------- periodic

  /** Push-pull: the whole view to one random peer, asking for theirs. */
  pushPull(peers: PeerLink[]): void {
    if (peers.length) this.#spread.sendView(peers[randomBelow(this.#cx.rng, peers.length)].id, SYNC_FLAG.WANT);
  }

  /**
   * Starts a shuffle with one random peer. While this node's table has room, it likely knows every
   * member, and so does the peer: the sample goes by id (IDS SAMPLE) and the peer asks (WANT) for
   * the few claims it lacks. A full table (`membersMax`) means a mesh larger than the views, where
   * the peer most likely lacks what is sampled: the claims go whole (SHUFFLE), in one frame instead
   * of three.
   */
  shuffle(peers: PeerLink[]): void {
    if (!peers.length) return;
    const link = peers[randomBelow(this.#cx.rng, peers.length)];
    const claims = this.#sampleAlive(link.peerId);
    if (this.#table.full) {
      this.#cx.send(link.id, { type: MEMBER_FRAME.SHUFFLE, flags: 0, claims });
    } else {
      this.#table.indexById(); // the WANTs that follow are answered from it
      this.#cx.send(link.id, { type: MEMBER_FRAME.IDS, op: IDS_OP.SAMPLE, ids: claims.map(claimId) });
    }
  }

  retrySeeds(now: number, peers: PeerLink[]): void {
    if (!this.#seeds.size) return;
    const selfId = this.#cx.selfId;
    const linked = new Set(peers.map((l) => l.peerId!));
    const due = (id: string) => id !== selfId && !linked.has(id) && !((this.#wanted.get(id) ?? -Infinity) > now - this.#cx.options.seedRetryMs / 2);
    if (this.#seeds.has(selfId)) {
      for (const id of this.#seeds) if (due(id)) this.#want(now, id, this.#seedKeys.get(id)!);
    } else if (linked.size === 0) {
      const candidates = [...this.#seeds].filter(due);
      if (candidates.length) {
        const id = candidates[randomBelow(this.#cx.rng, candidates.length)];
        this.#want(now, id, this.#seedKeys.get(id)!);
      }
    }
  }

  /**
   * Serf's reconnect: nobody probes the dead, so a member declared dead behind a partition (or
   * through a stall longer than a suspicion) would stay dead to this node until some seed link
   * carried its refutation across. Every `seedRetryMs`, with probability dead / live, this node
   * asks for a link to one random dead member: over the mesh each dead member is tried about once
   * per interval, and after a 50/50 split nearly every node tries one. If the member answers, the
   * link's SYNC tells it it was declared dead and it refutes; a crashed member's link is refused.
   */
  reconnect(now: number, peers: PeerLink[]): void {
    const linked = new Set(peers.map((l) => l.peerId!));
    const dead: Member[] = [];
    for (const m of this.#table.values()) if (m.state === "dead" && !linked.has(m.id) && !this.#wanted.has(m.id)) dead.push(m);
    if (!dead.length || randomUnit(this.#cx.rng) >= dead.length / Math.max(1, this.#table.live)) return;
    const m = dead[randomBelow(this.#cx.rng, dead.length)];
    this.#want(now, m.id, m.key);
  }

  // ---------------------------------------------------------------- upkeep

  /** Requests unanswered for `WANT_RETRY_MS` may be made again. */
  expireWants(now: number): void {
    for (const [id, at] of this.#wanted) if (now - at >= WANT_RETRY_MS) this.#wanted.delete(id);
  }

  /**
   * Whether `maintain` has nothing to do until the table or the links change: no link waits to be
   * closed, no link asked for, the view neither over `activeViewMax` nor short with a member to
   * ask. (Links to dead and departed members are the table's to tell: it holds none then.)
   */
  settled(): boolean {
    if (this.#wanted.size > 0) return false;
    for (const l of this.#links.values()) if (l.disconnectAt !== undefined) return false;
    const peers = this.#links.distinct();
    const max = this.#cx.options.activeViewMax;
    if (max > 0 && peers.length > max) return false;
    if (peers.length >= this.activeViewTarget()) return true;
    const linked = new Set(peers.map((l) => l.peerId!));
    for (const m of this.#table.values()) if (m.state === "alive" && !linked.has(m.id)) return false;
    return true;
  }

  /** Once a period: drop links to the dead and departed, trim an overfull view, fill a short one. */
  maintain(now: number): void {
    const o = this.#cx.options;
    for (const link of this.#links.values()) {
      if (link.disconnectAt !== undefined && now - link.disconnectAt >= o.probeIntervalMs) {
        link.disconnectAt = undefined; // told, but the peer has not closed it: close it from here
        this.#cx.host.emit({ type: "drop-link", linkId: link.id, reason: "active view full" });
      }
      if (!link.peerId || link.dropping) continue;
      const m = this.#table.get(link.peerId);
      // A dead member whose link still carries frames is alive after all: it will hear the claim
      // and refute; only one silent since for two periods is let go (a quiet link carries no
      // frame for up to a pass, while a member that hears it was declared dead refutes and tells
      // its peers within a period or so).
      const dead = m && (m.state === "left" || (m.state === "dead" && link.lastFrameAt < m.changedAt && now - m.changedAt >= 2 * o.probeIntervalMs));
      if (dead) this.#drop(link, m.state === "left" ? "member left" : "member dead");
    }
    const peers = this.#links.distinct();
    const max = o.activeViewMax;
    if (max > 0 && peers.length > max) {
      const spare = peers.filter((l) => !this.#seeds.has(l.peerId!));
      if (spare.length) this.#disconnect(now, spare[randomBelow(this.#cx.rng, spare.length)]);
    }
    if (peers.length < this.activeViewTarget() && ![...this.#wanted.values()].some((at) => now - at < o.probeIntervalMs * 5)) {
      const linked = new Set(peers.map((l) => l.peerId!));
      const passive = [...this.#table.values()].filter((m) => m.state === "alive" && !linked.has(m.id) && !this.#wanted.has(m.id));
      if (passive.length) {
        const m = passive[randomBelow(this.#cx.rng, passive.length)];
        this.#want(now, m.id, m.key);
      }
    }
  }

  #want(now: number, id: string, key: Uint8Array): void {
    this.#wanted.set(id, now);
    this.#cx.stats.wantLinks++;
    this.#cx.host.emit({ type: "want-link", peer: key, addr: this.#table.get(id)?.addr ?? null });
  }

  /**
   * Lets a link to a live peer go (HyParView's DISCONNECT): the peer is told first and closes the
   * link, so it knows this node is still up and does not suspect it for the link going down.
   */
  #disconnect(now: number, link: PeerLink): void {
    this.#release(link);
    link.disconnectAt = now;
    this.#cx.send(link.id, { type: MEMBER_FRAME.SHUFFLE, flags: SHUFFLE_FLAG.REPLY | SHUFFLE_FLAG.DISCONNECT, claims: [] });
  }

  #drop(link: PeerLink, reason: string): void {
    this.#release(link);
    this.#cx.host.emit({ type: "drop-link", linkId: link.id, reason });
  }

  /** Stops using a link that is being let go: no probes over it, no suspicion when it goes down. */
  #release(link: PeerLink): void {
    link.dropping = true;
    this.#cx.stats.dropLinks++;
    this.#released(link.id);
  }
}
