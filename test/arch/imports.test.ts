/**
 * Architecture test for DESIGN.md §2, the shape of the import graph: no import cycles among the
 * library's modules, no module importing from a layer above its own, and no file in `src/` over
 * 500 lines (STYLE.md 13: small files, one concept each).
 *
 * Only value imports count: `import type` is erased before anything runs, so a type shared across
 * layers (a read-only view a facade declares) creates no dependency. Layers, from the bottom:
 * `bytes`/`errors`, then `wire` and `crypto`, `core`, then `sim` and `transport`, `runtime` with
 * `presence`, `react`, `mod.ts` (the public entry); `relay/` and `cli/`, which use it, sit on top.
 *
 * Known gaps are listed exactly (`KNOWN_*`): a new violation fails, and so does one that is fixed but
 * still listed, so the lists only shrink.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { lex } from "./sans-io.test.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const LINES_MAX = 500;

/** Files over LINES_MAX not yet split, with the most lines each may have until it is. */
const KNOWN_LONG: Record<string, number> = {};

/** Rank of a module's layer: it may import from its own layer and those below. */
function layer(file: string): { rank: number; name: string } {
  const order: [RegExp, string][] = [
    [/^src\/(bytes|errors)\.ts$/, "base"],
    [/^src\/(wire|crypto)\//, "wire/crypto"],
    [/^src\/core\//, "core"],
    [/^src\/(sim|transport)\//, "sim/transport"],
    // Presence rooms are part of the node's facade (`node.room()` opens one); presence reaches the
    // node through its public types only, so there is no cycle.
    [/^src\/(runtime|presence)\//, "runtime/presence"],
    [/^src\/(react|lite)\//, "entries"], // grapevine/react and grapevine/lite
    [/^mod\.ts$/, "mod"],
    [/^(relay|cli)\//, "relay/cli"],
  ];
  for (const [k, [re, name]] of order.entries()) if (re.test(file)) return { rank: k, name };
  return { rank: order.length, name: "other" };
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir))) {
    const p = join(dir, e);
    if (statSync(join(ROOT, p)).isDirectory()) out.push(...walk(p));
    else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) out.push(p.split("\\").join("/"));
  }
  return out;
}

/** Relative value imports of a file (type-only imports and re-exports of types left out). */
function valueImports(file: string): string[] {
  const { code } = lex(readFileSync(join(ROOT, file), "utf8"));
  const out: string[] = [];
  const re = /(?:^|[;\n}])\s*(import|export)\s+(type\s+)?([^;'"]*?)\s*from\s*["'](\.[^"']+)["']/g;
  for (let m; (m = re.exec(code)); ) {
    if (m[2]) continue; // import type …, export type …
    const clause = m[3].trim();
    // `import { type A, type B }` and `export { type A }` import no value either.
    const braces = /^\{([^}]*)\}$/.exec(clause);
    if (braces && braces[1].split(",").map((s) => s.trim()).filter(Boolean).every((s) => s.startsWith("type "))) continue;
    out.push(relative(ROOT, resolve(ROOT, dirname(file), m[4])).split("\\").join("/"));
  }
  for (const m of code.matchAll(/(?:^|[;\n}])\s*import\s*["'](\.[^"']+)["']/g)) out.push(relative(ROOT, resolve(ROOT, dirname(file), m[1])).split("\\").join("/"));
  return out;
}

const FILES = ["mod.ts", ...walk("src"), ...walk("relay").filter((f) => !f.startsWith("relay/types")), ...walk("cli")];
const GRAPH = new Map(FILES.map((f) => [f, valueImports(f).filter((t) => FILES.includes(t))]));

/** Strongly connected components of more than one module (or a module importing itself). */
function cycles(): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of GRAPH.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      for (let w; (w = stack.pop()!) !== v; ) {
        on.delete(w);
        scc.push(w);
      }
      on.delete(v);
      scc.push(v);
      if (scc.length > 1 || (GRAPH.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const f of FILES) if (!idx.has(f)) visit(f);
  return out;
}

describe("architecture: the import graph", () => {
  it("has no cycles", () => {
    expect(cycles()).toEqual([]);
  });

  it("imports only from the same layer or below", () => {
    const upward: string[] = [];
    for (const [from, targets] of GRAPH) {
      const a = layer(from);
      for (const to of targets) {
        const b = layer(to);
        if (b.rank > a.rank) upward.push(`${from} (${a.name}) imports ${to} (${b.name})`);
      }
    }
    expect(upward).toEqual([]);
  });

  it(`keeps every file in src/ under ${LINES_MAX} lines`, () => {
    const long = walk("src")
      .map((f) => [f, readFileSync(join(ROOT, f), "utf8").split("\n").length] as const)
      .filter(([, n]) => n > LINES_MAX);
    // Known long files may not grow past their mark; any other file over the limit fails.
    const over = long.filter(([f, n]) => !(f in KNOWN_LONG) || n > KNOWN_LONG[f]).map(([f, n]) => `${f}: ${n} lines`);
    expect(over).toEqual([]);
    expect(long.map(([f]) => f).sort()).toEqual(Object.keys(KNOWN_LONG).sort()); // split ones leave the list
  });
});
