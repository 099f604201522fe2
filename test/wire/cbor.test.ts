// The codec: round trips, the exact bytes encode must write, what it refuses, and how decode hands
// values back (plain Uint8Array copies, plain objects, duplicate keys refused, errors wrapped).
import { Buffer } from "node:buffer";
import { Encoder } from "cbor-x/encode";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/bytes.ts";
import { GrapevineError } from "../../src/errors.ts";
import { decode, encode, encodeArray } from "../../src/wire/cbor.ts";
import { DEFAULT_DECODE_LIMITS } from "../../src/wire/limits.ts";
import { difference } from "../vectors/cbor.check.ts";

// Replay a failure with the printed seed: FC_SEED=<seed> npx vitest run test/wire/cbor.test.ts
const seed = Number(process.env.FC_SEED ?? 0xc0b0);
console.log(`cbor.test.ts: fast-check seed ${seed} (replay: FC_SEED=${seed} npx vitest run test/wire/cbor.test.ts)`);

const text = fc
  .string({ unit: "binary", maxLength: 40 })
  .filter((s) => !s.startsWith("\uFEFF"));
const key = fc.oneof(text, fc.string({ maxLength: 6 })).filter((k) => k !== "__proto__" && !k.startsWith("\uFEFF"));
const number = fc.oneof(
  fc.nat(),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.constantFrom(23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), -(2 ** 32) - 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? 0 : d)), // -0 encodes as 0
);
const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    number,
    text,
    fc.uint8Array({ maxLength: 40 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 6 }),
    fc.dictionary(key, tie("value"), { maxKeys: 6 }),
  ),
}));

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof GrapevineError ? e.code : `${(e as Error).name}`;
  }
  return "ok";
}

/**
 * The codec this one replaced: values prepared (keys sorted into a Map, safe integers past 32 bits
 * as bigint) and written by cbor-x with every option pinned, read back by cbor-x. Our own codec
 * must write the same bytes and read the same values.
 */
