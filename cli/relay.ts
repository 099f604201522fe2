/**
 * `grapevine relay`: a relay on this machine (Node, `relay/node.ts`), until SIGINT or SIGTERM.
 * The flags and environment variables are those of every runtime's relay (`relay/config.ts`); it
 * prints the relay's id and URL first, so scripts can read them, then JSON log lines on stderr.
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import { relayMain } from "../relay/main.ts";

/**
 * Runs a relay until SIGINT, SIGTERM or `signal` aborts; then closes it. Resolves with the exit
 * code: 0 after a clean close, 1 if it could not start, 2 for a bad flag or key.
 */
export async function runRelay(argv: string[], signal?: AbortSignal): Promise<number> {
  return relayMain({
    command: "grapevine relay",
    argv,
    env: (name) => process.env[name],
    readTextFile: (path) => readFile(path, "utf8"),
    out: (line) => console.log(line),
    err: (line) => console.error(line),
    onStop(stop) {
      const done = () => {
        process.off("SIGINT", done);
        process.off("SIGTERM", done);
        signal?.removeEventListener("abort", done);
        stop();
      };
      process.on("SIGINT", done);
      process.on("SIGTERM", done);
      signal?.addEventListener("abort", done);
      if (signal?.aborted) done();
    },
    serve: async (options) => (await import("../relay/node.ts")).serveRelay(options),
  });
}
