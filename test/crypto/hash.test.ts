import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toHex } from "../../src/bytes.ts";
import { sha256 } from "../../src/crypto/hash.ts";
import { sha512 } from "../../src/crypto/sha512.ts";

describe("hash", () => {
  it("matches the FIPS 180 'abc' digests", () => {
    const abc = new TextEncoder().encode("abc");
    expect(toHex(sha256(abc))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(toHex(sha512(abc))).toBe(
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    );
  });

  it("a digest is the caller's own: the next one (the hasher is reused) does not touch it", () => {
    const a = sha256(new Uint8Array([1]));
    const copy = a.slice();
    sha256(new Uint8Array(200).fill(9));
    sha512(new Uint8Array([2]));
    expect(a).toEqual(copy);
    expect(toHex(a)).toBe(createHash("sha256").update(new Uint8Array([1])).digest("hex"));
  });

  it("SHA-256 agrees with node:crypto at every length around the block and padding boundaries, and on a large input", () => {
    const data = new Uint8Array(1 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    for (let n = 0; n <= 200; n++) expect(toHex(sha256(data.subarray(0, n))), `length ${n}`).toBe(createHash("sha256").update(data.subarray(0, n)).digest("hex"));
    expect(toHex(sha256(data))).toBe(createHash("sha256").update(data).digest("hex"));
  });

  it("agrees with node:crypto on random inputs", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (data) => {
        expect(toHex(sha256(data))).toBe(createHash("sha256").update(data).digest("hex"));
        expect(toHex(sha512(data))).toBe(createHash("sha512").update(data).digest("hex"));
      }),
      { seed: 0x5eed, numRuns: 200 },
    );
  });
});
