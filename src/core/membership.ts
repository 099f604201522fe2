/**
 * Membership and failure detection: SWIM with Lifeguard, over the engine's links, plus a
 * HyParView-style view of which links to keep.
 *
 * Who is in the mesh is a table of signed claims (see `claims.ts`): a member announces itself with
 * an `alive` claim and says goodbye with a `left` claim, both signed by itself; a node that cannot
 * reach a member accuses it with a `suspect` claim and, if nobody refutes it in time, a `dead`
 * claim, both signed by the accuser. Only the member can refute (a newer `alive`), so a false
 * accusation costs the accuser nothing but is attributable to it.
 *
 * Failure detection. Every protocol period the node pings one linked peer (round robin over a
 * shuffled list). An ACK within the probe timeout clears it; otherwise `indirectProbes` other
 * linked peers are asked to ping it (PING_REQ) — those holding a link to it do, the rest answer
 * NACK — and the direct PING is sent once more. No ACK by the end of the period: the node signs a
 * suspicion. A suspicion not refuted within the suspicion timeout becomes a death. Each node's
 * links are its monitors, so a crashed node is probed by about one monitor per period, SWIM's
 * expected first detection of e/(e − 1) ≈ 1.58 periods. A node with far more links than its active
 * view wants (a relay) probes one link per `4 × target` links each period, so none goes unprobed
 * for long.
 *
 * Lifeguard: missed NACKs, late timers, failed probes and refutations raise this node's local
 * health score; its probe interval and timeout are multiplied by `score + 1`. A suspicion starts
 * long and shrinks as other nodes confirm it; a suspected member is told of the suspicion in the
 * very PING that probes it (buddy system) so it can refute at once.
 *
 * Dissemination: claims piggyback on PING, ACK and PING_REQ and are gossiped on their own (CLAIMS)
 * every `memberGossipIntervalMs` while any wait; each node sends each claim a bounded number of
 * times (`retransmitLimit`). A new link starts with both sides sending their whole view (SYNC);
 * a periodic SYNC with one peer (push-pull) repairs what gossip missed, as after a partition.
 *
 * Views (HyParView): the active view is the node's links; the passive view is the members it knows
 * but is not linked to. The engine cannot dial, so it asks the driver: a `want-link` event when it
 * holds fewer links than it wants, a `drop-link` event for a link to a dead or departed member.
 * Above `activeViewMax` a node tells one peer it lets their link go (SHUFFLE with DISCONNECT) and
 * the peer closes it, so the peer does not take the closed link for a crash. Random samples of alive claims are swapped with a linked peer every
 * `shuffleIntervalMs` (SHUFFLE), so a node whose table is full still sees fresh members.
 * Seeds are re-tried every `seedRetryMs`: seeds keep linked to each other, any other node that
 * lost all its links asks for one, so a partitioned or isolated node rejoins by itself.
 *
 * Sans-I/O like the engine: time comes in as `now`; signatures go out as jobs and come back as
 * callbacks; randomness comes from the injected generator. Every table and queue is bounded.
 *
 * @module
 */

import { bytesEqual, toHex } from "../bytes.ts";
import { signingBytes } from "../crypto/context.ts";
import { remoteError, type GrapevineError } from "../errors.ts";
import {
  CLAIM_KIND,
  CLAIM_LAG_MS_MAX,
  claimSigner,
  decodeMemberFrame,
  encodeClaimBody,
  encodeMemberFrame,
  MEMBER_FRAME,
  SHUFFLE_FLAG,
  SYNC_FLAG,
  type AckFrame,
  type ClaimBody,
  type ClaimWire,
  type MemberFrame,
  type PingReqFrame,
} from "../wire/member-frames.ts";
import { ClaimQueue, compareRank, effectOf, stateOf, type MemberState } from "./claims.ts";
import type { EngineEvent, LinkId } from "./events.ts";
import { LocalHealth, retransmitLimit, suspicionParams, suspicionTimeoutMs, type SuspicionParams } from "./lifeguard.ts";
import type { EngineOptions } from "./options.ts";
import { randomBelow, randomUnit, sample, type Rng } from "./random.ts";
import { TokenBucket } from "./budget.ts";

/** What membership needs from its engine. */
export interface MembershipHost {
  readonly options: EngineOptions;
  readonly protocolVersion: number;
  /** This node's key. */
  readonly id: Uint8Array;
  /** This run's generation (grows on every restart). */
  readonly generation: number;
  send(linkId: LinkId, bytes: Uint8Array): void;
  sign(message: Uint8Array, done: (signature: Uint8Array | null) => void): void;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, done: (ok: boolean) => void): void;
  emit(event: EngineEvent): void;
  penalize(linkId: LinkId, err: GrapevineError): void;
  /**
   * Charges `bytes` sent in answer to the peer's own request to the link's answer budget; false
   * (nothing charged) when the budget cannot cover them, and the answer is not sent.
   */
  answer(linkId: LinkId, now: number, bytes: number): boolean;
  /** A member dead or gone for `deadMemberTtlMs` is forgotten: its replicated state may go too. */
  forget(member: Uint8Array, now: number): void;
}

/** One member as this node sees it. */
export interface MemberInfo {
  id: Uint8Array;
  state: MemberState;
  generation: number;
  incarnation: number;
  /** Where it accepts links, from its alive claim. */
  addr: string | null;
  /** When its state last changed, on this node's clock (ms). */
  since: number;
  /** Who accused it, when suspect or dead. */
  claimer: Uint8Array | null;
  /** This node holds a link to it. */
  linked: boolean;
}

/** Membership counters. */
export interface MembershipStats {
  probes: number;
  probesFailed: number;
  indirectProbes: number;
  acksRelayed: number;
  nacksSent: number;
  suspicionsRaised: number;
  deathsDeclared: number;
  refutations: number;
  lateTimers: number;
  /** Alive claims this node re-signed only to state a new lag (its timers ran late, or have recovered). */
  lagAnnouncements: number;
  claimsSent: number;
  claimsReceived: number;
  claimsAccepted: number;
  verifies: number;
  verifyDropped: number;
  wantLinks: number;
  dropLinks: number;
  /** Newer claims sent back to a peer that sent an older one. */
  corrections: number;
}

type Source = "gossip" | "sync" | "shuffle" | "intro" | "local";

interface Suspicion {
  startedAt: number;
  confirmers: Set<string>;
  deadline: number;
  declaring: boolean;
}

interface Member {
  id: string;
  key: Uint8Array;
  state: MemberState;
  generation: number;
  incarnation: number;
  /** The claim that put the member in its state. */
  claim: ClaimWire;
  /** The newest alive claim (for its address, and for views). */
  alive: ClaimWire | null;
  addr: string | null;
  changedAt: number;
  suspicion: Suspicion | null;
}

