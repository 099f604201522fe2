#!/usr/bin/env node
// Runs the vector wrappers under every extra runtime (Deno, Bun, Chromium) even if one fails, then exits
// non-zero if any did. `npm run test:runtimes`; one runtime alone: `npm run test:deno` / `test:bun`.
import { spawnSync } from "node:child_process";

const runtimes = ["deno", "bun", "browser"];
const results = runtimes.map((runtime) => {
  console.log(`\n── ${runtime} ──`);
  const started = performance.now();
  const { status, error } = spawnSync("npm", ["run", "--silent", `test:${runtime}`], {
    stdio: ["ignore", "inherit", "inherit"],
    shell: process.platform === "win32",
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (error) console.error(`${runtime}: could not start: ${error.message}`);
  return { runtime, ok: status === 0 && !error, seconds };
});
console.log("");
for (const { runtime, ok, seconds } of results) console.log(`${ok ? "ok  " : "FAIL"} ${runtime} (${seconds} s)`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
