/**
 * The `grapevine` command line. Each command describes its options once (`cli/args.ts`), which
 * gives it its parser and its `--help`; `grapevine help` lists the commands.
 *
 * Exit codes, for every command: 0 success; 1 the run failed (the demo did not converge, a relay
 * could not start, an unexpected error — its message on stderr, the stack with GRAPEVINE_DEBUG=1);
 * 2 a usage error (unknown option, bad value); 130 interrupted while a benchmark ran.
 *
 * @module
 */

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { generateKeyPair } from "../src/crypto/keys.ts";
import { exportSecretKey, nodeIdToText } from "../src/crypto/identity.ts";
import type { GossipMode } from "../src/core/options.ts";
import { runPartition, runSpread, type ScenarioOptions } from "../src/sim/scenarios.ts";
import { runReconcile } from "../src/sim/reconcile.ts";
import { runBroadcast } from "../src/sim/broadcast-scenario.ts";
import { plotInformed } from "../src/sim/svg.ts";
import { ROOMS_DEFAULTS, runRooms } from "../src/sim/rooms.ts";
import { type CommandSpec, helpText, intOption, numberOption, parseCommand, stringOption, UsageError, type Values } from "./args.ts";
import { countingSuite, Progress } from "./progress.ts";
import { MEMBERSHIP_FLAGS, MEMBERSHIP_HELP, runMembershipCli } from "./sim-membership.ts";
import { CRYPTO_MODES, ensureHeap, heapMeasure, heapPlanFromFlags, keysNeeded, peakRssMb, simProgressText, simSuite } from "./sim-scale.ts";
import { deriveSimKeys } from "./sim-keys.ts";
import { relayUsage } from "../relay/main.ts";

/** A command: its spec (options, help) and what it runs; resolves with the exit code. */
interface Command {
  spec: CommandSpec;
  run(values: Values): Promise<number>;
}

const EXIT_CODES = `Exit codes: 0 success; 1 the run failed (e.g. the demo did not converge, the relay could not
start, an unexpected error); 2 a usage error; 130 interrupted during a benchmark.`;

const DEMO_OPTIONS: CommandSpec["options"] = {
  peers: { type: "string", value: "N", help: "peer processes, 1–64 (default 6)" },
  port: { type: "string", value: "P", help: "port of the relay and dashboard (default 0: any free port)" },
  duration: { type: "string", value: "S", help: "seconds to run (default: until Ctrl-C; with --json, 20 at most)" },
  interval: { type: "string", value: "MS", help: "gossip interval, ≥ 10 (default 250)" },
  links: { type: "string", value: "K", help: "direct links each peer dials, 0–16 (default 2; 0: a star round the relay)" },
  json: { type: "boolean", help: "headless: measure, print one JSON line, exit" },
};

const demo: Command = {
  spec: {
    name: "grapevine demo",
    summary: "A live mesh on this machine: a relay and N peer processes converging, and a dashboard at\nhttp://127.0.0.1:P/ that makes your browser a peer too.",
    options: { ...DEMO_OPTIONS, browser: { type: "boolean", help: "also open the dashboard in headless Chromium (a browser peer)" } },
    notes: "e.g. grapevine demo --duration 20 --json",
  },
  async run(v) {
    const { runDemo } = await import("./demo.ts");
    const summary = await runDemo({
      peers: intOption(v, "peers", 6, 1, 64),
      port: intOption(v, "port", 0, 0, 65535),
      durationS: v.duration === undefined ? undefined : numberOption(v, "duration", 20, (n) => n > 0, "a positive number"),
      intervalMs: numberOption(v, "interval", 250, (n) => n >= 10, "a number ≥ 10"),
      links: intOption(v, "links", 2, 0, 16),
      json: v.json === true,
      browser: v.browser === true,
    });
    console.log(JSON.stringify(summary));
    return summary.converged ? 0 : 1;
  },
};

