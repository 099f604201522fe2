/**
 * The engine's jobs, run for real: signatures and checks on the node's signature suite, broadcast
 * messages through the application's validator of their topic. Results go back to the engine as
 * inputs; `idle()` resolves once nothing is in flight.
 *
 * @module
 */

import type { Delivery, Verdict } from "../core/broadcast.ts";
import type { CryptoJob, JobResult } from "../core/events.ts";
import type { KeyPair, SignatureSuite } from "../crypto/types.ts";
import type { EngineOptions } from "../core/options.ts";
import type { Validator } from "./node-types.ts";
import { toMessage } from "./node-events.ts";
import { soon } from "./slice.ts";

/** Runs a node's jobs; `done` hands each result back (the node completes it on the engine). */
export class Jobs {
  readonly #validators = new Map<string, Validator>();
  readonly #suite: SignatureSuite;
  readonly #keyPair: KeyPair;
  readonly #options: EngineOptions;
  readonly #done: (id: number, result: JobResult) => void;
  #inFlight = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(suite: SignatureSuite, keyPair: KeyPair, options: EngineOptions, done: (id: number, result: JobResult) => void) {
    this.#suite = suite;
    this.#keyPair = keyPair;
    this.#options = options;
    this.#done = done;
  }

  /** Sets (or, with `null`, removes) the validator of `topic`. */
  validate(topic: string, validator: Validator | null): void {
    if (validator === null) this.#validators.delete(topic);
    else this.#validators.set(topic, validator);
  }

  run(j: CryptoJob): void {
    this.#inFlight++;
    const work: Promise<JobResult> = j.kind === "sign"
      ? this.#suite.sign(this.#keyPair, j.message)
      : j.kind === "verify"
      ? this.#suite.verify(j.publicKey, j.message, j.signature)
      : this.#runValidator(j.message);
    work.then(
      (r) => this.#finish(j.id, r),
      (err) => this.#finish(j.id, err instanceof Error ? err : new Error(String(err))),
    );
  }

  /** Resolves when no job is in flight. */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  /**
   * The topic's validator's verdict. One that throws, or has not answered when the message expires
   * (by this clock, plus the allowed skew), counts as `"ignore"`: the peer is not blamed, and the
   * message does not wait for ever, holding its place among the checks a broadcast allows.
   */
  async #runValidator(d: Delivery): Promise<Verdict> {
    const v = this.#validators.get(d.topic);
    if (!v) return "accept";
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<Verdict>((resolve) => {
      timer = setTimeout(() => resolve("ignore"), Math.max(0, d.expiresAtMs + this.#options.clockSkewMs - Date.now()));
      (timer as { unref?: () => void }).unref?.(); // a validator that hangs does not keep a process alive
    });
    try {
      return await Promise.race([Promise.resolve().then(() => v(toMessage(this.#options, d))), expired]);
    } catch {
      return "ignore"; // a throwing validator must not blame the peer
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Hands a result back within the thread's time slice (`slice.ts`): checks finish in bursts (a
   * new peer brings hundreds of signed claims and roots; WebCrypto's thread pool completes them
   * together), and each result sets off the engine's work on it.
   */
  #finish(id: number, result: JobResult): void {
    soon(() => {
      this.#inFlight--;
      this.#done(id, result);
      if (this.#inFlight === 0) for (const r of this.#idleWaiters.splice(0)) r();
    });
  }
}
