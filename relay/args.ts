/**
 * The relay's command-line flags, shared by `grapevine relay` (Node), `deno run relay/deno.ts` and
 * `bun relay/bun.ts`, so every runtime takes the same ones. Runtime-neutral: it reads an argument
 * list and an environment lookup, nothing else.
 *
 * ```
 * --port N          TCP port (default 8787; 0 picks a free one)
 * --host H          interface to listen on (default 127.0.0.1)
 * --peer URL        another relay to dial and keep dialed (ws:// or wss://); repeatable
 * --network NAME    network name (default "grapevine")
 * --key gvsk1.…     the relay's secret key (default: a new key per run)
 * --key-file PATH   a file holding the secret key (read by the adapter)
 * ```
 *
 * Where flags are absent, `GRAPEVINE_PORT`, `GRAPEVINE_HOST`, `GRAPEVINE_PEERS` (space- or
 * comma-separated), `GRAPEVINE_NETWORK` and `GRAPEVINE_KEY` are read: hosted platforms (Deno Deploy)
 * pass configuration only through the environment.
 *
 * @module
 */

/** Parsed relay flags. */
export interface RelayArgs {
  port: number;
  host: string;
  peers: string[];
  network: string;
  /** Secret key in text form (`gvsk1.…`), if given. */
  key?: string;
  /** Path of a file holding the secret key, if given. */
  keyFile?: string;
}

/** Thrown for a bad flag; the message is meant for the user. */
export class RelayUsageError extends Error {
  override readonly name = "RelayUsageError";
}

/** Usage text of the relay flags. */
export const RELAY_FLAGS_HELP = `  --port N            TCP port (default 8787; 0 picks a free one)
  --host H            interface to listen on (default 127.0.0.1)
  --peer URL          another relay to dial and keep dialed (ws:// or wss://); repeatable
  --network NAME      network name (default grapevine)
  --key gvsk1.…       the relay's secret key (default: a new key, so a new id, per run)
  --key-file PATH     read the secret key from a file`;

/**
 * Parses relay flags.
 *
 * @example
 * ```ts
 * parseRelayArgs(["--port", "9000", "--peer", "wss://b.example/"], () => undefined);
 * // { port: 9000, host: "127.0.0.1", peers: ["wss://b.example/"], network: "grapevine" }
 * ```
 */
export function parseRelayArgs(argv: readonly string[], env: (name: string) => string | undefined = () => undefined): RelayArgs {
  const values: Record<string, string> = {};
  const peers: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") ? arg.slice(2, eq === -1 ? undefined : eq) : "";
    if (!["port", "host", "peer", "network", "key", "key-file"].includes(name)) throw new RelayUsageError(`unknown argument ${arg}`);
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || value === "") throw new RelayUsageError(`--${name} needs a value`);
    if (name === "peer") peers.push(value);
    else values[name] = value;
  }
  if (peers.length === 0) peers.push(...(env("GRAPEVINE_PEERS") ?? "").split(/[\s,]+/).filter((p) => p !== ""));
  for (const url of peers) {
    if (!/^wss?:\/\/[^/]/.test(url)) throw new RelayUsageError(`--peer: expected a ws:// or wss:// URL, got ${url}`);
  }
  const portText = values.port ?? env("GRAPEVINE_PORT") ?? env("PORT") ?? "8787";
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RelayUsageError(`--port: bad value ${portText}`);
  if (values.key !== undefined && values["key-file"] !== undefined) throw new RelayUsageError("give --key or --key-file, not both");
  const args: RelayArgs = {
    port,
    host: values.host ?? env("GRAPEVINE_HOST") ?? "127.0.0.1",
    peers,
    network: values.network ?? env("GRAPEVINE_NETWORK") ?? "grapevine",
  };
  const key = values.key ?? (values["key-file"] === undefined ? env("GRAPEVINE_KEY") : undefined);
  if (key !== undefined) args.key = key.trim();
  if (values["key-file"] !== undefined) args.keyFile = values["key-file"];
  return args;
}
