/**
 * `grapevine demo --browser`: opens the dashboard in the system's headless Chromium (through
 * playwright-core, a devDependency; never a downloaded browser), so a headless run has a browser
 * peer too. Chromium is looked up on the PATH (`chromium`, `chromium-browser`, `google-chrome`).
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A headless browser showing a page. */
export interface HeadlessPage {
  /** Browser name and version, e.g. `chromium 140.0.7339.185`. */
  version: string;
  close(): Promise<void>;
}

/** Path of the system Chromium, or null. */
export function findChromium(): string | null {
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    try {
      const path = execFileSync("which", [name], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
      if (path) return path;
    } catch {
      // not this one
    }
  }
  return null;
}

/** Opens `url` in headless Chromium with a fresh profile. Throws if Chromium or playwright-core is missing. */
export async function openHeadless(url: string): Promise<HeadlessPage> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error("--browser: chromium not found on the PATH (Debian: apt-get install -y chromium)");
  let playwright: typeof import("playwright-core");
  try {
    playwright = await import("playwright-core");
  } catch {
    throw new Error("--browser needs playwright-core (a devDependency): npm install -D playwright-core");
  }
  const profile = mkdtempSync(join(tmpdir(), "gv-demo-chromium-"));
  const context = await playwright.chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await context.newPage();
  await page.goto(url);
  const agent = await page.evaluate(() => navigator.userAgent);
  return {
    version: `chromium ${/Chrome\/([\d.]+)/.exec(agent)?.[1] ?? "?"}`,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
