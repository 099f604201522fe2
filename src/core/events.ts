/**
 * What the engine hands back besides frames: crypto jobs to run, and events to report.
 *
 * @module
 */

import type { ErrorCode } from "../errors.ts";
import type { SignedRoot } from "./origin.ts";
import type { Change } from "./store.ts";
import type { MemberState } from "./claims.ts";

/** What the application's validator says about a message. */
export type Verdict = "accept" | "reject" | "ignore";

/** A delivered broadcast message. */
export interface Delivery {
  id: string;
  origin: Uint8Array;
  topic: string;
  payload: Uint8Array;
  issuedAtMs: number;
  expiresAtMs: number;
  hops: number;
  local: boolean;
}

/** Identifies a link to the engine; chosen by the driver, unique among its live links. */
export type LinkId = number;

/** A frame to send. */
export interface Transmit {
  linkId: LinkId;
  bytes: Uint8Array;
}

/** Sign `message` with this node's key, then call `completeJob(now, id, signature)`. */
export interface SignJob {
  kind: "sign";
  id: number;
  message: Uint8Array;
}

/** Verify `signature` over `message` by `publicKey`, then call `completeJob(now, id, ok)`. */
export interface VerifyJob {
  kind: "verify";
  id: number;
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
}

/**
 * Ask the application's validator for `message.topic` about a verified broadcast message, then call
 * `completeJob(now, id, "accept" | "reject" | "ignore")`. Topics without a validator: "accept".
 */
export interface ValidateJob {
  kind: "validate";
  id: number;
  message: Delivery;
}

/** Work the engine cannot do synchronously. Results come back as inputs, in any order. */
export type CryptoJob = SignJob | VerifyJob | ValidateJob;

/** What `completeJob` takes: a signature, a verdict of a check, a validator's verdict, or an error. */
export type JobResult = Uint8Array | boolean | Verdict | Error;

/** Something that happened, for the application or the driver. */
export type EngineEvent =
  | { type: "change"; change: Change }
  | { type: "message"; message: Delivery }
  | { type: "signed"; generation: number; version: number }
  | { type: "penalty"; linkId: LinkId; peer: Uint8Array | null; code: ErrorCode; message: string; score: number }
  | { type: "disconnect"; linkId: LinkId; reason: string }
  | { type: "equivocation"; origin: Uint8Array; evidence: [SignedRoot, SignedRoot] }
  | { type: "inconsistent"; origin: Uint8Array }
  /**
   * A state signed with this node's key under a newer `generation` arrived: the key is live in
   * another node (two tabs sharing one stored key), whose state peers prefer to this one's.
   */
  | { type: "key-in-use"; generation: number }
  | MemberEvent
  | { type: "want-link"; peer: Uint8Array; addr: string | null }
  /** The peer on a link now wants (or no longer wants) a scope (see `scopes.ts`): relays follow their clients. */
  | { type: "interest"; linkId: LinkId; peer: Uint8Array | null; scope: Uint8Array; wanted: boolean }
  | { type: "drop-link"; linkId: LinkId; reason: string };

/**
 * A member's state changed in this node's view (membership, see `membership/membership.ts`). `previous` is
 * null for a member seen for the first time; `claimer` names who accused a suspect or dead member.
 */
export interface MemberEvent {
  type: "member";
  member: Uint8Array;
  state: MemberState;
  previous: MemberState | null;
  generation: number;
  incarnation: number;
  claimer: Uint8Array | null;
  addr: string | null;
}

/** Counters, for metrics and the simulator. */
export interface EngineStats {
  rounds: number;
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  framesRejected: number;
  verifies: number;
  verifyCacheHits: number;
  deltasDropped: number;
  eventsDropped: number;
  /** Answers to a peer's requests not sent because its answer budget was spent. */
  answersDeferred: number;
}
