import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { concatBytes, toHex } from "../../src/bytes.ts";
import { decode, encode, headAt } from "../../src/wire/cbor.ts";
import { decodeLeaf, decodeRootBody, encodeLeaf, encodeRootBody } from "../../src/wire/records.ts";

const utf8 = new TextEncoder();

describe("records decoded from bytes that are kept", () => {
  it("a leaf's key bytes are the key's UTF-8, found in the leaf however its heads are written", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 60 }), fc.nat(1e6), fc.option(fc.uint8Array({ maxLength: 40 })), fc.boolean(), (key, v, value, longHeads) => {
        const version = v + 1;
        let leaf = encodeLeaf({ key, version, value });
        if (longHeads) {
          // The same leaf with non-shortest heads (an origin may sign such bytes): array, key text.
          const k = utf8.encode(key);
          const rest = leaf.subarray(headAt(leaf, headAt(leaf, 0).next).next + k.length);
          leaf = concatBytes(new Uint8Array([0x98, 3, 0x79, k.length >> 8, k.length & 255]), k, rest);
        }
        const d = decodeLeaf(leaf, 256, 1 << 14);
        expect(d.key).toBe(key);
        expect(toHex(d.keyBytes)).toBe(toHex(utf8.encode(key)));
        expect(d.keyBytes.buffer).toBe(leaf.buffer); // a view of the leaf, no buffer of its own
        expect(d.value === null ? null : toHex(d.value)).toBe(value === null ? null : toHex(value));
      }),
      { seed: 5, numRuns: 300 },
    );
  });

  it("a root body's byte strings are views of the body; a frame's are copies", () => {
    const origin = new Uint8Array(32).fill(7);
    const root = new Uint8Array(32).fill(9);
    const body = encodeRootBody({ origin, generation: 1, version: 3, root, count: 2, floor: 0, flags: 0 });
    const f = decodeRootBody(body);
    expect(toHex(f.origin)).toBe(toHex(origin));
    expect(toHex(f.root)).toBe(toHex(root));
    expect(f.origin.buffer).toBe(body.buffer);
    expect(f.root.buffer).toBe(body.buffer);
    const copied = decode(encode([origin])) as Uint8Array[];
    expect(toHex(copied[0])).toBe(toHex(origin));
    const bytes = encode([origin]);
    expect((decode(bytes) as Uint8Array[])[0].buffer).not.toBe(bytes.buffer);
    expect((decode(bytes, undefined, true) as Uint8Array[])[0].buffer).toBe(bytes.buffer);
  });
});
