/**
 * What every part of membership shares: the engine's host, the options, the counters, the random
 * stream, this node's clock, and the one way a membership frame leaves.
 *
 * The parts (member table, failure detector, views, own claims, dissemination, intake) are plain
 * objects wired together by the coordinator (`membership.ts`); none of them keeps a clock, a link
 * table or a host of its own. Invariants:
 *
 * - the clock only moves forward: it is the latest `now` of any input membership was given, or
 *   of the engine (`host.now()`) when a crypto job's result comes back (`resume`), so a callback
 *   runs at the time of the input that completed it, as the subsystem contract says;
 * - every frame a part sends goes through `send`, which counts the claims it carries
 *   (`claimsSent`); the few answers charged to a link's answer budget are encoded by their part;
 * - `rearm` recomputes when `tick` next has work; a part calls it at the end of every callback
 *   that changed state, since no input follows a callback to do it.
 *
 * @module
 */

import { encodeMemberFrame, type MemberFrame } from "../../wire/member-frames.ts";
import type { LinkId } from "../events.ts";
import type { EngineOptions } from "../options.ts";
import type { Rng } from "../random.ts";
import type { SubsystemHost } from "../subsystem.ts";

/**
 * What membership needs from its engine: the subsystem host (less the wall clock and the
 * application's validator, which membership never uses), and `forget`.
 */
export interface MembershipHost extends Omit<SubsystemHost, "wallClock" | "validate"> {
  /** A member dead or gone for `deadMemberTtlMs` is forgotten: its replicated state may go too. */
  forget(member: Uint8Array, now: number): void;
}

/** Membership counters. */
export interface MembershipStats {
  probes: number;
  /** Probe turns passed over: the peer had been heard from within the last pass. */
  probesSkipped: number;
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
  /** Accusations that came without their proof at a rank this node does not hold: ignored. */
  accusationsUnproven: number;
  wantLinks: number;
  dropLinks: number;
  /** Newer claims sent back to a peer that sent an older one. */
  corrections: number;
  /** Claim ids announced to peers that had not been sent the claim (IDS HAVE). */
  idsAnnounced: number;
  /** Claim ids asked for after only their id had come (IDS WANT). */
  idsWanted: number;
}

function newStats(): MembershipStats {
  return {
    probes: 0, probesSkipped: 0, probesFailed: 0, indirectProbes: 0, acksRelayed: 0, nacksSent: 0, suspicionsRaised: 0,
    deathsDeclared: 0, refutations: 0, lateTimers: 0, lagAnnouncements: 0, claimsSent: 0, claimsReceived: 0, claimsAccepted: 0,
    verifies: 0, verifyDropped: 0, accusationsUnproven: 0, wantLinks: 0, dropLinks: 0, corrections: 0, idsAnnounced: 0, idsWanted: 0,
  };
}

/** The clock as the coordinator keeps it. */
export interface Clock {
  /** The latest time membership has seen (ms). */
  now(): number;
  /** A job's result came back: catch up with the engine's time (`host.now()`). */
  resume(): void;
}

/** Shared by every part of one node's membership. */
export class Context {
  readonly stats: MembershipStats = newStats();
  readonly options: EngineOptions;

  /**
   * @param host the engine
   * @param rng membership's own random stream (one, drawn from in one fixed order)
   * @param selfId this node's id in hex
   * @param clock the coordinator's clock
   * @param rearm recomputes the next wake-up (see the module doc)
   */
  constructor(
    readonly host: MembershipHost,
    readonly rng: Rng,
    readonly selfId: string,
    readonly clock: Clock,
    readonly rearm: () => void,
  ) {
    this.options = host.options;
  }

  /** Encodes and sends a membership frame, counting the claims it carries. */
  send(linkId: LinkId, f: MemberFrame): void {
    if ("claims" in f) this.stats.claimsSent += f.claims.length;
    this.host.send(linkId, encodeMemberFrame(f));
  }

  /**
   * Sends a frame the peer made this node send, charged to the link's answer budget (nothing is
   * sent past it): what a peer's frames can make this node send is bounded per second, whatever
   * they hold. Returns whether it went.
   */
  answer(linkId: LinkId, now: number, f: MemberFrame): boolean {
    const bytes = encodeMemberFrame(f);
    if (!this.host.answer(linkId, now, bytes.length)) return false;
    if ("claims" in f) this.stats.claimsSent += f.claims.length;
    this.host.send(linkId, bytes);
    return true;
  }
}
