/**
 * What every Chromium test shares: whether Debian's Chromium is here (and whether CI requires it),
 * launching it, and serving a test page bundled by esbuild on loopback.
 *
 * @module
 */

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { BrowserContext } from "playwright-core";

interface ChromiumHelpers {
  findChromium(): string | null;
  launchChromium(options?: { args?: string[] }): Promise<{ context: BrowserContext; close(): Promise<void> }>;
}

const helpers = (await import(new URL("./chromium.mjs", import.meta.url).href)) as ChromiumHelpers;

/** Path of the system Chromium, or null (the test is then skipped, unless `required`). */
export const chromium = helpers.findChromium();
/** GRAPEVINE_REQUIRE_BROWSER=1 (CI): a missing Chromium fails instead of skipping. */
export const required = process.env.GRAPEVINE_REQUIRE_BROWSER === "1";
/** Why a browser test was skipped. */
export const why = "chromium not found (apt-get install -y chromium); GRAPEVINE_REQUIRE_BROWSER=1 makes this a failure";
/** Headless Chromium with a fresh profile; `args` adds switches. */
export const launchChromium = helpers.launchChromium;

/**
 * Bundles `entry` for browsers and serves it as the only script of an HTML page on 127.0.0.1.
 * `define` replaces globals at build time (React's `process.env.NODE_ENV`).
 */
export async function serveBundledPage(entry: string, title: string, options: { define?: Record<string, string> } = {}): Promise<{ url: string; close(): Promise<void> }> {
  const { build } = await import("esbuild");
  const bundle = await build({
    entryPoints: [entry],
    bundle: true, format: "esm", platform: "browser", target: "es2022", write: false, logLevel: "error", define: options.define ?? {},
  });
  const js = bundle.outputFiles[0].text;
  const html = `<!doctype html><meta charset="utf-8"><title>${title}</title><script type="module" src="/page.js"></script>`;
  const server = createServer((req, res) => {
    if (req.url === "/page.js") res.writeHead(200, { "content-type": "text/javascript" }).end(js);
    else res.writeHead(200, { "content-type": "text/html" }).end(html);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
