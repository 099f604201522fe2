/**
 * The `grapevine` command line: `grapevine sim …` runs the deterministic simulator and prints a
 * JSON report (its last line with `--json`); `grapevine relay …` runs a relay (`cli/relay.ts`).
 *
 * @module
 */

import { writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { createSignatureSuite } from "../src/crypto/ed25519.ts";
import type { SignatureSuite } from "../src/crypto/types.ts";
import type { GossipMode } from "../src/core/options.ts";
import { insecureHashSuite } from "../src/sim/hash-suite.ts";
import { runBroadcast, runPartition, runReconcile, runSpread, type ScenarioOptions } from "../src/sim/scenarios.ts";
import { plotInformed } from "../src/sim/svg.ts";
import { MEMBERSHIP_FLAGS, MEMBERSHIP_HELP, runMembershipCli } from "./sim-membership.ts";
import { RELAY_FLAGS_HELP, RelayUsageError } from "../relay/args.ts";

const HELP = `grapevine — a gossip mesh for browsers, Deno, Bun and Node

Usage:
  grapevine demo [--peers N] [--port P] [--duration S] [--json]
                               a live mesh on this machine, converging: a relay, N peer
                               processes, and a dashboard at http://127.0.0.1:P/ that makes
                               your browser a peer too (--interval MS, --links K;
                               --browser opens it in headless Chromium)
  grapevine demo-tx [--rate 50] [--peers N] [--duration S] [--json]
                               transaction flooding on the same mesh: signed transfers at
                               --rate per second through random peers, a mempool per node as
                               the tx validator (--mempool N, default 1000), blocks from the
                               relay, forged and stale transactions stopped at their first hop
                               (--hostile 0: none); the wave, mempools and latency percentiles
                               at http://127.0.0.1:P/tx (--port, --interval, --links as above)
  grapevine bench size [--json]
                               the browser peer's bundle, minified and gzipped
  grapevine bench relay [--json] [--links N] [--subscribers N] …
                               one Node relay: concurrent authenticated links, fan-out
                               throughput against a bare ws server, latency (grapevine bench
                               relay --help lists the options)
  grapevine bench broadcast [--json] [--peers 50] [--processes 5] [--rate 100] [--duration 10]
                               signed-message ingest against raw Ed25519 verify on one core,
                               and peers in separate processes flooding messages through a relay
  grapevine relay [options]    run a relay (gossip peer + forwarder) until SIGINT/SIGTERM
  grapevine sim [options]      run the deterministic simulator
  grapevine fuzz [--frames N] [--seed S] [--json]  mutated frames of every type against a live engine (fuzz --help)
  grapevine help               show this text

Relay options (WebSockets on /, plus GET /healthz and /metrics):
${RELAY_FLAGS_HELP}
  e.g. grapevine relay --port 8787 --peer wss://other-relay.example/ --network lobby

Simulator options:
  --scenario NAME     spread (default) | partition | reconcile | broadcast | membership
  --nodes N           number of nodes (default 1000)
  --fanout K          peers per round (default 3)
  --mode M            push | pull | pushpull (default pushpull)
  --loss P            frame loss probability, 0..1 (default 0)
  --seed S            root seed; the same seed reproduces the run (default: random, printed)
  --degree D          mean links per node (default: full mesh to 32 nodes, else 2·log2 N + fanout)
  --interval MS       gossip interval in ms (default 1000)
  --crypto C          ed25519 (default: real signatures) | insecure-hash (fast, forgeable, named in output)
  --partition-ms MS   partition scenario: how long the halves stay apart (default 60000)
  --origins N         reconcile scenario: origins both nodes hold (default 10000)
  --differences D     reconcile scenario: origins that differ (default 10)
  --messages M        broadcast scenario: messages published (default 1000)
  --rate R            broadcast scenario: messages per second (default 50)
  --crash F           broadcast scenario: fraction of nodes crashed just before publishing (default 0)
  --payload-bytes B   broadcast scenario: payload size (default 200)
  --svg FILE          spread scenario: write a plot of the informed fraction per round
  --json              print only the seed line and one JSON line
${MEMBERSHIP_HELP}
`;

type Flags = Record<string, string | boolean>;

function parseFlags(argv: string[]): Flags {
  const flags: Flags = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) throw new UsageError(`unexpected argument ${a}`);
    const name = a.slice(2);
    if (name === "json" || name === "help" || name === "browser") flags[name] = true;
    else {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`--${name} needs a value`);
      flags[name] = v;
    }
  }
  return flags;
}

class UsageError extends Error {}

function num(flags: Flags, name: string, dflt: number, check: (n: number) => boolean = () => true): number {
  const v = flags[name];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== "string" || !Number.isFinite(n) || !check(n)) throw new UsageError(`--${name}: bad value ${v}`);
  return n;
}

