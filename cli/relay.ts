/**
 * `grapevine relay`: a relay on this machine (Node, `relay/node.ts`), until SIGINT or SIGTERM.
 * Flags are the ones every runtime's relay takes (`relay/args.ts`); it prints the relay's id and
 * URL first, so scripts can read them.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { importSecretKey } from "../src/crypto/identity.ts";
import { parseRelayArgs, RelayUsageError } from "../relay/args.ts";

/**
 * Runs a relay until SIGINT, SIGTERM or `signal` aborts; then closes it and resolves with exit
 * code 0. Throws `RelayUsageError` for bad flags (including a key that does not parse).
 */
export async function runRelay(argv: string[], signal?: AbortSignal): Promise<number> {
  const args = parseRelayArgs(argv, (name) => process.env[name]);
  let keyText = args.key;
  if (args.keyFile !== undefined) {
    try {
      keyText = readFileSync(args.keyFile, "utf8").trim();
    } catch (e) {
      throw new RelayUsageError(`--key-file: cannot read ${args.keyFile}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  let keyPair;
  try {
    keyPair = keyText === undefined ? undefined : importSecretKey(keyText);
  } catch (e) {
    throw new RelayUsageError(`--key: not a secret key (gvsk1.…): ${e instanceof Error ? e.message : String(e)}`);
  }
  const { serveRelay } = await import("../relay/node.ts");
  const served = await serveRelay({ port: args.port, host: args.host, peers: args.peers, network: args.network, keyPair });
  const http = served.url.replace(/^ws/, "http");
  console.log(`relay ${served.relay.id} listening on ${served.url} (network ${args.network})`);
  console.log(`  health ${http}healthz  metrics ${http}metrics${args.peers.length ? `  peers ${args.peers.join(" ")}` : ""}`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      signal?.removeEventListener("abort", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    signal?.addEventListener("abort", stop);
    if (signal?.aborted) stop();
  });
  await served.close();
  console.log("relay closed");
  return 0;
}