const demoTx: Command = {
  spec: {
    name: "grapevine demo-tx",
    summary: "Transaction flooding on the demo's mesh: signed transfers at --rate per second through random\npeers, a mempool per node as the tx validator, blocks from the relay, forged and stale\ntransactions stopped at their first hop; the dashboard is at http://127.0.0.1:P/tx.",
    options: {
      ...DEMO_OPTIONS,
      rate: { type: "string", value: "R", help: "transactions per second, up to 5000 (default 50)" },
      mempool: { type: "string", value: "N", help: "mempool capacity per node (default 1000)" },
      hostile: { type: "string", value: "0|1", help: "send forged and stale transactions too (default 1)" },
    },
  },
  async run(v) {
    const { runDemoTx } = await import("./demo-tx.ts");
    const summary = await runDemoTx({
      peers: intOption(v, "peers", 6, 1, 64),
      port: intOption(v, "port", 0, 0, 65535),
      durationS: v.duration === undefined ? undefined : numberOption(v, "duration", 20, (n) => n > 0, "a positive number"),
      intervalMs: numberOption(v, "interval", 250, (n) => n >= 10, "a number ≥ 10"),
      links: intOption(v, "links", 2, 0, 16),
      rate: numberOption(v, "rate", 50, (n) => n > 0 && n <= 5_000, "a number in (0, 5000]"),
      capacity: intOption(v, "mempool", 1000, 1, 1_000_000),
      hostile: intOption(v, "hostile", 1, 0, 1) === 1,
      json: v.json === true,
    });
    console.log(JSON.stringify(summary));
    return summary.converged ? 0 : 1;
  },
};

const benchSizeCommand: Command = {
  spec: {
    name: "grapevine bench size",
    summary: "The browser peer's bundle (esbuild), minified and gzipped, by package and module. Needs\nesbuild (npm install -D esbuild).",
    options: { json: { type: "boolean", help: "print only the JSON report" } },
  },
  async run(v) {
    const { benchSize } = await import("./bench.ts");
    const report = await benchSize();
    if (v.json !== true) {
      for (const [k, value] of Object.entries(report)) if (k !== "modules") console.log(`  ${k.padEnd(16)} ${JSON.stringify(value)}`);
      for (const m of report.modules) console.log(`    ${String(m.bytes).padStart(7)}  ${m.path}`);
    }
    console.log(JSON.stringify(report));
    return 0;
  },
};

const benchBroadcastCommand: Command = {
  spec: {
    name: "grapevine bench broadcast",
    summary: "Signed-message ingest against raw Ed25519 verify on one core, and peers in separate processes\nflooding messages through a relay over loopback. One JSON line.",
    options: {
      json: { type: "boolean", help: "print only the JSON report (the default; kept for symmetry)" },
      messages: { type: "string", value: "M", help: "messages in the ingest part, ≥ 100 (default 4000)" },
      peers: { type: "string", value: "N", help: "peers, 2–500 (default 50)" },
      processes: { type: "string", value: "P", help: "processes they run in, 1–64 (default 5)" },
      rate: { type: "string", value: "R", help: "messages per second in all (default 100)" },
      duration: { type: "string", value: "S", help: "seconds of the sockets part, up to 600 (default 10)" },
      "payload-bytes": { type: "string", value: "B", help: "payload size, 64–65536 (default 200)" },
    },
  },
  async run(v) {
    const { benchBroadcast } = await import("./bench-broadcast.ts");
    const progress = new Progress("bench broadcast");
    const report = await benchBroadcast({
      messages: intOption(v, "messages", 4000, 100),
      peers: intOption(v, "peers", 50, 2, 500),
      processes: intOption(v, "processes", 5, 1, 64),
      ratePerSecond: numberOption(v, "rate", 100, (n) => n > 0, "a positive number"),
      durationS: numberOption(v, "duration", 10, (n) => n > 0 && n <= 600, "a number in (0, 600]"),
      payloadBytes: intOption(v, "payload-bytes", 200, 64, 65_536),
      progress: (phase) => progress.update(() => phase, true),
    });
    progress.done();
    console.log(JSON.stringify(report));
    return 0;
  },
};