async function sim(flags: Flags): Promise<void> {
  const known = ["scenario", "nodes", "fanout", "mode", "loss", "seed", "degree", "interval", "crypto", "partition-ms", "origins", "differences", "svg", "json", "messages", "rate", "crash", "payload-bytes", ...MEMBERSHIP_FLAGS];
  for (const k of Object.keys(flags)) if (!known.includes(k)) throw new UsageError(`unknown option --${k}`);
  const scenario = (flags.scenario as string) ?? "spread";
  if (!["spread", "partition", "reconcile", "broadcast", "membership"].includes(scenario)) throw new UsageError(`--scenario: unknown ${scenario}`);
  const mode = ((flags.mode as string) ?? "pushpull") as GossipMode;
  if (!["push", "pull", "pushpull"].includes(mode)) throw new UsageError(`--mode: unknown ${mode}`);
  const seed = flags.seed !== undefined ? num(flags, "seed", 0, Number.isSafeInteger) : Math.floor(Math.random() * 2 ** 31);
  const cryptoName = (flags.crypto as string) ?? "ed25519";
  let suite: SignatureSuite;
  // No verified-signature cache: one suite serves every simulated node, and a cache shared among
  // them would let one node's check stand for all. Key preparation is still shared (per process).
  if (cryptoName === "ed25519") suite = await createSignatureSuite({ subtle: globalThis.crypto.subtle, verifiedCacheMax: 0 });
  else if (cryptoName === "insecure-hash") suite = insecureHashSuite;
  else throw new UsageError(`--crypto: unknown ${cryptoName}`);
  const json = flags.json === true;
  console.log(`seed: ${seed}  (replay: grapevine sim ${replayArgs(flags, seed)})`);
  const o: ScenarioOptions = {
    nodes: num(flags, "nodes", scenario === "partition" ? 200 : 1000, (n) => Number.isInteger(n) && n >= 2),
    fanout: num(flags, "fanout", 3, (n) => Number.isInteger(n) && n >= 1),
    mode,
    loss: num(flags, "loss", 0, (n) => n >= 0 && n < 1),
    seed,
    degree: num(flags, "degree", 0, (n) => Number.isInteger(n) && n >= 0),
    intervalMs: num(flags, "interval", 1000, (n) => n > 0),
    suite,
    cryptoName: cryptoName === "ed25519" ? `ed25519-${suite.backend} (every node verifies)` : cryptoName,
    clock: () => performance.now(),
  };
  let report: object;
  if (scenario === "membership") {
    try {
      report = await runMembershipCli(flags, (name, dflt, check) => num(flags, name, dflt, check), o);
    } catch (e) {
      if (e instanceof Error && e.message.startsWith("--")) throw new UsageError(e.message);
      throw e;
    }
  } else if (scenario === "spread") {
    const r = await runSpread(o);
    if (typeof flags.svg === "string") {
      writeFileSync(flags.svg, plotInformed(`${o.nodes} nodes, fanout ${o.fanout}, ${o.mode}, loss ${o.loss}, seed ${seed}`, [
        { label: `${o.mode} (rounds to all: ${r.rounds_to_all ?? "—"})`, values: r.informed_by_round },
      ]));
    }
    report = { ...r, peak_rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20) };
  } else if (scenario === "broadcast") {
    report = await runBroadcast(o, {
      messages: num(flags, "messages", 1000, (n) => Number.isInteger(n) && n >= 1),
      ratePerSecond: num(flags, "rate", 50, (n) => n > 0),
      crash: num(flags, "crash", 0, (n) => n >= 0 && n < 1),
      payloadBytes: num(flags, "payload-bytes", 200, (n) => Number.isInteger(n) && n >= 2 && n <= 65_536),
    });
  } else if (scenario === "partition") {
    report = await runPartition(o, num(flags, "partition-ms", 60_000, (n) => n >= 0));
  } else {
    report = await runReconcile({
      ...o,
      origins: num(flags, "origins", 10_000, (n) => Number.isInteger(n) && n >= 1),
      differences: num(flags, "differences", 10, (n) => Number.isInteger(n) && n >= 0),
    });
  }
  if (!json) {
    for (const [k, v] of Object.entries(report)) if (k !== "informed_by_round") console.log(`  ${k.padEnd(30)} ${JSON.stringify(v)}`);
  }
  console.log(JSON.stringify(report));
}

function replayArgs(flags: Flags, seed: number): string {
  const parts: string[] = [];
  const all: Flags = { ...flags, seed: String(seed) };
  for (const [k, v] of Object.entries(all)) parts.push(v === true ? `--${k}` : `--${k} ${v}`);
  return parts.join(" ");
}

