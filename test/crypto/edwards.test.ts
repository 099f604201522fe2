// The key rule without noble (`edwards.ts`) must give noble's verdict on every key: the pinned vectors'
// keys, the eight small-order points, mixed-order keys (an honest key plus each of them), encodings
// just past the field (y ≥ p), x = 0 with the sign bit set, and seeded random byte strings.
import * as ed from "@noble/ed25519";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/bytes.ts";
import { isTorsionFreeKey } from "../../src/crypto/edwards.ts";
import { decodeTorsionFreeKey, noblePublicKey } from "../../src/crypto/noble.ts";
import { seededRng } from "../../src/core/random.ts";
import vectors from "../vectors/ed25519.json" with { type: "json" };

const nobleVerdict = (key: Uint8Array) => decodeTorsionFreeKey(key) !== undefined;
const SEED = 20261205;

/** The eight points of order dividing 8, as noble encodes them. */
function smallOrderPoints(): Uint8Array[] {
  const out = new Map<string, Uint8Array>();
  // Multiples of one point of order 8: decode a known order-8 encoding, then add it to itself.
  const t8 = ed.Point.fromBytes(fromHex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"), true);
  let p = ed.Point.ZERO;
  for (let i = 0; i < 8; i++) {
    out.set(p.toHex(), p.toBytes());
    p = p.add(t8);
  }
  return [...out.values()];
}

function le(n: bigint): Uint8Array {
  const b = new Uint8Array(32);
  for (let i = 0; i < 32; i++) b[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return b;
}

describe("isTorsionFreeKey", () => {
  it(`agrees with noble on the pinned vectors' keys, small-order and mixed-order points (seed ${SEED})`, () => {
    const keys = [...vectors.rfc8032, ...vectors.edge].map((v) => fromHex(v.publicKey));
    const small = smallOrderPoints();
    expect(small.length).toBe(8);
    const honest = [1, 2, 3, 200].map((i) => noblePublicKey(new Uint8Array(32).fill(i)));
    const mixed = honest.flatMap((k) => small.map((s) => ed.Point.fromBytes(k).add(ed.Point.fromBytes(s, true)).toBytes()));
    let accepted = 0;
    for (const k of [...keys, ...small, ...honest, ...mixed]) {
      const verdict = isTorsionFreeKey(k);
      expect(verdict, toHex(k)).toBe(nobleVerdict(k));
      if (verdict) accepted++;
    }
    // The honest keys pass (the identity and every other small-order or mixed-order point fail).
    for (const k of [...small, ...mixed.filter((_, i) => i % 8 !== 0)]) expect(isTorsionFreeKey(k), toHex(k)).toBe(false);
    for (const k of honest) expect(isTorsionFreeKey(k)).toBe(true);
    expect(accepted).toBeGreaterThan(honest.length);
  });

  it("refuses non-canonical encodings as noble's strict decoding does: y ≥ p, and x = 0 with the sign bit", () => {
    const p = 2n ** 255n - 19n;
    // Every y from p to 2^255 − 1 (each the non-canonical form of y − p), both signs.
    for (let y = p; y < 2n ** 255n; y++) {
      for (const sign of [0, 0x80]) {
        const k = le(y);
        k[31] |= sign;
        expect(isTorsionFreeKey(k), toHex(k)).toBe(false);
        expect(nobleVerdict(k)).toBe(false);
      }
    }
    // y = 1 is the identity (x = 0); with the sign bit it is the non-canonical form of it.
    const id = le(1n);
    const idSigned = le(1n);
    idSigned[31] |= 0x80;
    for (const k of [id, idSigned]) expect(isTorsionFreeKey(k)).toBe(nobleVerdict(k));
    expect(isTorsionFreeKey(new Uint8Array(31))).toBe(false);
  });

  it(`agrees with noble on random byte strings and on random honest keys (seed ${SEED})`, () => {
    const rng = seededRng(SEED);
    const bytes = () => {
      const b = new Uint8Array(32);
      for (let i = 0; i < 32; i += 4) new DataView(b.buffer).setUint32(i, rng.nextU32());
      return b;
    };
    let decodable = 0;
    for (let i = 0; i < 300; i++) {
      const k = bytes();
      try {
        ed.Point.fromBytes(k, false);
        decodable++;
      } catch {
        // not a point: both must refuse it
      }
      expect(isTorsionFreeKey(k), toHex(k)).toBe(nobleVerdict(k));
      const honest = noblePublicKey(bytes());
      expect(isTorsionFreeKey(honest), toHex(honest)).toBe(true);
    }
    // About half of random strings decode to a point, and of those about one in eight is torsion-free:
    // both branches were exercised.
    expect(decodable).toBeGreaterThan(100);
  });
});
