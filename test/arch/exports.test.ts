/**
 * One source for npm and JSR (STYLE.md item 14): `package.json` and `deno.json` name the same entry
 * points, each npm target `dist/X.js` (with `dist/X.d.ts`) is what `tsc -p tsconfig.build.json`
 * emits for the source `X.ts` that `deno.json` publishes, and every such source exists. Also keeps
 * the two manifests' versions and runtime dependencies in step, and makes sure `npm test` runs
 * `deno check` over every Deno entry point.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(resolve(ROOT, path), "utf8")) as Record<string, unknown>;
}

const pkg = readJson("package.json") as {
  version: string;
  main?: string;
  types?: string;
  files?: string[];
  bin?: Record<string, string>;
  scripts: Record<string, string>;
  dependencies?: Record<string, string>;
  exports: Record<string, { types: string; default: string }>;
};
const deno = readJson("deno.json") as {
  name: string;
  version: string;
  exports: Record<string, string>;
  imports?: Record<string, string>;
};
const buildConfig = readJson("tsconfig.build.json") as { include: string[]; exclude?: string[]; compilerOptions: { outDir: string } };
/** The runtime adapters, emitted for npm by a second, unchecked pass (their types are each runtime's own). */
const adaptersConfig = readJson("tsconfig.build-adapters.json") as { files: string[]; compilerOptions: { outDir: string } };

/** Entry points published in deno.json alone. */
const DENO_ONLY: string[] = [];
/** Entry points published on npm alone (none: the Bun and Workers adapters declare the platform types they use). */
const NPM_ONLY: string[] = [];

/** `./dist/src/sim/mod.js` → `./src/sim/mod.ts`; undefined if the target is not under dist/. */
function sourceForTarget(target: string, extension: ".js" | ".d.ts"): string | undefined {
  const prefix = `./${buildConfig.compilerOptions.outDir}/`;
  if (!target.startsWith(prefix) || !target.endsWith(extension)) return undefined;
  return `./${target.slice(prefix.length, -extension.length)}.ts`;
}

describe("package.json and deno.json exports", () => {
  it("name the same subpaths", () => {
    expect(Object.keys(deno.exports).filter((k) => !DENO_ONLY.includes(k)).sort()).toEqual(Object.keys(pkg.exports).filter((k) => !NPM_ONLY.includes(k)).sort());
  });

  it("map each npm target dist/X.js (and dist/X.d.ts) to the Deno source X.ts", () => {
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      const source = deno.exports[subpath] ?? `${subpath}.ts`;
      expect(Object.keys(target), `package.json exports["${subpath}"]`).toEqual(["types", "default"]);
      expect(sourceForTarget(target.default, ".js"), `package.json exports["${subpath}"].default`).toBe(source);
      expect(sourceForTarget(target.types, ".d.ts"), `package.json exports["${subpath}"].types`).toBe(source);
    }
  });

  it("point at sources that exist and that the build emits", () => {
    const sources = { ...Object.fromEntries(NPM_ONLY.map((subpath) => [subpath, `${subpath}.ts`])), ...deno.exports };
    expect(adaptersConfig.compilerOptions.outDir).toBe(buildConfig.compilerOptions.outDir);
    for (const [subpath, source] of Object.entries(sources)) {
      expect(source, `exports["${subpath}"]`).toMatch(/^\.\/.+\.ts$/);
      expect(existsSync(resolve(ROOT, source)), `${source} (exports["${subpath}"]) exists`).toBe(true);
      const path = source.slice(2);
      const topLevel = path.split("/")[0];
      const excluded = buildConfig.exclude?.includes(path) ?? false;
      const emitted = (buildConfig.include.includes(topLevel) && !excluded) || adaptersConfig.files.includes(path);
      expect(emitted, `${source} is emitted by tsconfig.build.json or tsconfig.build-adapters.json`).toBe(DENO_ONLY.includes(subpath) ? false : true);
    }
  });

  it("agree on main and types for the root entry", () => {
    expect(pkg.main).toBe(pkg.exports["."].default);
    expect(pkg.types).toBe(pkg.exports["."].types);
  });

  it("ship what the exports and the bin need", () => {
    expect(pkg.files).toContain(buildConfig.compilerOptions.outDir);
    for (const bin of Object.values(pkg.bin ?? {})) {
      expect(pkg.files?.some((entry) => bin === entry || bin.startsWith(`${entry}/`)), `files covers bin ${bin}`).toBe(true);
    }
  });

  it("are all type-checked by `deno check` in npm test", () => {
    const checked = (pkg.scripts["check:deno"] ?? "").split(/\s+/);
    for (const source of Object.values(deno.exports)) {
      expect(checked, `scripts["check:deno"] checks ${source}`).toContain(source.slice(2));
    }
    expect(pkg.scripts.test).toContain("check:deno");
  });
});

describe("package.json and deno.json metadata", () => {
  it("carry the same version", () => {
    expect(deno.version).toBe(pkg.version);
  });

  it("has a JSR-style scoped name", () => {
    expect(deno.name).toMatch(/^@[a-z0-9-]+\/[a-z0-9-]+$/);
  });

  it("map every runtime dependency to the same npm range", () => {
    for (const [name, range] of Object.entries(pkg.dependencies ?? {})) {
      expect(deno.imports?.[name], `deno.json imports["${name}"]`).toBe(`npm:${name}@${range}`);
    }
    for (const [specifier, target] of Object.entries(deno.imports ?? {})) {
      const match = /^npm:\/?((?:@[^/@]+\/)?[^/@]+)@([^/]+)\/?$/.exec(target);
      expect(match, `deno.json imports["${specifier}"] is an npm: mapping`).not.toBeNull();
      const [, name, range] = match as RegExpExecArray;
      expect(pkg.dependencies?.[name], `deno.json imports["${specifier}"] names a package.json dependency`).toBe(range);
    }
  });
});
