/**
 * The link a relay hands to its node: it wraps the transport's link, counts every frame, enforces
 * the per-link limits (frame size, bytes per second, forwards per second) before anything is
 * decoded, and takes FORWARD frames addressed to other peers out of the stream so the relay can
 * route them. Frames for the relay itself go to the node unchanged.
 *
 * Misbehaviour the relay can prove on its own (a forged `from`, a malformed FORWARD) goes to the
 * link's one ledger, the node's (`GuardHost.fault`), where gossip faults count too, once the link is
 * authenticated; before that, and for floods (rate limits bound what a link costs; they are not
 * proof of malice), the guard keeps points that decay over time and closes the link at
 * {@link PENALTY_THRESHOLD}.
 *
 * @module
 */

import { bytesEqual } from "../src/bytes.ts";
import { GrapevineError } from "../src/errors.ts";
import type { Link } from "../src/transport/link.ts";
import { FORWARD_HOPS_MAX } from "../src/wire/link-frames.ts";
import { looksLikeForward, readForward, withNextHop, type ForwardHeader } from "./forward.ts";
import { TokenBucket, type RelayLimits } from "./limits.ts";
import type { RelayCounters } from "./metrics.ts";

/** Points at which the relay closes a link. */
export const PENALTY_THRESHOLD = 100;
/** Points forgiven per whole second, so an honest link's rare slip is forgotten. */
const PENALTY_DECAY_PER_SECOND = 1;
/** Points per provable fault. */
const POINTS = { forged: 50, malformed: 25, unauthenticated: 25, rateLimited: 2 } as const;

/** What a guarded link needs from its relay. */
export interface GuardHost {
  readonly limits: RelayLimits;
  readonly counters: RelayCounters;
  /** The relay's own public key: FORWARDs to it go to the node. */
  readonly selfKey: Uint8Array;
  now(): number;
  /** The peer is a relay we peer with: it may hand us FORWARDs that another relay already carried. */
  trusts(peer: string): boolean;
  /** Routes a checked FORWARD (already carrying `hops + 1`) that arrived on `from`. */
  route(from: GuardedLink, header: ForwardHeader, bytes: Uint8Array): void;
  /** The link closed (either end). */
  closed(link: GuardedLink, reason: string): void;
  /** The relay added penalty points to the link (for its log). */
  penalised?(link: GuardedLink, points: number, reason: string): void;
  /** A provable fault on an authenticated link, for its one ledger; false when the node does not know the link (yet). */
  fault?(link: GuardedLink, code: "WIRE_SHAPE" | "WIRE_MALFORMED", points: number, reason: string): boolean;
}

/**
 * A {@link Link} that enforces a relay's per-link limits on another link.
 *
 * @example
 * ```ts
 * const guarded = new GuardedLink(socketLink, relayHost, { ip: "203.0.113.7" });
 * const { peer } = await node.connect(guarded);
 * guarded.authenticated(peer, publicKey);
 * ```
 */
export class GuardedLink implements Link {
  onmessage: ((bytes: Uint8Array) => void) | null = null;
  onclose: ((reason: string) => void) | null = null;
  /** Authenticated peer id (base64url), once the handshake is done. */
  peer: string | null = null;
  /** The node's id of this link, once the node has it (its ledger holds the link's faults). */
  nodeLink: number | null = null;
  /** The expiry of the credential that admitted the peer (see `Relay.admittedUntil`); null otherwise. */
  admittedUntilMs: number | null = null;
  /** The peer's public key, once the handshake is done. */
  peerKey: Uint8Array | null = null;
  /** Where the connection came from (for the per-address limits). */
  readonly ip: string;
  /** The peer relay's URL when the relay dialed this link itself, else null. */
  readonly peerRelay: string | null;
  #raw: Link;
  #host: GuardHost;
  #bytes: TokenBucket;
  #forwards: TokenBucket;
  #score = 0;
  #scoreAt: number;
  #closed = false;

