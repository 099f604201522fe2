import { describe, expect, it } from "vitest";
import { Fifo } from "../../src/core/fifo.ts";

describe("Fifo", () => {
  it("hands items out in order, and drop skips the oldest", () => {
    const q = new Fifo<number>();
    for (let i = 0; i < 5; i++) q.push(i);
    expect(q.shift()).toBe(0);
    q.drop();
    expect([q.shift(), q.shift(), q.shift(), q.shift()]).toEqual([2, 3, 4, undefined]);
    expect(q.size).toBe(0);
  });

  it("lets go of its storage when drained by size, without a shift that finds it empty", () => {
    const q = new Fifo<Uint8Array>();
    for (let round = 0; round < 100; round++) {
      for (let i = 0; i < 50; i++) q.push(new Uint8Array(8));
      while (q.size > 0) q.shift();
      expect(q.slots).toBe(0);
    }
  });

  it("holds about what waits when it never empties (a busy inbox), and keeps order across the cut", () => {
    const q = new Fifo<number>();
    let next = 0;
    let expected = 0;
    q.push(next++);
    for (let i = 0; i < 100_000; i++) {
      q.push(next++);
      q.push(next++);
      expect(q.shift()).toBe(expected++);
      if (i % 3 === 0) expect(q.shift()).toBe(expected++);
      expect(q.slots).toBeLessThanOrEqual(2 * Math.max(q.size, 1024) + 2);
    }
    while (q.size > 0) expect(q.shift()).toBe(expected++);
    expect(expected).toBe(next);
  });

  it("drop lets go too: an events queue kept full by dropping the oldest holds its cap, not its history", () => {
    const q = new Fifo<number>();
    for (let i = 0; i < 10_000; i++) {
      if (q.size >= 100) q.drop();
      q.push(i);
    }
    expect(q.size).toBe(100);
    expect(q.slots).toBeLessThanOrEqual(2 * 1024 + 2);
    expect(q.shift()).toBe(9_900);
  });
});
