// What a link is presumed to lack of the hot origins (exchange.ts): none, one id, or a list, and
// the shared empty list is never written to.
import { describe, expect, it } from "vitest";
import { addBehind, behindCount, behindList, dropAllBehind, dropBehind, isBehind, NOT_BEHIND, SyncLink } from "../../src/core/sync-link.ts";

describe("a link's hot origins it lacks", () => {
  it("goes from none to one id to a list and back, through each writer", () => {
    const l = new SyncLink(1, NOT_BEHIND);
    expect(behindList(l)).toEqual([]);
    addBehind(l, "a");
    expect(l.behind).toBe("a");
    addBehind(l, "a");
    expect(behindList(l)).toEqual(["a"]);
    for (const id of ["b", "c", "d", "b"]) addBehind(l, id);
    expect(behindList(l)).toEqual(["a", "b", "c", "d"]);
    expect(behindCount(l)).toBe(4);
    dropAllBehind(l, new Set(["b", "d", "x"]));
    expect(behindList(l)).toEqual(["a", "c"]);
    expect(isBehind(l, "b")).toBe(false);
    dropAllBehind(l, new Set(["x"]));
    expect(behindList(l)).toEqual(["a", "c"]);
    dropAllBehind(l, new Set(["a"]));
    expect(l.behind).toBe("c"); // one left: the id itself, no list
    dropAllBehind(l, new Set(["c"]));
    expect(l.behind).toBe(NOT_BEHIND);
    for (const id of ["a", "b", "c"]) addBehind(l, id);
    dropAllBehind(l, new Set(["a", "b", "c"]));
    expect(l.behind).toBe(NOT_BEHIND);
    addBehind(l, "e");
    dropBehind(l, "e");
    expect(l.behind).toBe(NOT_BEHIND);
    expect(NOT_BEHIND).toEqual([]);
  });

  it("dropping from one link leaves every other link's list as it was", () => {
    const a = new SyncLink(1, NOT_BEHIND);
    const b = new SyncLink(2, NOT_BEHIND);
    for (const id of ["x", "y", "z"]) (addBehind(a, id), addBehind(b, id));
    dropAllBehind(a, new Set(["x", "y"]));
    dropBehind(a, "z");
    expect(behindList(a)).toEqual([]);
    expect(behindList(b)).toEqual(["x", "y", "z"]);
  });
});
