import { describe, expect, it } from "vitest";
import { toHex } from "../../src/bytes.ts";
import { createSignatureSuite } from "../../src/crypto/ed25519.ts";
import { keyPairFromSeed } from "../../src/crypto/keys.ts";
import { SIGNED_KIND_CODES, signingBytes, type SignedKind } from "../../src/crypto/context.ts";

const body = Uint8Array.of(0xaa, 0xbb);
const kinds = Object.keys(SIGNED_KIND_CODES) as SignedKind[];

describe("signingBytes", () => {
  it("lays out magic, kind, version, network and body exactly", () => {
    expect(toHex(signingBytes("message", "lobby", 0x0102, body))).toBe(
      toHex(new TextEncoder().encode("grapevine")) + "00" + "03" + "0102" + "05" + toHex(new TextEncoder().encode("lobby")) + "aabb",
    );
  });

  it("has the frozen kind codes", () => {
    expect(SIGNED_KIND_CODES).toEqual({ root: 1, handshake: 2, message: 3, member: 4, signal: 5, user: 6 });
    expect(Object.isFrozen(SIGNED_KIND_CODES)).toBe(true);
  });

  it("differs for every kind, network and version", () => {
    const seen = new Set<string>();
    let count = 0;
    for (const kind of kinds) {
      for (const network of ["a", "b", "ab", "lobby", "lobb", "é"]) {
        for (const version of [0, 1, 256, 65535]) {
          seen.add(toHex(signingBytes(kind, network, version, body)));
          count++;
        }
      }
    }
    expect(seen.size).toBe(count);
    // The length byte keeps a network name from absorbing the start of the body.
    expect(toHex(signingBytes("root", "ab", 1, Uint8Array.of(0x63)))).not.toBe(toHex(signingBytes("root", "abc", 1, new Uint8Array())));
  });

  it("counts the network in UTF-8 bytes, 1..255", () => {
    expect(() => signingBytes("root", "", 1, body)).toThrow(RangeError);
    expect(signingBytes("root", "x".repeat(255), 1, body)[13]).toBe(255);
    expect(() => signingBytes("root", "x".repeat(256), 1, body)).toThrow(RangeError);
    expect(signingBytes("root", "é".repeat(127), 1, body)[13]).toBe(254);
    expect(() => signingBytes("root", "é".repeat(128), 1, body)).toThrow(RangeError);
  });

  it("rejects bad kinds, versions and bodies", () => {
    expect(() => signingBytes("toString" as SignedKind, "n", 1, body)).toThrow(RangeError);
    expect(() => signingBytes("other" as SignedKind, "n", 1, body)).toThrow(RangeError);
    for (const v of [-1, 65536, 1.5, Number.NaN]) expect(() => signingBytes("root", "n", v, body)).toThrow(RangeError);
    expect(() => signingBytes("root", "n", 1, [1, 2] as unknown as Uint8Array)).toThrow(TypeError);
  });

  it("makes a signature for one context useless in another", async () => {
    const suite = await createSignatureSuite({ backend: "noble" });
    const kp = keyPairFromSeed(new Uint8Array(32).fill(9));
    const signature = await suite.sign(kp, signingBytes("message", "lobby", 1, body));
    expect(await suite.verify(kp.publicKey, signingBytes("message", "lobby", 1, body), signature)).toBe(true);
    expect(await suite.verify(kp.publicKey, signingBytes("member", "lobby", 1, body), signature)).toBe(false);
    expect(await suite.verify(kp.publicKey, signingBytes("message", "other", 1, body), signature)).toBe(false);
    expect(await suite.verify(kp.publicKey, signingBytes("message", "lobby", 2, body), signature)).toBe(false);
  });
});
