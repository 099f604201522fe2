/**
 * In-memory links: two ends joined in one process, for tests and examples. Delivery is
 * asynchronous (a macrotask later), ordered, and copies the bytes, as a socket would.
 *
 * @module
 */

import { localError } from "../errors.ts";
import type { Link } from "./link.ts";

class MemoryLink implements Link {
  onmessage: ((bytes: Uint8Array) => void) | null = null;
  onclose: ((reason: string) => void) | null = null;
  other: MemoryLink | null = null;
  closed = false;
  #queued = 0;

  get bufferedAmount(): number {
    return this.#queued;
  }

  send(bytes: Uint8Array): void {
    if (this.closed) throw localError("LINK_CLOSED", "memory link is closed");
    const copy = bytes.slice();
    this.#queued += copy.length;
    setTimeout(() => {
      this.#queued -= copy.length;
      const to = this.other;
      if (to && !to.closed) to.onmessage?.(copy);
    }, 0);
  }

  close(reason = "closed"): void {
    if (this.closed) return;
    this.closed = true;
    const other = this.other;
    setTimeout(() => {
      this.onclose?.(reason);
      if (other && !other.closed) {
        other.closed = true;
        other.onclose?.(reason);
      }
    }, 0);
  }
}

/**
 * Two joined link ends.
 *
 * @example
 * ```ts
 * const [a, b] = createMemoryLinkPair();
 * nodeA.connect(a);
 * nodeB.connect(b);
 * ```
 */
export function createMemoryLinkPair(): [Link, Link] {
  const a = new MemoryLink();
  const b = new MemoryLink();
  a.other = b;
  b.other = a;
  return [a, b];
}
