// `grapevine bench held`: what it feeds an engine and what it reports of it.
import { describe, expect, it } from "vitest";
import { HELD_SHAPES, runHeldBench } from "../../cli/bench-held.ts";
import { ENTRY_HELD_BYTES, ORIGIN_HELD_BYTES } from "../../src/core/store.ts";

describe("bench held", () => {
  it("holds every origin it feeds, counts each as the store does, and measures its memory", () => {
    const r = runHeldBench({ scale: 0.05 });
    expect(r.origin_held_bytes).toBe(ORIGIN_HELD_BYTES);
    expect(r.entry_held_bytes).toBe(ENTRY_HELD_BYTES);
    for (const part of [r.rows, r.tree]) {
      expect(Object.keys(part).sort()).toEqual(Object.keys(HELD_SHAPES).sort());
      for (const [name, s] of Object.entries(part)) {
        expect(s.entries_per_origin).toBe(HELD_SHAPES[name as keyof typeof HELD_SHAPES].entries);
        // What storeBytesMax counts of an origin: its record, its entries, their leaf bytes.
        expect(Math.abs(s.counted_bytes_per_origin - (ORIGIN_HELD_BYTES + s.entries_per_origin * ENTRY_HELD_BYTES + s.leaf_bytes_per_origin))).toBeLessThanOrEqual(1);
        expect(s.memory_bytes_per_origin).toBeGreaterThan(s.leaf_bytes_per_origin);
        expect(s.heap_over_counted).toBeCloseTo(s.memory_bytes_per_origin / s.counted_bytes_per_origin, 1);
      }
    }
    expect(r.rows.large_values.leaf_bytes_per_origin).toBeGreaterThan(8 * 4096);
    expect(r.heap_over_counted_max).toBe(Math.max(...[...Object.values(r.rows), ...Object.values(r.tree)].map((s) => s.heap_over_counted)));
    expect(() => runHeldBench({ scale: 0 })).toThrow(RangeError);
  }, 60_000);
});
