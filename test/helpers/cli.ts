/**
 * Runs the command line in this process (`cli/grapevine.ts`'s `main`) with the console captured:
 * what it printed to stdout and stderr, line by line, and its exit code.
 */
import { vi } from "vitest";
import { main } from "../../cli/grapevine.ts";

/** Runs `grapevine …argv` and returns its exit code and captured output. */
export async function runCli(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")));
  const error = vi.spyOn(console, "error").mockImplementation((...a) => void err.push(a.join(" ")));
  try {
    return { code: await main(argv), out, err };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}
