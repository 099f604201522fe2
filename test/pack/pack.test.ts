/**
 * The package as a consumer gets it: `npm pack` (whose `prepare` builds dist/ and the demo's
 * pages), install the tarball into a fresh ESM project with nothing else, and use it there:
 * import every `exports` subpath; run `npx grapevine relay` with peers on Node, Deno and Bun (a
 * script importing `grapevine`, as a user would write it) converging through it; run
 * `npx grapevine demo --duration 10 --json`, and the demo's dashboard with its pages built in; start
 * the relay adapters for Deno, Bun and Workers (workerd, through miniflare) from the installed
 * package, each with a Node peer linked; type-check a TypeScript consumer on a plain ES2022 lib. Catches a missing `files` entry, an export pointing at
 * nothing, `.ts` specifiers left in dist/, a runtime need left to a devDependency, and a bin that
 * only works from the repository. Slow (a build and an install), hence the timeouts; every child
 * process is killed on the way out.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const NPX = process.platform === "win32" ? "npx.cmd" : "npx";
const BIN = (name: string) => resolve(ROOT, "node_modules/.bin", name);
const QUIET_INSTALL = ["--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"];
const ENV = { ...process.env, npm_config_update_notifier: "false", NO_COLOR: "1" };

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  name: string;
  version: string;
  exports: Record<string, unknown>;
  bin: Record<string, string>;
  devDependencies: Record<string, string>;
};

function npm(args: string[], cwd: string): string {
  return execFileSync(NPM, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: ENV, timeout: 170_000 });
}

let work = "";
let project = "";
let packedFiles: string[] = [];
const children: ChildProcess[] = [];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "grapevine-pack-"));
  project = join(work, "consumer");
  const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", work], ROOT)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const tarball = join(work, packed[0].filename);
  packedFiles = packed[0].files.map((f) => f.path);
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  // A consumer of `grapevine/react` has React (and, writing TypeScript, its types) already.
  npm(["install", ...QUIET_INSTALL, tarball, `react@${pkg.devDependencies.react}`, `@types/react@${pkg.devDependencies["@types/react"]}`], project);
  copyFileSync(join(ROOT, "test/pack/peer.mjs"), join(project, "peer.mjs"));
}, 240_000);

/** Signals a started process's whole group, as a terminal's Ctrl-C does (npx does not pass signals on). */
function signal(child: ChildProcess, name: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, name);
  } catch {
    // the group is gone already
  }
}

afterEach(() => {
  for (const c of children.splice(0)) signal(c, "SIGKILL");
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A process started in the consumer project; its output is collected. */
function start(command: string, args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(command, args, { cwd: project, stdio: ["ignore", "pipe", "pipe"], env: ENV, detached: true });
  children.push(child);
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, output: () => output, exited };
}

/** Resolves once `pattern` matches the process's output; rejects if it exits first or time is up. */
function waitFor(p: ReturnType<typeof start>, pattern: RegExp, ms: number, what: string): Promise<RegExpExecArray> {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      clearInterval(poll);
      reject(new Error(`${what}: not within ${ms} ms:\n${p.output()}`));
    }, ms);
    const poll = setInterval(() => {
      const m = pattern.exec(p.output());
      if (m) {
        clearTimeout(timer);
        clearInterval(poll);
        resolvePromise(m);
      }
    }, 20);
    void p.exited.then((code) => {
      if (pattern.exec(p.output())) return;
      clearTimeout(timer);
      clearInterval(poll);
      reject(new Error(`${what}: exited (${code}) first:\n${p.output()}`));
    });
  });
}

/** Runs peer.mjs under `runtime` against `url`; resolves with its JSON report and exit code. */
async function peer(runtime: "node" | "deno" | "bun", url: string, network: string, expectOthers: number): Promise<{ code: number | null; report: Record<string, unknown> | null; output: string }> {
  const args = [url, network, runtime, String(expectOthers)];
  const p = runtime === "node" ? start(process.execPath, ["peer.mjs", ...args])
    : runtime === "deno" ? start(BIN("deno"), ["run", "-A", "peer.mjs", ...args])
    : start(BIN("bun"), ["peer.mjs", ...args]);
  const code = await Promise.race([p.exited, new Promise<null>((r) => setTimeout(() => r(null), 60_000))]);
  const line = p.output().split("\n").find((l) => l.startsWith("{"));
  return { code, report: line ? (JSON.parse(line) as Record<string, unknown>) : null, output: p.output() };
}

