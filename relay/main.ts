/**
 * What every relay command does, whatever the runtime: parse the flags (falling back to the
 * environment), read the key, start the relay with JSON logging on stderr, print the listening
 * line on stdout (scripts read the id and URL from it), and close cleanly on SIGINT or SIGTERM.
 * Each runtime's entry point (`cli/relay.ts` for Node, the `import.meta.main` blocks of
 * `relay/deno.ts` and `relay/bun.ts`) supplies the few capabilities that differ.
 *
 * Exit codes: 0 after a clean close; 1 when the relay cannot start (the port is taken, …);
 * 2 for a bad flag, environment value or key.
 *
 * @module
 */

import { importSecretKey } from "../src/crypto/keys.ts";
import type { KeyPair } from "../src/crypto/types.ts";
import { parseRelayArgs, RELAY_FLAGS_HELP, RelayUsageError, type RelayConfig } from "./args.ts";
import { relayOptionsOf } from "./config.ts";
import type { Relay, RelayOptions } from "./core.ts";
import { jsonLog, type RelayLog } from "./log.ts";

/** A relay listening somewhere, as each adapter's `serveRelay` returns it. */
export interface ServedRelayLike {
  url: string;
  relay: Relay;
  close(): Promise<void>;
}

/** What a runtime supplies to {@link relayMain}. */
export interface RelayMainHost {
  /** The command's name in messages, e.g. `grapevine relay` or `deno run relay/deno.ts`. */
  command: string;
  argv: readonly string[];
  env(name: string): string | undefined;
  readTextFile(path: string): Promise<string>;
  /** Writes one line to stdout / stderr. */
  out(line: string): void;
  err(line: string): void;
  /** Calls `stop` once on SIGINT or SIGTERM (or when the host otherwise wants the relay closed). */
  onStop(stop: () => void): void;
  serve(options: RelayOptions & { port: number; host: string }): Promise<ServedRelayLike>;
}

/** Reads the relay's key pair from the config (`--key`, `--key-file`, their variables). */
export async function relayKeyPair(config: RelayConfig, readTextFile: (path: string) => Promise<string>): Promise<KeyPair | undefined> {
  let text = config.key;
  if (config.keyFile !== undefined) {
    try {
      text = (await readTextFile(config.keyFile)).trim();
    } catch (e) {
      throw new RelayUsageError(`--key-file: cannot read ${config.keyFile}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (text === undefined) return undefined;
  try {
    return importSecretKey(text.trim());
  } catch (e) {
    throw new RelayUsageError(`--key: not a secret key (gvsk1.…; grapevine keygen makes one): ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The relay command's help text. */
export function relayUsage(command: string): string {
  return `Usage: ${command} [options]\n\nRuns a relay (a gossip peer and forwarder) until SIGINT or SIGTERM: WebSockets on /, GET\n/healthz and /metrics. Prints \`relay ID listening on URL\` first, then JSON log lines on stderr.\nEvery option falls back to its environment variable (hosted platforms pass only those).\nExit codes: 0 after a clean stop, 1 if it cannot start, 2 for a bad option or key.\n\n${RELAY_FLAGS_HELP}`;
}

/** Runs a relay command until stopped; resolves with its exit code. */
export async function relayMain(host: RelayMainHost): Promise<number> {
  let config: RelayConfig | null;
  let keyPair: KeyPair | undefined;
  try {
    config = parseRelayArgs(host.argv, host.env);
    if (config === null) {
      host.out(relayUsage(host.command));
      return 0;
    }
    keyPair = await relayKeyPair(config, host.readTextFile);
  } catch (e) {
    if (!(e instanceof RelayUsageError)) throw e;
    host.err(`${host.command}: ${e.message} (--help lists the options)`);
    return 2;
  }
  const log: RelayLog = jsonLog(host.err, config.logLevel);
  let served: ServedRelayLike;
  try {
    served = await host.serve({ ...relayOptionsOf(config), keyPair, port: config.port, host: config.host, log } as RelayOptions & { port: number; host: string });
  } catch (e) {
    if (e instanceof RangeError || e instanceof TypeError) {
      host.err(`${host.command}: ${e.message}`);
      return 2;
    }
    host.err(`${host.command}: cannot start: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  const relay = served.relay;
  host.out(`relay ${relay.id} listening on ${served.url} (network ${config.network})`);
  log.info("start", {
    id: relay.id, url: served.url, network: config.network, peers: config.peers,
    admission: config.admission ? { allow: config.admission.allow?.length ?? 0, authority: config.admission.authority ?? null } : null,
    trust_proxy: config.trustProxy, limits: relay.limits,
  });
  await new Promise<void>((resolve) => host.onStop(resolve));
  await served.close();
  log.info("stop", { id: relay.id });
  host.out("relay closed");
  return 0;
}
