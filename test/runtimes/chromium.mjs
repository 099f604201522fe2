// Finds and launches Debian's Chromium through playwright-core (never a downloaded browser).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Path of the system Chromium, or null. */
export function findChromium() {
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    try {
      return execFileSync("which", [name], { encoding: "utf8" }).trim() || null;
    } catch {
      // not this one
    }
  }
  return null;
}

/**
 * Launches headless Chromium with a fresh profile; returns { context, close } (a persistent context).
 * `options.args` adds command-line switches (the WebRTC tests allow loopback ICE candidates).
 */
export async function launchChromium(options = {}) {
  const executablePath = findChromium();
  if (!executablePath) throw new Error("chromium not found (Debian: apt-get install -y chromium)");
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(join(tmpdir(), "gv-chromium-"));
  // A fresh --user-data-dir, given the way playwright wants it: as a persistent context.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      ...(options.args ?? []),
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
