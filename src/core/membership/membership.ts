/**
 * Membership and failure detection: SWIM with Lifeguard over the engine's links, plus a
 * HyParView-style view of which links to keep. This module is the coordinator: it owns the link
 * table and the clock, routes frames and time to the parts, and implements the subsystem contract
 * (`subsystem.ts`).
 *
 * Who is in the mesh is a table of signed claims (`claims.ts`): a member announces itself with an
 * `alive` claim and says goodbye with a `left` claim, both signed by itself; a node that cannot
 * reach a member accuses it with a `suspect` claim and, if nobody refutes it in time, a `dead`
 * claim, both signed by the accuser. Only the member can refute (a newer `alive`), so a false
 * accusation costs the accuser nothing but is attributable to it.
 *
 * The parts, one concern each:
 * - `table.ts`: the member table — records, precedence, removal, eviction, the live count;
 * - `intake.ts`: claims coming in — what to verify, corrections, what an accepted claim does;
 * - `detector.ts`: probes, PING_REQ relays, suspicions turning into deaths (Lifeguard timing);
 * - `self.ts`: this node's own claims — incarnation, stated lag, refutation, farewell;
 * - `dissemination.ts`: claims going out — piggyback, gossip, SYNC views;
 * - `views.ts`: HyParView — active and passive views, shuffles, push-pull, seeds, reconnect;
 * - `timers.ts`, `links.ts`, `suspicion.ts`, `signer.ts`, `context.ts`: what they share.
 * Parts never import each other in a circle: they talk through this coordinator or through
 * functions it hands them.
 *
 * Call order is the engine's: every input carries `now`, and after each one the next wake-up is
 * recomputed (`wakeAt()`); `tick(now)` no later than that. Signatures go out as jobs and come back
 * as callbacks at the engine's time (`host.now()`); randomness comes from the injected generator,
 * drawn from in one fixed order, so one seed reproduces a run. Every table and queue is bounded.
 *
 * @module
 */

import { toHex } from "../../bytes.ts";
import { CLAIM_KIND, IDS_OP, MEMBER_FRAME, SHUFFLE_FLAG, SYNC_FLAG, type ClaimWire, type MemberFrame } from "../../wire/member-frames.ts";
import { ClaimQueue, type MemberState } from "../claims.ts";
import type { LinkId } from "../events.ts";
import { LocalHealth } from "../lifeguard.ts";
import type { EngineOptions } from "../options.ts";
import { randomBelow, type Rng } from "../random.ts";
import type { Subsystem } from "../subsystem.ts";
import { Context, type MembershipHost, type MembershipStats } from "./context.ts";
import { FailureDetector } from "./detector.ts";
import { Dissemination, piggybackAllowance } from "./dissemination.ts";
import { ClaimIntake } from "./intake.ts";
import { heardOn, LinkTable, type PeerLink } from "./links.ts";
import { SelfClaims } from "./self.ts";
import { ClaimSigner } from "./signer.ts";
import { MemberTable, type MemberInfo } from "./table.ts";
import { Timers } from "./timers.ts";
import { Views } from "./views.ts";

/** Quiet shuffles double the shuffle period at most this many times (to 4 × `shuffleIntervalMs`). */
const QUIET_SHUFFLE_DOUBLINGS = 2;

export type { MembershipHost, MembershipStats } from "./context.ts";
export type { MemberInfo } from "./table.ts";

/** What can be read of a node's membership (for a facade that must not drive it). */
export interface ReadonlyMembership {
  readonly enabled: boolean;
  readonly stats: Readonly<MembershipStats>;
  /** Lifeguard's local health score (0 = healthy). */
  readonly awareness: number;
  /** This node's incarnation (bumped by every refutation). */
  readonly incarnation: number;
  /** This node's own signed alive claim, once signed. */
  readonly selfClaim: ClaimWire | null;
  /** Whether this node has said farewell. */
  readonly left: boolean;
  /** The lag (ms) this node's own alive claim states (see `suspicionLagMult`). */
  readonly statedLag: number;
  /** How many members the table holds (any state). */
  readonly known: number;
  /** Alive and suspect members known, this node included: the n of the timeouts. */
  readonly size: number;
  /** Every member this node knows (itself excluded). */
  members(): MemberInfo[];
  /** One member, or undefined. */
  member(id: Uint8Array): MemberInfo | undefined;
  /** The state of the member with hex id `id` in this node's view (cheap; for checks over many). */
  stateOf(id: string): MemberState | undefined;
  /** The lag (ms) the newest alive claim of the member with hex id `id` states; 0 when none. */
  lagOf(id: string): number;
}

