import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toHex } from "../../src/bytes.ts";
import { importSecretKey, keyPairFromSeed } from "../../src/crypto/keys.ts";
import { exportSecretKey, nodeIdFromText, nodeIdToText, SECRET_KEY_PREFIX, shortId } from "../../src/crypto/identity.ts";

const rfcSeed = Uint8Array.from(Buffer.from("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "hex"));

describe("identity text forms", () => {
  it("node ids are 43-character unpadded base64url and round trip", () => {
    const kp = keyPairFromSeed(rfcSeed);
    const text = nodeIdToText(kp.publicKey);
    expect(text).toBe(Buffer.from(kp.publicKey).toString("base64url"));
    expect(text).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(toHex(nodeIdFromText(text))).toBe(toHex(kp.publicKey));
    expect(shortId(kp.publicKey)).toBe(text.slice(0, 8));
  });

  it("node ids round trip for any 32 bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        expect(toHex(nodeIdFromText(nodeIdToText(bytes)))).toBe(toHex(bytes));
      }),
      { seed: 7, numRuns: 300 },
    );
  });

  it("rejects garbage node ids with TypeError", () => {
    const good = nodeIdToText(keyPairFromSeed(rfcSeed).publicKey);
    const garbage: unknown[] = [
      "",
      good.slice(1),
      good + "A",
      good + "=",
      good.slice(0, 42) + "+",
      good.slice(0, 42) + "/",
      good.slice(0, 42) + "B", // non-zero trailing bits: not the canonical encoding of any 32 bytes
      good.slice(0, 42) + " ",
      Buffer.from(new Uint8Array(33)).toString("base64url"),
      42,
      null,
    ];
    for (const g of garbage) expect(() => nodeIdFromText(g as string), String(g)).toThrow(TypeError);
    expect(() => nodeIdToText(new Uint8Array(31))).toThrow(TypeError);
    expect(() => shortId(new Uint8Array(33))).toThrow(TypeError);
  });

  it("secret keys export as gvsk1.<base64url seed> and import with the public key recomputed", () => {
    const kp = keyPairFromSeed(rfcSeed);
    const text = exportSecretKey(kp);
    expect(text).toBe(SECRET_KEY_PREFIX + Buffer.from(rfcSeed).toString("base64url"));
    expect(text).toHaveLength(49);
    const back = importSecretKey(text);
    expect(toHex(back.secretKey)).toBe(toHex(kp.secretKey));
    expect(toHex(back.publicKey)).toBe("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  });

  it("rejects garbage secret keys with TypeError", () => {
    const text = exportSecretKey(keyPairFromSeed(rfcSeed));
    const body = text.slice(SECRET_KEY_PREFIX.length);
    const garbage: unknown[] = [
      body,
      "gvsk2." + body,
      "GVSK1." + body,
      "gvsk1" + body,
      text.slice(0, -1),
      text + "A",
      text + "=",
      "gvsk1.",
      nodeIdToText(keyPairFromSeed(rfcSeed).publicKey),
      undefined,
    ];
    for (const g of garbage) expect(() => importSecretKey(g as string), String(g)).toThrow(TypeError);
    expect(() => exportSecretKey({ publicKey: new Uint8Array(32), secretKey: new Uint8Array(16) })).toThrow(TypeError);
  });
});
