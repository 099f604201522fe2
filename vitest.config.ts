// Node test run. Deno and Bun run their own wrappers (test/runtimes/*) under their own runners;
// tests print their own seeds (STYLE.md item 5), so nothing here randomises or reorders.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "dist/**", "test/runtimes/**", "test/fixtures/**"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    teardownTimeout: 10_000,
    // Child processes rather than worker threads: WebCrypto, timers and process-wide state stay
    // isolated per file, and the pack test can spawn npm without sharing a thread pool.
    pool: "forks",
    sequence: { shuffle: false },
  },
});
