/**
 * The selector memo of `grapevine/react` (`selectFrom`) and `shallow`, without React: a selection
 * keeps its identity while the value and selector are the same (the selector does not run), and
 * while a new pick is equal to the last; otherwise the new pick is returned.
 */
import { describe, expect, it } from "vitest";
import { shallow } from "../../src/react/mod.ts";
import { selectFrom } from "../../src/react/select.ts";

describe("selectFrom", () => {
  it("does not run the selector again for the same value and selector", () => {
    let runs = 0;
    const names = (v: { name: string }[]) => (runs++, v.map((x) => x.name));
    const value = [{ name: "a" }];
    const first = selectFrom(null, value, names, shallow);
    expect(first.selected).toEqual(["a"]);
    expect(selectFrom(first, value, names, shallow)).toBe(first);
    expect(runs).toBe(1);
  });

  it("keeps the last pick while the new one is equal, by isEqual", () => {
    const names = (v: { name: string; x: number }[]) => v.map((x) => x.name);
    const a = selectFrom(null, [{ name: "a", x: 1 }], names, shallow);
    const moved = selectFrom(a, [{ name: "a", x: 2 }], names, shallow); // a cursor moved: same names
    expect(moved.selected).toBe(a.selected);
    const renamed = selectFrom(moved, [{ name: "b", x: 2 }], names, shallow);
    expect(renamed.selected).toEqual(["b"]);
    expect(renamed.selected).not.toBe(a.selected);
    // With Object.is a new array is always new.
    const byIdentity = selectFrom(a, [{ name: "a", x: 2 }], names, Object.is);
    expect(byIdentity.selected).not.toBe(a.selected);
  });

  it("runs a new selector on the same value", () => {
    const value = [{ name: "a", x: 1 }];
    const first = selectFrom(null, value, (v: typeof value) => v.length, Object.is);
    const second = selectFrom(first, value, (v: typeof value) => v[0].x, Object.is);
    expect(second.selected).toBe(1);
    expect(first.selected).toBe(1);
    const third = selectFrom(second, value, (v: typeof value) => v[0].name, Object.is);
    expect(third.selected).toBe("a");
  });
});

describe("shallow", () => {
  it("compares arrays and plain objects one level deep", () => {
    const o = { n: 1 };
    expect(shallow([1, "a", o], [1, "a", o])).toBe(true);
    expect(shallow([1, o], [1, { n: 1 }])).toBe(false);
    expect(shallow([1], [1, 2])).toBe(false);
    expect(shallow({ a: 1, b: o }, { b: o, a: 1 })).toBe(true);
    expect(shallow({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(shallow({ a: 1, c: undefined }, { a: 1, b: undefined })).toBe(false);
    expect(shallow({ a: NaN }, { a: NaN })).toBe(true);
  });

  it("does not take other objects, or an array and an object, for equal", () => {
    expect(shallow([1], { 0: 1, length: 1 })).toBe(false);
    expect(shallow(new Map([[1, 1]]), new Map([[1, 1]]))).toBe(false);
    expect(shallow(new Date(0), new Date(0))).toBe(false);
    expect(shallow(null, {})).toBe(false);
    expect(shallow("a", "a")).toBe(true);
    expect(shallow(1, 2)).toBe(false);
  });
});
