import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/bytes.ts";

describe("toHex", () => {
  it("matches a byte-by-byte reference across the chunk boundary, and round-trips", () => {
    const ref = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    for (const n of [0, 1, 31, 32, 33, 4095, 4096, 4097, 10_000]) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 151 + 7) & 255);
      expect(toHex(b)).toBe(ref(b));
      expect(fromHex(toHex(b))).toEqual(b);
    }
  });
});
