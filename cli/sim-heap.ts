/**
 * What `grapevine sim` needs from the process around the simulator (which itself is sans-I/O):
 * a heap measure for `--profile-memory`.
 *
 * @module
 */

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { MemoryMeasure } from "../src/sim/memory.ts";

/**
 * Heap plus external bytes after a full collection. Exposes `gc` to this process if it was not
 * started with `--expose-gc` (V8 reads the flag when a new context is made).
 */
export function heapMeasure(): MemoryMeasure {
  let gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  const collect = gc;
  return () => {
    collect();
    collect();
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
}
