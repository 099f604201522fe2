/**
 * A progress line on stderr for the long commands (simulations, benchmarks): one line redrawn in
 * place, at most every {@link PROGRESS_INTERVAL_MS}, only when stderr is a terminal, so logs and
 * pipes get nothing but the report. Drawing is synchronous and driven by the work itself (each
 * `update` call), not by a timer: a simulation that keeps the event loop busy still shows it.
 *
 * @module
 */

import type { SignatureSuite } from "../src/crypto/types.ts";

/** Least time between two redraws, in ms. */
export const PROGRESS_INTERVAL_MS = 250;

/** One redrawn line. */
export class Progress {
  readonly enabled: boolean;
  #stream: NodeJS.WriteStream;
  #label: string;
  #started = performance.now();
  #drawnAt = -Infinity;
  #drawn = false;

  constructor(label: string, stream: NodeJS.WriteStream = process.stderr, enabled = stream.isTTY === true) {
    this.#stream = stream;
    this.#label = label;
    this.enabled = enabled;
  }

  /** Seconds since the line was created. */
  get seconds(): number {
    return (performance.now() - this.#started) / 1000;
  }

  /** Redraws with `text` (computed only when a redraw is due); `force` redraws now. */
  update(text: () => string, force = false): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (!force && now - this.#drawnAt < PROGRESS_INTERVAL_MS) return;
    this.#drawnAt = now;
    const columns = this.#stream.columns || 100;
    const line = `${this.#label} ${this.seconds.toFixed(1)} s · ${text()}`.slice(0, columns - 1);
    this.#stream.write(`\r${line}\x1b[K`);
    this.#drawn = true;
  }

  /** Clears the line. */
  done(): void {
    if (this.#drawn) this.#stream.write("\r\x1b[K");
    this.#drawn = false;
  }
}

/** `suite`, counting its signatures and checks into `counts` and telling `onWork` after each. */
export function countingSuite(suite: SignatureSuite, counts: { signed: number; verified: number }, onWork: () => void): SignatureSuite {
  return {
    backend: suite.backend,
    sign(keyPair, message) {
      counts.signed++;
      onWork();
      return suite.sign(keyPair, message);
    },
    verify(publicKey, message, signature) {
      counts.verified++;
      onWork();
      return suite.verify(publicKey, message, signature);
    },
  };
}