const CBOR_X_OPTIONS = {
  useRecords: false, mapsAsObjects: true, variableMapSize: true, useTag259ForMaps: false, tagUint8Array: false,
  structuredClone: false, pack: false, bundleStrings: false, useFloat32: 0, alwaysUseFloat: false, largeBigIntToFloat: false,
  useSelfDescribedHeader: false, useToJSON: false, useTimestamp32: false, sequential: false, int64AsNumber: true, copyBuffers: true,
};
const cborX = new Encoder(CBOR_X_OPTIONS);
function cborXPrepare(v: unknown): unknown {
  if (typeof v === "number") return Number.isSafeInteger(v) && (v > 0xffff_ffff || v < -0x1_0000_0000) ? BigInt(v) : v;
  if (v === null || typeof v !== "object" || v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return v.map(cborXPrepare);
  const keys = Object.keys(v).sort((a, b) => {
    const la = Buffer.byteLength(a), lb = Buffer.byteLength(b);
    return la !== lb ? la - lb : Buffer.compare(Buffer.from(a), Buffer.from(b));
  });
  return new Map(keys.map((k) => [k, cborXPrepare((v as Record<string, unknown>)[k])]));
}

describe("the same bytes and values as the cbor-x codec it replaced", () => {
  it("encode writes what cbor-x wrote; decode reads what cbor-x read", () => {
    fc.assert(
      fc.property(value, (x) => {
        const ours = encode(x);
        const theirs = new Uint8Array(cborX.encode(cborXPrepare(x)));
        expect(toHex(ours)).toBe(toHex(theirs));
        expect(difference(decode(ours), cborX.decode(theirs), "x")).toBeUndefined();
      }),
      { seed, numRuns: 3000 },
    );
  });
});

describe("encode/decode round trip", () => {
  it("decode(encode(x)) deep-equals x for the whole data model", () => {
    fc.assert(
      fc.property(value, (x) => {
        const bytes = encode(x);
        expect(difference(decode(bytes), x, "x")).toBeUndefined();
        expect(decode(bytes)).toEqual(x);
      }),
      { seed, numRuns: 2000 },
    );
  });

  it("encoding is canonical: decode then encode gives the same bytes", () => {
    fc.assert(
      fc.property(value, (x) => {
        const bytes = encode(x);
        expect(toHex(encode(decode(bytes)))).toBe(toHex(bytes));
      }),
      { seed, numRuns: 1000 },
    );
  });
});

describe("encodeArray", () => {
  it("writes of items encoded apart the bytes encode writes of their array", () => {
    fc.assert(
      fc.property(fc.array(value, { maxLength: 30 }), (xs) => {
        expect(toHex(encodeArray(xs.map((x) => encode(x))))).toBe(toHex(encode(xs)));
      }),
      { seed, numRuns: 500 },
    );
    // Heads of every width: 23, 24, 255, 256 and 65,536 items.
    for (const n of [0, 23, 24, 255, 256, 65_536]) {
      const xs = Array.from({ length: n }, (_, i) => i % 300);
      expect(toHex(encodeArray(xs.map((x) => encode(x)))), `${n} items`).toBe(toHex(encode(xs)));
    }
  });
});

describe("encode writes these exact bytes", () => {
  const cases: [string, unknown, string][] = [
    ["0", 0, "00"],
    ["23", 23, "17"],
    ["24", 24, "1818"],
    ["2^32-1", 2 ** 32 - 1, "1affffffff"],
    ["2^32 as an 8-byte int, not a float", 2 ** 32, "1b0000000100000000"],
    ["max safe int", Number.MAX_SAFE_INTEGER, "1b001fffffffffffff"],
    ["-1", -1, "20"],
    ["-2^32", -(2 ** 32), "3affffffff"],
    ["-2^32-1 as an 8-byte int", -(2 ** 32) - 1, "3b0000000100000000"],
    ["-0 as the integer 0", -0, "00"],
    ["0.5 as binary64", 0.5, "fb3fe0000000000000"],
    ["2^53 (unsafe) as binary64", 2 ** 53, "fb4340000000000000"],
    ["false", false, "f4"],
    ["true", true, "f5"],
    ["null", null, "f6"],
    ["empty bytes, no tag", new Uint8Array(0), "40"],
    ["a Node Buffer, no tag", Buffer.from([1, 2]), "420102"],
    ["a subarray view", new Uint8Array([9, 1, 2, 9]).subarray(1, 3), "420102"],
    ["text", "IETF", "6449455446"],
    ["long text (Buffer.utf8Write path)", "é".repeat(70), `788c${"c3a9".repeat(70)}`],
    ["empty array", [], "80"],
    ["nested arrays", [1, [2, 3], [4, 5]], "8301820203820405"],
    ["empty map", {}, "a0"],
    ["map, keys sorted", { b: [2, 3], a: 1 }, "a26161016162820203"],
    ["integer-like keys sorted as text", { bb: 1, a: 2, 10: 3, 2: 4 }, "a46132046161026231300362626201"],
    ["keys by UTF-8 bytes, not UTF-16 units", { "😀": 1, "\uE000a": 2 }, "a264ee8080610264f09f988001"],
    ["null-prototype object", Object.assign(Object.create(null) as object, { a: 1 }), "a1616101"],
    ["keys that shadow Object.prototype", { constructor: 1, toString: 2 }, "a268746f537472696e67026b636f6e7374727563746f7201"],
  ];
  it.each(cases)("%s", (_name, input, hex) => {
    expect(toHex(encode(input))).toBe(hex);
  });

  it("24 map pairs get a 1-byte length head", () => {
    const m: Record<string, number> = {};
    for (let i = 0; i < 24; i++) m[String.fromCharCode(97 + (i % 26)) + (i >= 26 ? "x" : "")] = i;
    expect(toHex(encode(m)).slice(0, 4)).toBe("b818");
  });

  it("key insertion order never changes the bytes", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(key, fc.integer()), { selector: ([k]) => k, maxLength: 12 }), (pairs) => {
        const forward = Object.fromEntries(pairs);
        const backward = Object.fromEntries([...pairs].reverse());
        expect(toHex(encode(backward))).toBe(toHex(encode(forward)));
      }),
      { seed, numRuns: 500 },
    );
  });
});

