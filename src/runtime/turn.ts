/**
 * Waiting for the event loop's next turn: after the I/O already waiting, unlike a microtask, and
 * one turn per wait, unlike timers of zero delay (those due at once all run in one turn).
 *
 * @module
 */

const setImmediateOf = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;

/**
 * Resolves on the event loop's next turn: `setImmediate` where the runtime has it (Node, Deno,
 * Bun), else a zero-delay timer (browsers, Workers).
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => (setImmediateOf ? setImmediateOf(() => resolve()) : setTimeout(resolve, 0)));
}
