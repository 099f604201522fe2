/**
 * Run by `npm run build` after `tsc`, from `dist/`: bundles each of the demo's browser pages
 * (`PAGES` in `bundle.ts`) from its compiled script into `dist/cli/pages/`, minified, so the
 * installed command serves them without a bundler. Fails the build (exit 1) if one cannot be built.
 *
 * @module
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { builtPagePath, bundleForBrowser, entryPath, loadEsbuild, PAGES } from "./bundle.ts";

const esbuild = await loadEsbuild();
if ("missing" in esbuild) {
  console.error(`build-pages: ${esbuild.missing}`);
  process.exit(1);
}
for (const stem of Object.keys(PAGES)) {
  const { code } = await bundleForBrowser(esbuild, entryPath(stem), { minify: true });
  const out = builtPagePath(stem);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, code);
  // stderr: `npm pack --json` runs the build and prints its JSON on stdout.
  console.error(`build-pages: ${stem} → ${out.slice(out.lastIndexOf("dist/"))} (${code.length} bytes)`);
}
