/**
 * The parts of membership (`src/core/membership/`) import each other without a cycle, none of them
 * reaches up into the engine, and each stays a small file: they talk through the coordinator or
 * through functions it hands them (see the header of `src/core/membership/membership.ts`).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../src/core/membership");
const FILE_LINES_MAX = 500;

/** Relative specifiers a file imports or re-exports (type-only ones too: a cycle is a cycle). */
function importsOf(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"/gm)) found.push(m[1]);
  return found;
}

const files = readdirSync(DIR).filter((f) => f.endsWith(".ts")).sort();
const sources = new Map(files.map((f) => [f, readFileSync(join(DIR, f), "utf8")]));

describe("src/core/membership", () => {
  it("has its parts", () => {
    expect(files).toContain("membership.ts");
    expect(files.length).toBeGreaterThan(5);
  });

  it("imports among its parts form no cycle", () => {
    const edges = new Map(files.map((f) => [f, importsOf(sources.get(f)!).filter((s) => s.startsWith("./")).map((s) => s.slice(2))]));
    const state = new Map<string, "open" | "done">();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]) => {
      if (state.get(f) === "done") return;
      if (state.get(f) === "open") {
        cycles.push([...path.slice(path.indexOf(f)), f].join(" → "));
        return;
      }
      state.set(f, "open");
      for (const g of edges.get(f) ?? []) visit(g, [...path, f]);
      state.set(f, "done");
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it("reaches only down: never into the engine or another subsystem", () => {
    const upward = files.flatMap((f) =>
      importsOf(sources.get(f)!)
        .filter((s) => /^\.\.\/(engine|broadcast|store|node)\.ts$/.test(s))
        .map((s) => `${f} imports ${s}`),
    );
    expect(upward).toEqual([]);
  });

  it(`keeps every file under ${FILE_LINES_MAX} lines`, () => {
    const long = files.filter((f) => sources.get(f)!.split("\n").length > FILE_LINES_MAX);
    expect(long).toEqual([]);
  });
});