/** Runs the command line with `argv` (without the node and script paths). Returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (!command || command === "help" || command === "--help" || command === "-h") {
      console.log(HELP);
      return 0;
    }
    if (command === "demo") {
      const flags = parseFlags(rest);
      for (const k of Object.keys(flags)) if (!["peers", "port", "duration", "interval", "links", "json", "browser"].includes(k)) throw new UsageError(`unknown option --${k}`);
      const { runDemo } = await import("./demo.ts");
      const summary = await runDemo({
        peers: num(flags, "peers", 6, (n) => Number.isInteger(n) && n >= 1 && n <= 64),
        port: num(flags, "port", 0, (n) => Number.isInteger(n) && n >= 0 && n <= 65535),
        durationS: flags.duration === undefined ? undefined : num(flags, "duration", 20, (n) => n > 0),
        intervalMs: num(flags, "interval", 250, (n) => n >= 10),
        links: num(flags, "links", 2, (n) => Number.isInteger(n) && n >= 0 && n <= 16),
        json: flags.json === true,
        browser: flags.browser === true,
      });
      console.log(JSON.stringify(summary));
      return summary.converged ? 0 : 1;
    }
    if (command === "demo-tx") {
      const flags = parseFlags(rest);
      const known = ["peers", "port", "duration", "interval", "links", "json", "rate", "mempool", "hostile"];
      for (const k of Object.keys(flags)) if (!known.includes(k)) throw new UsageError(`unknown option --${k}`);
      const { runDemoTx } = await import("./demo-tx.ts");
      const summary = await runDemoTx({
        peers: num(flags, "peers", 6, (n) => Number.isInteger(n) && n >= 1 && n <= 64),
        port: num(flags, "port", 0, (n) => Number.isInteger(n) && n >= 0 && n <= 65535),
        durationS: flags.duration === undefined ? undefined : num(flags, "duration", 20, (n) => n > 0),
        intervalMs: num(flags, "interval", 250, (n) => n >= 10),
        links: num(flags, "links", 2, (n) => Number.isInteger(n) && n >= 0 && n <= 16),
        rate: num(flags, "rate", 50, (n) => n > 0 && n <= 5_000),
        capacity: num(flags, "mempool", 1000, (n) => Number.isInteger(n) && n >= 1 && n <= 1_000_000),
        hostile: num(flags, "hostile", 1, (n) => n === 0 || n === 1) === 1,
        json: flags.json === true,
      });
      console.log(JSON.stringify(summary));
      return summary.converged ? 0 : 1;
    }
    if (command === "bench") {
      const [what, ...more] = rest;
      if (what === "relay") return await (await import("./bench-relay.ts")).benchRelayCommand(more);
      if (what === "broadcast") {
        const flags = parseFlags(more);
        for (const k of Object.keys(flags)) if (!["json", "peers", "processes", "rate", "duration", "messages", "payload-bytes"].includes(k)) throw new UsageError(`unknown option --${k}`);
        const { benchBroadcast } = await import("./bench-broadcast.ts");
        const report = await benchBroadcast({
          messages: num(flags, "messages", 4000, (n) => Number.isInteger(n) && n >= 100),
          peers: num(flags, "peers", 50, (n) => Number.isInteger(n) && n >= 2 && n <= 500),
          processes: num(flags, "processes", 5, (n) => Number.isInteger(n) && n >= 1 && n <= 64),
          ratePerSecond: num(flags, "rate", 100, (n) => n > 0),
          durationS: num(flags, "duration", 10, (n) => n > 0 && n <= 600),
          payloadBytes: num(flags, "payload-bytes", 200, (n) => Number.isInteger(n) && n >= 64 && n <= 65_536),
        });
        console.log(JSON.stringify(report));
        return 0;
      }
      if (what !== "size") throw new UsageError(`bench: unknown benchmark ${what ?? "(none)"}; try: grapevine bench size --json`);
      const flags = parseFlags(more);
      for (const k of Object.keys(flags)) if (k !== "json") throw new UsageError(`unknown option --${k}`);
      const { benchSize } = await import("./bench.ts");
      const report = await benchSize();
      if (flags.json !== true) {
        for (const [k, v] of Object.entries(report)) if (k !== "modules") console.log(`  ${k.padEnd(16)} ${JSON.stringify(v)}`);
        for (const m of report.modules) console.log(`    ${String(m.bytes).padStart(7)}  ${m.path}`);
      }
      console.log(JSON.stringify(report));
      return 0;
    }
    if (command === "relay") {
      const { runRelay } = await import("./relay.ts");
      try {
        return await runRelay(rest);
      } catch (e) {
        if (e instanceof RelayUsageError) throw new UsageError(e.message);
        throw e;
      }
    }
    if (command === "fuzz") return await (await import("./fuzz.ts")).fuzzCommand(rest);
    if (command === "sim") {
      await sim(parseFlags(rest));
      return 0;
    }
    throw new UsageError(`unknown command ${command}`);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`grapevine: ${e.message}\n\n${HELP}`);
      return 2;
    }
    throw e;
  }
}
