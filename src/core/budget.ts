/**
 * A token bucket on the engine's clock: what one link may make this node spend, per second.
 *
 * Every budget the engine keeps per link — bytes it answers a peer's requests with, broadcast
 * bytes it accepts, new origins and state bytes it takes in, claims it piggybacks — is one of
 * these. A bucket holds at most `depth` tokens and refills at `rate` per second; time comes in as
 * `now` (sans-I/O), and a clock that goes backwards refills nothing.
 *
 * @module
 */

/**
 * A token bucket.
 *
 * @example
 * ```ts
 * const bucket = new TokenBucket(10, 10, 0);
 * bucket.take(0, 10); // true
 * bucket.take(0); // false: empty until time passes
 * bucket.take(100); // true: 100 ms bought one token
 * ```
 */
export class TokenBucket {
  #tokens: number;
  #at: number;

  /**
   * @param rate tokens added per second
   * @param depth most tokens held (the burst); starts full
   * @param now the engine's clock, ms
   */
  constructor(readonly rate: number, readonly depth: number, now: number) {
    this.#tokens = depth;
    this.#at = now;
  }

  /** Tokens available at `now`. */
  room(now: number): number {
    if (now > this.#at) {
      this.#tokens = Math.min(this.depth, this.#tokens + ((now - this.#at) * this.rate) / 1000);
      this.#at = now;
    }
    return this.#tokens;
  }

  /**
   * Whether the bucket is full at `now`. A full bucket is the same as one made full at `now`, so an
   * owner that makes its buckets at first use may drop a full one and hold none until the next use.
   */
  isFull(now: number): boolean {
    return this.room(now) >= this.depth;
  }

  /** Takes `n` tokens (default one) if that many are there; false (and nothing taken) otherwise. */
  take(now: number, n = 1): boolean {
    if (this.room(now) < n) return false;
    this.#tokens -= n;
    return true;
  }

  /** Takes `n` tokens unconditionally (an answer already sized to fit `room`); never below zero. */
  spend(now: number, n: number): void {
    this.#tokens = Math.max(0, this.room(now) - n);
  }
}