type TimerName = "probe" | "gossip" | "maintain" | "pushPull" | "shuffle" | "seed";

/** SWIM + Lifeguard membership of one node. */
export class Membership implements Subsystem<MemberFrame>, ReadonlyMembership {
  readonly stats: MembershipStats;
  readonly enabled: boolean;
  #host: MembershipHost;
  #o: EngineOptions;
  #cx: Context;
  #links = new LinkTable();
  #health: LocalHealth;
  #table: MemberTable;
  #self: SelfClaims;
  #spread: Dissemination;
  #intake: ClaimIntake;
  #detector: FailureDetector;
  #views: Views;
  #timers: Timers<TimerName>;
  #wakeAt = Infinity;
  /** Links that came up or went down (with the table's version: has the view changed since the last shuffle?). */
  #linkChanges = 0;
  /** The view as of the last shuffle, and how many shuffles in a row found it unchanged. */
  #shuffledView = -1;
  #quietShuffles = 0;
  /** The view (table version plus link changes) at which upkeep found nothing to do (-1: it had some). */
  #settledAt = -1;
  /** When a probe turn next has work (`detector.probeDueAt`), and the view and probe epoch it was worked out at. */
  #probeDue = { at: -Infinity, view: -1, epoch: -1 };
  /** The latest time seen: any input's `now`, or the engine's when a job's result comes back. */
  #clock: number;