const benchMeshCommand: Command = {
  spec: {
    name: "grapevine bench mesh",
    summary: "N nodes in this one process over real WebSockets on loopback (a seeded random graph), then M\nmessages from seeded random publishers: connect time and event-loop delay, idle CPU and bytes,\ncopies, wire bytes, IHAVE ids and CPU per delivery, latency, against raw Ed25519 verify. One JSON line.",
    options: {
      nodes: { type: "string", value: "N", help: "nodes, 2–1000 (default 100)" },
      messages: { type: "string", value: "M", help: "messages published, 1–100000 (default 200)" },
      rate: { type: "string", value: "R", help: "messages per second in all (default 20)" },
      "payload-bytes": { type: "string", value: "B", help: "payload size, 16–65536 (default 200)" },
      seed: { type: "string", value: "S", help: "seed of the graph and the publishers (default 1)" },
      close: { type: "string", value: "F", help: "fraction of nodes closed just before publishing, 0–0.9 (default 0)" },
      "close-after-tree": { type: "string", value: "F", help: "fraction closed after a few messages formed the tree, 0–0.9 (default 0)" },
      idle: { type: "string", value: "MS", help: "how long idle cost is measured, ≥ 500 (default 5000)" },
      settle: { type: "string", value: "MS", help: "how long the linked mesh is left alone before idle cost is measured (a stable mesh), ≥ 1000 (default 15000)" },
      interval: { type: "string", value: "MS", help: "gossip interval of every node, ≥ 10 (default 1000)" },
      "probe-interval": { type: "string", value: "MS", help: "SWIM's protocol period of every node, ≥ 500 (default 1000): most of an idle mesh's frames are its probes" },
      "node-crypto": { type: "boolean", help: "every node signs and checks with node:crypto (createNode's nodeCrypto) instead of WebCrypto" },
    },
    notes: "e.g. grapevine bench mesh --nodes 100 --messages 200 --close-after-tree 0.2 (also: grapevine bench broadcast --mesh …)",
  },
  async run(v) {
    const { runMeshBench } = await import("./bench-mesh.ts");
    const progress = new Progress("bench mesh");
    const report = await runMeshBench({
      nodes: intOption(v, "nodes", 100, 2, 1000),
      messages: intOption(v, "messages", 200, 1, 100_000),
      ratePerSecond: numberOption(v, "rate", 20, (n) => n > 0, "a positive number"),
      payloadBytes: intOption(v, "payload-bytes", 200, 16, 65_536),
      seed: intOption(v, "seed", 1, 0, 2 ** 31 - 1),
      close: numberOption(v, "close", 0, (n) => n >= 0 && n <= 0.9, "a fraction in [0, 0.9]"),
      closeAfterTree: numberOption(v, "close-after-tree", 0, (n) => n >= 0 && n <= 0.9, "a fraction in [0, 0.9]"),
      idleMs: numberOption(v, "idle", 5000, (n) => n >= 500, "a number ≥ 500"),
      settleMs: numberOption(v, "settle", 15_000, (n) => n >= 1000, "a number ≥ 1000"),
      intervalMs: numberOption(v, "interval", 1000, (n) => n >= 10, "a number ≥ 10"),
      probeIntervalMs: numberOption(v, "probe-interval", 1000, (n) => n >= 500, "a number ≥ 500 (the probe timeout is 500 ms)"),
      nodeCrypto: v["node-crypto"] === true,
      progress: (note) => progress.update(() => note, true),
    });
    progress.done();
    console.log(JSON.stringify(report));
    return report.delivered_fraction === 1 ? 0 : 1;
  },
};

const benchFirstContactCommand: Command = {
  spec: {
    name: "grapevine bench first-contact",
    summary: "One node's event loop while N − 1 nodes it has never met link up at once: the measured node on a\nthread of its own, the others in this one, over WebSockets on loopback, as a seeded mesh or all dialing\nit (a relay just started). Its loop delay and busy time until it holds every node's state. One JSON line.",
    options: {
      nodes: { type: "string", value: "N", help: "nodes, the measured one included, 2–500 (default 100)" },
      shape: { type: "string", value: "S", help: "mesh (bench mesh's seeded graph) or star (all dial the measured node) (default mesh)" },
      seed: { type: "string", value: "S", help: "seed of the keys and the graph (default 1)" },
      relay: { type: "boolean", help: "the measured node is the Node relay (serveRelay) rather than a node behind the bench's server" },
    },
    notes: "e.g. grapevine bench first-contact --nodes 100 --shape star --relay",
  },
  async run(v) {
    const { runFirstContactBench } = await import("./bench-first-contact.ts");
    const progress = new Progress("bench first-contact");
    const report = await runFirstContactBench({
      nodes: intOption(v, "nodes", 100, 2, 500),
      shape: stringOption(v, "shape", "mesh", ["mesh", "star"]) as "mesh" | "star",
      seed: intOption(v, "seed", 1, 0, 2 ** 31 - 1),
      relay: v.relay === true,
      progress: (note) => progress.update(() => note, true),
    });
    progress.done();
    console.log(JSON.stringify(report));
    return 0;
  },
};

