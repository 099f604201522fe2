// The shape kit: each helper accepts exactly its kind, coerces nothing, and names the path in a
// WIRE_SHAPE error; maps are read through own properties only.
import { describe, expect, it } from "vitest";
import { GrapevineError } from "../../src/errors.ts";
import { decode, encode } from "../../src/wire/cbor.ts";
import {
  asArray,
  asBool,
  asBytes,
  asBytesOrNull,
  asInt,
  asMap,
  asNumber,
  asText,
  asUint,
  field,
  optionalField,
  utf8ByteLength,
} from "../../src/wire/shape.ts";

function shapeError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof GrapevineError && e.code === "WIRE_SHAPE" && e.source === "remote") return e.message;
    throw e;
  }
  throw new Error("expected a WIRE_SHAPE error");
}

describe("shape helpers", () => {
  it("asArray checks kind and length bounds", () => {
    const a = [1, 2];
    expect(asArray(a, "f", 2, 2)).toBe(a);
    expect(asArray([], "f")).toEqual([]);
    expect(shapeError(() => asArray([1], "frame", 2, 3))).toBe("WIRE_SHAPE: frame: expected 2..3 elements, got 1");
    expect(shapeError(() => asArray([1, 2, 3, 4], "f", 0, 3))).toMatch(/got 4/);
    expect(shapeError(() => asArray({ length: 0 }, "f"))).toMatch(/f: expected an array/);
    expect(shapeError(() => asArray(new Uint8Array(2), "f"))).toMatch(/expected an array/);
  });

  it("asUint and asInt accept safe integers in range only", () => {
    expect(asUint(0, "n")).toBe(0);
    expect(asUint(Number.MAX_SAFE_INTEGER, "n")).toBe(Number.MAX_SAFE_INTEGER);
    expect(asUint(255, "n", 255)).toBe(255);
    for (const bad of [-1, 1.5, 256, "1", 2 ** 53, NaN, null, 1n]) expect(shapeError(() => asUint(bad, "a.b", 255))).toMatch(/^WIRE_SHAPE: a\.b: /);
    expect(asInt(-5, "i", -10, 10)).toBe(-5);
    expect(shapeError(() => asInt(-11, "i", -10, 10))).toMatch(/-10\.\.10/);
    expect(shapeError(() => asInt(0.5, "i"))).toMatch(/integer/);
  });

  it("asNumber accepts finite numbers; asBool booleans", () => {
    expect(asNumber(1.5, "x")).toBe(1.5);
    expect(shapeError(() => asNumber(NaN, "x"))).toMatch(/finite/);
    expect(shapeError(() => asNumber(Infinity, "x"))).toMatch(/finite/);
    expect(shapeError(() => asNumber("1", "x"))).toMatch(/finite/);
    expect(asBool(false, "b")).toBe(false);
    expect(shapeError(() => asBool(0, "b"))).toMatch(/boolean/);
  });

  it("asText bounds UTF-8 bytes, not UTF-16 units", () => {
    expect(asText("ééé", "t", 6)).toBe("ééé");
    expect(shapeError(() => asText("ééé", "t", 5))).toMatch(/longer than 5 bytes/);
    expect(shapeError(() => asText(new Uint8Array(1), "t", 5))).toMatch(/text string/);
  });

  it("asBytes checks exact and maximum lengths; asBytesOrNull also takes null", () => {
    const b = new Uint8Array(32);
    expect(asBytes(b, "k", 32)).toBe(b);
    expect(asBytes(b, "k", undefined, 32)).toBe(b);
    expect(shapeError(() => asBytes(b, "k", 31))).toMatch(/expected 31 bytes, got 32/);
    expect(shapeError(() => asBytes(b, "k", undefined, 31))).toMatch(/at most 31 bytes/);
    expect(shapeError(() => asBytes([1, 2], "k"))).toMatch(/byte string/);
    expect(shapeError(() => asBytes("00", "k"))).toMatch(/byte string/);
    expect(asBytesOrNull(null, "k", 32)).toBeNull();
    expect(asBytesOrNull(b, "k", 32)).toBe(b);
    expect(shapeError(() => asBytesOrNull(undefined, "k"))).toMatch(/byte string/);
  });

  it("asMap takes decoded maps and nothing else; field reads own keys only", () => {
    const m = asMap(decode(encode({ id: 1, constructor: 2 })), "m");
    expect(field(m, "id", "m")).toBe(1);
    expect(field(m, "constructor", "m")).toBe(2);
    expect(shapeError(() => field(m, "toString", "m"))).toBe('WIRE_SHAPE: m: missing key "toString"');
    expect(optionalField(m, "hasOwnProperty")).toBeUndefined();
    expect(optionalField(m, "id")).toBe(1);
    for (const bad of [null, [], new Uint8Array(1), "x", 1]) expect(shapeError(() => asMap(bad, "m"))).toMatch(/expected a map/);
  });

  it("utf8ByteLength matches TextEncoder, lone surrogates counting as U+FFFD", () => {
    for (const s of ["", "a", "é", "€", "😀", "a😀b", "\uD800", "\uDC00x", "\uD800\uD800", "x".repeat(100)]) {
      expect(utf8ByteLength(s)).toBe(new TextEncoder().encode(s).length);
    }
  });
});
