// Bundled by test/runtimes/browser.mjs and run in Chromium: the same frozen vectors as Node, Deno
// and Bun, with the browser's own WebCrypto and without it.
import { vectorCases } from "../vectors/all.ts";

declare global {
  interface Window {
    runVectors: () => Promise<{ title: string; ok: boolean; error?: string }[]>;
  }
}

window.runVectors = async () => {
  const results = [];
  for (const c of vectorCases(globalThis.crypto.subtle)) {
    try {
      await c.check();
      results.push({ title: c.title, ok: true });
    } catch (e) {
      results.push({ title: c.title, ok: false, error: String((e as Error).message ?? e) });
    }
  }
  return results;
};
