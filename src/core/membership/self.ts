/**
 * This node's own claims: its incarnation, the alive claim it signs (with the lag it states), the
 * farewell it keeps pre-signed, and its answer to accusations.
 *
 * Only a member can raise its own rank, so an accusation of this node at its current incarnation
 * or above is outbid by re-signing alive one incarnation higher (refutation); being accused also
 * raises Lifeguard's local health score, since it hints that this node is the slow one.
 *
 * The stated lag: when this node's timers run late by at least a protocol period (a starved
 * process, a throttled tab), its alive claim says by how much (rounded up to 100 ms, at most
 * `CLAIM_LAG_MS_MAX`), and others wait that much longer before declaring it dead. The lag decays
 * by half every `LAG_HALF_LIFE_MS` once timers run on time; it is re-stated (a new incarnation) when
 * it grew by half or decayed to a quarter, at most once per `LAG_ANNOUNCE_GAP_MS`.
 *
 * Invariants: one alive claim is being signed at a time (`signing`); if the incarnation moved on
 * meanwhile, the next is signed as soon as this one is done. The pre-signed farewell is kept only
 * while it is at the current incarnation. After `leave` nothing alive is signed or spread again.
 * A peer that sent a stale accusation of this node while the outbidding claim was being signed is
 * sent that claim once it is (at most one entry per link).
 *
 * @module
 */

import { CLAIM_KIND, CLAIM_LAG_MS_MAX, MEMBER_FRAME, type ClaimBody, type ClaimWire } from "../../wire/member-frames.ts";
import { compareRank, type ClaimQueue } from "../claims.ts";
import type { LinkId } from "../events.ts";
import type { LocalHealth } from "../lifeguard.ts";
import type { Context } from "./context.ts";
import type { LinkTable } from "./links.ts";
import type { ClaimSigner } from "./signer.ts";

/** The lag a node states decays by half in this long once its timers run on time again. */
const LAG_HALF_LIFE_MS = 5 * 60_000;
/** A node re-states its lag at most this often (each time is one alive claim gossiped to all). */
const LAG_ANNOUNCE_GAP_MS = 30_000;

/** What this node says about itself. */
export class SelfClaims {
  #cx: Context;
  #signer: ClaimSigner;
  #health: LocalHealth;
  #queue: ClaimQueue;
  #links: LinkTable;
  #incarnation = 0;
  #alive: ClaimWire | null = null;
  #farewell: ClaimWire | null = null;
  #signing = false;
  /** Links that sent a stale accusation of this node while its new alive claim was being signed. */
  #correctWhenSigned = new Set<LinkId>();
  #left = false;
  /** The latest worst lateness of this node's own timers, and when it was seen (it decays from there). */
  #lag = { ms: 0, at: 0 };
  /** The lag the current alive claim states. */
  #statedLag = 0;
  #nextLagAnnounceAt = 0;

  constructor(cx: Context, signer: ClaimSigner, health: LocalHealth, queue: ClaimQueue, links: LinkTable) {
    this.#cx = cx;
    this.#signer = signer;
    this.#health = health;
    this.#queue = queue;
    this.#links = links;
  }

  /** The incarnation (bumped by every refutation and restated lag). */
  get incarnation(): number {
    return this.#incarnation;
  }

  /** The signed alive claim, once signed. */
  get alive(): ClaimWire | null {
    return this.#alive;
  }

  /** Whether this node has said farewell. */
  get left(): boolean {
    return this.#left;
  }

  /** A lag is stated, or one is to be (timers ran a period or more late lately): `restateLag` has work as it decays. */
  get lagging(): boolean {
    return this.#statedLag > 0 || this.#lagToState(this.#cx.clock.now()) > 0;
  }

  /** The lag (ms) the alive claim states. */
  get statedLag(): number {
    return this.#statedLag;
  }

  /** An alive claim is being signed. */
  get signing(): boolean {
    return this.#signing;
  }

  /** The claim about this node its view carries: the farewell once signed after leaving, else the alive claim. */
  viewClaim(): ClaimWire | null {
    return this.#left && this.#farewell ? this.#farewell : this.#alive;
  }