interface LinkInfo {
  id: LinkId;
  peer: Uint8Array | null;
  peerId: string | null;
  lastFrameAt: number;
  dropping: boolean;
  /**
   * Claims this node may piggyback on frames the peer made it send (ACKs, relayed PINGs): each one
   * takes a transmit from the queue, so a peer that pings without pause would otherwise drain the
   * queue's news into itself instead of the mesh.
   */
  piggyback: TokenBucket;
  /** PING_REQs from this peer being relayed now. */
  relaying: number;
  /** When this node told the peer it lets the link go (DISCONNECT); it closes the link itself a period later if the peer has not. */
  disconnectAt?: number;
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

/** Pings this node makes on behalf of a PING_REQ. */
interface Relay {
  replyLinkId: LinkId;
  replySeq: number;
  deadline: number;
}

const RELAYS_MAX = 256;
/** PING_REQs relayed at once for one requester (a hub probing many peers asks a helper for several per period). */
const RELAYS_PER_LINK_MAX = 64;
/** Bytes a PING_REQ costs this node to relay (a PING out, an ACK or NACK back), charged to the requester's answer budget. */
const RELAY_COST_BYTES = 128;
/** The lag a node states decays by half in this long once its timers run on time again. */
const LAG_HALF_LIFE_MS = 5 * 60_000;
/** A node re-states its lag at most this often (each time is one alive claim gossiped to all). */
const LAG_ANNOUNCE_GAP_MS = 30_000;
const WANT_RETRY_MS = 30_000;

/** SWIM + Lifeguard state of one node. */
export class Membership {
  readonly stats: MembershipStats = {
    probes: 0, probesFailed: 0, indirectProbes: 0, acksRelayed: 0, nacksSent: 0, suspicionsRaised: 0,
    deathsDeclared: 0, refutations: 0, lateTimers: 0, lagAnnouncements: 0, claimsSent: 0, claimsReceived: 0, claimsAccepted: 0,
    verifies: 0, verifyDropped: 0, wantLinks: 0, dropLinks: 0, corrections: 0,
  };
  readonly enabled: boolean;
  #host: MembershipHost;
  #o: EngineOptions;
  #rng: Rng;
  #selfId: string;
  #members = new Map<string, Member>();
  /** Alive or suspect members (the n of SWIM's formulas, less this node). */
  #live = 0;
  #suspects = new Set<string>();
  /** Members collected after death or departure, remembered for another TTL so stale claims do not revive them. */
  #gone = new Map<string, { generation: number; incarnation: number; at: number }>();
  #links = new Map<LinkId, LinkInfo>();
  #queue: ClaimQueue;
  #health: LocalHealth;
  #incarnation = 0;
  #selfAlive: ClaimWire | null = null;
  #selfLeft: ClaimWire | null = null;
  #signingAlive = false;
  /** Links that sent a stale accusation of this node while its new alive claim was being signed (at most one entry per link). */
  #correctWhenSigned = new Set<LinkId>();
  #left = false;
  #seq = 0;
  /** Probes in flight by seq: one per period, more on a node with many more links than it wants. */
  #probes = new Map<number, Probe>();
  #probeOrder: LinkId[] = [];
  #relays = new Map<number, Relay>();
  #pending = new Map<string, { links: Set<LinkId> }>();
  #seeds = new Set<string>();
  #seedKeys = new Map<string, Uint8Array>();
  #wanted = new Map<string, number>();
  #nextProbeAt: number;
  #nextGossipAt: number;
  #nextMaintainAt: number;
  #nextPushPullAt: number;
  #nextShuffleAt: number;
  #nextSeedAt: number;
  #wakeAt = Infinity;
  #clock: number;
  /** The latest worst lateness of this node's own timers, and when it was seen (it decays from there). */
  #lag = { ms: 0, at: 0 };
  /** The lag this node's current alive claim states. */
  #statedLag = 0;
  #nextLagAnnounceAt = 0;

  constructor(host: MembershipHost, random: Rng, now: number) {
    this.#host = host;
    this.#o = host.options;
    this.#rng = random;
    this.#selfId = toHex(host.id);
    this.enabled = this.#o.membership;
    this.#queue = new ClaimQueue(this.#o.claimQueueMax);
    this.#health = new LocalHealth(this.#o.awarenessMax, this.#o.lifeguard);
    this.#clock = now;
    const phase = (ms: number) => now + randomBelow(random, Math.max(1, Math.floor(ms)));
    this.#nextProbeAt = phase(this.#o.probeIntervalMs);
    this.#nextGossipAt = now;
    this.#nextMaintainAt = phase(this.#o.probeIntervalMs);
    this.#nextPushPullAt = this.#o.pushPullIntervalMs > 0 ? phase(this.#o.pushPullIntervalMs) + this.#o.pushPullIntervalMs : Infinity;
    this.#nextShuffleAt = phase(this.#o.shuffleIntervalMs) + this.#o.shuffleIntervalMs;
    this.#nextSeedAt = phase(this.#o.seedRetryMs);
    if (this.enabled) this.#signAlive();
    this.#rearm();
  }

  // ---------------------------------------------------------------- reading

  /** Earliest time `tick` has work. */
  wakeAt(): number {
    return this.#wakeAt;
  }

  /** Lifeguard's local health score (0 = healthy). */
  get awareness(): number {
    return this.#health.score;
  }

  /** This node's incarnation (bumped by every refutation). */
  get incarnation(): number {
    return this.#incarnation;
  }

  /** This node's own signed alive claim, once signed. */
  get selfClaim(): ClaimWire | null {
    return this.#selfAlive;
  }

  /** Whether this node has said farewell. */
  get left(): boolean {
    return this.#left;
  }

