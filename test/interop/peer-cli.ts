/**
 * The interop peer under Deno and Bun, with their global `WebSocket`:
 *   deno run -A test/interop/peer-cli.ts '<config JSON>'
 *   bun test/interop/peer-cli.ts '<config JSON>'
 */
import { failed, type PeerConfig, runPeer } from "./peer.ts";

const g = globalThis as { Deno?: { args: string[]; version: { deno: string }; exit(code: number): never }; Bun?: { version: string; argv: string[] } };
const args = g.Deno ? g.Deno.args : g.Bun!.argv.slice(2);
const version = g.Deno ? `deno ${g.Deno.version.deno}` : `bun ${g.Bun!.version}`;
const config = JSON.parse(args[0]) as PeerConfig;
await runPeer(config, version).catch((e) => failed(config, e));
if (g.Deno) g.Deno.exit(0);
else (globalThis as unknown as { process: { exit(code: number): never } }).process.exit(0);
