/**
 * A bound on work done back to back in one thread: at most `max` pieces run one after another
 * before the next waits for a turn of the event loop (an injected `yieldTo`, so this stays free of
 * timers). The count runs across turns and restarts after each wait, so the bound costs one wait
 * per `max` pieces, not one per turn. Used for the signatures a suite makes or checks
 * (`ed25519.ts`): the `node:crypto` backend's, which run on the caller's thread, and WebCrypto's
 * hand-overs to its own threads.
 *
 * @module
 */

/** At most `max` pieces of work back to back; the rest wait for a turn, in the order asked. */
export class TurnBound {
  readonly max: number;
  #count = 0;
  #ends: Promise<void> = Promise.resolve();
  readonly #restart = () => {
    this.#count = 0;
  };

  constructor(max: number) {
    this.max = max;
  }

  /** A place among the `max` before the next wait: at once while there is one, else after the wait. */
  async place(yieldTo: () => Promise<void>): Promise<void> {
    while (this.#count >= this.max) await this.#ends;
    if (++this.#count === this.max) this.#ends = yieldTo().then(this.#restart, this.#restart);
  }
}
