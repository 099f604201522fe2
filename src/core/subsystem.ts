/**
 * The one contract between the engine and its subsystems — state sync, broadcast, membership, and
 * (later) the sync and broadcast of each room or topic scope.
 *
 * A subsystem is sans-I/O like the engine: every input carries `now` (monotonic ms, from the
 * caller), outputs go out through the host, and work it cannot do synchronously (signing,
 * verifying, an application's validator) goes out as a job whose result comes back to the callback
 * it gave, at the engine's current time (`host.now()`). The engine routes each frame to the
 * subsystem that owns its type (`src/wire/registry.ts`), decoded; a subsystem throws a remote
 * `GrapevineError` for a frame that is wrong, and the engine penalises the link it came on.
 *
 * Clocks: `now` is monotonic and only ever compared with other `now`s. Anything signed that
 * carries a time (a broadcast message's validity window) takes it from `host.wallClock(now)`, the
 * wall clock the driver injects (ms since the Unix epoch; the simulator's is virtual).
 *
 * @module
 */

import type { Delivery, EngineEvent, LinkId, Verdict } from "./events.ts";
import type { EngineOptions } from "./options.ts";
import type { GrapevineError } from "../errors.ts";

/** What every subsystem implements. `F` is the union of the frames it owns. */
export interface Subsystem<F> {
  /** A link to `peer` is up (after its handshake; `peer` null where links carry no identity). */
  linkUp(now: number, link: LinkId, peer: Uint8Array | null): void;
  /** A link is gone. */
  linkDown(now: number, link: LinkId): void;
  /** A frame of this subsystem's types from `link`. Throws a remote `GrapevineError` for a bad one. */
  receive(now: number, link: LinkId, frame: F): void;
  /** Time passes: does whatever is due. */
  tick(now: number): void;
  /** When `tick` next has work (`Infinity`: none). */
  wakeAt(): number;
}

/** What the engine gives its subsystems: one host, the same for all of them. */
export interface SubsystemHost {
  readonly options: EngineOptions;
  readonly protocolVersion: number;
  /** This node's public key. */
  readonly id: Uint8Array;
  /** This run's generation (grows on every restart). */
  readonly generation: number;
  /** Bytes of messages kept to answer repairs, by every broadcast of the node together (`messageCacheBytesMax` bounds the sum). */
  readonly messageCache: { held: number };
  /** The time of the input being handled (monotonic ms): what job callbacks run at. */
  now(): number;
  /** Wall-clock ms since the Unix epoch at monotonic `now`, for signed timestamps. */
  wallClock(now: number): number;
  /** Queues encoded bytes for a link; dropped if the link is gone or closed for penalties. */
  send(link: LinkId, bytes: Uint8Array): void;
  /**
   * Charges `bytes` sent in answer to the peer's own request to the link's answer budget; false
   * (nothing charged) when the budget cannot cover them: the answer is not sent.
   */
  answer(link: LinkId, now: number, bytes: number): boolean;
  /** Signs `message` with this node's key; `done(null)` if signing failed. */
  sign(message: Uint8Array, done: (signature: Uint8Array | null) => void): void;
  /** Checks a signature; the verdict comes back through `done`. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, done: (ok: boolean) => void): void;
  /** Asks the application's validator about a verified broadcast message. */
  validate(delivery: Delivery, done: (verdict: Verdict) => void): void;
  /** Reports something to the application or the driver. */
  emit(event: EngineEvent): void;
  /** Penalises a link for a fault it provably made (`err` a remote `GrapevineError`). */
  penalize(link: LinkId, err: GrapevineError): void;
}
