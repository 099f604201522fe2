import fc from "fast-check";
import * as nodeCrypto from "node:crypto";
import { describe, expect, it } from "vitest";
import { createSignatureSuite } from "../../src/crypto/ed25519.ts";
import { keyPairFromSeed } from "../../src/crypto/keys.ts";
import type { SignatureSuite } from "../../src/crypto/types.ts";

// Replay a failure with the printed seed: FC_SEED=<seed> npx vitest run test/crypto/properties.test.ts
const seed = Number(process.env.FC_SEED ?? 0x6a7e);
console.log(`properties.test.ts: fast-check seed ${seed} (replay: FC_SEED=${seed} npx vitest run test/crypto/properties.test.ts)`);

const suites: [string, () => Promise<SignatureSuite>][] = [
  ["node:crypto", () => createSignatureSuite({ backend: "node:crypto", nodeCrypto })],
  ["webcrypto", () => createSignatureSuite({ subtle: globalThis.crypto.subtle, backend: "webcrypto" })],
  ["noble", () => createSignatureSuite({ backend: "noble" })],
];

const kp = keyPairFromSeed(new Uint8Array(32).fill(77));

/** Random signatures, biased so many pass the byte rules and reach the backend's equation. */
const randomSignature = fc
  .tuple(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.constantFrom("raw", "canonical-s", "canonical-s-real-r"))
  .map(([bytes, kind]) => {
    const sig = bytes.slice();
    if (kind !== "raw") sig[63] &= 0x0f; // S < 2^252 < L
    return { sig, kind };
  });

describe.each(suites)("properties on %s", (_name, make) => {
  it("random 64-byte signatures never verify", async () => {
    const suite = await make();
    const real = await suite.sign(kp, new Uint8Array([1]));
    await fc.assert(
      fc.asyncProperty(randomSignature, fc.uint8Array({ maxLength: 64 }), async ({ sig, kind }, message) => {
        if (kind === "canonical-s-real-r") sig.set(real.subarray(0, 32), 0);
        expect(await suite.verify(kp.publicKey, message, sig)).toBe(false);
      }),
      { seed, numRuns: 150 },
    );
  });

  it("verify never throws for random inputs of any length or type", async () => {
    const suite = await make();
    const anyInput = fc.oneof(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.anything());
    await fc.assert(
      fc.asyncProperty(anyInput, anyInput, anyInput, async (a, m, s) => {
        const verdict = await suite.verify(a as Uint8Array, m as Uint8Array, s as Uint8Array);
        expect(verdict).toBe(false);
      }),
      { seed, numRuns: 200 },
    );
  });
});