  constructor(raw: Link, host: GuardHost, options: { ip: string; peerRelay?: string }) {
    this.#raw = raw;
    this.#host = host;
    this.ip = options.ip;
    this.peerRelay = options.peerRelay ?? null;
    const l = host.limits;
    const now = host.now();
    this.#bytes = new TokenBucket(l.linkBytesPerSecondMax, Math.max(l.linkBytesPerSecondMax, l.frameBytesMax), now);
    this.#forwards = new TokenBucket(l.forwardsPerSecondMax, l.forwardsPerSecondMax, now);
    this.#scoreAt = now;
    raw.onmessage = (bytes) => this.#receive(bytes);
    raw.onclose = (reason) => {
      if (this.#closed) return;
      this.#closed = true;
      this.onclose?.(reason);
      this.#host.closed(this, reason);
    };
  }

  get bufferedAmount(): number {
    return this.#raw.bufferedAmount;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** The relay's penalty score of this link, after decay. */
  get score(): number {
    this.#decay();
    return this.#score;
  }

  send(bytes: Uint8Array): void {
    const c = this.#host.counters;
    c.framesOut++;
    c.bytesOut += bytes.length;
    this.#raw.send(bytes);
  }

  /**
   * Sends a routed FORWARD unless this link is backed up; returns whether it went out. Routed
   * traffic is optional: dropping it under backpressure never blocks gossip on this link.
   */
  sendRouted(bytes: Uint8Array): boolean {
    if (this.#closed || this.peer === null) return false;
    if (this.#raw.bufferedAmount > this.#host.limits.frameBytesMax * 2) return false;
    try {
      this.send(bytes);
      return true;
    } catch (e) {
      if (e instanceof GrapevineError) return false;
      throw e;
    }
  }

  close(reason = "closed"): void {
    this.#raw.close(reason);
  }

  /** The handshake proved the peer's key. */
  authenticated(peer: string, peerKey: Uint8Array): void {
    this.peer = peer;
    this.peerKey = peerKey;
  }

  /** Adds relay penalty points; closes the link at the threshold. */
  penalise(points: number, reason: string): void {
    this.#decay();
    this.#score += points;
    this.#host.penalised?.(this, points, reason);
    if (this.#score >= PENALTY_THRESHOLD && !this.#closed) this.close(`penalty score ${this.#score}: ${reason}`);
  }

  /** Forgives whole points for whole seconds passed, so thresholds stay exact. */
  #decay(): void {
    const seconds = Math.floor((this.#host.now() - this.#scoreAt) / 1000);
    if (seconds <= 0) return;
    this.#scoreAt += seconds * 1000;
    this.#score = Math.max(0, this.#score - seconds * PENALTY_DECAY_PER_SECOND);
  }

  /** A provable fault: to the node's ledger for this link when it has one, else to the guard's points. */
  #fault(reason: string, code: "WIRE_SHAPE" | "WIRE_MALFORMED", points: number): void {
    this.#host.counters.reject(reason);
    if (this.#host.fault?.(this, code, points, reason)) return;
    this.penalise(points, reason);
  }

  #reject(reason: string, points: number): void {
    this.#host.counters.reject(reason);
    if (points > 0) this.penalise(points, reason);
  }

  #receive(bytes: Uint8Array): void {
    if (this.#closed) return;
    const host = this.#host;
    const c = host.counters;
    c.framesIn++;
    c.bytesIn += bytes.length;
    if (bytes.length > host.limits.frameBytesMax) {
      host.counters.reject("frame_too_large");
      this.close("frame too large");
      return;
    }
    if (!this.#bytes.take(host.now(), bytes.length)) {
      this.#reject("rate_limited", POINTS.rateLimited);
      return;
    }
    if (looksLikeForward(bytes) && this.#forward(bytes)) return;
    this.onmessage?.(bytes);
  }

  /** Handles a FORWARD; returns false when it is for the relay itself (the node takes it). */
  #forward(bytes: Uint8Array): boolean {
    const host = this.#host;
    if (this.peer === null || this.peerKey === null) {
      this.#reject("forward_unauthenticated", POINTS.unauthenticated);
      return true;
    }
    let header;
    try {
      header = readForward(bytes, host.limits.frameBytesMax);
    } catch (e) {
      if (!(e instanceof GrapevineError)) throw e;
      this.#fault("forward_malformed", "WIRE_MALFORMED", POINTS.malformed);
      return true;
    }
    // Only a relay we peer with may speak for someone else, and only after at least one hop.
    const honestFrom = header.hops === 0 ? bytesEqual(header.from, this.peerKey) : host.trusts(this.peer);
    if (!honestFrom) {
      this.#fault("forward_forged", "WIRE_SHAPE", POINTS.forged);
      return true;
    }
    if (bytesEqual(header.to, host.selfKey)) return false;
    if (header.hops + 1 > FORWARD_HOPS_MAX) {
      this.#reject("forward_hops", 0);
      return true;
    }
    if (!this.#forwards.take(host.now())) {
      this.#reject("forward_rate", POINTS.rateLimited);
      return true;
    }
    host.route(this, { to: header.to, from: header.from, hops: header.hops + 1 }, withNextHop(header));
    return true;
  }
}
