/**
 * Bundling for the command line. The demo's browser pages (the dashboard, the tx dashboard, the
 * presence example) are bundled when the package is built (`npm run build` runs
 * `cli/build-pages.ts`, writing `dist/cli/pages/`), so the installed command serves files and needs
 * no bundler; only when the command runs from its TypeScript sources (tests, a checkout without a
 * build) does it bundle a page, with esbuild, on first request. `grapevine bench size` bundles the
 * browser peer to measure it, and from sources the demo's peer script is bundled into something
 * `node` can start.
 *
 * Entries are named by their path under `cli/` without extension; they resolve to the `.ts` source
 * when this module is itself the source, and to the compiled `.js` under `dist/cli/` otherwise, so
 * the same code works in a checkout, from `dist/`, and in tests.
 *
 * esbuild is a devDependency: present after `npm install` in a checkout, absent where the package
 * was installed as a dependency, where only `bench size` needs it. {@link loadEsbuild} says so
 * instead of throwing.
 *
 * @module
 */

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

type Esbuild = typeof import("esbuild");

const FROM_SOURCE = import.meta.url.endsWith(".ts");

/** Absolute path of the entry `stem` (e.g. `"dashboard/app"`), as source or as compiled JS. */
export function entryPath(stem: string): string {
  return fileURLToPath(new URL(`./${stem}${FROM_SOURCE ? ".ts" : ".js"}`, import.meta.url));
}

/** esbuild, or the reason it cannot be loaded. */
export async function loadEsbuild(): Promise<Esbuild | { missing: string }> {
  try {
    return await import("esbuild");
  } catch (e) {
    return { missing: `esbuild is not installed (${e instanceof Error ? e.message.split("\n")[0] : String(e)}); npm install -D esbuild` };
  }
}

/** Output of {@link bundleForBrowser}. */
export interface BrowserBundle {
  code: string;
  metafile: import("esbuild").Metafile;
}

/** Bundles `entry` (an absolute path) as one ES module for browsers. */
export async function bundleForBrowser(
  esbuild: Esbuild,
  entry: string,
  options: { minify: boolean; external?: string[]; development?: boolean },
): Promise<BrowserBundle> {
  const result = await esbuild.build({
    external: options.external ?? [],
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: options.minify,
    legalComments: "none",
    // React reads process.env.NODE_ENV, which browsers lack: its production build, as an app ships it.
    define: { "process.env.NODE_ENV": JSON.stringify(options.development ? "development" : "production") },
    metafile: true,
    write: false,
    logLevel: "silent",
  });
  return { code: result.outputFiles[0].text, metafile: result.metafile };
}

/** What a page loads at start and what it may load later, as {@link bundleInitialLoad} measures it. */
export interface InitialLoad {
  /** The entry's file and the chunks it imports statically: what a page loads before it runs. */
  initial: { files: string[]; inputs: string[] };
  /** Chunks only reached by `import()` (the noble fallback): loaded where needed, if ever. */
  lazy: { files: string[]; inputs: string[] };
}

/**
 * Bundles `entry` for browsers with code splitting, as a bundler that honours `import()` ships it,
 * and sorts the output into what loads at start and what loads only on demand.
 */
export async function bundleInitialLoad(esbuild: Esbuild, entry: string, options: { external?: string[] }): Promise<InitialLoad> {
  const result = await esbuild.build({
    external: options.external ?? [],
    entryPoints: [entry],
    bundle: true,
    splitting: true,
    outdir: "out",
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "none",
    define: { "process.env.NODE_ENV": JSON.stringify("production") },
    metafile: true,
    write: false,
    logLevel: "silent",
  });
  const outputs = result.metafile.outputs;
  const text = new Map(result.outputFiles.map((f) => [f.path.split("\\").join("/").replace(/^.*?\/out\//, "out/"), f.text]));
  const start = Object.keys(outputs).find((k) => outputs[k].entryPoint !== undefined)!;
  const initial = new Set<string>();
  const walk = (k: string) => {
    if (initial.has(k)) return;
    initial.add(k);
    for (const i of outputs[k].imports) if (i.kind === "import-statement" && outputs[i.path]) walk(i.path);
  };
  walk(start);
  const part = (keys: string[]) => ({
    files: keys.map((k) => text.get(k) ?? ""),
    inputs: keys.flatMap((k) => Object.entries(outputs[k].inputs).filter(([, v]) => v.bytesInOutput > 0).map(([p]) => p.split("\\").join("/"))),
  });
  return { initial: part([...initial]), lazy: part(Object.keys(outputs).filter((k) => !initial.has(k) && k.endsWith(".js"))) };
}

/** A page's script bundled for browsers, or why it could not be. */
export type PageScript = { code: string } | { problem: string };

/** The pages bundled at build time, by entry stem; each is written to `dist/cli/pages/<file>`. */
export const PAGES: Readonly<Record<string, string>> = Object.freeze({
  "dashboard/app": "dashboard-app.js",
  "dashboard/tx-app": "tx-app.js",
  "presence/app": "presence-app.js",
  "presence/react-main": "presence-react.js",
});

/** Where the build writes the page bundle of `stem`. */
export function builtPagePath(stem: string): string {
  return fileURLToPath(new URL(`./pages/${PAGES[stem]}`, import.meta.url));
}

/**
 * The browser script of the entry `stem` (minified), read or bundled on first call and kept; `what`
 * names the page in the problem a missing build or a failing bundler turns into.
 */
export function pageScript(stem: string, what: string): () => Promise<PageScript> {
  if (!(stem in PAGES)) throw new TypeError(`pageScript: ${stem} is not one of the pages built with the package`);
  let script: Promise<PageScript> | null = null;
  return () => (script ??= (async () => {
    if (!FROM_SOURCE) {
      try {
        return { code: readFileSync(builtPagePath(stem), "utf8") };
      } catch (e) {
        return { problem: `The script of ${what} was not built (${e instanceof Error ? e.message : String(e)}); npm run build makes it.` };
      }
    }
    const esbuild = await loadEsbuild();
    if ("missing" in esbuild) return { problem: `${what[0].toUpperCase()}${what.slice(1)} needs esbuild to bundle its page script: ${esbuild.missing}.` };
    try {
      return { code: (await bundleForBrowser(esbuild, entryPath(stem), { minify: true })).code };
    } catch (e) {
      return { problem: `Bundling the script of ${what} failed: ${e instanceof Error ? e.message : String(e)}` };
    }
  })());
}

/**
 * A file `node` can run for the entry `stem`: the compiled `.js` when running from `dist/`, else the
 * `.ts` source bundled (packages left external) into `node_modules/.cache/grapevine/`, where its
 * bare imports still resolve.
 */
export async function nodeScript(stem: string): Promise<string> {
  const path = entryPath(stem);
  if (!FROM_SOURCE) return path;
  const esbuild = await loadEsbuild();
  if ("missing" in esbuild) throw new Error(`running ${stem} from its TypeScript source needs esbuild: ${esbuild.missing}`);
  const dir = fileURLToPath(new URL("../node_modules/.cache/grapevine/", import.meta.url));
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const out = `${dir}${stem.replace(/\W/g, "-")}.mjs`;
  const result = await esbuild.build({
    entryPoints: [path], bundle: true, format: "esm", platform: "node", target: "node20", packages: "external", write: false, logLevel: "silent",
  });
  // Written aside and renamed: another process may be starting the previous copy right now.
  const temporary = `${out}.${process.pid}.tmp`;
  writeFileSync(temporary, result.outputFiles[0].contents);
  renameSync(temporary, out);
  return out;
}
