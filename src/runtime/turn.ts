/**
 * Waiting for the event loop's next turn: after the I/O already waiting, unlike a microtask, and
 * one turn per wait, unlike timers of zero delay (those due at once all run in one turn).
 *
 * @module
 */

const g = globalThis as {
  setImmediate?: (f: () => void) => unknown;
  MessageChannel?: new () => { port1: { onmessage: (() => void) | null; close(): void }; port2: { postMessage(message: unknown): void } };
  document?: unknown;
};
const setImmediateOf = g.setImmediate;
/** A page's window: a hidden tab throttles its timers (to one a minute), not its messages. */
const Channel = setImmediateOf === undefined && g.document !== undefined ? g.MessageChannel : undefined;

/**
 * Resolves on the event loop's next turn: `setImmediate` where the runtime has it (Node, Deno,
 * Bun), a message to itself in a page (a timer there may wait a minute in a hidden tab), else a
 * zero-delay timer (Workers, web workers).
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    if (setImmediateOf) setImmediateOf(() => resolve());
    else if (Channel) {
      const c = new Channel();
      c.port1.onmessage = () => {
        c.port1.close();
        resolve();
      };
      c.port2.postMessage(0);
    } else setTimeout(resolve, 0);
  });
}
