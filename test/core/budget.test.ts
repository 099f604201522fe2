import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TokenBucket } from "../../src/core/budget.ts";

describe("token bucket", () => {
  it("is full when made, not after a take, full again once refilled", () => {
    const b = new TokenBucket(100, 50, 0);
    expect(b.isFull(0)).toBe(true);
    expect(b.take(0, 20)).toBe(true);
    expect(b.isFull(0)).toBe(false);
    expect(b.isFull(199)).toBe(false);
    expect(b.isFull(200)).toBe(true);
  });

  it("a full bucket and one made at that moment answer every later call alike (so a full one may be dropped)", () => {
    const op = fc.record({ dt: fc.integer({ min: -50, max: 400 }), kind: fc.constantFrom("take", "spend", "room"), n: fc.integer({ min: 0, max: 80 }) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 100 }), fc.array(op, { maxLength: 40 }), fc.integer({ min: 0, max: 1000 }), (rate, depth, ops, wait) => {
        const old = new TokenBucket(rate, depth, 0);
        old.spend(0, depth); // emptied, then left to refill
        const at = Math.floor((((depth * 1000) / rate) * wait) / 500); // up to twice the time to refill
        if (!old.isFull(at)) return;
        const fresh = new TokenBucket(rate, depth, at);
        let now = at;
        for (const o of ops) {
          now += o.dt;
          if (o.kind === "take") expect(old.take(now, o.n)).toBe(fresh.take(now, o.n));
          else if (o.kind === "spend") (old.spend(now, o.n), fresh.spend(now, o.n));
          expect(old.room(now)).toBe(fresh.room(now));
        }
      }),
      { seed: 16, numRuns: 300 },
    );
  });
});
