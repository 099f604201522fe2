/**
 * The relay's command line, shared by `grapevine relay` (Node), `deno run relay/deno.ts` and
 * `bun relay/bun.ts`: `node:util`'s `parseArgs` (which all three runtimes have) over the settings
 * of `relay/config.ts`, so every runtime takes the same flags, in the same forms (`--port 1`,
 * `--port=1`), with the environment as the fallback.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { RELAY_SETTINGS, type RelayConfig, RelayUsageError, relaySettingsHelp, resolveRelayConfig } from "./config.ts";

export { type RelayConfig, RelayUsageError } from "./config.ts";

/** Usage text of the relay flags. */
export const RELAY_FLAGS_HELP: string = `${relaySettingsHelp()}
  --help                                   this text`;

/**
 * `argv` with each value that begins with `-` and follows a flag that takes one joined to it
 * (`--allow -Ab3…` becomes `--allow=-Ab3…`): node ids are base64url, one in 64 begins with `-`,
 * and `parseArgs` would take such a value for a flag of its own. An argument that names a flag
 * (`--port`, `-h`) is left as it is, so a missing value is still reported.
 *
 * @example
 * ```ts
 * joinFlagValues(["--allow", "-Ab3"], { allow: { type: "string" } }); // ["--allow=-Ab3"]
 * ```
 */
export function joinFlagValues(argv: readonly string[], options: Readonly<Record<string, { type: "string" | "boolean"; short?: string }>>): string[] {
  const names = new Set<string>();
  for (const [name, o] of Object.entries(options)) {
    names.add(`--${name}`);
    if (o.short) names.add(`-${o.short}`);
  }
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = argv[i + 1];
    const takesValue = a.startsWith("--") && !a.includes("=") && options[a.slice(2)]?.type === "string";
    if (takesValue && next !== undefined && next.startsWith("-") && next !== "--" && !names.has(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/**
 * Parses relay flags, falling back to the environment (`env`) for each one absent. Returns null
 * for `--help`. Throws {@link RelayUsageError} for an unknown flag or a bad value.
 *
 * @example
 * ```ts
 * parseRelayArgs(["--port", "9000", "--peer", "wss://b.example/"], () => undefined);
 * // { port: 9000, host: "127.0.0.1", network: "grapevine", peers: ["wss://b.example/"], … }
 * ```
 */
export function parseRelayArgs(argv: readonly string[], env: (name: string) => string | undefined = () => undefined): RelayConfig | null {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }> = { help: { type: "boolean", short: "h" } };
  for (const s of RELAY_SETTINGS) options[s.flag] = { type: "string", ...(s.multiple ? { multiple: true } : {}) };
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({ args: joinFlagValues(argv, options), options, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new RelayUsageError(e instanceof Error ? e.message.split("\n")[0] : String(e));
  }
  if (values.help === true) return null;
  return resolveRelayConfig(values as Record<string, string | string[] | undefined>, env);
}
