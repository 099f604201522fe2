/**
 * The failure detector: SWIM's probes over this node's links, PING_REQs relayed for others, and
 * the accusations that follow when a member cannot be reached.
 *
 * A probe: every protocol period the node PINGs one linked peer, the one it least lately heard
 * from or probed (one link per peer), unless it heard from that peer lately — within the last
 * pass (the periods a probe of every peer once takes) or less on a busy link (`#quietUntil`) —
 * and has no news for it; a node with no peer to probe sleeps through the turn (`probeDueAt`,
 * which the coordinator wakes it by). Both ends of a link probe, and a frame either way shows
 * the peer alive, so a quiet link is probed about once a pass instead of once from each end, and
 * a link that carries traffic not at all: a quiet mesh sends half the PINGs and ACKs it would,
 * and a busy one next to none. A member that stops is still probed soon: on a busy link once it
 * has been silent for about a period; in a quiet mesh its monitors heard it last at times spread
 * over a pass (its own probes of them among them), and the first whose last frame from it is a
 * pass old probes it, a period or two after it stopped. An ACK within `probeTimeoutMs` clears a
 * probe; otherwise `indirectProbes` other linked alive peers are asked to ping it (PING_REQ) —
 * those holding a link to it do, the rest answer NACK — and the direct PING is sent once more, and
 * a third time halfway through the indirect phase (lost frames, not dead peers, fail most probes
 * on a lossy path). No ACK by the end of the period: the node signs a suspicion. Each node's links are its monitors, so a crashed node
 * is probed by about one monitor per period. A node with far more links than its active view
 * wants (a relay) probes one link per `4 × target` links each period, so none goes unprobed for long.
 *
 * Lifeguard (`lifeguard.ts`): probe timing is stretched by the local health score, which a
 * failed probe raises (by the NACKs that did not come: the helpers did not hear back either, so
 * likely this node is slow) and an ACK lowers.
 *
 * Suspicions end in a declared death at `declareAt` (`suspicion.ts`) unless refuted first. An
 * accusation names a rank the member signed and carries that alive claim as its proof.
 *
 * Bounds: PING_REQs relayed at once (`RELAYS_MAX`, and per requester), each charged to the
 * requester's answer budget, so PING_REQs cannot turn this node into a ping cannon.
 *
 * @module
 */

import { bytesEqual, toHex } from "../../bytes.ts";
import { CLAIM_KIND, MEMBER_FRAME, type AckFrame, type ClaimBody, type ClaimWire, type NackFrame, type PingReqFrame } from "../../wire/member-frames.ts";
import type { LinkId } from "../events.ts";
import type { LocalHealth } from "../lifeguard.ts";
import { randomBelow, sample } from "../random.ts";
import type { Context } from "./context.ts";
import type { Dissemination } from "./dissemination.ts";
import type { LinkTable, PeerLink } from "./links.ts";
import type { ClaimSigner } from "./signer.ts";
import { declareAt } from "./suspicion.ts";
import type { Member, MemberTable, Source } from "./table.ts";

const RELAYS_MAX = 256;
/** PING_REQs relayed at once for one requester (a hub probing many peers asks a helper for several per period). */
const RELAYS_PER_LINK_MAX = 64;
/** Bytes a PING_REQ costs this node to relay (a PING out, an ACK or NACK back), charged to the requester's answer budget. */
const RELAY_COST_BYTES = 128;
/**
 * A member's last link here went down: this node accuses it within this many protocol periods,
 * about the time a suspicion takes to reach the member's other neighbours.
 */
const LINK_LOST_PERIODS = 3;

/** When this node last heard from a link's peer or probed it: the least recent is probed first. */
function lastContact(l: PeerLink): number {
  return Math.max(l.lastFrameAt, l.probedAt);
}

interface Probe {
  seq: number;
  linkId: LinkId;
  peerId: string;
  peer: Uint8Array;
  directDeadline: number;
  /** A third direct PING goes out here, halfway through the indirect phase. */
  retryAt: number;
  endAt: number;
  indirect: boolean;
  expectedNacks: number;
  nacks: number;
  acked: boolean;
}