const benchPresenceCommand: Command = {
  spec: {
    name: "grapevine bench presence",
    summary: "How fast presence crosses relays: one or two Node relays on loopback (the second peered to the\nfirst), N tabs in one room alternately on each, then M steps in which K tabs update at once: ms until\nevery other tab saw each update, the relays' frames and bytes per update and their engines' ms per step,\nthe heap after a full GC before and after the updates; with --churn, tabs leaving and replaced, and\nwhat the relays then hold of the departed. One JSON line.",
    options: {
      tabs: { type: "string", value: "N", help: "tabs in the room, 2–500 (default 20)" },
      relays: { type: "string", value: "R", help: "1 or 2 (default 1)" },
      updates: { type: "string", value: "M", help: "steps of updates, 1–1000 (default 10)" },
      writers: { type: "string", value: "K", help: "tabs that update at the same moment in each step, 1–N (default 1)" },
      full: { type: "boolean", help: "tabs from the main entry (membership on) instead of grapevine/lite" },
      interval: { type: "string", value: "MS", help: "gossip interval of every node and relay, ≥ 10 (default 1000)" },
      churn: { type: "string", value: "D", help: "then D times a tab leaves (every other with its farewell) and a new one joins, 0–100000 (default 0)" },
    },
    notes: "e.g. grapevine bench presence --tabs 20 --relays 2; a cursor storm: --tabs 100 --writers 50; what departed tabs leave at the relays: --churn 500",
  },
  async run(v) {
    const { runPresenceBench } = await import("./bench-presence.ts");
    const report = await runPresenceBench({
      tabs: intOption(v, "tabs", 20, 2, 500),
      relays: intOption(v, "relays", 1, 1, 2) as 1 | 2,
      updates: intOption(v, "updates", 10, 1, 1000),
      writers: intOption(v, "writers", 1, 1, 500),
      full: v.full === true,
      intervalMs: numberOption(v, "interval", 1000, (n) => n >= 10, "a number ≥ 10"),
      churn: intOption(v, "churn", 0, 0, 100_000),
    });
    console.log(JSON.stringify(report));
    return 0;
  },
};

const keygen: Command = {
  spec: {
    name: "grapevine keygen",
    summary: "Makes a new Ed25519 key pair for a relay or a node. Prints the secret key (gvsk1.…) on stdout and\nthe node id on stderr; with --out, writes the secret key to a new file (mode 0600) and prints the\nid on stdout. Use it as GRAPEVINE_KEY (e.g. a Deno Deploy or Workers secret) or --key-file.",
    options: {
      out: { type: "string", value: "FILE", help: "write the secret key to FILE (which must not exist yet)" },
      json: { type: "boolean", help: "print {\"id\",\"secretKey\"} as one JSON line instead" },
    },
  },
  async run(v) {
    const keyPair = generateKeyPair((n) => globalThis.crypto.getRandomValues(new Uint8Array(n)));
    const id = nodeIdToText(keyPair.publicKey);
    const secret = exportSecretKey(keyPair);
    const out = stringOption(v, "out", "");
    if (out !== "") {
      if (existsSync(out)) throw new UsageError(`--out: ${out} exists; keygen never overwrites a key`);
      writeFileSync(out, `${secret}\n`, { mode: 0o600, flag: "wx" });
      console.log(v.json === true ? JSON.stringify({ id, file: out }) : id);
      return 0;
    }
    if (v.json === true) console.log(JSON.stringify({ id, secretKey: secret }));
    else {
      console.log(secret);
      console.error(`node id: ${id}`);
    }
    return 0;
  },
};

