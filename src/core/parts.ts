/**
 * The optional parts of an engine: membership (SWIM, Lifeguard, HyParView) and epidemic broadcast
 * (Plumtree). The engine's core (`engine-core.ts`: links, state sync, scopes) imports neither; it is
 * given the parts a node uses, so a bundler leaves out the code of a part nobody passes.
 * `engine.ts`'s `Engine` is the core with both parts; `membership/part.ts` and `broadcast-part.ts`
 * are each part on its own.
 *
 * Without membership, membership frames are ignored undecoded and the node is known to others
 * only through its own state (presence times it out when it goes quiet). Without broadcast,
 * broadcast frames are ignored and publishing throws; state sync, scopes and rooms' presence work
 * as before.
 *
 * @module
 */

import type { MemberFrame, MemberFrameLimits, UnknownMemberFrame } from "../wire/member-frames.ts";
import type { Broadcast } from "./broadcast.ts";
import type { DigestIndex } from "./digest-rows.ts";
import type { MembershipHost } from "./membership/context.ts";
import type { Membership } from "./membership/membership.ts";
import type { Rng } from "./random.ts";
import type { SubsystemHost } from "./subsystem.ts";

/** Membership as a part: how to make one and how to read its frames. */
export interface MembershipPart {
  /** A membership for one engine; its periodic work starts at `roundsAt`. */
  make(host: MembershipHost, random: Rng, now: number, roundsAt: number): Membership;
  decode(bytes: Uint8Array, limits: MemberFrameLimits): MemberFrame | UnknownMemberFrame;
}

/** Epidemic broadcast as a part: one per engine (mesh-wide topics) and one per joined scope. */
export interface BroadcastPart {
  /** A broadcast for `host`; `accepts` says which topics it carries (a scope's own). */
  make(host: SubsystemHost, accepts?: (topic: string) => boolean): Broadcast;
}

/**
 * How a node keeps its digest (`digest-rows.ts`): every store (mesh-wide and each scope's) gets an
 * index from it. `digestTreePart` (a trie, for many origins) or `digestRowsPart` (one table, for a
 * tab): the same frames on the wire, different code and memory here.
 */
export interface DigestPart {
  make(): DigestIndex;
}

/** The parts an engine is given; a part left out is not in the engine (nor in a bundle that never names it). */
export interface EngineParts {
  membership?: MembershipPart;
  broadcast?: BroadcastPart;
  /** Needed by `EngineCore`; `Engine` and the main entry's nodes take the trie, `grapevine/lite`'s the rows. */
  digest?: DigestPart;
}