describe("encode output", () => {
  it("is a plain Uint8Array that later encodes never overwrite", () => {
    const first = encode({ a: "x".repeat(100), b: new Uint8Array(50).fill(7) });
    const copy = first.slice();
    for (let i = 0; i < 2000; i++) encode({ a: "y".repeat(100 + (i % 50)), b: new Uint8Array(50).fill(i & 255) });
    encode(new Uint8Array(100_000)); // forces cbor-x to grow and swap its buffer
    expect(Object.getPrototypeOf(first)).toBe(Uint8Array.prototype);
    expect(first).toEqual(copy);
    expect(first.byteOffset).toBe(0);
    expect(first.buffer.byteLength).toBe(first.length);
  });
});

describe("encode refuses what decode would not return", () => {
  const refused: [string, unknown, string][] = [
    ["undefined", undefined, "TypeError"],
    ["undefined inside a map", { a: undefined }, "TypeError"],
    ["a sparse array", [1, , 3], "TypeError"], // eslint-disable-line no-sparse-arrays
    ["bigint", 1n, "TypeError"],
    ["NaN", NaN, "TypeError"],
    ["Infinity", Infinity, "TypeError"],
    ["a symbol", Symbol("s"), "TypeError"],
    ["a function", () => 1, "TypeError"],
    ["a Map", new Map([["a", 1]]), "TypeError"],
    ["a Set", new Set([1]), "TypeError"],
    ["a Date", new Date(0), "TypeError"],
    ["an ArrayBuffer", new ArrayBuffer(2), "TypeError"],
    ["a Uint16Array", new Uint16Array(2), "TypeError"],
    ["a DataView", new DataView(new ArrayBuffer(2)), "TypeError"],
    ["a class instance", new (class Point { x = 1 })(), "TypeError"],
    ["an Array subclass", new (class Stack extends Array {})(), "TypeError"],
    ["an object with a symbol key", { [Symbol.iterator]: 1 }, "TypeError"],
    ["a __proto__ key", JSON.parse('{"__proto__": 1}'), "TypeError"],
    ["a lone high surrogate", "a\uD800", "TypeError"],
    ["a lone low surrogate in a key", { "\uDC00": 1 }, "TypeError"],
    ["a long string with a lone surrogate", "x".repeat(100) + "\uD800", "TypeError"],
    ["text starting with U+FEFF", "\uFEFFhello", "TypeError"],
  ];
  it.each(refused)("%s", (_name, input, error) => {
    expect(codeOf(() => encode(input))).toBe(error);
  });

  it("a cycle is a RangeError, not a stack overflow", () => {
    const a: unknown[] = [];
    a.push(a);
    expect(() => encode(a)).toThrow(RangeError);
    expect(() => encode(a)).toThrow(/nesting deeper/);
  });

  it("U+FEFF after the first character is fine", () => {
    expect(decode(encode("a\uFEFF"))).toBe("a\uFEFF");
  });
});