const SIM_OPTIONS: CommandSpec["options"] = {
  scenario: { type: "string", value: "NAME", help: "spread (default) | partition | reconcile | broadcast | membership | rooms" },
  nodes: { type: "string", value: "N", help: "number of nodes, ≥ 2 (default 1000; partition 200)" },
  fanout: { type: "string", value: "K", help: "peers per round (default 3)" },
  mode: { type: "string", value: "M", help: "push | pull | pushpull (default pushpull)" },
  loss: { type: "string", value: "P", help: "frame loss probability, 0..1 (default 0)" },
  seed: { type: "string", value: "S", help: "root seed; the same seed reproduces the run (default: random, printed)" },
  degree: { type: "string", value: "D", help: "mean links per node (default: full mesh to 32 nodes, else 2·log2 N + fanout)" },
  interval: { type: "string", value: "MS", help: "gossip interval in ms (default 1000)" },
  crypto: {
    type: "string",
    value: "C",
    help: "ed25519 (default: real signatures, every node verifies) | ed25519-memoized (real signatures; a verdict on the same key, message and signature is computed once and shared by every node that checks it: same figures, less wall time; the report counts crypto_checks and crypto_verified) | insecure-hash (fast, forgeable); the report names the mode",
  },
  "partition-ms": { type: "string", value: "MS", help: "partition scenario: how long the halves stay apart (default 60000)" },
  origins: { type: "string", value: "N", help: "reconcile scenario: origins both nodes hold (default 10000)" },
  differences: { type: "string", value: "D", help: "reconcile scenario: origins that differ (default 10)" },
  messages: { type: "string", value: "M", help: "broadcast scenario: messages published (default 1000)" },
  rate: { type: "string", value: "R", help: "broadcast scenario: messages per second (default 50)" },
  crash: { type: "string", value: "F", help: "broadcast scenario: fraction crashed just before publishing (default 0)" },
  "payload-bytes": { type: "string", value: "B", help: "broadcast scenario: payload size (default 200)" },
  rooms: { type: "string", value: "N", help: "rooms scenario: rooms, sizes Zipf-like in [size-min, size-max] (default 1000; nodes default 10000)" },
  relays: { type: "string", value: "N", help: "rooms scenario: relays, in a full mesh; each client links to 1–2 (default 20)" },
  duration: { type: "string", value: "MS", help: "rooms scenario: measured virtual time after the join phase (default 20000)" },
  "join-ms": { type: "string", value: "MS", help: "rooms scenario: join phase (default 6000)" },
  "cursor-rate": { type: "string", value: "R", help: "rooms scenario: cursors per second per member (default 5)" },
  "presence-ms": { type: "string", value: "MS", help: "rooms scenario: presence rewritten every MS (default 5000)" },
  "size-min": { type: "string", value: "N", help: "rooms scenario: smallest room (default 2)" },
  "size-max": { type: "string", value: "N", help: "rooms scenario: largest room (default 200)" },
  "client-links": { type: "string", value: "N", help: "rooms scenario: extra client–client links (default: clients / 50)" },
  baseline: { type: "string", value: "L", help: "rooms scenario: reference rooms run alone: largest,median (default) | largest | median | none" },
  "log-progress": { type: "boolean", help: "rooms scenario: a progress line per virtual second on stderr, even when not a terminal" },
  svg: { type: "string", value: "FILE", help: "spread scenario: write a plot of the informed fraction per round" },
  json: { type: "boolean", help: "print only the seed line and one JSON line" },
  "profile-memory": { type: "boolean", help: "spread and broadcast: bytes per node by structure in the report (slower: full garbage collections at the end)" },
};
for (const flag of MEMBERSHIP_FLAGS) SIM_OPTIONS[flag] ??= { type: "string", value: "V", help: "membership scenario (below)" };

const sim: Command = {
  spec: {
    name: "grapevine sim",
    summary: "The deterministic simulator: the real engine, thousands of nodes on a virtual clock. The seed is\nprinted first and reproduces the run; the last line is one JSON report. A progress line (time,\nsignatures) is drawn on stderr when it is a terminal.",
    options: SIM_OPTIONS,
    notes: MEMBERSHIP_HELP,
  },
  run: runSim,
};

