// The frozen CBOR vectors (test/vectors/cbor.json) on Node; Deno and Bun run the same checker
// through test/vectors/all.ts. Also pins whether cbor-x's native addon is in play, for the record.
import { isNativeAccelerationEnabled } from "cbor-x/encode";
import { describe, expect, it } from "vitest";
import { cborVectors, run } from "../vectors/cbor.check.ts";

describe("cbor vectors", () => {
  it("every vector passes", async () => {
    const { total, failures } = await run();
    expect(failures).toEqual([]);
    expect(total).toBe(cborVectors.length);
    expect(total).toBeGreaterThan(100);
  });

  it("cover the kinds the brief asks for", () => {
    const text = cborVectors.map((v) => v.description).join("\n");
    for (const kind of ["map", "nested arrays", "float", "negative", "empty byte string", "1000-byte byte string", "unicode"]) {
      expect(text).toContain(kind);
    }
  });

  it("never load cbor-x's native addon (src/wire imports the pure-JS entry)", () => {
    expect(isNativeAccelerationEnabled).toBe(false);
  });
});
