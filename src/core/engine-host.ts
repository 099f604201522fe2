/**
 * The host an engine gives its subsystems (`SubsystemHost`, `SyncHost`): one object an engine, its
 * methods on the prototype. A closure each would cost every engine of a simulated mesh about a
 * kilobyte. A subsystem that needs a host of its own (a scope's, membership's) makes one whose
 * prototype is this one and overrides what differs; so the class has no private members (such a
 * host would not carry them).
 *
 * The host reaches into its engine through {@link EngineInternals}, which the engine binds once
 * (`bindEngineHost`, in `EngineCore`'s static block): its private fields stay private to it.
 *
 * @module
 */

import type { GrapevineError } from "../errors.ts";
import { TokenBucket } from "./budget.ts";
import type { EngineCore } from "./engine-core.ts";
import type { EngineLink } from "./engine-link.ts";
import type { CryptoJob, Delivery, EngineEvent, JobResult, LinkId, Verdict } from "./events.ts";
import type { EngineOptions } from "./options.ts";
import type { SyncHost } from "./sync.ts";

/** A crypto job before the engine numbers it. */
export type NewJob = CryptoJob extends infer J ? (J extends CryptoJob ? Omit<J, "id"> : never) : never;

/** What the host reaches inside an engine. */
export interface EngineInternals {
  now(e: EngineCore): number;
  wallClock(e: EngineCore, now: number): number;
  send(e: EngineCore, linkId: LinkId, bytes: Uint8Array): void;
  link(e: EngineCore, linkId: LinkId): EngineLink | undefined;
  job(e: EngineCore, j: NewJob, done: (r: JobResult) => void): void;
  emit(e: EngineCore, event: EngineEvent): void;
  penalize(e: EngineCore, link: EngineLink, err: GrapevineError): void;
}

let inside: EngineInternals;

/** Called once by the engine's class. */
export function bindEngineHost(internals: EngineInternals): void {
  inside = internals;
}

/** An engine's subsystem host. */
export class EngineHost implements SyncHost {
  readonly protocolVersion: number;
  readonly options: EngineOptions;
  readonly id: Uint8Array;
  /** Shared by every broadcast of the engine (the mesh-wide one and each scope's, whose hosts inherit it). */
  readonly messageCache = { held: 0 };

  constructor(readonly engine: EngineCore, readonly generation: number, protocolVersion: number) {
    this.options = engine.options;
    this.id = engine.id;
    this.protocolVersion = protocolVersion;
  }

  now(): number {
    return inside.now(this.engine);
  }

  wallClock(now: number): number {
    return inside.wallClock(this.engine, now);
  }

  send(linkId: LinkId, bytes: Uint8Array): void {
    inside.send(this.engine, linkId, bytes);
  }

  answer(linkId: LinkId, now: number, bytes: number): boolean {
    const link = inside.link(this.engine, linkId);
    return !!link && !link.closed && answers(link, this.options, now).take(now, bytes);
  }

  answerBudget(linkId: LinkId): TokenBucket | undefined {
    const link = inside.link(this.engine, linkId);
    return link && !link.closed ? answers(link, this.options, this.now()) : undefined;
  }

  usable(linkId: LinkId): boolean {
    const link = inside.link(this.engine, linkId);
    return !!link && !link.closed && !link.congested;
  }

  client(linkId: LinkId): boolean {
    return inside.link(this.engine, linkId)?.client === true;
  }

  sign(message: Uint8Array, done: (signature: Uint8Array | null) => void): void {
    inside.job(this.engine, { kind: "sign", message }, (r) => done(r instanceof Uint8Array ? r : null));
  }

  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, done: (ok: boolean) => void): void {
    inside.job(this.engine, { kind: "verify", publicKey, message, signature }, (r) => done(r === true));
  }

  validate(message: Delivery, done: (verdict: Verdict) => void): void {
    inside.job(this.engine, { kind: "validate", message }, (r) => done(r === "reject" || r === "ignore" ? r : r === "accept" || r === true ? "accept" : "ignore"));
  }

  emit(event: EngineEvent): void {
    inside.emit(this.engine, event);
  }

  penalize(linkId: LinkId, err: GrapevineError): void {
    const link = inside.link(this.engine, linkId);
    if (link) inside.penalize(this.engine, link, err);
  }
}

/** The link's answer budget (`answerBytesPerSecondMax`), made full at first use. */
function answers(link: EngineLink, o: EngineOptions, now: number): TokenBucket {
  return (link.answers ??= new TokenBucket(o.answerBytesPerSecondMax, o.answerBytesPerSecondMax, now));
}