async function runSim(v: Values): Promise<number> {
  const flags: Record<string, string | boolean> = {};
  for (const [k, value] of Object.entries(v)) if (value !== undefined && !Array.isArray(value)) flags[k] = value;
  const scenario = stringOption(v, "scenario", "spread", ["spread", "partition", "reconcile", "broadcast", "membership", "rooms"]);
  const mode = stringOption(v, "mode", "pushpull", ["push", "pull", "pushpull"]) as GossipMode;
  const seed = v.seed !== undefined ? numberOption(v, "seed", 0, Number.isSafeInteger, "an integer") : Math.floor(Math.random() * 2 ** 31);
  const cryptoMode = stringOption(v, "crypto", "ed25519", [...CRYPTO_MODES]);
  const nodes = intOption(v, "nodes", scenario === "partition" ? 200 : scenario === "rooms" ? ROOMS_DEFAULTS.nodes : 1000, 2);
  // Before anything is built: a run too large for this heap re-runs with a larger one, or stops.
  const argv = ["sim", ...Object.entries(flags).flatMap(([k, value]) => (typeof value === "string" ? [`--${k}`, value] : value ? [`--${k}`] : []))];
  const plan = heapPlanFromFlags(scenario, nodes, flags, (name, dflt, check) => numberOption(v, name, dflt, check));
  const exit = await ensureHeap(argv, plan);
  if (exit !== null) return exit;
  const crypto = await simSuite(cryptoMode);
  const progress = new Progress(`sim ${scenario}`);
  const counts = { signed: 0, verified: 0 };
  let status = "";
  const draw = (force = false) =>
    progress.update(() => `${status}${counts.signed.toLocaleString("en")} signed · ${counts.verified.toLocaleString("en")} checked · ${Math.round(process.memoryUsage().rss / 2 ** 20)} MB`, force);
  const suite = progress.enabled ? countingSuite(crypto.suite, counts, draw) : crypto.suite;
  const simStatus = simProgressText();
  const keysAt = performance.now();
  const keyPair = await deriveSimKeys(seed, keysNeeded(plan));
  const keysMs = Math.round(performance.now() - keysAt);
  console.log(`seed: ${seed}  (replay: grapevine sim ${replayArgs(flags, seed)})`);
  const o: ScenarioOptions = {
    nodes,
    fanout: intOption(v, "fanout", 3, 1),
    mode,
    loss: numberOption(v, "loss", 0, (n) => n >= 0 && n < 1, "a number in [0, 1)"),
    seed,
    degree: intOption(v, "degree", 0, 0),
    intervalMs: numberOption(v, "interval", 1000, (n) => n > 0, "a positive number"),
    suite,
    cryptoName: crypto.cryptoName,
    clock: () => performance.now(),
    memory: v["profile-memory"] === true ? heapMeasure() : undefined,
    progress: progress.enabled
      ? (p) => {
          status = `${simStatus(p)} · `;
          draw();
        }
      : undefined,
    keyPair,
  };
  let report: object;
  try {
    if (scenario === "membership") {
      try {
        report = await runMembershipCli(flags, (name, dflt, check) => numberOption(v, name, dflt, check), o);
      } catch (e) {
        if (e instanceof Error && e.message.startsWith("--")) throw new UsageError(e.message);
        throw e;
      }
    } else if (scenario === "spread") {
      const r = await runSpread(o);
      if (typeof v.svg === "string") {
        writeFileSync(v.svg, plotInformed(`${o.nodes} nodes, fanout ${o.fanout}, ${o.mode}, loss ${o.loss}, seed ${seed}`, [
          { label: `${o.mode} (rounds to all: ${r.rounds_to_all ?? "—"})`, values: r.informed_by_round },
        ]));
      }
      report = r;
    } else if (scenario === "broadcast") {
      report = await runBroadcast(o, {
        messages: intOption(v, "messages", 1000, 1),
        ratePerSecond: numberOption(v, "rate", 50, (n) => n > 0, "a positive number"),
        crash: numberOption(v, "crash", 0, (n) => n >= 0 && n < 1, "a number in [0, 1)"),
        payloadBytes: intOption(v, "payload-bytes", 200, 2, 65_536),
      });
    } else if (scenario === "rooms") {
      report = await runRoomsCli(v, o, progress);
    } else if (scenario === "partition") {
      report = await runPartition(o, numberOption(v, "partition-ms", 60_000, (n) => n >= 0, "a number ≥ 0"));
    } else {
      report = await runReconcile({ ...o, origins: intOption(v, "origins", 10_000, 1), differences: intOption(v, "differences", 10, 0) });
    }
  } finally {
    progress.done();
  }
  const verdicts = crypto.verdicts();
  report = { ...report, ...(verdicts ? { crypto_checks: verdicts.checks, crypto_verified: verdicts.verified } : {}), peak_rss_mb: peakRssMb() };
  // Keys derived before the run count in its wall time.
  if ("wall_ms" in report) report = { ...report, wall_ms: (report.wall_ms as number) + keysMs, keys_ms: keysMs };
  if (v.json !== true) {
    for (const [k, value] of Object.entries(report)) if (k !== "informed_by_round") console.log(`  ${k.padEnd(30)} ${JSON.stringify(value)}`);
  }
  console.log(JSON.stringify(report));
  return 0;
}