describe("decode results", () => {
  it("byte strings are plain Uint8Array copies, even from a Buffer", () => {
    const frame = Buffer.from(encode([new Uint8Array([1, 2, 3]), { k: new Uint8Array([4]) }]));
    const out = decode(frame) as [Uint8Array, { k: Uint8Array }];
    expect(Object.getPrototypeOf(out[0])).toBe(Uint8Array.prototype);
    expect(Object.getPrototypeOf(out[1].k)).toBe(Uint8Array.prototype);
    frame.fill(0); // the results do not alias the frame
    expect([...out[0]]).toEqual([1, 2, 3]);
    expect([...out[1].k]).toEqual([4]);
    expect(out[0].buffer).not.toBe(frame.buffer);
  });

  it("does not touch the caller's array (cbor-x caches a DataView on its source)", () => {
    const frame = encode({ a: 1 });
    decode(frame);
    expect(Object.keys(frame)).toEqual(["0", "1", "2", "3"]);
    expect("dataView" in frame).toBe(false);
  });

  it("reads a view at a non-zero offset", () => {
    const inner = encode(["offset", new Uint8Array([5])]);
    const big = new Uint8Array(inner.length + 7);
    big.set(inner, 3);
    expect(decode(big.subarray(3, 3 + inner.length))).toEqual(["offset", new Uint8Array([5])]);
  });

  it("reads every head width and float at a non-zero offset, and from a Buffer", () => {
    // 1-, 2-, 4- and 8-byte heads, binary16/32/64 floats, a byte string: each read at an odd offset
    // of a larger buffer (heads are read byte by byte, floats through a view of their own bytes).
    const hex = "8a" + "18ff" + "19fffe" + "1afffffffd" + "1b0000010000000001" + "3a7fffffff" + "f93e00" + "fa3fc00000" + "fbc010000000000000" + "43010203" + "f5";
    const want = [255, 65534, 4294967293, 2 ** 40 + 1, -(2 ** 31), 1.5, 1.5, -4, new Uint8Array([1, 2, 3]), true];
    const inner = fromHex(hex);
    const big = new Uint8Array(inner.length + 5);
    big.set(inner, 5);
    expect(decode(big.subarray(5))).toEqual(want);
    expect(decode(Buffer.from(inner))).toEqual(want);
    expect(decode(Buffer.from(inner), DEFAULT_DECODE_LIMITS, true)).toEqual(want);
  });

  it("maps are plain objects; unsigned-int keys become decimal strings", () => {
    const out = decode(fromHex("a20102616103")) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(out).toEqual({ "1": 2, a: 3 });
  });

  it("8-byte integers come back as numbers, not bigints", () => {
    expect(decode(fromHex("1b001fffffffffffff"))).toBe(Number.MAX_SAFE_INTEGER);
    expect(decode(fromHex("3b001ffffffffffffe"))).toBe(-Number.MAX_SAFE_INTEGER);
  });

  it("duplicate keys are refused, including 1 and \"1\"", () => {
    expect(codeOf(() => decode(fromHex("a2616101616102")))).toBe("WIRE_MALFORMED");
    expect(codeOf(() => decode(fromHex("a20101613102")))).toBe("WIRE_MALFORMED");
    expect(codeOf(() => decode(fromHex("82a1616101a2616201616202")))).toBe("WIRE_MALFORMED");
    expect(decode(fromHex("82a1616101a1616101"))).toEqual([{ a: 1 }, { a: 1 }]); // same key, different maps
  });

  it("a non-Uint8Array argument is a TypeError", () => {
    expect(codeOf(() => decode([0] as unknown as Uint8Array))).toBe("TypeError");
    expect(codeOf(() => decode(new ArrayBuffer(1) as unknown as Uint8Array))).toBe("TypeError");
  });

  it("invalid limits are a RangeError", () => {
    expect(codeOf(() => decode(fromHex("00"), { ...DEFAULT_DECODE_LIMITS, depthMax: -1 }))).toBe("RangeError");
    expect(codeOf(() => decode(fromHex("00"), { ...DEFAULT_DECODE_LIMITS, itemsMax: Infinity }))).toBe("RangeError");
    expect(codeOf(() => decode(fromHex("00"), { ...DEFAULT_DECODE_LIMITS, frameBytesMax: 1.5 }))).toBe("RangeError");
  });

  it("a cbor-x failure is wrapped as WIRE_MALFORMED with the cause, and cbor-x recovers", () => {
    // Limits loose enough to let a million nested arrays past the scanner: cbor-x's recursive
    // reader then overflows the stack. The scanner itself never recurses.
    const depth = 1_000_000;
    const frame = new Uint8Array(depth + 1).fill(0x81);
    frame[depth] = 0;
    const loose = { ...DEFAULT_DECODE_LIMITS, depthMax: depth, itemsMax: depth + 1, frameBytesMax: depth + 1 };
    let caught: unknown;
    try {
      decode(frame, loose);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(GrapevineError);
    expect((caught as GrapevineError).code).toBe("WIRE_MALFORMED");
    expect((caught as GrapevineError).source).toBe("remote");
    expect((caught as GrapevineError).cause).toBeInstanceOf(RangeError);
    expect(decode(encode({ after: [1, "two"] }))).toEqual({ after: [1, "two"] });
  });
});

// What raw cbor-x does, pinned, so a cbor-x upgrade that changes it is noticed. Each one is a
// reason for an option or a check in src/wire (see the module docs of cbor.ts and scan.ts).
describe("cbor-x behaviours src/wire works around", () => {
  const raw = new Encoder({ useRecords: false });

  it("writes integers past 32 bits as binary64 floats (we pass bigints: 8-byte int heads)", () => {
    expect(toHex(raw.encode(2 ** 32))).toBe("fb41f0000000000000");
    expect(toHex(encode(2 ** 32))).toBe("1b0000000100000000");
  });

  it("tags Uint8Array with 64 on Node unless told not to (we pin tagUint8Array: false)", () => {
    expect(toHex(raw.encode(new Uint8Array([1])))).toBe("d8404101");
    expect(toHex(encode(new Uint8Array([1])))).toBe("4101");
  });

  it("drops a leading U+FEFF from text over 64 bytes in its JS reader (we refuse leading U+FEFF)", () => {
    const long = `\uFEFF${"x".repeat(70)}`;
    const frame = raw.encode(long);
    expect(raw.decode(frame)).toBe(long.slice(1)); // lossy, and only past 64 bytes
    expect(raw.decode(raw.encode("\uFEFFx"))).toBe("\uFEFFx");
    expect(codeOf(() => decode(new Uint8Array(frame)))).toBe("WIRE_MALFORMED");
  });

  it("writes a lone surrogate two ways depending on string length (we refuse lone surrogates)", () => {
    expect(toHex(raw.encode("\uD800"))).toBe("63eda080"); // invalid UTF-8
    expect(toHex(raw.encode(`${"x".repeat(64)}\uD800`)).endsWith("efbfbd")).toBe(true); // U+FFFD
  });

  it("returns views into the frame, and Buffers for Buffer frames (we copy into plain Uint8Array)", () => {
    const frame = Buffer.from("4401020304", "hex");
    const out = raw.decode(frame) as Uint8Array;
    expect(Buffer.isBuffer(out)).toBe(true);
    expect(out.buffer).toBe(frame.buffer);
  });

  it("renames a __proto__ key to __proto_ (we refuse it: no silent rewrites)", () => {
    expect(Object.keys(raw.decode(fromHex("a1695f5f70726f746f5f5f01")) as object)).toEqual(["__proto_"]);
  });

  it("keeps the last of duplicate keys (we refuse duplicates)", () => {
    expect(raw.decode(fromHex("a2616101616102"))).toEqual({ a: 2 });
  });

  it("decodes tags, undefined and indefinite lengths (the scanner refuses them first)", () => {
    expect(raw.decode(fromHex("f7"))).toBeUndefined();
    expect(raw.decode(fromHex("c11a514b67b0"))).toBeInstanceOf(Date);
    expect(raw.decode(fromHex("9f0102ff"))).toEqual([1, 2]);
  });
});

describe("the writer encode keeps between calls", () => {
  it("leaves nothing of one value in the next: a large value, then small ones, give the bytes a fresh writer gives", () => {
    const small = [1, new Uint8Array([7, 8]), "x"];
    const first = encode(small);
    const large = encode({ a: new Uint8Array(100_000).fill(9), b: "y".repeat(1000) });
    expect(large.length).toBeGreaterThan(100_000);
    expect(encode(small)).toEqual(first);
    expect(encode([])).toEqual(new Uint8Array([0x80]));
    // A value that cannot be encoded leaves the writer usable.
    expect(() => encode([1, () => 0])).toThrow(TypeError);
    expect(encode(small)).toEqual(first);
  });
});