  /** Timers ran `late` ms late at `now` (the coordinator noticed): local health and stated lag learn of it. */
  wokeLate(now: number, late: number): void {
    this.#cx.stats.lateTimers++;
    this.#health.apply(1);
    if (late > this.#lagAt(now)) this.#lag = { ms: late, at: now };
  }

  /** Whether a claim about this node needs an answer: an accusation at or above the current rank. */
  wants(c: ClaimWire): boolean {
    const f = c.fields;
    const accusation = f.kind === CLAIM_KIND.SUSPECT || f.kind === CLAIM_KIND.DEAD;
    return accusation && !this.#left && f.generation === this.#cx.host.generation && f.incarnation >= this.#incarnation;
  }

  /** This node's own claim when it outranks `c` (a claim about this node). */
  newerThan(c: ClaimWire): ClaimWire | null {
    const f = c.fields;
    const mine = this.#left ? this.#farewell : this.#alive;
    if (!mine || f.generation > this.#cx.host.generation) return null;
    return compareRank(this.#cx.host.generation, mine.fields.incarnation, f.generation, f.incarnation) > 0 ? mine : null;
  }

  /** Sends the alive claim being signed to `linkId` once it is (the link sent an accusation it outbids). */
  correctWhenSigned(linkId: LinkId): void {
    this.#correctWhenSigned.add(linkId);
  }

  /** Someone accused this node at `(generation, incarnation)`: outbid it with a newer alive claim. */
  refute(generation: number, incarnation: number): void {
    if (this.#left || generation !== this.#cx.host.generation || incarnation < this.#incarnation) return;
    this.#incarnation = incarnation + 1;
    this.#cx.stats.refutations++;
    this.#health.apply(1); // being suspected hints that this node is the slow one
    this.signAlive();
  }

  /**
   * Re-signs the alive claim (a new incarnation) when the lag it states is out of date: timers ran
   * half again later than stated, or the stated lag has decayed to a quarter (see the module doc).
   */
  restateLag(now: number): void {
    // Every tick: a node whose timers never ran late (lag.ms 0, so nothing stated) returns at once.
    if (!this.#lag.ms || !this.#cx.options.lifeguard || this.#left || !this.#alive || this.#signing || now < this.#nextLagAnnounceAt) return;
    const lag = this.#lagToState(now);
    const stated = this.#statedLag;
    if (!(lag > stated * 1.5 || (stated > 0 && lag < stated / 4))) return;
    this.#nextLagAnnounceAt = now + LAG_ANNOUNCE_GAP_MS;
    this.#cx.stats.lagAnnouncements++;
    this.#incarnation++;
    this.signAlive();
  }

  /** Signs the alive claim at the current incarnation, then pre-signs the farewell, so leaving needs no wait. */
  signAlive(): void {
    if (this.#signing) return;
    this.#signing = true;
    const incarnation = this.#incarnation;
    this.#statedLag = this.#lagToState(this.#cx.clock.now());
    this.#signer.sign(this.#body(CLAIM_KIND.ALIVE), (c) => {
      this.#signing = false;
      if (this.#left) return;
      this.#alive = c;
      this.#queue.push(this.#cx.selfId, c);
      for (const l of this.#correctWhenSigned) if (this.#links.has(l)) this.#cx.send(l, { type: MEMBER_FRAME.CLAIMS, claims: [c] });
      this.#correctWhenSigned.clear();
      this.#signer.sign(this.#body(CLAIM_KIND.LEFT), (l) => {
        if (l.fields.incarnation === this.#incarnation) this.#farewell = l;
      });
      if (incarnation !== this.#incarnation) this.signAlive();
      this.#cx.rearm();
    }, () => {
      this.#signing = false;
      this.#correctWhenSigned.clear();
    });
  }

  /** Says farewell: the `left` claim (pre-signed when it is current) is queued and sent to every link at once. */
  leave(): void {
    this.#left = true;
    const announce = (c: ClaimWire) => {
      this.#queue.push(this.#cx.selfId, c);
      for (const link of this.#links.values()) if (link.peer) this.#cx.send(link.id, { type: MEMBER_FRAME.CLAIMS, claims: [c] });
      this.#cx.rearm();
    };
    if (this.#farewell && this.#farewell.fields.incarnation === this.#incarnation) announce(this.#farewell);
    else this.#signer.sign(this.#body(CLAIM_KIND.LEFT), (c) => announce(c));
  }

  #body(kind: number): ClaimBody {
    const o = this.#cx.options;
    const addr = kind === CLAIM_KIND.ALIVE && o.addr ? o.addr : null;
    const body: ClaimBody = { kind, member: this.#cx.host.id, generation: this.#cx.host.generation, incarnation: this.#incarnation, claimer: null, addr };
    if (kind === CLAIM_KIND.ALIVE && this.#statedLag > 0) body.lag = this.#statedLag;
    return body;
  }

  /** The recent worst timer lateness, halving every `LAG_HALF_LIFE_MS`. */
  #lagAt(now: number): number {
    return this.#lag.ms * 2 ** (-(now - this.#lag.at) / LAG_HALF_LIFE_MS);
  }

  /**
   * The lag an alive claim signed now would state: with Lifeguard, the recent worst timer lateness
   * rounded up to 100 ms, when it is at least a protocol period (shorter hiccups are already inside
   * every suspicion timeout), capped at `CLAIM_LAG_MS_MAX`.
   */
  #lagToState(now: number): number {
    if (!this.#cx.options.lifeguard) return 0;
    const lag = this.#lagAt(now);
    return lag < this.#cx.options.probeIntervalMs ? 0 : Math.min(CLAIM_LAG_MS_MAX, Math.ceil(lag / 100) * 100);
  }
}