async function runRoomsCli(v: Values, o: ScenarioOptions, progress: Progress): Promise<object> {
  const d = ROOMS_DEFAULTS;
  const baseline = stringOption(v, "baseline", "largest,median", ["largest,median", "median,largest", "largest", "median", "none"]);
  const log = v["log-progress"] === true;
  return runRooms({
    ...o,
    intervalMs: numberOption(v, "interval", d.intervalMs, (n) => n > 0, "a positive number"),
    rooms: intOption(v, "rooms", d.rooms, 1),
    relays: intOption(v, "relays", d.relays, 1),
    durationMs: numberOption(v, "duration", d.durationMs, (n) => n >= 200, "a number ≥ 200"),
    joinMs: numberOption(v, "join-ms", d.joinMs, (n) => n >= 0, "a number ≥ 0"),
    cursorsPerSecond: intOption(v, "cursor-rate", d.cursorsPerSecond, 1, 100),
    presenceIntervalMs: numberOption(v, "presence-ms", d.presenceIntervalMs, (n) => n > 0, "a positive number"),
    sizeMin: intOption(v, "size-min", d.sizeMin, 2),
    sizeMax: intOption(v, "size-max", d.sizeMax, 2),
    clientLinks: intOption(v, "client-links", d.clientLinks, -1),
    cursorBytes: d.cursorBytes,
    baseline: baseline === "none" ? [] : (baseline.split(",") as Array<"largest" | "median">),
    progress: (note) => (log ? console.error(note) : progress.update(() => note, true)),
  });
}

const benchHeldCommand: Command = {
  spec: {
    name: "grapevine bench held",
    summary: "What holding other origins' state costs one node's heap, against what it counts toward\nstoreBytesMax: presence-sized maps, maps of 200 one-byte keys, maps of 4 KiB values, with the digest\nin a table and in the trie. heap_over_counted at most 1 means storeBytesMax bounds memory. One JSON line;\nexit status 1 when a shape takes more heap than it counts.",
    options: {
      scale: { type: "string", value: "X", help: "origins of each shape, as a multiple of 5000 / 200 / 500, 0.2–20 (default 1; fewer origins measure fixed costs more than what each takes)" },
    },
    notes: "e.g. grapevine bench held --scale 4",
  },
  async run(v) {
    const { runHeldBench } = await import("./bench-held.ts");
    const report = runHeldBench({ scale: numberOption(v, "scale", 1, (n) => n >= 0.2 && n <= 20, "a number in [0.2, 20]") });
    console.log(JSON.stringify(report));
    return report.heap_over_counted_max <= 1 ? 0 : 1;
  },
};

function replayArgs(flags: Record<string, string | boolean>, seed: number): string {
  const parts: string[] = [];
  const all: Record<string, string | boolean> = { ...flags, seed: String(seed) };
  for (const [k, value] of Object.entries(all)) parts.push(value === true ? `--${k}` : `--${k} ${value}`);
  return parts.join(" ");
}

const COMMANDS: Record<string, Command> = { demo, "demo-tx": demoTx, keygen, sim };
const BENCHES: Record<string, Command> = { size: benchSizeCommand, broadcast: benchBroadcastCommand, mesh: benchMeshCommand, "first-contact": benchFirstContactCommand, presence: benchPresenceCommand, held: benchHeldCommand };

/** The package's version, from the package.json next to the command (source or dist/). */
export function version(): string {
  for (const up of ["../package.json", "../../package.json"]) {
    const path = fileURLToPath(new URL(up, import.meta.url));
    if (!existsSync(path)) continue;
    const pkg = JSON.parse(readFileSync(path, "utf8")) as { name?: string; version?: string };
    if (pkg.name === "grapevine" && typeof pkg.version === "string") return pkg.version;
  }
  return "unknown";
}

/** Each benchmark and its line in the help texts (`grapevine help`, `grapevine bench --help`). */
const BENCH_SUMMARIES: readonly [string, string][] = [
  ["size", "the browser peer's bundle, minified and gzipped"],
  ["relay", "one Node relay: links held, fan-out against a bare ws server, latency"],
  ["broadcast", "signed-message ingest and peers flooding through a relay (--mesh: as mesh)"],
  ["mesh", "N nodes in one process over loopback WebSockets: cost per delivery, idle cost"],
  ["first-contact", "one node's event loop while N − 1 new keys link up at once"],
  ["presence", "presence through one or two relays: ms until every tab sees an update"],
  ["held", "heap a node takes for others' state against what storeBytesMax counts"],
];

