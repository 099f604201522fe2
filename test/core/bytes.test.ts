import { describe, expect, it } from "vitest";
import { fromBase64Url, fromHex, toBase64Url, toHex } from "../../src/bytes.ts";

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

describe("toBase64Url", () => {
  it("matches Node's base64url for every tail length and across the chunk boundary, and round-trips", () => {
    for (const n of [0, 1, 2, 3, 4, 5, 31, 32, 33, 64, 3071, 3072, 3073, 3074, 10_000]) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 151 + 7) & 255);
      expect(toBase64Url(b)).toBe(Buffer.from(b).toString("base64url"));
      expect(fromBase64Url(toBase64Url(b))).toEqual(b);
    }
  });
});