/** A PING this node makes on behalf of a PING_REQ. */
interface Relay {
  replyLinkId: LinkId;
  replySeq: number;
  deadline: number;
}

/** What the detector needs from the rest of membership. */
export interface DetectorDeps {
  /** Applies a claim this node signed (an accusation) as if it had arrived. */
  accept(now: number, c: ClaimWire, source: Source): void;
  /** The active view's wanted size (sets how many links are probed per period). */
  activeViewTarget(): number;
  /** Whether this node has said farewell (it probes and relays no more). */
  left(): boolean;
}

/** SWIM's failure detector for one node. */
export class FailureDetector {
  #cx: Context;
  #table: MemberTable;
  #links: LinkTable;
  #spread: Dissemination;
  #signer: ClaimSigner;
  #health: LocalHealth;
  #deps: DetectorDeps;
  #seq = 0;
  #epoch = 0;
  /** Probes in flight by seq: one per period, more on a node with many more links than it wants. */
  #probes = new Map<number, Probe>();
  #relays = new Map<number, Relay>();
  /** Members whose last link here went down: when this node accuses them (see `linkLost`). */
  #lost = new Map<string, number>();

  constructor(cx: Context, table: MemberTable, links: LinkTable, spread: Dissemination, signer: ClaimSigner, health: LocalHealth, deps: DetectorDeps) {
    this.#cx = cx;
    this.#table = table;
    this.#links = links;
    this.#spread = spread;
    this.#signer = signer;
    this.#health = health;
    this.#deps = deps;
  }

  // ---------------------------------------------------------------- time

  /** Relays whose target did not answer in time: the requester is told (NACK). */
  expireRelays(now: number): void {
    for (const [seq, r] of this.#relays) {
      if (r.deadline > now) continue;
      this.#relays.delete(seq);
      const back = this.#links.get(r.replyLinkId);
      if (back) back.relaying = Math.max(0, back.relaying - 1);
      this.#nack(r.replyLinkId, r.replySeq);
    }
  }