/** The benchmarks' help lines, each name after `prefix`, in the help texts' column. */
function benchLines(prefix: string): string {
  return BENCH_SUMMARIES.map(([name, what]) => `  ${(prefix + name).padEnd(14)}${(prefix + name).length >= 14 ? "  " : ""}${what}`).join("\n");
}

const HELP = `grapevine — a gossip mesh for browsers, Deno, Bun and Node

Usage: grapevine COMMAND [options]      (grapevine COMMAND --help for a command's options)

Commands:
  demo          a live mesh on this machine, converging: a relay, peer processes, and a
                dashboard that makes your browser a peer too
  demo-tx       transaction flooding on the same mesh, with mempools as validators
  relay         run a relay (gossip peer + forwarder) until SIGINT/SIGTERM
  keygen        make a key pair (a relay's stable id: --key-file or GRAPEVINE_KEY)
  sim           run the deterministic simulator
${benchLines("bench ")}
  fuzz          mutated frames of every type against a live engine (fuzz --help)
  help          this text
  --version     the package's version

${EXIT_CODES}`;

const BENCH_HELP = `Usage: grapevine bench BENCHMARK [options]      (grapevine bench BENCHMARK --help for its options)

Benchmarks:
${benchLines("")}

${EXIT_CODES}`;

/** Runs the command line with `argv` (without the node and script paths). Returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === "help" || name === "--help" || name === "-h") {
      if (name === "help" && rest[0] === "relay") console.log(relayUsage("grapevine relay"));
      else if (name === "help" && rest[0] === "bench" && rest[1] === "relay") console.log(helpText((await import("./bench-relay.ts")).BENCH_RELAY_SPEC));
      else {
        const topic = name === "help" && rest[0] ? (COMMANDS[rest[0]] ?? (rest[0] === "bench" ? BENCHES[rest[1]] : undefined)) : undefined;
        console.log(topic ? helpText(topic.spec) : HELP);
      }
      return 0;
    }
    if (name === "--version" || name === "-v" || name === "version") {
      console.log(version());
      return 0;
    }
    if (name === "relay") {
      const { runRelay } = await import("./relay.ts");
      return await runRelay(rest);
    }
    if (name === "bench") {
      const [what, ...more] = rest;
      if (what === "--help" || what === "-h") {
        console.log(BENCH_HELP);
        return 0;
      }
      if (what === "relay") return await (await import("./bench-relay.ts")).benchRelayCommand(more);
      // `bench broadcast --mesh …` is the one-process mesh bench (`bench mesh`).
      if (what === "broadcast" && more.includes("--mesh")) return await runCommand(benchMeshCommand, more.filter((x) => x !== "--mesh"));
      const bench = what === undefined ? undefined : BENCHES[what];
      if (!bench) throw new UsageError(`bench: unknown benchmark ${what ?? "(none)"}; one of: ${BENCH_SUMMARIES.map(([name]) => name).join(", ")}`);
      return await runCommand(bench, more);
    }
    if (name === "fuzz") return await (await import("./fuzz.ts")).fuzzCommand(rest);
    const command = COMMANDS[name];
    if (!command) throw new UsageError(`unknown command ${name}`);
    return await runCommand(command, rest);
  } catch (e) {
    if (e instanceof UsageError) {
      const which = name === "bench" && rest[0] && (rest[0] in BENCHES || rest[0] === "relay") ? `bench ${rest[0]} ` : name && COMMANDS[name] ? `${name} ` : "";
      console.error(`grapevine: ${e.message}\n(grapevine ${which}--help lists the options)`);
      return 2;
    }
    console.error(`grapevine: ${describe(e)}`);
    if (process.env.GRAPEVINE_DEBUG && e instanceof Error) console.error(e.stack);
    return 1;
  }
}

async function runCommand(command: Command, argv: string[]): Promise<number> {
  const values = parseCommand(command.spec, argv);
  if (values === null) {
    console.log(helpText(command.spec));
    return 0;
  }
  return command.run(values);
}

/** One line for an unexpected error; a missing package says what to install. */
function describe(e: unknown): string {
  const error = e as { code?: string; message?: string };
  if (error?.code === "ERR_MODULE_NOT_FOUND") {
    const m = /Cannot find (?:package|module) '([^']+)'/.exec(error.message ?? "");
    if (m && !m[1].startsWith("/") && !m[1].startsWith(".")) return `this needs the ${m[1]} package, which is not installed: npm install ${m[1]}`;
  }
  return e instanceof Error ? e.message : String(e);
}
