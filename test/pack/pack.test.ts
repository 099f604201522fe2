/**
 * The package as a consumer gets it: `npm pack` (whose `prepare` builds dist/), install the tarball
 * into a fresh ESM project, import every `exports` subpath, and run the `grapevine` bin. Catches
 * a missing `files` entry, an export pointing at nothing, `.ts` specifiers left in dist/, and a
 * bin that only works from the repository. Slow (a build and an install), hence the timeouts.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const QUIET_INSTALL = ["--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"];

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  name: string;
  exports: Record<string, unknown>;
  bin: Record<string, string>;
  devDependencies: Record<string, string>;
};

function npm(args: string[], cwd: string): string {
  return execFileSync(NPM, args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, npm_config_update_notifier: "false" },
    timeout: 150_000,
  });
}

describe("npm pack → install → import", { timeout: 180_000 }, () => {
  let work = "";
  let project = "";
  let packedFiles: string[] = [];

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "grapevine-pack-"));
    project = join(work, "consumer");
    const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", work], ROOT)) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    const tarball = join(work, packed[0].filename);
    packedFiles = packed[0].files.map((f) => f.path);

    mkdirSync(project);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    // A consumer of `grapevine/react` has React already (an optional peer dependency).
    npm(["install", ...QUIET_INSTALL, tarball, `react@${pkg.devDependencies.react}`], project);
  }, 180_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("ships dist/ and the bin, not sources or tests", () => {
    expect(packedFiles).toContain("package.json");
    expect(packedFiles).toContain("dist/mod.js");
    for (const bin of Object.values(pkg.bin)) expect(packedFiles).toContain(bin.replace(/^\.\//, ""));
    expect(packedFiles.filter((f) => /^(?:src|test)\//.test(f) || (f.endsWith(".ts") && !f.endsWith(".d.ts")))).toEqual([]);
  });

  it("imports every exports subpath from plain Node ESM", () => {
    const specifiers = Object.keys(pkg.exports).map((subpath) => (subpath === "." ? pkg.name : `${pkg.name}/${subpath.slice(2)}`));
    const script = [
      `const specifiers = ${JSON.stringify(specifiers)};`,
      "const report = {};",
      "for (const specifier of specifiers) {",
      "  const mod = await import(specifier);",
      "  report[specifier] = Object.keys(mod).sort();",
      "}",
      "console.log(JSON.stringify(report));",
    ].join("\n");
    writeFileSync(join(project, "check.mjs"), script);
    const result = spawnSync(process.execPath, ["check.mjs"], { cwd: project, encoding: "utf8", timeout: 30_000 });
    expect(result.status, `node check.mjs\n${result.stdout}\n${result.stderr}`).toBe(0);
    const report = JSON.parse(result.stdout) as Record<string, string[]>;
    expect(Object.keys(report)).toEqual(specifiers);
    for (const [specifier, names] of Object.entries(report)) {
      expect(names.length, `${specifier} exports something`).toBeGreaterThan(0);
    }
  });

  it("runs the bin: npx grapevine --help exits 0", () => {
    for (const name of Object.keys(pkg.bin)) {
      // `--` so `--help` reaches the bin rather than npx; `--no` so npx never downloads anything.
      const result = spawnSync(NPM === "npm" ? "npx" : "npx.cmd", ["--no", "--", name, "--help"], {
        cwd: project,
        encoding: "utf8",
        timeout: 30_000,
        env: { ...process.env, npm_config_update_notifier: "false" },
      });
      expect(result.status, `${name} --help\n${result.stdout}\n${result.stderr}`).toBe(0);
      expect(result.stdout, `${name} --help prints its own usage, not npx's`).toMatch(new RegExp(`^\\s*${name}\\b`, "m"));
      expect(result.stdout).not.toMatch(/npm exec/);
    }
  });
});
