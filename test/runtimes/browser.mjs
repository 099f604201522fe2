#!/usr/bin/env node
// The frozen vectors in a real browser: bundles test/runtimes/browser-entry.ts with esbuild, serves
// it on 127.0.0.1, runs it in headless Chromium. Without Chromium it skips (exit 0) unless
// GRAPEVINE_REQUIRE_BROWSER=1 (CI sets it), which makes a missing browser a failure.
import { build } from "esbuild";
import { createServer } from "node:http";
import { findChromium, launchChromium } from "./chromium.mjs";

if (!findChromium()) {
  const required = process.env.GRAPEVINE_REQUIRE_BROWSER === "1";
  console.log(`browser vectors: ${required ? "FAIL" : "skipped"} — chromium not found (apt-get install -y chromium)`);
  process.exit(required ? 1 : 0);
}

const bundle = await build({
  entryPoints: [new URL("./browser-entry.ts", import.meta.url).pathname],
  bundle: true, format: "esm", platform: "browser", target: "es2022", write: false, logLevel: "error",
});
const js = bundle.outputFiles[0].text;
const html = `<!doctype html><meta charset="utf-8"><title>vectors</title><script type="module" src="/vectors.js"></script>`;
const server = createServer((req, res) => {
  if (req.url === "/vectors.js") res.writeHead(200, { "content-type": "text/javascript" }).end(js);
  else res.writeHead(200, { "content-type": "text/html" }).end(html);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const { port } = server.address();
const { context, close } = await launchChromium();
let failed = 0;
try {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction(() => typeof window.runVectors === "function", null, { timeout: 20_000 });
  const results = await page.evaluate(() => window.runVectors());
  const version = await page.evaluate(() => navigator.userAgent.match(/Chrome\/([\d.]+)/)?.[1] ?? "?");
  for (const r of results) {
    console.log(`${r.ok ? "(pass)" : "(FAIL)"} ${r.title}${r.ok ? "" : `\n${r.error}`}`);
    if (!r.ok) failed++;
  }
  console.log(`\nchromium ${version}: ${results.length - failed} passed, ${failed} failed`);
  if (results.length === 0) failed = 1;
} finally {
  await close();
  server.close();
}
process.exit(failed ? 1 : 0);