  /** Every member this node knows (itself excluded). */
  members(): MemberInfo[] {
    const linked = this.#linkedPeers();
    return [...this.#members.values()].map((m) => this.#info(m, linked));
  }

  /** One member, or undefined. */
  member(id: Uint8Array): MemberInfo | undefined {
    const m = this.#members.get(toHex(id));
    return m ? this.#info(m, this.#linkedPeers()) : undefined;
  }

  /** The state of the member with hex id `id` in this node's view (cheap; for checks over many). */
  stateOf(id: string): MemberState | undefined {
    return this.#members.get(id)?.state;
  }

  /** The lag (ms) the newest alive claim of the member with hex id `id` states; 0 when none. */
  lagOf(id: string): number {
    return this.#members.get(id)?.alive?.fields.lag ?? 0;
  }

  /** The lag (ms) this node's own alive claim states (see `suspicionLagMult`). */
  get statedLag(): number {
    return this.#statedLag;
  }

  /** How many members the table holds (any state). */
  get known(): number {
    return this.#members.size;
  }

  /** Alive and suspect members known, this node included: the n of the timeouts. */
  get size(): number {
    return this.#live + 1;
  }

  // ---------------------------------------------------------------- inputs

  /** Advances the clock used by callbacks that complete later (crypto). */
  observe(now: number): void {
    this.#clock = Math.max(this.#clock, now);
  }

  /** Nodes to keep linked to (relays, in the simulator any nodes): see the module doc. */
  setSeeds(ids: readonly Uint8Array[]): void {
    this.#seeds = new Set(ids.map((k) => toHex(k)));
    this.#seedKeys = new Map(ids.map((k) => [toHex(k), k]));
  }

  /**
   * Claims learned out of band (a cached view, a simulation's warm start): verified like any
   * others, but not gossiped on as news.
   */
  introduce(now: number, claims: readonly ClaimWire[]): void {
    if (!this.enabled) return;
    this.observe(now);
    this.#receiveClaims(null, claims, "intro");
    this.#rearm();
  }

  linkUp(now: number, linkId: LinkId, peer: Uint8Array | null): void {
    this.observe(now);
    const peerId = peer ? toHex(peer) : null;
    // Several claims a period in answers is what an honest peer's probes and relays take.
    const perPeriod = 4 * this.#o.claimsPerMessageMax;
    const piggyback = new TokenBucket((perPeriod * 1000) / this.#o.probeIntervalMs, 2 * perPeriod, now);
    this.#links.set(linkId, { id: linkId, peer, peerId, lastFrameAt: now, dropping: false, piggyback, relaying: 0 });
    if (peerId) this.#wanted.delete(peerId);
    if (this.enabled && peer && !this.#left) this.#sendView(linkId, 0);
    this.#rearm();
  }

  linkDown(now: number, linkId: LinkId): void {
    this.observe(now);
    const link = this.#links.get(linkId);
    this.#links.delete(linkId);
    if (!link?.peerId || !this.enabled || this.#left) return this.#rearm();
    this.#forgetProbes(linkId);
    // The link was how this node watched the peer: with no other link to it, nobody here can
    // probe it, so say so. If it is alive and linked elsewhere it refutes; else it dies in time.
    const m = this.#members.get(link.peerId);
    const stillLinked = [...this.#links.values()].some((l) => l.peerId === link.peerId);
    if (m && m.state === "alive" && !stillLinked && !link.dropping) this.#accuse(m, CLAIM_KIND.SUSPECT);
    this.#rearm();
  }

  /** A decoded membership frame (types 8–14) from a link. Throws a remote `GrapevineError` for a bad one. */
  receive(now: number, linkId: LinkId, f: MemberFrame): void {
    this.observe(now);
    const link = this.#links.get(linkId);
    if (!link || !this.enabled) return;
    link.lastFrameAt = now;
    try {
      this.#onFrame(now, link, f);
    } finally {
      this.#rearm();
    }
  }

  /** Time passes: probes, suspicion timeouts, gossip, view upkeep. */
  tick(now: number): void {
    this.observe(now);
    if (!this.enabled) return;
    if (this.#wakeAt !== Infinity && now - this.#wakeAt > this.#o.probeIntervalMs / 2) {
      // Woken late: this node itself is slow (a starved process, a throttled tab).
      this.stats.lateTimers++;
      this.#health.apply(1);
      const late = now - this.#wakeAt;
      if (late > this.#lagAt(now)) this.#lag = { ms: late, at: now };
    }
    this.#restateLag(now);
    for (const [seq, r] of this.#relays) {
      if (r.deadline > now) continue;
      this.#relays.delete(seq);
      const back = this.#links.get(r.replyLinkId);
      if (back) back.relaying = Math.max(0, back.relaying - 1);
      this.#nack(r.replyLinkId, r.replySeq);
    }
    if (!this.#left) {
      this.#advanceProbes(now);
      if (now >= this.#nextProbeAt) {
        this.#nextProbeAt = now + this.#health.scale(this.#o.probeIntervalMs);
        const busy = new Set([...this.#probes.values()].map((p) => p.peerId));
        for (let k = this.#probesPerPeriod(); k > 0; k--) this.#startProbe(now, busy);
      }
      for (const id of this.#suspects) {
        const m = this.#members.get(id)!;
        const s = m.suspicion!;
        if (this.#declareAt(s) <= now && !s.declaring) {
          s.declaring = true;
          this.#accuse(m, CLAIM_KIND.DEAD);
        }
      }
    }
    if (this.#queue.size && now >= this.#nextGossipAt) {
      this.#nextGossipAt = now + this.#o.memberGossipIntervalMs;
      this.#gossip();
    }
    if (now >= this.#nextMaintainAt) {
      this.#nextMaintainAt = now + this.#o.probeIntervalMs;
      this.#maintain(now);
    }
    if (!this.#left) this.#periodic(now);
    this.#rearm();
  }

  /** Says farewell: a `left` claim (pre-signed when possible) goes to every link at once. */
  leave(now: number): void {
    this.observe(now);
    if (!this.enabled || this.#left) return;
    this.#left = true;
    this.#probes.clear();
    this.#relays.clear();
    const announce = (c: ClaimWire) => {
      this.#queue.push(this.#selfId, c);
      for (const link of this.#links.values()) if (link.peer) this.#sendFrame(link.id, { type: MEMBER_FRAME.CLAIMS, claims: [c] });
      this.#rearm();
    };
    if (this.#selfLeft && this.#selfLeft.fields.incarnation === this.#incarnation) announce(this.#selfLeft);
    else this.#signClaim(this.#selfBody(CLAIM_KIND.LEFT), (c) => announce(c));
    this.#rearm();
  }

  // ---------------------------------------------------------------- frames

  #onFrame(now: number, link: LinkInfo, f: MemberFrame): void {
    switch (f.type) {
      case MEMBER_FRAME.PING:
        this.#receiveClaims(link.id, f.claims, "gossip");
        if (!this.#left) this.#sendFrame(link.id, { type: MEMBER_FRAME.ACK, seq: f.seq, claims: this.#claimsInAnswer(now, link) });
        return;
      case MEMBER_FRAME.ACK:
        this.#receiveClaims(link.id, f.claims, "gossip");
        return this.#onAck(f);
      case MEMBER_FRAME.PING_REQ:
        this.#receiveClaims(link.id, f.claims, "gossip");
        return this.#onPingReq(now, link, f);
      case MEMBER_FRAME.NACK: {
        const p = this.#probes.get(f.seq);
        if (p && p.indirect && p.nacks < p.expectedNacks) p.nacks++;
        return;
      }
      case MEMBER_FRAME.CLAIMS:
        return this.#receiveClaims(link.id, f.claims, "gossip");
      case MEMBER_FRAME.SYNC:
        this.#receiveClaims(link.id, f.claims, "sync");
        if (f.flags & SYNC_FLAG.WANT && !this.#left) this.#sendView(link.id, 0, now);
        return;
      case MEMBER_FRAME.SHUFFLE:
        if (f.flags & SHUFFLE_FLAG.DISCONNECT) {
          // The peer lets this link go (its view is full) and stays up: close it, suspect nobody.
          if (!link.dropping) this.#drop(link, "peer let the link go");
          return;
        }
        this.#receiveClaims(link.id, f.claims, "shuffle");
        if (!(f.flags & SHUFFLE_FLAG.REPLY) && !this.#left) {
          const reply = encodeMemberFrame({ type: MEMBER_FRAME.SHUFFLE, flags: SHUFFLE_FLAG.REPLY, claims: this.#sampleAlive(link.peerId) });
          if (this.#host.answer(link.id, now, reply.length)) this.#host.send(link.id, reply);
        }
        return;
    }
  }

  #onAck(f: AckFrame): void {
    const r = this.#relays.get(f.seq);
    if (r) {
      this.#relays.delete(f.seq);
      this.stats.acksRelayed++;
      const back = this.#links.get(r.replyLinkId);
      if (back) {
        back.relaying = Math.max(0, back.relaying - 1);
        this.#sendFrame(back.id, { type: MEMBER_FRAME.ACK, seq: r.replySeq, claims: this.#claimsInAnswer(this.#clock, back) });
      }
      return;
    }
    const p = this.#probes.get(f.seq);
    if (p && !p.acked) {
      p.acked = true;
      this.#health.apply(-1);
    }
  }

  #onPingReq(now: number, link: LinkInfo, f: PingReqFrame): void {
    if (this.#left) return;
    if (bytesEqual(f.target, this.#host.id)) {
      this.#sendFrame(link.id, { type: MEMBER_FRAME.ACK, seq: f.seq, claims: [] });
      return;
    }
    const targetId = toHex(f.target);
    const via = [...this.#links.values()].find((l) => l.peerId === targetId && !l.dropping);
    // A relay is a PING this node sends for the requester: bounded in flight, and charged to the
    // requester's answer budget, so PING_REQs cannot turn this node into a ping cannon.
    if (!via || this.#relays.size >= RELAYS_MAX || link.relaying >= RELAYS_PER_LINK_MAX || !this.#host.answer(link.id, now, RELAY_COST_BYTES)) {
      return this.#nack(link.id, f.seq);
    }
    const seq = this.#nextSeq();
    link.relaying++;
    this.#relays.set(seq, { replyLinkId: link.id, replySeq: f.seq, deadline: now + this.#health.scale(this.#o.probeTimeoutMs) });
    this.#sendFrame(via.id, { type: MEMBER_FRAME.PING, seq, claims: this.#claimsInAnswer(now, via) });
  }

  #nack(linkId: LinkId, seq: number): void {
    if (!this.#o.lifeguard || !this.#links.has(linkId)) return;
    this.stats.nacksSent++;
    this.#sendFrame(linkId, { type: MEMBER_FRAME.NACK, seq });
  }

  // ---------------------------------------------------------------- probing

  /**
   * One probe per period, as in SWIM, unless the node holds far more links than its active view
   * wants (a relay with a browser on each): then one per `4 × target` links, so that every link is
   * still probed every few periods and a hung peer is noticed in seconds, not in N periods.
   */
  #probesPerPeriod(): number {
    return Math.max(1, Math.ceil(this.#distinctLinks().length / (4 * this.#activeViewTarget())));
  }

  #startProbe(now: number, busy: Set<string>): void {
    const link = this.#nextProbeTarget(busy);
    if (!link) return;
    busy.add(link.peerId!);
    const seq = this.#nextSeq();
    this.stats.probes++;
    this.#probes.set(seq, {
      seq, linkId: link.id, peerId: link.peerId!, peer: link.peer!,
      directDeadline: now + this.#health.scale(this.#o.probeTimeoutMs),
      retryAt: now + this.#health.scale((this.#o.probeTimeoutMs + this.#o.probeIntervalMs) / 2),
      endAt: now + this.#health.scale(this.#o.probeIntervalMs),
      indirect: false, expectedNacks: 0, nacks: 0, acked: false,
    });
    this.#sendFrame(link.id, { type: MEMBER_FRAME.PING, seq, claims: this.#claimsFor(link.peerId) });
  }

  /** Round robin over a shuffled list of linked peers (one link per peer), reshuffled each pass. */
  #nextProbeTarget(busy: Set<string>): LinkInfo | undefined {
    for (let pass = 0; pass < 2; pass++) {
      while (this.#probeOrder.length) {
        const link = this.#links.get(this.#probeOrder.pop()!);
        if (link && this.#probeable(link) && !busy.has(link.peerId!)) return link;
      }
      const seen = new Set<string>();
      const order: LinkId[] = [];
      for (const l of this.#links.values()) {
        if (!this.#probeable(l) || seen.has(l.peerId!)) continue;
        seen.add(l.peerId!);
        order.push(l.id);
      }
      this.#probeOrder = sample(this.#rng, order, order.length);
    }
    return undefined;
  }

  #probeable(l: LinkInfo): boolean {
    if (!l.peerId || l.dropping) return false;
    return this.#members.get(l.peerId)?.state !== "left";
  }

  #advanceProbes(now: number): void {
    for (const p of this.#probes.values()) {
      if (p.acked) {
        this.#probes.delete(p.seq);
        continue;
      }
      if (!p.indirect && now >= p.directDeadline) this.#goIndirect(p);
      if (p.indirect && p.retryAt <= now && now < p.endAt) {
        // Lost frames, not dead peers, fail most probes on a lossy path: one more direct try.
        p.retryAt = Infinity;
        if (this.#links.has(p.linkId)) this.#sendFrame(p.linkId, { type: MEMBER_FRAME.PING, seq: p.seq, claims: this.#claimsFor(p.peerId) });
      }
      if (now >= p.endAt) this.#probeFailed(p);
    }
  }

  #forgetProbes(linkId: LinkId): void {
    for (const p of this.#probes.values()) if (p.linkId === linkId) this.#probes.delete(p.seq);
  }

  #goIndirect(p: Probe): void {
    p.indirect = true;
    this.stats.indirectProbes++;
    const seen = new Set<string>([p.peerId]);
    const helpers: LinkInfo[] = [];
    for (const l of this.#links.values()) {
      if (!l.peerId || l.dropping || seen.has(l.peerId)) continue;
      const st = this.#members.get(l.peerId)?.state;
      if (st !== "alive") continue;
      seen.add(l.peerId);
      helpers.push(l);
    }
    const chosen = sample(this.#rng, helpers, this.#o.indirectProbes);
    for (const h of chosen) {
      this.#sendFrame(h.id, { type: MEMBER_FRAME.PING_REQ, seq: p.seq, target: p.peer, claims: this.#claimsFor(h.peerId) });
    }
    p.expectedNacks = this.#o.lifeguard ? chosen.length : 0;
    // The direct path once more: on a lossy link a second try is often all it takes.
    if (this.#links.has(p.linkId)) this.#sendFrame(p.linkId, { type: MEMBER_FRAME.PING, seq: p.seq, claims: this.#claimsFor(p.peerId) });
  }

  #probeFailed(p: Probe): void {
    this.#probes.delete(p.seq);
    this.stats.probesFailed++;
    // Missing NACKs mean the helpers did not hear back in time either: likely this node is slow.
    this.#health.apply(p.expectedNacks > 0 ? Math.max(0, p.expectedNacks - p.nacks) : 1);
    const m = this.#members.get(p.peerId);
    if (!m) return;
    if (m.state === "alive" || (m.state === "suspect" && !m.suspicion!.confirmers.has(this.#selfId))) {
      this.#accuse(m, CLAIM_KIND.SUSPECT);
    }
  }

  // ---------------------------------------------------------------- claims

  /** Signs an accusation (suspect or dead) of `m` at its current rank, then applies it. */
  #accuse(m: Member, kind: number): void {
    // An accusation names a rank the member signed, and carries that alive claim as its proof.
    const proof = m.alive;
    if (!proof || proof.fields.generation !== m.generation || proof.fields.incarnation !== m.incarnation) return;
    if (kind === CLAIM_KIND.SUSPECT) this.stats.suspicionsRaised++;
    else this.stats.deathsDeclared++;
    const body: ClaimBody = { kind, member: m.key, generation: m.generation, incarnation: m.incarnation, claimer: this.#host.id, addr: null };
    this.#signClaim(body, (c) => this.#accept(this.#clock, { ...c, proof }, "local"));
  }

  #selfBody(kind: number): ClaimBody {
    const addr = kind === CLAIM_KIND.ALIVE && this.#o.addr ? this.#o.addr : null;
    const body: ClaimBody = { kind, member: this.#host.id, generation: this.#host.generation, incarnation: this.#incarnation, claimer: null, addr };
    if (kind === CLAIM_KIND.ALIVE && this.#statedLag > 0) body.lag = this.#statedLag;
    return body;
  }

  /** This node's recent worst timer lateness, halving every `LAG_HALF_LIFE_MS`. */
  #lagAt(now: number): number {
    return this.#lag.ms * 2 ** (-(now - this.#lag.at) / LAG_HALF_LIFE_MS);
  }

  /**
   * The lag an alive claim signed now would state: with Lifeguard, this node's recent worst timer
   * lateness rounded up to 100 ms, when it is at least a protocol period (shorter hiccups are
   * already inside every suspicion timeout), capped at `CLAIM_LAG_MS_MAX`.
   */
  #lagToState(now: number): number {
    if (!this.#o.lifeguard) return 0;
    const lag = this.#lagAt(now);
    return lag < this.#o.probeIntervalMs ? 0 : Math.min(CLAIM_LAG_MS_MAX, Math.ceil(lag / 100) * 100);
  }

  /**
   * Re-signs this node's alive claim (a new incarnation) when the lag it states is out of date:
   * its timers ran half again later than stated, or the stated lag has decayed to a quarter. At
   * most once per `LAG_ANNOUNCE_GAP_MS`, and a growing lag only by half again each time, so a node
   * states a new lag a handful of times per slow spell.
   */
  #restateLag(now: number): void {
    // Every tick: a node whose timers never ran late (lag.ms 0, so nothing stated) returns at once.
    if (!this.#lag.ms || !this.#o.lifeguard || this.#left || !this.#selfAlive || this.#signingAlive || now < this.#nextLagAnnounceAt) return;
    const lag = this.#lagToState(now);
    const stated = this.#statedLag;
    if (!(lag > stated * 1.5 || (stated > 0 && lag < stated / 4))) return;
    this.#nextLagAnnounceAt = now + LAG_ANNOUNCE_GAP_MS;
    this.stats.lagAnnouncements++;
    this.#incarnation++;
    this.#signAlive();
  }

  /**
   * How long a suspicion of `m` lasts after `confirmations` confirmations: Lifeguard's timeout, and
   * with Lifeguard `suspicionLagMult` times the lag `m` stated in its alive claim on top: a member
   * that knows its timers stall is given the time to wake and refute.
   */
  #suspicionMs(m: Member, confirmations: number): number {
    const base = suspicionTimeoutMs(this.#params(), confirmations);
    if (!this.#o.lifeguard) return base;
    return base + (m.alive?.fields.lag ?? 0) * this.#o.suspicionLagMult; // lag ≤ CLAIM_LAG_MS_MAX, checked when decoded
  }

  /** Signs this node's alive claim at its incarnation (and pre-signs its farewell, so leaving needs no wait). */
  #signAlive(): void {
    if (this.#signingAlive) return;
    this.#signingAlive = true;
    const incarnation = this.#incarnation;
    this.#statedLag = this.#lagToState(this.#clock);
    this.#signClaim(this.#selfBody(CLAIM_KIND.ALIVE), (c) => {
      this.#signingAlive = false;
      if (this.#left) return;
      this.#selfAlive = c;
      this.#queue.push(this.#selfId, c);
      for (const l of this.#correctWhenSigned) if (this.#links.has(l)) this.#sendFrame(l, { type: MEMBER_FRAME.CLAIMS, claims: [c] });
      this.#correctWhenSigned.clear();
      this.#signClaim(this.#selfBody(CLAIM_KIND.LEFT), (l) => {
        if (l.fields.incarnation === this.#incarnation) this.#selfLeft = l;
      });
      if (incarnation !== this.#incarnation) this.#signAlive();
      this.#rearm();
    }, () => {
      this.#signingAlive = false;
      this.#correctWhenSigned.clear();
    });
  }

  #signClaim(body: ClaimBody, done: (c: ClaimWire) => void, failed?: () => void): void {
    const bytes = encodeClaimBody(body);
    this.#host.sign(this.#signing(bytes), (signature) => {
      if (!signature) return failed?.();
      done({ body: bytes, signature, fields: body });
      this.#rearm();
    });
  }

  #signing(body: Uint8Array): Uint8Array {
    return signingBytes("member", this.#o.network, this.#host.protocolVersion, body);
  }

  /**
   * Checks which claims would change something, and queues their signatures for checking. A claim
   * older than what this node holds gets the newer one sent back, so a stale view heals at once.
   */
  #receiveClaims(linkId: LinkId | null, claims: readonly ClaimWire[], source: Source): void {
    const corrections: ClaimWire[] = [];
    for (const c of claims) {
      this.stats.claimsReceived++;
      if (!this.#wants(c, source)) {
        const newer = linkId === null ? null : this.#newerThan(c);
        if (newer && corrections.length < this.#o.claimsPerMessageMax && !corrections.includes(newer)) corrections.push(newer);
        else if (!newer && linkId !== null && this.#signingAlive && bytesEqual(c.fields.member, this.#host.id)) {
          // An accusation this node's next incarnation already outbids, but that alive claim is
          // still being signed: send it to this peer once it is, or the peer holds it dead.
          this.#correctWhenSigned.add(linkId);
        }
        continue;
      }
      // Keyed by the proof's signature too: a genuine accusation with a forged proof must not
      // share a verdict (and a penalty) with the honest copy.
      const key = c.proof ? toHex(c.signature) + toHex(c.proof.signature) : toHex(c.signature);
      const pending = this.#pending.get(key);
      if (pending) {
        if (linkId !== null) pending.links.add(linkId);
        continue;
      }
      if (this.#pending.size >= this.#o.claimVerifyPendingMax) {
        this.stats.verifyDropped++; // flow control, not misbehaviour: gossip and push-pull bring it again
        continue;
      }
      const p = { links: new Set<LinkId>(linkId === null ? [] : [linkId]) };
      this.#pending.set(key, p);
      this.#verifyClaim(c, (ok) => {
        this.#pending.delete(key);
        if (!ok) {
          for (const l of p.links) this.#host.penalize(l, remoteError("CRYPTO_BAD_SIGNATURE", "member claim signature does not verify"));
        } else if (this.#wants(c, source)) {
          this.#accept(this.#clock, c, source);
        }
        this.#rearm();
      });
    }
    if (corrections.length && linkId !== null) {
      this.stats.corrections += corrections.length;
      this.#sendFrame(linkId, { type: MEMBER_FRAME.CLAIMS, claims: corrections });
    }
  }

  /**
   * Checks a claim's signature and, for an accusation, its proof: the accused member's own
   * signature on its alive claim at the accused rank (skipped when this node holds that very claim).
   */
  #verifyClaim(c: ClaimWire, done: (ok: boolean) => void): void {
    this.stats.verifies++;
    this.#host.verify(claimSigner(c.fields), this.#signing(c.body), c.signature, (ok) => {
      const proof = c.proof;
      if (!ok || !proof) return done(ok);
      const id = toHex(c.fields.member);
      const held = id === this.#selfId ? this.#selfAlive : this.#members.get(id)?.alive;
      if (held && bytesEqual(held.signature, proof.signature) && bytesEqual(held.body, proof.body)) return done(true);
      this.stats.verifies++;
      this.#host.verify(proof.fields.member, this.#signing(proof.body), proof.signature, done);
    });
  }

  /** The claim this node holds about `c`'s member when it is of a strictly higher rank. */
  #newerThan(c: ClaimWire): ClaimWire | null {
    const f = c.fields;
    const id = toHex(f.member);
    if (id === this.#selfId) {
      const mine = this.#left ? this.#selfLeft : this.#selfAlive;
      if (!mine || f.generation > this.#host.generation) return null;
      return compareRank(this.#host.generation, mine.fields.incarnation, f.generation, f.incarnation) > 0 ? mine : null;
    }
    const m = this.#members.get(id);
    if (!m || compareRank(m.generation, m.incarnation, f.generation, f.incarnation) <= 0) return null;
    return m.claim;
  }

  /** Whether a claim would change this node's view (cheap; decides whether to verify it). */
  #wants(c: ClaimWire, source: Source): boolean {
    const f = c.fields;
    const id = toHex(f.member);
    if (id === this.#selfId) {
      const accusation = f.kind === CLAIM_KIND.SUSPECT || f.kind === CLAIM_KIND.DEAD;
      return accusation && !this.#left && f.generation === this.#host.generation && f.incarnation >= this.#incarnation;
    }
    const m = this.#members.get(id);
    if (!m) {
      if (f.kind !== CLAIM_KIND.ALIVE) return false; // accusations of, and farewells from, strangers change nothing here
      const gone = this.#gone.get(id);
      if (gone && compareRank(f.generation, f.incarnation, gone.generation, gone.incarnation) <= 0) return false;
      // A full table takes newcomers only from shuffles (which make room); news of members it
      // does not track is left to the nodes that do.
      return this.#members.size < this.#o.membersMax || source === "shuffle";
    }
    const e = effectOf(f.kind, f.generation, f.incarnation, m);
    if (e === "change") return true;
    if (e === "none") return false;
    const s = m.suspicion;
    return !!s && !s.confirmers.has(toHex(f.claimer!)) && s.confirmers.size <= this.#params().expected;
  }

  /** Applies a verified (or own) claim. */
  #accept(now: number, c: ClaimWire, source: Source): void {
    const f = c.fields;
    const id = toHex(f.member);
    if (id === this.#selfId) {
      if (f.kind === CLAIM_KIND.SUSPECT || f.kind === CLAIM_KIND.DEAD) this.#refute(f.generation, f.incarnation);
      return;
    }
    const news = source !== "intro" && source !== "shuffle";
    let m = this.#members.get(id);
    if (m && c.proof && compareRank(f.generation, f.incarnation, m.generation, m.incarnation) > 0) {
      // An accusation of a rank this node has not seen yet: its proof is the member's own alive
      // claim at that rank, so take that first (as if it had arrived on its own), then the accusation.
      this.#accept(now, c.proof, source);
      m = this.#members.get(id);
    }
    if (!m) {
      if (f.kind !== CLAIM_KIND.ALIVE) return;
      if (this.#members.size >= this.#o.membersMax && !this.#evictPassive()) return;
      m = { id, key: f.member, state: "alive", generation: f.generation, incarnation: f.incarnation, claim: c, alive: c, addr: f.addr, changedAt: now, suspicion: null };
      this.#members.set(id, m);
      this.#gone.delete(id);
      this.#live++;
      this.stats.claimsAccepted++;
      this.#emitMember(m, null);
      if (news) this.#queue.push(id, c);
      return;
    }
    const e = effectOf(f.kind, f.generation, f.incarnation, m);
    if (e === "none") return;
    this.stats.claimsAccepted++;
    if (e === "confirm") {
      const s = m.suspicion;
      const who = toHex(f.claimer!);
      if (!s || s.confirmers.has(who)) return;
      s.confirmers.add(who);
      s.deadline = s.startedAt + this.#suspicionMs(m, s.confirmers.size - 1);
      if (news) this.#queue.push(id, c, true);
      return;
    }
    const previous = m.state;
    const wasLive = previous === "alive" || previous === "suspect";
    m.state = stateOf(f.kind);
    m.generation = f.generation;
    m.incarnation = f.incarnation;
    m.claim = c;
    if (f.kind === CLAIM_KIND.ALIVE) {
      m.alive = c;
      m.addr = f.addr;
    }
    const isLive = m.state === "alive" || m.state === "suspect";
    this.#live += (isLive ? 1 : 0) - (wasLive ? 1 : 0);
    if (m.state === "suspect") {
      m.suspicion = { startedAt: now, confirmers: new Set([toHex(f.claimer!)]), deadline: now + this.#suspicionMs(m, 0), declaring: false };
      this.#suspects.add(id);
    } else {
      m.suspicion = null;
      this.#suspects.delete(id);
    }
    if (previous !== m.state) {
      m.changedAt = now;
      this.#emitMember(m, previous);
    }
    if (news) this.#queue.push(id, c);
  }

  /** Someone accused this node: outbid the accusation with a newer alive claim. */
  #refute(generation: number, incarnation: number): void {
    if (this.#left || generation !== this.#host.generation || incarnation < this.#incarnation) return;
    this.#incarnation = incarnation + 1;
    this.stats.refutations++;
    this.#health.apply(1); // being suspected hints that this node is the slow one
    this.#signAlive();
  }

  /**
   * When this node declares a suspect dead itself. Its accusers (the nodes that failed to reach it)
   * do so at the deadline; everyone else waits half a minimum suspicion more and, normally, just
   * accepts an accuser's claim meanwhile — else every node that heard the suspicion would sign a
   * death of its own. Should every accuser be gone, the others still declare it.
   */
  #declareAt(s: Suspicion): number {
    return s.confirmers.has(this.#selfId) ? s.deadline : s.deadline + this.#params().minMs / 2;
  }

  #params(): SuspicionParams {
    return suspicionParams(this.size, this.#o);
  }

  /** Makes room in a full table: the oldest-learned member this node is not linked to goes. */
  #evictPassive(): boolean {
    const linked = this.#linkedPeers();
    for (const m of this.#members.values()) {
      if (linked.has(m.id) || m.state === "suspect") continue;
      this.#remove(m);
      return true;
    }
    return false;
  }

  #remove(m: Member): void {
    this.#members.delete(m.id);
    this.#suspects.delete(m.id);
    this.#queue.drop(m.id);
    if (m.state === "alive" || m.state === "suspect") this.#live--;
  }

  // ---------------------------------------------------------------- dissemination and views

  /**
   * A CLAIMS frame of its own carries up to `claimsPerFrameMax` queued claims, not just the
   * `claimsPerMessageMax` that ride on a PING or ACK: links are streams, not UDP datagrams, so a
   * burst of news (a partition healing: every member refutes at once) drains in a few rounds
   * instead of 16 claims per peer per round. Each claim is still sent at most `retransmitLimit`
   * times, so the bytes are the same; they just go sooner.
   */
  #gossip(): void {
    const peers = this.#distinctLinks();
    for (const link of sample(this.#rng, peers, this.#o.memberGossipFanout)) {
      const claims = this.#claimsFor(link.peerId, this.#o.claimsPerFrameMax);
      if (claims.length) this.#sendFrame(link.id, { type: MEMBER_FRAME.CLAIMS, claims });
      if (!this.#queue.size) break;
    }
  }

  /** Claims to piggyback to `peerId`: first what is said about the peer itself (so it can refute), then queued news. */
  #claimsFor(peerId: string | null, max = this.#o.claimsPerMessageMax): ClaimWire[] {
    const out: ClaimWire[] = [];
    const m = peerId ? this.#members.get(peerId) : undefined;
    if (m && (m.state === "suspect" || m.state === "dead")) out.push(m.claim);
    const limit = retransmitLimit(this.size, this.#o.retransmitMult);
    return out.concat(this.#queue.take(max - out.length, limit, out[0], peerId));
  }

  /** Claims to piggyback on a frame the peer made this node send, within the link's allowance. */
  #claimsInAnswer(now: number, link: LinkInfo): ClaimWire[] {
    const n = Math.min(this.#o.claimsPerMessageMax, Math.floor(link.piggyback.room(now)));
    const claims = n > 0 ? this.#claimsFor(link.peerId, n) : [];
    link.piggyback.spend(now, claims.length);
    return claims;
  }

  /**
   * The whole view, in SYNC chunks; only the first asks for an answer. Sent in answer to the
   * peer's own SYNC (`answerAt` set), the chunks are charged to the link's answer budget and stop
   * where it runs out: a SYNC of a few bytes must not buy the whole table again and again.
   */
  #sendView(linkId: LinkId, flags: number, answerAt?: number): void {
    const claims: ClaimWire[] = [];
    if (this.#left && this.#selfLeft) claims.push(this.#selfLeft);
    else if (this.#selfAlive) claims.push(this.#selfAlive);
    for (const m of this.#members.values()) claims.push(m.claim); // an accusation carries the accused's alive claim
    if (!claims.length && !(flags & SYNC_FLAG.WANT)) return;
    const per = this.#o.claimsPerFrameMax;
    for (let k = 0; k < claims.length || k === 0; k += per) {
      const f: MemberFrame = { type: MEMBER_FRAME.SYNC, flags: k === 0 ? flags : 0, claims: claims.slice(k, k + per) };
      const bytes = encodeMemberFrame(f);
      if (answerAt !== undefined && !this.#host.answer(linkId, answerAt, bytes.length)) return;
      this.stats.claimsSent += f.claims.length;
      this.#host.send(linkId, bytes);
      if (!claims.length) break;
    }
  }

  /** This node's alive claim and a random sample of alive members' (not the peer's own). */
  #sampleAlive(exceptId: string | null): ClaimWire[] {
    const alive: ClaimWire[] = [];
    for (const m of this.#members.values()) if (m.state === "alive" && m.alive && m.id !== exceptId) alive.push(m.alive);
    const out = sample(this.#rng, alive, this.#o.shuffleLength - 1);
    if (this.#selfAlive) out.unshift(this.#selfAlive);
    return out;
  }

  /** Push-pull, shuffles and seeds. */
  #periodic(now: number): void {
    const peers = this.#distinctLinks();
    if (now >= this.#nextPushPullAt) {
      this.#nextPushPullAt = now + this.#o.pushPullIntervalMs;
      if (peers.length) this.#sendView(peers[randomBelow(this.#rng, peers.length)].id, SYNC_FLAG.WANT);
    }
    if (now >= this.#nextShuffleAt) {
      this.#nextShuffleAt = now + this.#o.shuffleIntervalMs;
      if (peers.length) {
        const link = peers[randomBelow(this.#rng, peers.length)];
        this.#sendFrame(link.id, { type: MEMBER_FRAME.SHUFFLE, flags: 0, claims: this.#sampleAlive(link.peerId) });
      }
    }
    if (now >= this.#nextSeedAt) {
      this.#nextSeedAt = now + this.#o.seedRetryMs;
      this.#retrySeeds(now, peers);
      this.#reconnect(now, peers);
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
  #reconnect(now: number, peers: LinkInfo[]): void {
    const linked = new Set(peers.map((l) => l.peerId!));
    const dead: Member[] = [];
    for (const m of this.#members.values()) if (m.state === "dead" && !linked.has(m.id) && !this.#wanted.has(m.id)) dead.push(m);
    if (!dead.length || randomUnit(this.#rng) >= dead.length / Math.max(1, this.#live)) return;
    const m = dead[randomBelow(this.#rng, dead.length)];
    this.#want(now, m.id, m.key);
  }

  #retrySeeds(now: number, peers: LinkInfo[]): void {
    if (!this.#seeds.size) return;
    const linked = new Set(peers.map((l) => l.peerId!));
    const due = (id: string) => id !== this.#selfId && !linked.has(id) && !((this.#wanted.get(id) ?? -Infinity) > now - this.#o.seedRetryMs / 2);
    if (this.#seeds.has(this.#selfId)) {
      for (const id of this.#seeds) if (due(id)) this.#want(now, id, this.#seedKeys.get(id)!);
    } else if (linked.size === 0) {
      const candidates = [...this.#seeds].filter(due);
      if (candidates.length) {
        const id = candidates[randomBelow(this.#rng, candidates.length)];
        this.#want(now, id, this.#seedKeys.get(id)!);
      }
    }
  }

  /** Once a period: collect the long dead, drop links to the dead, keep the active view filled. */
  #maintain(now: number): void {
    const ttl = this.#o.deadMemberTtlMs;
    for (const [id, g] of this.#gone) if (now - g.at >= ttl) this.#gone.delete(id);
    for (const m of [...this.#members.values()]) {
      if ((m.state !== "dead" && m.state !== "left") || now - m.changedAt < ttl) continue;
      this.#remove(m);
      if (this.#gone.size < this.#o.membersMax) this.#gone.set(m.id, { generation: m.generation, incarnation: m.incarnation, at: now });
      this.#host.forget(m.key, now);
    }
    for (const [id, at] of this.#wanted) if (now - at >= WANT_RETRY_MS) this.#wanted.delete(id);
    if (this.#left) return;
    for (const link of this.#links.values()) {
      if (link.disconnectAt !== undefined && now - link.disconnectAt >= this.#o.probeIntervalMs) {
        link.disconnectAt = undefined; // told, but the peer has not closed it: close it from here
        this.#host.emit({ type: "drop-link", linkId: link.id, reason: "active view full" });
      }
      if (!link.peerId || link.dropping) continue;
      const m = this.#members.get(link.peerId);
      // A dead member whose link still carries frames is alive after all: it will hear the claim
      // in the next PING and refute; only a silent one is let go.
      const dead = m && (m.state === "left" || (m.state === "dead" && link.lastFrameAt < m.changedAt));
      if (dead) this.#drop(link, m.state === "left" ? "member left" : "member dead");
    }
    const peers = this.#distinctLinks();
    const max = this.#o.activeViewMax;
    if (max > 0 && peers.length > max) {
      const spare = peers.filter((l) => !this.#seeds.has(l.peerId!));
      if (spare.length) this.#disconnect(now, spare[randomBelow(this.#rng, spare.length)]);
    }
    if (peers.length < this.#activeViewTarget() && ![...this.#wanted.values()].some((at) => now - at < this.#o.probeIntervalMs * 5)) {
      const linked = new Set(peers.map((l) => l.peerId!));
      const passive = [...this.#members.values()].filter((m) => m.state === "alive" && !linked.has(m.id) && !this.#wanted.has(m.id));
      if (passive.length) {
        const m = passive[randomBelow(this.#rng, passive.length)];
        this.#want(now, m.id, m.key);
      }
    }
  }

  #activeViewTarget(): number {
    return this.#o.activeViewSize > 0 ? this.#o.activeViewSize : Math.max(3, Math.ceil(Math.log10(this.size + 1)) + 1);
  }

  #want(now: number, id: string, key: Uint8Array): void {
    this.#wanted.set(id, now);
    this.stats.wantLinks++;
    this.#host.emit({ type: "want-link", peer: key, addr: this.#members.get(id)?.addr ?? null });
  }

  /**
   * Lets a link to a live peer go (HyParView's DISCONNECT): the peer is told first and closes the
   * link, so it knows this node is still up and does not suspect it for the link going down.
   */
  #disconnect(now: number, link: LinkInfo): void {
    this.#release(link);
    link.disconnectAt = now;
    this.#sendFrame(link.id, { type: MEMBER_FRAME.SHUFFLE, flags: SHUFFLE_FLAG.REPLY | SHUFFLE_FLAG.DISCONNECT, claims: [] });
  }

  #drop(link: LinkInfo, reason: string): void {
    this.#release(link);
    this.#host.emit({ type: "drop-link", linkId: link.id, reason });
  }

  /** Stops using a link that is being let go: no probes over it, no suspicion when it goes down. */
  #release(link: LinkInfo): void {
    link.dropping = true;
    this.stats.dropLinks++;
    this.#forgetProbes(link.id);
  }

  // ---------------------------------------------------------------- plumbing

  #sendFrame(linkId: LinkId, f: MemberFrame): void {
    if ("claims" in f) this.stats.claimsSent += f.claims.length;
    this.#host.send(linkId, encodeMemberFrame(f));
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) % 0x1_0000_0000;
    return this.#seq;
  }

  #distinctLinks(): LinkInfo[] {
    const seen = new Set<string>();
    const out: LinkInfo[] = [];
    for (const l of this.#links.values()) {
      if (!l.peerId || l.dropping || seen.has(l.peerId)) continue;
      seen.add(l.peerId);
      out.push(l);
    }
    return out;
  }

  #linkedPeers(): Set<string> {
    const s = new Set<string>();
    for (const l of this.#links.values()) if (l.peerId && !l.dropping) s.add(l.peerId);
    return s;
  }

  #info(m: Member, linked: Set<string>): MemberInfo {
    const accused = m.state === "suspect" || m.state === "dead";
    return {
      id: m.key, state: m.state, generation: m.generation, incarnation: m.incarnation, addr: m.addr,
      since: m.changedAt, claimer: accused ? m.claim.fields.claimer : null, linked: linked.has(m.id),
    };
  }

  #emitMember(m: Member, previous: MemberState | null): void {
    const accused = m.state === "suspect" || m.state === "dead";
    this.#host.emit({
      type: "member", member: m.key, state: m.state, previous, generation: m.generation, incarnation: m.incarnation,
      claimer: accused ? m.claim.fields.claimer : null, addr: m.addr,
    });
  }

  #rearm(): void {
    if (!this.enabled) {
      this.#wakeAt = Infinity;
      return;
    }
    // Gossip waits only on its own pace: news queued after a quiet spell goes out at once.
    let t = Math.min(this.#nextMaintainAt, this.#queue.size ? Math.max(this.#nextGossipAt, this.#clock) : Infinity);
    if (!this.#left) {
      t = Math.min(t, this.#nextProbeAt, this.#nextPushPullAt, this.#nextShuffleAt, this.#seeds.size ? this.#nextSeedAt : Infinity);
      for (const p of this.#probes.values()) {
        if (!p.acked) t = Math.min(t, p.indirect ? Math.min(p.retryAt, p.endAt) : p.directDeadline);
      }
      for (const id of this.#suspects) {
        const s = this.#members.get(id)!.suspicion!;
        if (!s.declaring) t = Math.min(t, this.#declareAt(s));
      }
    }
    for (const r of this.#relays.values()) t = Math.min(t, r.deadline);
    // A deadline already past (a suspicion shortened by confirmations) is due now, not late.
    this.#wakeAt = Math.max(t, this.#clock);
  }
}
