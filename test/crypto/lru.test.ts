import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BoundedCache } from "../../src/crypto/lru.ts";

describe("BoundedCache", () => {
  it("evicts the least recently used entry", () => {
    const c = new BoundedCache<string, number>(2);
    c.set("a", 1);
    c.set("b", 2);
    expect(c.get("a")).toBe(1); // "a" is now the young one
    c.set("c", 3);
    expect(c.has("b")).toBe(false);
    expect(c.has("a")).toBe(true);
    expect(c.has("c")).toBe(true);
    c.set("a", 10); // re-setting refreshes too
    c.set("d", 4);
    expect(c.has("c")).toBe(false);
    expect(c.get("a")).toBe(10);
    c.delete("a");
    expect(c.size).toBe(1);
  });

  it("never holds more than max entries", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 40 })), { maxLength: 300 }), (max, ops) => {
        const c = new BoundedCache<number, number>(max);
        for (const [isGet, k] of ops) {
          if (isGet) c.get(k);
          else c.set(k, k);
          expect(c.size).toBeLessThanOrEqual(max);
        }
      }),
      { seed: 11, numRuns: 200 },
    );
  });

  it("rejects a bound that is not a non-negative integer", () => {
    for (const m of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => new BoundedCache(m)).toThrow(RangeError);
  });

  it("a bound of 0 keeps nothing (a cache turned off)", () => {
    const c = new BoundedCache<string, number>(0);
    c.set("a", 1);
    expect(c.get("a")).toBeUndefined();
    expect(c.size).toBe(0);
  });
});