describe("npm pack → install into an empty project → use", { timeout: 120_000 }, () => {
  it("ships dist/ (every relay adapter, the built pages), the bin, LICENSE and CHANGELOG, not sources or tests", () => {
    for (const f of ["package.json", "dist/mod.js", "LICENSE", "CHANGELOG.md", "README.md", "dist/cli/pages/dashboard-app.js", "dist/cli/pages/presence-app.js", "dist/cli/pages/tx-app.js", "relay/wrangler.toml"]) {
      expect(packedFiles, f).toContain(f);
    }
    for (const runtime of ["node", "deno", "bun", "workers"]) {
      expect(packedFiles).toContain(`dist/relay/${runtime}.js`);
      expect(packedFiles).toContain(`dist/relay/${runtime}.d.ts`);
      expect(Object.keys(pkg.exports)).toContain(`./relay/${runtime}`);
    }
    for (const bin of Object.values(pkg.bin)) expect(packedFiles).toContain(bin.replace(/^\.\//, ""));
    expect(packedFiles.filter((f) => /^(?:src|test)\//.test(f) || (f.endsWith(".ts") && !f.endsWith(".d.ts")))).toEqual([]);
    // Runtime needs are dependencies: nothing but the package's own dependencies was installed.
    expect(existsSync(join(project, "node_modules/ws/package.json"))).toBe(true);
    expect(existsSync(join(project, "node_modules/esbuild"))).toBe(false);
  });

  it("imports every exports subpath from plain Node ESM", () => {
    const specifiers = Object.keys(pkg.exports).map((subpath) => (subpath === "." ? pkg.name : `${pkg.name}/${subpath.slice(2)}`));
    writeFileSync(join(project, "check.mjs"), [
      `const specifiers = ${JSON.stringify(specifiers)};`,
      "const report = {};",
      "for (const specifier of specifiers) report[specifier] = Object.keys(await import(specifier)).sort();",
      "console.log(JSON.stringify(report));",
    ].join("\n"));
    const result = spawnSync(process.execPath, ["check.mjs"], { cwd: project, encoding: "utf8", timeout: 30_000 });
    expect(result.status, `node check.mjs\n${result.stdout}\n${result.stderr}`).toBe(0);
    const report = JSON.parse(result.stdout) as Record<string, string[]>;
    expect(Object.keys(report)).toEqual(specifiers);
    for (const [specifier, names] of Object.entries(report)) expect(names.length, `${specifier} exports something`).toBeGreaterThan(0);
  });

  it("README's quick start runs as written in plain Node ESM, gets the change and exits by itself", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Quick start"));
    const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(code, "README has a Quick start code block").toBeTruthy();
    writeFileSync(join(project, "quickstart.mjs"), code!);
    const result = spawnSync(process.execPath, ["quickstart.mjs"], { cwd: project, encoding: "utf8", timeout: 30_000 });
    // Exit 0: the loop awaiting the change kept the process up until it came (exit 13 is Node's
    // "unsettled top-level await"), and nothing left open kept it up after the nodes closed.
    expect(result.status, `node quickstart.mjs\n${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain("status { text: 'online' }");
  });

  it("type-checks a TypeScript consumer with lib ES2022 and DOM only, no Node types, skipLibCheck off", () => {
    // The package's types use Symbol.dispose; they bring the lib that declares it with them.
    writeFileSync(join(project, "app.ts"), [
      `import { createNode, dial, type GrapevineNode } from "grapevine";`,
      `import { createNode as createLite } from "grapevine/lite";`,
      `import { shallow, useOthers, useRoom } from "grapevine/react";`,
      `export async function start(): Promise<GrapevineNode> {`,
      `  const node = await createNode({ network: "app" });`,
      `  dial(node, "wss://relay.example");`,
      `  { using room = node.room<{ name: string }>("doc", { presence: { name: "Ada" } }); void room.presence.others; }`,
      `  await createLite({ network: "app" });`,
      `  return node;`,
      `}`,
      `export function Names({ node }: { node: GrapevineNode }): string {`,
      `  const names: string[] = useOthers(useRoom<{ name: string }>(node, "doc"), (o) => o.map((e) => e.state.name), shallow);`,
      `  return names.join(", ");`,
      `}`,
    ].join("\n"));
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2022", "DOM"], types: [], strict: true, skipLibCheck: false, noEmit: true },
      files: ["app.ts"],
    }));
    const result = spawnSync(BIN("tsc"), ["-p", "tsconfig.json"], { cwd: project, encoding: "utf8", timeout: 120_000 });
    expect(result.status, `tsc\n${result.stdout}\n${result.stderr}`).toBe(0);
  }, 130_000);

  it("runs the bin: --help and --version", () => {
    for (const name of Object.keys(pkg.bin)) {
      // `--` so the flag reaches the bin rather than npx; `--no` so npx never downloads anything.
      const help = spawnSync(NPX, ["--no", "--", name, "--help"], { cwd: project, encoding: "utf8", timeout: 30_000, env: ENV });
      expect(help.status, `${name} --help\n${help.stdout}\n${help.stderr}`).toBe(0);
      expect(help.stdout, `${name} --help prints its own usage, not npx's`).toMatch(new RegExp(`^\\s*${name}\\b`, "m"));
      expect(help.stdout).not.toMatch(/npm exec/);
      const v = spawnSync(NPX, ["--no", "--", name, "--version"], { cwd: project, encoding: "utf8", timeout: 30_000, env: ENV });
      expect(v.stdout.trim()).toBe(pkg.version);
    }
  });

  it("npx grapevine relay: peers on Node, Deno and Bun, importing the package, converge through it", async () => {
    const relay = start(NPX, ["--no", "--", "grapevine", "relay", "--port", "0", "--network", "pack-test"]);
    const [, id, url] = await waitFor(relay, /relay (\S+) listening on (ws:\/\/\S+)/, 30_000, "relay start");
    const results = await Promise.all((["node", "deno", "bun"] as const).map((runtime) => peer(runtime, url, "pack-test", 2)));
    for (const r of results) {
      expect(r.report, r.output).toMatchObject({ ok: true, relay: id });
      expect(r.code, r.output).toBe(0);
    }
    expect(results.map((r) => (r.report!.saw as string[]).join(","))).toEqual(["bun,deno", "bun,node", "deno,node"]);
    expect(relay.output()).toMatch(/"event":"link_up"/);
    // npx ends by the signal itself; the relay, in the same group, closes cleanly and says so.
    signal(relay.child, "SIGTERM");
    await relay.exited;
    for (let i = 0; i < 100 && !/^relay closed$/m.test(relay.output()); i++) await new Promise((r) => setTimeout(r, 50));
    expect(relay.output()).toMatch(/^relay closed$/m);
  });

  it("npx grapevine demo --duration 10 --json converges", () => {
    const r = spawnSync(NPX, ["--no", "--", "grapevine", "demo", "--duration", "10", "--json"], { cwd: project, encoding: "utf8", timeout: 60_000, env: ENV });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, unknown>;
    expect(summary).toMatchObject({ converged: true, runtimes: ["node"] });
    expect(r.stderr).not.toMatch(/Error|needs/);
  });

  it("npx grapevine demo serves its dashboard and presence page with scripts built into the package", async () => {
    const demo = start(NPX, ["--no", "--", "grapevine", "demo", "--duration", "10", "--peers", "2"]);
    const [, dashboard] = await waitFor(demo, /dashboard +(http:\/\/\S+)/, 30_000, "demo banner");
    const page = await (await fetch(dashboard)).text();
    expect(page).toContain('src="/demo/app.js"');
    expect(page).not.toMatch(/No live view|esbuild/);
    for (const path of ["/demo/app.js", "/presence/app.js"]) {
      const r = await fetch(new URL(path, dashboard));
      expect(r.status, path).toBe(200);
      expect(r.headers.get("content-type")).toMatch(/javascript/);
      expect((await r.text()).length, path).toBeGreaterThan(10_000);
    }
    signal(demo.child, "SIGINT");
    await demo.exited;
    expect(demo.output()).toMatch(/"converged":/); // it printed its summary on the way out
  });

  it("the Deno and Bun relay adapters run from the installed package", async () => {
    for (const [runtime, command, args] of [
      ["deno", BIN("deno"), ["run", "-A", "node_modules/grapevine/dist/relay/deno.js"]],
      ["bun", BIN("bun"), ["node_modules/grapevine/dist/relay/bun.js"]],
    ] as const) {
      const relay = start(command, [...args, "--port", "0", "--network", `pack-${runtime}`]);
      const [, id, url] = await waitFor(relay, /relay (\S+) listening on (ws:\/\/\S+)/, 45_000, `${runtime} relay start`);
      const r = await peer("node", url, `pack-${runtime}`, 0);
      expect(r.report, r.output).toMatchObject({ ok: true, relay: id });
      signal(relay.child, "SIGTERM");
      expect(await relay.exited, `${runtime} relay exit\n${relay.output()}`).toBe(0);
    }
  });

  it("the Workers adapter bundles from the installed package and serves a Node peer in workerd", async () => {
    const { build } = await import("esbuild");
    writeFileSync(join(project, "worker.mjs"), 'export { default, RelayObject } from "grapevine/relay/workers";\n');
    const out = await build({
      entryPoints: [join(project, "worker.mjs")], bundle: true, format: "esm", platform: "neutral",
      mainFields: ["module", "main"], conditions: ["worker", "browser"], write: false, logLevel: "silent", absWorkingDir: project,
    });
    const { Miniflare } = await import("miniflare");
    const mf = new Miniflare({
      modules: true, script: out.outputFiles[0].text, compatibilityDate: "2025-09-01",
      durableObjects: { RELAY: { className: "RelayObject", useSQLite: true } },
      bindings: { GRAPEVINE_NETWORK: "pack-workers" }, host: "127.0.0.1", port: 0,
    });
    try {
      const url = (await mf.ready).href.replace(/^http/, "ws");
      const r = await peer("node", url, "pack-workers", 0);
      expect(r.report, r.output).toMatchObject({ ok: true });
      expect(r.report!.relay).toMatch(/^[A-Za-z0-9_-]{43}$/);
    } finally {
      await mf.dispose();
    }
  });
});
