import * as ed from "@noble/ed25519";
import { describe, expect, it } from "vitest";
import { toHex } from "../../src/bytes.ts";
import {
  ED25519_L_BYTES,
  isCanonicalPointEncoding,
  isCanonicalScalar,
  isSmallOrderEncoding,
  passesByteRules,
  SMALL_ORDER_ENCODINGS,
} from "../../src/crypto/rules.ts";

const L = ed.Point.CURVE().n;
const P = ed.Point.CURVE().p;
const le32 = (n: bigint) => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
};

describe("pinned byte rules", () => {
  it("SMALL_ORDER_ENCODINGS are exactly the torsion subgroup, computed afresh with noble", () => {
    const found = new Set<string>();
    for (let y = 2n; found.size < 8 && y < 500n; y++) {
      let q: InstanceType<typeof ed.Point>;
      try {
        q = ed.Point.fromBytes(le32(y));
      } catch {
        continue;
      }
      const t = q.multiply(L / 2n, false).double().add(q); // [L]Q: Q's torsion component
      let s = ed.Point.ZERO;
      for (let i = 0; i < 8; i++, s = s.add(t)) found.add(s.toHex());
    }
    expect([...found].sort()).toEqual([...SMALL_ORDER_ENCODINGS].sort());
    for (const e of SMALL_ORDER_ENCODINGS) expect(ed.Point.fromHex(e).isSmallOrder()).toBe(true);
  });

  it("ED25519_L_BYTES is L", () => {
    expect(toHex(ED25519_L_BYTES)).toBe(toHex(le32(L)));
  });

  it("isCanonicalScalar is S < L", () => {
    for (const s of [0n, 1n, L - 1n, L - 256n, 2n ** 252n]) expect(isCanonicalScalar(le32(s)), String(s)).toBe(true);
    for (const s of [L, L + 1n, 2n ** 253n, 2n ** 256n - 1n, L + (1n << 200n)]) expect(isCanonicalScalar(le32(s)), String(s)).toBe(false);
    expect(isCanonicalScalar(new Uint8Array(31))).toBe(false);
  });

  it("isCanonicalPointEncoding rejects y >= p and negative zero, nothing else", () => {
    const sign = 1n << 255n;
    for (let d = 0n; d < 19n; d++) {
      expect(isCanonicalPointEncoding(le32(P + d)), `p+${d}`).toBe(false);
      expect(isCanonicalPointEncoding(le32(P + d + sign)), `p+${d} signed`).toBe(false);
    }
    for (const y of [0n, 1n, 2n, P - 1n, P - 2n, 2n ** 254n, 2n ** 255n - 20n]) {
      expect(isCanonicalPointEncoding(le32(y)), `y=${y}`).toBe(true);
    }
    expect(isCanonicalPointEncoding(le32(1n + sign))).toBe(false);
    expect(isCanonicalPointEncoding(le32(P - 1n + sign))).toBe(false);
    expect(isCanonicalPointEncoding(le32(0n + sign))).toBe(true); // y = 0 has x = ±sqrt(-1), not 0
    expect(isCanonicalPointEncoding(le32(2n + sign))).toBe(true);
    expect(isCanonicalPointEncoding(new Uint8Array(33))).toBe(false);
  });

  it("agrees with noble's strict decoder on which encodings it refuses as non-canonical", () => {
    const sign = 1n << 255n;
    for (const y of [0n, 1n, P - 1n, P, P + 1n, P + 18n]) {
      for (const s of [0n, sign]) {
        const bytes = le32(y + s);
        let strictOk = true;
        try {
          ed.Point.fromBytes(bytes, false);
        } catch (e) {
          strictOk = !String(e).includes("out of range") && !String(e).includes("x==0");
        }
        expect(isCanonicalPointEncoding(bytes), toHex(bytes)).toBe(strictOk);
      }
    }
  });

  it("isSmallOrderEncoding matches only the eight canonical encodings", () => {
    for (const e of SMALL_ORDER_ENCODINGS) expect(isSmallOrderEncoding(Buffer.from(e, "hex"))).toBe(true);
    expect(isSmallOrderEncoding(ed.Point.BASE.toBytes())).toBe(false);
    expect(isSmallOrderEncoding(new Uint8Array(31))).toBe(false);
  });

  it("passesByteRules checks lengths first", () => {
    const A = ed.Point.BASE.toBytes();
    const sig = new Uint8Array(64);
    sig.set(A, 0);
    expect(passesByteRules(A, sig)).toBe(true);
    expect(passesByteRules(A, sig.subarray(0, 63))).toBe(false);
    expect(passesByteRules(A.subarray(1), sig)).toBe(false);
  });
});
