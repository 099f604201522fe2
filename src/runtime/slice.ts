/**
 * This thread's work, bounded in time per turn of the event loop: the frames its nodes receive
 * (`inbox.ts`; a handshake's too), the results of their checks (`jobs.ts`), their timers (`node.ts`)
 * and the checks of keys seen for the first time (`inTurn`) run at once
 * while the thread has spent less than {@link SLICE_MS} on such work since its last turn; after
 * that they wait for the next turn, where what waits takes turns, one piece each, until the slice
 * is spent again. So a burst (a hundred peers linking, a thread pool finishing hundreds of checks
 * together, a hundred nodes' timers due at once) holds the loop for about one slice, not for all of
 * it, and timers and other I/O run in between.
 *
 * The state is the thread's, shared by every node in it: a process of a hundred nodes is bounded
 * as one. The slice starts over at a turn awaited once it is spent (`nextTurn`), not at every
 * turn: an idle node's few frames a second add up over many turns to one slice, and then one
 * of them waits a turn, instead of every turn paying for a wait. So a turn does at most a slice
 * of this work, sometimes less.
 *
 * @module
 */

import { Fifo } from "../core/fifo.ts";
import { monotonicNow } from "./settings.ts";
import { nextTurn } from "./turn.ts";

/**
 * Milliseconds of work per turn of the event loop before the rest waits for the next turn. A turn
 * also carries what the slice does not hold (the runtime's socket reads and writes, its HTTP
 * upgrades, the garbage collector), so the loop is late by a slice and more: with 100 nodes linking
 * in one process, 3 ms gave an event-loop delay p99 of 13.5–15.3 ms against 16.5–18.4 ms with 5,
 * in the same time to link and the same CPU. A page keeps more of each 16 ms frame for rendering.
 */
export const SLICE_MS = 3;

/** Work that waits for a turn: one piece of it runs per share. */
export interface Waiting {
  /** Runs the oldest piece (through {@link runTimed}). */
  runOne(): void;
  /** Pieces still waiting. */
  readonly size: number;
}

/** Time spent since the slice started over; whether a turn is awaited; what waits, each listed once. */
const thread = { spentMs: 0, turnAwaited: false, waiting: new Fifo<Waiting>(), listed: new Set<Waiting>() };

/** Whether this turn's slice is spent (new work should wait). */
export function sliceSpent(): boolean {
  return thread.spentMs >= SLICE_MS;
}

/** Runs `work` now, charging its time to this turn's slice. */
export function runTimed(work: () => void): void {
  const start = monotonicNow();
  try {
    work();
  } finally {
    thread.spentMs += monotonicNow() - start;
    if (thread.spentMs >= SLICE_MS) awaitTurn();
  }
}

/** Lists `w` for a share of the next turns, unless it is listed already (until nothing of it waits). */
export function waitForTurn(w: Waiting): void {
  if (thread.listed.has(w)) return;
  thread.listed.add(w);
  thread.waiting.push(w);
  awaitTurn();
}

/** Thunks that wait (results, timers), in the order they came. */
class Tasks implements Waiting {
  #tasks = new Fifo<() => void>();
  get size(): number {
    return this.#tasks.size;
  }
  push(task: () => void): void {
    this.#tasks.push(task);
    waitForTurn(this);
  }
  runOne(): void {
    const task = this.#tasks.shift();
    if (task) runTimed(task);
  }
}
const tasks = new Tasks();

/** Runs `task` now if the slice is not spent and no task waits, else at a later turn, in order. */
export function soon(task: () => void): void {
  if (tasks.size === 0 && !sliceSpent()) runTimed(task);
  else tasks.push(task);
}

/**
 * Runs `work` now if the slice is not spent, else at a later turn as a waiting piece of its own
 * (one share of the round, as a link's frames have; not behind every task of the thread).
 */
export function ownTurn(work: () => void): void {
  if (!sliceSpent()) return runTimed(work);
  const piece = {
    size: 1,
    runOne: () => {
      piece.size = 0;
      runTimed(work);
    },
  };
  waitForTurn(piece);
}

/**
 * Runs `work` as {@link ownTurn} does and resolves with what it returns (rejects with what it
 * throws): work that a promise waits on, such as the check of a key seen for the first time.
 */
export function inTurn<T>(work: () => T): Promise<T> {
  return new Promise((resolve, reject) =>
    ownTurn(() => {
      try {
        resolve(work());
      } catch (e) {
        reject(e);
      }
    })
  );
}

/** The next turn starts a new slice. */
function awaitTurn(): void {
  if (thread.turnAwaited) return;
  thread.turnAwaited = true;
  nextTurn().then(onTurn);
}

function onTurn(): void {
  thread.turnAwaited = false;
  thread.spentMs = 0;
  try {
    while (!sliceSpent()) {
      const w = thread.waiting.shift();
      if (w === undefined) return;
      try {
        w.runOne();
      } finally {
        if (w.size > 0) thread.waiting.push(w); // its turn again after the others'
        else thread.listed.delete(w);
      }
    }
  } finally {
    // A piece that threw (a bug) ends this turn's share, not the thread's: what still waits gets
    // the next turn (a spent slice has asked for it already).
    if (thread.waiting.size > 0) awaitTurn();
  }
}
