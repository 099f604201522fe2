import { createPublicKey, verify as nodeVerify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fromHex } from "../../src/bytes.ts";
import { createSignatureSuite } from "../../src/crypto/ed25519.ts";
import { PROBE_VERIFY_VECTORS } from "../../src/crypto/probe.ts";
import { passesByteRules } from "../../src/crypto/rules.ts";
import { ED25519_VECTORS, run } from "../vectors/ed25519.check.ts";

/** OpenSSL's own verdict through node:crypto, with no pre-checks of ours. */
function opensslVerdict(publicKey: string, message: string, signature: string): boolean {
  try {
    const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(publicKey, "hex").toString("base64url") }, format: "jwk" });
    return nodeVerify(null, Buffer.from(message, "hex"), key, Buffer.from(signature, "hex"));
  } catch {
    return false;
  }
}

describe("ed25519 vectors", () => {
  it("pass on every backend: node:crypto, WebCrypto, noble (test/vectors/ed25519.check.ts)", async () => {
    const { total, failures } = await run(globalThis.crypto.subtle);
    expect(failures).toEqual([]);
    expect(total).toBe(3 * (ED25519_VECTORS.rfc8032.length + ED25519_VECTORS.edge.length));
  });

  it("pass on node:crypto and noble when no SubtleCrypto is given", async () => {
    const { total, failures } = await run(undefined);
    expect(failures).toEqual([]);
    expect(total).toBe(2 * (ED25519_VECTORS.rfc8032.length + ED25519_VECTORS.edge.length));
  });

  it("cover the four RFC 8032 §7.1 Ed25519 tests and every edge named in the design", () => {
    expect(ED25519_VECTORS.rfc8032.map((v) => v.id)).toEqual(["rfc8032-test-1", "rfc8032-test-2", "rfc8032-test-3", "rfc8032-test-1024"]);
    expect(fromHex(ED25519_VECTORS.rfc8032[3].message)).toHaveLength(1023);
    const ids = new Set(ED25519_VECTORS.edge.map((v) => v.id));
    for (const id of ["s-equals-l", "s-all-ones", "s-plus-l", "small-order-a-0", "small-order-r-0", "noncanonical-a-identity", "noncanonical-r-identity", "negative-zero-a-identity", "mixed-order-a-k-multiple-of-8", "mixed-order-r", "wrong-message", "flip-s"]) {
      expect(ids.has(id), id).toBe(true);
    }
  });

  it("OpenSSL (node:crypto) alone gives the recorded verdict; where it differs the file says so", () => {
    for (const v of ED25519_VECTORS.rfc8032) expect(opensslVerdict(v.publicKey, v.message, v.signature), v.id).toBe(true);
    for (const v of ED25519_VECTORS.edge) {
      const expected = v.opensslValid ?? v.valid;
      expect(opensslVerdict(v.publicKey, v.message, v.signature), v.id).toBe(expected);
      if (v.opensslValid !== undefined) {
        expect(v.opensslValid).not.toBe(v.valid);
        expect(v.note, v.id).toMatch(/OpenSSL/);
      }
    }
  });

  it("every vector OpenSSL alone would get wrong is caught before the backend", async () => {
    const suite = await createSignatureSuite({ backend: "noble" });
    for (const v of ED25519_VECTORS.edge.filter((e) => e.opensslValid !== undefined)) {
      const byBytes = passesByteRules(fromHex(v.publicKey), fromHex(v.signature));
      // Either a byte rule or the torsion-free key check (mixed-order A) must reject it.
      if (byBytes) expect(v.id).toMatch(/^mixed-order-a/);
      expect(await suite.verify(fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature))).toBe(false);
    }
  });

  it("the probe's frozen vectors are in the file and reach the backend", () => {
    for (const p of PROBE_VERIFY_VECTORS) {
      const v = ED25519_VECTORS.edge.find((e) => e.id === p.id);
      expect(v, p.id).toBeDefined();
      expect({ publicKey: v!.publicKey, message: v!.message, signature: v!.signature, valid: v!.valid }).toEqual({
        publicKey: p.publicKey,
        message: p.message,
        signature: p.signature,
        valid: p.valid,
      });
      expect(passesByteRules(fromHex(p.publicKey), fromHex(p.signature)), p.id).toBe(true);
    }
  });
});
