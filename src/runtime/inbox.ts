/**
 * A link's received frames, handled within this thread's time slice (`slice.ts`): at once while
 * the slice lasts, else in the link's inbox until a later turn. A link's frames keep their order:
 * once one waits, the next ones wait behind it.
 *
 * What waits is bounded before it is held: at most {@link INBOX_FRAMES_MAX} frames and one
 * `frameBytesMax` of bytes per link, and {@link INBOX_BYTES_MAX} over the thread. A frame past
 * either bound is handled at once, after the frames of its link that wait (the loop is held as it
 * would be without inboxes; memory is not), so a peer that floods gets its frames handled — and
 * charged to its budgets — as they come.
 *
 * @module
 */

import { Fifo } from "../core/fifo.ts";
import { runTimed, sliceSpent, type Waiting, waitForTurn } from "./slice.ts";

/** Frames that wait at most, per link. */
export const INBOX_FRAMES_MAX = 64;
/** Bytes of frames that wait at most over every link of this thread. */
export const INBOX_BYTES_MAX = 16 * 1024 * 1024;

/** Bytes held by every inbox of this thread. */
let threadBytes = 0;

/** One link's frames that wait; `handle` handles one (and moves its node's output on). */
export class Inbox implements Waiting {
  readonly #handle: (bytes: Uint8Array) => void;
  readonly #bytesMax: number;
  #frames = new Fifo<Uint8Array>();
  #bytes = 0;

  constructor(handle: (bytes: Uint8Array) => void, bytesMax: number) {
    this.#handle = handle;
    this.#bytesMax = bytesMax;
  }

  /** Frames waiting. */
  get size(): number {
    return this.#frames.size;
  }

  /** A frame received: handled now, or after the link's frames that wait once the slice is spent. */
  receive(bytes: Uint8Array): void {
    if (this.#frames.size === 0 && !sliceSpent()) return runTimed(() => this.#handle(bytes));
    if (this.#frames.size >= INBOX_FRAMES_MAX || this.#bytes + bytes.length > this.#bytesMax || threadBytes + bytes.length > INBOX_BYTES_MAX) {
      this.flush();
      return runTimed(() => this.#handle(bytes));
    }
    this.#frames.push(bytes);
    this.#bytes += bytes.length;
    threadBytes += bytes.length;
    waitForTurn(this);
  }

  /** Handles every frame that waits, now. */
  flush(): void {
    while (this.#frames.size > 0) this.runOne();
  }

  /** Drops every frame that waits (the link is gone). */
  clear(): void {
    threadBytes -= this.#bytes;
    this.#bytes = 0;
    this.#frames = new Fifo();
  }

  /** @internal Handles the oldest frame that waits (a share of a turn, or a flush). */
  runOne(): void {
    const bytes = this.#frames.shift();
    if (bytes === undefined) return;
    this.#bytes -= bytes.length;
    threadBytes -= bytes.length;
    runTimed(() => this.#handle(bytes));
  }
}