  /** Moves probes in flight on: indirect phase, the extra direct try, failure. */
  advance(now: number): void {
    for (const p of this.#probes.values()) {
      if (p.acked) {
        this.#probes.delete(p.seq);
        continue;
      }
      if (!p.indirect && now >= p.directDeadline) this.#goIndirect(p);
      if (p.indirect && p.retryAt <= now && now < p.endAt) {
        p.retryAt = Infinity;
        if (this.#links.has(p.linkId)) this.#cx.send(p.linkId, { type: MEMBER_FRAME.PING, seq: p.seq, claims: this.#spread.claimsFor(p.peerId) });
      }
      if (now >= p.endAt) this.#probeFailed(p);
    }
  }

  /**
   * A protocol period starts: probes the peers least lately heard from or probed, one a period or
   * more on a hub, passing over those heard from within the last pass (`#quietUntil`).
   */
  startPeriod(now: number): void {
    const { busy, probeable, perPeriod, periodMs, passMs } = this.#turn();
    probeable.sort((a, b) => lastContact(a) - lastContact(b)); // stable: ties in the order links came up
    let left = perPeriod;
    for (const link of probeable) {
      if (left === 0) break;
      if (busy.has(link.peerId!) || now < this.#quietUntil(link, periodMs, passMs)) continue;
      this.#startProbe(now, link);
      left--;
    }
    this.#cx.stats.probesSkipped += left;
    this.#epoch++;
  }

  /**
   * When a probe turn next has a peer to probe (`Infinity`: none; a time already past: at the
   * next turn): the earliest time a linked peer stops being heard from lately. Peers with a probe
   * in flight are left out (its deadlines are `nextDeadline`'s). A frame from a peer only puts its
   * time later, so the answer stays good until `epoch` or the links or the table change.
   */
  probeDueAt(): number {
    if (this.#deps.left()) return Infinity;
    const { busy, probeable, periodMs, passMs } = this.#turn();
    let due = Infinity;
    for (const link of probeable) if (!busy.has(link.peerId!)) due = Math.min(due, this.#quietUntil(link, periodMs, passMs));
    return due;
  }

  /** Grows when a probe turn is taken or a probe of this node's ends: `probeDueAt` may have moved. */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * The last link to `peerId` went down: nobody here can probe it, so this node accuses it — at a
   * random moment within `LINK_LOST_PERIODS` protocol periods, not at once. When a process ends,
   * every neighbour's link to it closes in the same instant; accusing together, each would sign
   * and spread a suspicion of its own, while waiting lets the first ones arrive, and a suspicion
   * already confirmed as often as Lifeguard counts needs no more.
   */
  linkLost(now: number, peerId: string): void {
    if (!this.#lost.has(peerId)) this.#lost.set(peerId, now + randomBelow(this.#cx.rng, LINK_LOST_PERIODS * this.#cx.options.probeIntervalMs));
  }

  /** Accuses the members whose last link went down a moment ago, unless that changes nothing now. */
  accuseLost(now: number): void {
    for (const [id, at] of this.#lost) {
      if (at > now) continue;
      this.#lost.delete(id);
      const m = this.#table.get(id);
      if (m && !this.#links.reaches(id) && this.#mayAccuse(m)) this.accuse(m, CLAIM_KIND.SUSPECT);
    }
  }

  /**
   * Whether this node accuses `m`: alive, or suspect but not yet by this node — and, with
   * Lifeguard, not yet by as many accusers as shorten a suspicion (more are not taken in anywhere).
   */
  #mayAccuse(m: Member): boolean {
    if (m.state === "alive") return true;
    if (m.state !== "suspect") return false;
    const s = m.suspicion!;
    const expected = this.#table.params().expected;
    return !s.confirmers.has(this.#cx.selfId) && (expected < 1 || s.confirmers.size <= expected);
  }

  /** Declares dead the suspects whose time is up (see `suspicion.ts`). */
  declareDue(now: number): void {
    for (const id of this.#table.suspects) {
      const m = this.#table.get(id)!;
      const s = m.suspicion!;
      if (declareAt(s, this.#cx.selfId, id, this.#table.params()) <= now && !s.declaring) {
        s.declaring = true;
        this.accuse(m, CLAIM_KIND.DEAD);
      }
    }
  }

  /** The earliest deadline of a probe, a suspicion or a relay (`Infinity`: none). */
  nextDeadline(): number {
    let t = Infinity;
    if (!this.#deps.left()) {
      for (const p of this.#probes.values()) {
        if (!p.acked) t = Math.min(t, p.indirect ? Math.min(p.retryAt, p.endAt) : p.directDeadline);
      }
      for (const id of this.#table.suspects) {
        const s = this.#table.get(id)!.suspicion!;
        if (!s.declaring) t = Math.min(t, declareAt(s, this.#cx.selfId, id, this.#table.params()));
      }
      for (const at of this.#lost.values()) t = Math.min(t, at);
    }
    for (const r of this.#relays.values()) t = Math.min(t, r.deadline);
    return t;
  }

  // ---------------------------------------------------------------- frames

  /** An ACK: relayed back to whoever asked for it, or the end of a probe of ours. */
  onAck(now: number, f: AckFrame): void {
    const r = this.#relays.get(f.seq);
    if (r) {
      this.#relays.delete(f.seq);
      this.#cx.stats.acksRelayed++;
      const back = this.#links.get(r.replyLinkId);
      if (back) {
        back.relaying = Math.max(0, back.relaying - 1);
        this.#cx.send(back.id, { type: MEMBER_FRAME.ACK, seq: r.replySeq, claims: this.#spread.claimsInAnswer(now, back) });
      }
      return;
    }
    const p = this.#probes.get(f.seq);
    if (p && !p.acked) {
      p.acked = true;
      this.#epoch++;
      this.#health.apply(-1);
      const l = this.#links.get(p.linkId);
      if (l) l.gapMs = Infinity; // the peer answered: a quiet link again (see `#quietUntil`)
    }
  }

  /** A helper could not reach the target of our PING_REQ. */
  onNack(f: NackFrame): void {
    const p = this.#probes.get(f.seq);
    if (p && p.indirect && p.nacks < p.expectedNacks) p.nacks++;
  }

  /** A peer asks this node to ping `f.target` for it. */
  onPingReq(now: number, link: PeerLink, f: PingReqFrame): void {
    if (this.#deps.left()) return;
    if (bytesEqual(f.target, this.#cx.host.id)) {
      this.#cx.send(link.id, { type: MEMBER_FRAME.ACK, seq: f.seq, claims: [] });
      return;
    }
    const via = this.#links.toPeer(toHex(f.target));
    if (!via || this.#relays.size >= RELAYS_MAX || link.relaying >= RELAYS_PER_LINK_MAX || !this.#cx.host.answer(link.id, now, RELAY_COST_BYTES)) {
      return this.#nack(link.id, f.seq);
    }
    const seq = this.#nextSeq();
    link.relaying++;
    this.#relays.set(seq, { replyLinkId: link.id, replySeq: f.seq, deadline: now + this.#health.scale(this.#cx.options.probeTimeoutMs) });
    this.#cx.send(via.id, { type: MEMBER_FRAME.PING, seq, claims: this.#spread.claimsInAnswer(now, via) });
  }

  // ---------------------------------------------------------------- links and leaving

  /** A link went or is let go: its probes end without a verdict. */
  forgetLink(linkId: LinkId): void {
    for (const p of this.#probes.values()) if (p.linkId === linkId) this.#probes.delete(p.seq);
  }

  /** This node leaves: nothing is probed or relayed any more. */
  stop(): void {
    this.#probes.clear();
    this.#relays.clear();
    this.#lost.clear();
  }

  /** Signs an accusation (`kind` suspect or dead) of `m` at its current rank, then applies it. */
  accuse(m: Member, kind: number): void {
    const proof = m.alive;
    if (!proof || proof.fields.generation !== m.generation || proof.fields.incarnation !== m.incarnation) return;
    if (kind === CLAIM_KIND.SUSPECT) this.#cx.stats.suspicionsRaised++;
    else this.#cx.stats.deathsDeclared++;
    const body: ClaimBody = { kind, member: m.key, generation: m.generation, incarnation: m.incarnation, claimer: this.#cx.host.id, addr: null };
    this.#signer.sign(body, (c) => this.#deps.accept(this.#cx.clock.now(), { ...c, proof }, "local"));
  }

  // ---------------------------------------------------------------- probing

  /**
   * What a probe turn works with: the peers with a probe in flight, the links that can be probed
   * (one a peer), how many a turn probes — one, more on a hub, counted over the links that can be
   * probed (a relay's clients without membership are not) — the period, and the pass: the periods
   * it takes to probe every peer once, that many at a time.
   */
  #turn(): { busy: Set<string>; probeable: PeerLink[]; perPeriod: number; periodMs: number; passMs: number } {
    const busy = new Set([...this.#probes.values()].map((p) => p.peerId));
    const probeable = this.#links.distinct().filter((l) => this.#probeable(l));
    const perPeriod = Math.max(1, Math.ceil(probeable.length / (4 * this.#deps.activeViewTarget())));
    const periodMs = this.#health.scale(this.#cx.options.probeIntervalMs);
    return { busy, probeable, perPeriod, periodMs, passMs: Math.ceil(probeable.length / perPeriod) * periodMs };
  }

  /** Probes `link`'s peer: a PING now, and the probe's deadlines. */
  #startProbe(now: number, link: PeerLink): void {
    const seq = this.#nextSeq();
    const o = this.#cx.options;
    this.#cx.stats.probes++;
    link.probedAt = now;
    this.#probes.set(seq, {
      seq, linkId: link.id, peerId: link.peerId!, peer: link.peer!,
      directDeadline: now + this.#health.scale(o.probeTimeoutMs),
      retryAt: now + this.#health.scale((o.probeTimeoutMs + o.probeIntervalMs) / 2),
      endAt: now + this.#health.scale(o.probeIntervalMs),
      indirect: false, expectedNacks: 0, nacks: 0, acked: false,
    });
    this.#cx.send(link.id, { type: MEMBER_FRAME.PING, seq, claims: this.#spread.claimsFor(link.peerId) });
  }

  /**
   * Until when a probe of `link`'s peer would tell this node nothing new (`-Infinity`: a probe is
   * wanted now): while a frame came from the peer (any frame: an answer to a probe of ours, a probe
   * of its own, a digest) lately, it is alive here, no news waits that the probe would carry, and
   * this node is healthy (Lifeguard lowers a raised health score only as probes are answered).
   * "Lately" is within twice the silence before the peer's last frame, at least a period and at
   * most a pass: a quiet link's peer is probed once its last frame is a pass old, and a busy one's
   * once it has been silent for a period — when its frames stop, it is found about as soon as if
   * every turn were a probe. A probe of the link's peer answered (directly or through a helper),
   * or one the peer sent over it, makes it a quiet link again (its gap unknown: `onAck`, and the
   * membership coordinator on a PING), so the next probe waits a pass: measured from the gap
   * before such a probe, a short one (a digest or shuffle a moment before) set off a probe a
   * period on, whose answer a period or two after the frame before set off another, back to a
   * pass only by doubling — several probes for each idle exchange a link carried.
   */
  #quietUntil(link: PeerLink, periodMs: number, passMs: number): number {
    if (this.#health.score > 0 || this.#spread.pending || this.#table.get(link.peerId!)?.state !== "alive") return -Infinity;
    return link.lastFrameAt + Math.min(passMs, Math.max(periodMs, 2 * link.gapMs));
  }

  /**
   * A link is probed while its peer is a member this node holds (alive or suspect): a peer that
   * signed no ALIVE claim (yet, or ever: a node without membership) cannot be accused, and a PING
   * it never answers would only count against this node's own health.
   */
  #probeable(l: PeerLink): boolean {
    if (!l.peerId || l.dropping) return false;
    const m = this.#table.get(l.peerId);
    return m !== undefined && m.state !== "left";
  }

  #goIndirect(p: Probe): void {
    p.indirect = true;
    this.#cx.stats.indirectProbes++;
    const seen = new Set<string>([p.peerId]);
    const helpers: PeerLink[] = [];
    for (const l of this.#links.values()) {
      if (!l.peerId || l.dropping || seen.has(l.peerId)) continue;
      if (this.#table.get(l.peerId)?.state !== "alive") continue;
      seen.add(l.peerId);
      helpers.push(l);
    }
    const chosen = sample(this.#cx.rng, helpers, this.#cx.options.indirectProbes);
    for (const h of chosen) {
      this.#cx.send(h.id, { type: MEMBER_FRAME.PING_REQ, seq: p.seq, target: p.peer, claims: this.#spread.claimsFor(h.peerId) });
    }
    p.expectedNacks = this.#cx.options.lifeguard ? chosen.length : 0;
    // The direct path once more: on a lossy link a second try is often all it takes.
    if (this.#links.has(p.linkId)) this.#cx.send(p.linkId, { type: MEMBER_FRAME.PING, seq: p.seq, claims: this.#spread.claimsFor(p.peerId) });
  }

  #probeFailed(p: Probe): void {
    this.#probes.delete(p.seq);
    this.#epoch++;
    this.#cx.stats.probesFailed++;
    // Missing NACKs mean the helpers did not hear back in time either: likely this node is slow.
    this.#health.apply(p.expectedNacks > 0 ? Math.max(0, p.expectedNacks - p.nacks) : 1);
    const m = this.#table.get(p.peerId);
    if (!m) return;
    if (this.#mayAccuse(m)) this.accuse(m, CLAIM_KIND.SUSPECT);
  }

  #nack(linkId: LinkId, seq: number): void {
    if (!this.#cx.options.lifeguard || !this.#links.has(linkId)) return;
    this.#cx.stats.nacksSent++;
    this.#cx.send(linkId, { type: MEMBER_FRAME.NACK, seq });
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) % 0x1_0000_0000;
    return this.#seq;
  }
}