  /** @param roundsAt the node's next gossip round: probes and view upkeep start then (one wake-up for all) */
  constructor(host: MembershipHost, random: Rng, now: number, roundsAt?: number) {
    const o = host.options;
    this.#host = host;
    this.#o = o;
    this.enabled = o.membership;
    this.#clock = now;
    const clock = { now: () => this.#clock, resume: () => this.#observe(host.now()) };
    const cx = (this.#cx = new Context(host, random, toHex(host.id), clock, () => this.#rearm()));
    this.stats = cx.stats;
    const queue = new ClaimQueue(o.claimQueueMax);
    this.#health = new LocalHealth(o.awarenessMax, o.lifeguard);
    const signer = new ClaimSigner(cx);
    const table = (this.#table = new MemberTable(o, cx.stats, (id) => queue.drop(id)));
    const self = (this.#self = new SelfClaims(cx, signer, this.#health, queue, this.#links));
    const spread = (this.#spread = new Dissemination(cx, queue, table, self, this.#links));
    const intake = (this.#intake = new ClaimIntake(cx, table, self, signer, queue, this.#links, (c, linkId) => spread.heard(this.#clock, c, linkId)));
    const views = (this.#views = new Views(cx, table, this.#links, spread, self, (linkId) => this.#detector.forgetLink(linkId)));
    this.#detector = new FailureDetector(cx, table, this.#links, spread, signer, this.#health, {
      accept: (at, c, source) => intake.accept(at, c, source),
      activeViewTarget: () => views.activeViewTarget(),
      left: () => self.left,
    });
    // Each periodic task starts at a random time, so nodes started together do not beat in step,
    // put forward onto the node's round grid (its gossip rounds' phase, `roundsAt`): a node wakes
    // once a round for all its periodic work. These are the first draws of membership's random
    // stream, in this order.
    const grid = Math.min(o.intervalMs, o.probeIntervalMs); // rounds far apart (a long interval) leave probes at their own pace
    const snap = (t: number) => (roundsAt !== undefined && Number.isFinite(roundsAt) ? roundsAt + Math.ceil((t - roundsAt) / grid) * grid : t);
    const phase = (ms: number) => snap(now + randomBelow(random, Math.max(1, Math.floor(ms))));
    const probe = phase(o.probeIntervalMs);
    const maintain = phase(o.probeIntervalMs);
    const pushPull = o.pushPullIntervalMs > 0 ? phase(o.pushPullIntervalMs) + o.pushPullIntervalMs : Infinity;
    const shuffle = phase(o.shuffleIntervalMs) + o.shuffleIntervalMs;
    const seed = phase(o.seedRetryMs);
    this.#timers = new Timers<TimerName>({ probe, gossip: now, maintain, pushPull, shuffle, seed });
    if (this.enabled) self.signAlive();
    this.#rearm();
  }

  // ---------------------------------------------------------------- reading

  /** Earliest time `tick` has work. */
  wakeAt(): number {
    return this.#wakeAt;
  }

  get awareness(): number {
    return this.#health.score;
  }

  get incarnation(): number {
    return this.#self.incarnation;
  }

  get selfClaim(): ClaimWire | null {
    return this.#self.alive;
  }

  get left(): boolean {
    return this.#self.left;
  }

  get statedLag(): number {
    return this.#self.statedLag;
  }

  get known(): number {
    return this.#table.count;
  }

  get size(): number {
    return this.#table.size;
  }

  members(): MemberInfo[] {
    const linked = this.#links.linkedPeers();
    return [...this.#table.values()].map((m) => this.#table.info(m, linked));
  }

  member(id: Uint8Array): MemberInfo | undefined {
    const m = this.#table.get(toHex(id));
    return m ? this.#table.info(m, this.#links.linkedPeers()) : undefined;
  }

  stateOf(id: string): MemberState | undefined {
    return this.#table.get(id)?.state;
  }

  lagOf(id: string): number {
    return this.#table.get(id)?.alive?.fields.lag ?? 0;
  }

  // ---------------------------------------------------------------- inputs

  /** Nodes to keep linked to (relays, in the simulator any nodes): see `views.ts`. */
  setSeeds(ids: readonly Uint8Array[]): void {
    this.#views.setSeeds(ids);
  }

  /**
   * Claims learned out of band (a cached view, a simulation's warm start): verified like any
   * others, but not gossiped on as news.
   */
  introduce(now: number, claims: readonly ClaimWire[]): void {
    if (!this.enabled) return;
    this.#observe(now);
    this.#intake.receive(null, claims, "intro");
    this.#rearm();
  }

  linkUp(now: number, linkId: LinkId, peer: Uint8Array | null): void {
    this.#observe(now);
    const peerId = peer ? toHex(peer) : null;
    this.#links.set({ id: linkId, peer, peerId, lastFrameAt: now, gapMs: Infinity, probedAt: -Infinity, dropping: false, piggyback: piggybackAllowance(this.#o, now), relaying: 0 });
    this.#linkChanges++;
    if (peerId) this.#views.linked(peerId);
    this.#spread.linked();
    // A new link starts with both sides sending their whole view.
    if (this.enabled && peer && !this.#self.left) this.#spread.sendView(linkId, 0);
    this.#rearm();
  }

  linkDown(now: number, linkId: LinkId): void {
    this.#observe(now);
    const link = this.#links.delete(linkId);
    this.#linkChanges++;
    if (!link?.peerId || !this.enabled || this.#self.left) return this.#rearm();
    this.#detector.forgetLink(linkId);
    // The link was how this node watched the peer: with no other link to it, nobody here can
    // probe it, so say so. If it is alive and linked elsewhere it refutes; else it dies in time.
    const m = this.#table.get(link.peerId);
    if (m && m.state === "alive" && !this.#links.reaches(link.peerId) && !link.dropping) this.#detector.linkLost(now, link.peerId);
    this.#rearm();
  }

  /**
   * A frame of any subsystem came over a link: its peer is alive now, so the failure detector need
   * not probe it for a while (see `detector.ts`). Called by the engine before the frame is decoded.
   */
  heard(now: number, linkId: LinkId): void {
    const link = this.#links.get(linkId);
    if (link) heardOn(link, now);
  }

  /** A decoded membership frame (types 8–14) from a link. Throws a remote `GrapevineError` for a bad one. */
  receive(now: number, linkId: LinkId, frame: MemberFrame): void {
    this.#observe(now);
    const link = this.#links.get(linkId);
    if (!link || !this.enabled) return; // the engine has told `heard` of the frame already
    try {
      this.#route(now, link, frame);
    } finally {
      this.#rearm();
    }
  }

  /** Time passes: probes, suspicion timeouts, gossip, view upkeep. */
  tick(now: number): void {
    this.#observe(now);
    if (!this.enabled) return;
    const o = this.#o;
    // Woken late: this node itself is slow (a starved process, a throttled tab).
    if (this.#wakeAt !== Infinity && now - this.#wakeAt > o.probeIntervalMs / 2) this.#self.wokeLate(now, now - this.#wakeAt);
    this.#self.restateLag(now);
    this.#detector.expireRelays(now);
    if (!this.#self.left) {
      this.#detector.advance(now);
      if (this.#timers.fire("probe", now, this.#health.scale(o.probeIntervalMs))) {
        this.#detector.startPeriod(now);
        this.#spread.announce(now);
      }
      this.#detector.accuseLost(now);
      this.#detector.declareDue(now);
    }
    if (this.#spread.pending && this.#timers.fire("gossip", now, o.memberGossipIntervalMs)) this.#spread.gossip(now);
    if (this.#timers.fire("maintain", now, o.probeIntervalMs)) this.#maintain(now);
    if (!this.#self.left) this.#periodic(now);
    this.#rearm();
  }

  /** Says farewell: a `left` claim (pre-signed when possible) goes to every link at once. */
  leave(now: number): void {
    this.#observe(now);
    if (!this.enabled || this.#self.left) return;
    this.#detector.stop();
    this.#self.leave();
    this.#rearm();
  }

  // ---------------------------------------------------------------- routing

  #route(now: number, link: PeerLink, f: MemberFrame): void {
    switch (f.type) {
      case MEMBER_FRAME.PING:
        link.gapMs = Infinity; // the peer is probing this link: it is a quiet one (see the detector's `#quietUntil`)
        this.#intake.receive(link.id, f.claims, "gossip");
        if (!this.#self.left) this.#cx.send(link.id, { type: MEMBER_FRAME.ACK, seq: f.seq, claims: this.#spread.claimsInAnswer(now, link) });
        return;
      case MEMBER_FRAME.ACK:
        this.#intake.receive(link.id, f.claims, "gossip");
        return this.#detector.onAck(this.#clock, f);
      case MEMBER_FRAME.PING_REQ:
        this.#intake.receive(link.id, f.claims, "gossip");
        return this.#detector.onPingReq(now, link, f);
      case MEMBER_FRAME.NACK:
        return this.#detector.onNack(f);
      case MEMBER_FRAME.CLAIMS:
        return this.#intake.receive(link.id, f.claims, "gossip");
      case MEMBER_FRAME.SYNC:
        this.#intake.receive(link.id, f.claims, "sync");
        // The whole view in answer at most once a protocol period per link: a push-pull needs no
        // more, and a peer asking without pause must not buy the table again and again.
        if (f.flags & SYNC_FLAG.WANT && !this.#self.left && !(now - (link.viewAnsweredAt ?? -Infinity) < this.#cx.options.probeIntervalMs)) {
          link.viewAnsweredAt = now;
          this.#spread.sendView(link.id, 0, now);
        }
        return;
      case MEMBER_FRAME.IDS:
        this.#spread.onIds(now, link.id, f);
        if (f.op === IDS_OP.SAMPLE && !this.#self.left) this.#views.answerSample(now, link);
        return;
      case MEMBER_FRAME.SHUFFLE:
        if (f.flags & SHUFFLE_FLAG.DISCONNECT) return this.#views.letGo(link);
        this.#intake.receive(link.id, f.claims, "shuffle");
        if (!(f.flags & SHUFFLE_FLAG.REPLY) && !this.#self.left) this.#views.answerShuffle(now, link);
        return;
    }
  }

  // ---------------------------------------------------------------- time

  /** Once a period: collect the long dead, then keep the active view (see `views.ts`). */
  #maintain(now: number): void {
    for (const m of this.#table.collect(now)) this.#host.forget(m.key, now);
    this.#views.expireWants(now);
    if (!this.#self.left) this.#views.maintain(now);
    // Nothing left to collect, watch or mend: upkeep sleeps until the table or the links change.
    const t = this.#table;
    const settled = t.count === t.live && t.goneCount === 0 && !this.#self.lagging && (this.#self.left || this.#views.settled());
    this.#settledAt = settled ? t.version + this.#linkChanges : -1;
  }

  /** Push-pull, shuffles and seeds, each on its own period. */
  #periodic(now: number): void {
    const o = this.#o;
    const peers = this.#links.distinct();
    if (this.#timers.fire("pushPull", now, o.pushPullIntervalMs)) this.#views.pushPull(peers);
    if (now >= this.#timers.at("shuffle") && this.#timers.fire("shuffle", now, this.#shuffleEvery())) this.#views.shuffle(peers);
    if (this.#timers.fire("seed", now, o.seedRetryMs)) {
      this.#views.retrySeeds(now, peers);
      this.#views.reconnect(now, peers);
    }
  }

  /**
   * The period until the next shuffle, decided as one goes out: `shuffleIntervalMs` while the view
   * changes, and twice, then four times that once shuffles keep finding it as it was (no member
   * added, changed or removed, no link up or down since the last one). A shuffle refreshes passive
   * views; in a mesh where nothing changes, each one carries the same sample again, and shuffles
   * were most of a quiet mesh's bytes.
   */
  #shuffleEvery(): number {
    const view = this.#table.version + this.#linkChanges;
    this.#quietShuffles = view === this.#shuffledView ? this.#quietShuffles + 1 : 0;
    this.#shuffledView = view;
    return this.#o.shuffleIntervalMs * 2 ** Math.min(this.#quietShuffles, QUIET_SHUFFLE_DOUBLINGS);
  }

  #observe(now: number): void {
    this.#clock = Math.max(this.#clock, now);
  }

  /**
   * When the probe timer must wake this node: its next deadline while a turn may have work (news
   * waiting, a health score above zero, a lag being stated), else the first deadline of its grid
   * at or after the time a linked peer stops being heard from lately (`detector.probeDueAt`,
   * worked out again when the view changes or a probe turn is taken or ends: a frame from a peer
   * only makes it later).
   * A quiet node does not wake for probe turns that would pass every peer over.
   */
  #probeWake(view: number): number {
    const period = this.#health.scale(this.#o.probeIntervalMs);
    if (this.#spread.pending || this.#health.score > 0 || this.#self.lagging) return this.#timers.at("probe");
    const d = this.#probeDue;
    const epoch = this.#detector.epoch;
    if (d.view !== view || d.epoch !== epoch) {
      d.at = this.#detector.probeDueAt();
      d.view = view;
      d.epoch = epoch;
    }
    return this.#timers.gridAt("probe", d.at, period);
  }

  #rearm(): void {
    if (!this.enabled) {
      this.#wakeAt = Infinity;
      return;
    }
    const left = this.#self.left;
    // What this node waits on: upkeep until it has settled (see `#maintain`); probe turns when one
    // may have work (`#probeWake`); gossip only while news waits (it paces itself, so news queued
    // after a quiet spell goes out at once); the rest stops once it has left, and the seed timer
    // matters only with seeds (it still runs the reconnect when a tick comes by). A timer left out
    // keeps its phase, and fires with the next tick that comes by.
    const view = this.#table.version + this.#linkChanges;
    const waiting = (name: TimerName) => {
      switch (name) {
        case "maintain":
          return view !== this.#settledAt;
        case "probe":
          return false; // below
        case "gossip":
          return this.#spread.pending;
        case "seed":
          return !left && this.#views.hasSeeds;
        default:
          return !left;
      }
    };
    const t = Math.min(this.#timers.next(waiting), this.#detector.nextDeadline(), left ? Infinity : this.#probeWake(view));
    // A deadline already past (a suspicion shortened by confirmations) is due now, not late.
    this.#wakeAt = Math.max(t, this.#clock);
  }
}
