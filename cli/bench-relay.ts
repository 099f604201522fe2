/**
 * `grapevine bench relay`: what one Node relay (`relay/node.ts`) holds and delivers on this machine,
 * with every peer in a process of its own (`cli/bench-relay-child.ts`), over WebSockets on loopback.
 *
 * - **Concurrency.** Client processes open authenticated links to one relay — each a real handshake
 *   with its own new key pair — in steps up to `links` (10 % 25 % 50 % 75 % 100 %), then keep them
 *   idle. After each step and a one-second hold, the relay reports the links it holds and its RSS
 *   and heap after a full GC. The run stops at the target, at a step the relay did not take whole,
 *   or at the time budget. Memory per link is (RSS − RSS before any link) / links. Each step also
 *   reports the relay's event-loop delay (p99, max) while its links connected: what a burst of new
 *   keys (`--links 1000`: 100 in the first step) costs the relay's loop.
 * - **Fan-out.** One publisher, `subscribers` subscriber links spread over a few processes. Against
 *   the relay, the publisher is a full node that calls `node.publish(topic, payload)`: a signed
 *   broadcast message (Plumtree GOSSIP frame) that the relay verifies and pushes to every
 *   subscriber link. Against the baseline, a bare `ws` server in its own process, the publisher
 *   sends a frame of the same size and the server sends it to every other client. Same subscriber
 *   processes (holding links to both servers), same payload, same machine; the runs alternate,
 *   relay then bare, `rounds` times, and each side's figure is the median of its runs. A publisher
 *   keeps at most `window` messages in flight, paced by a probe link it opens after every subscriber
 *   (so the server serves it last). Throughput counts frames carrying the payload that subscribers
 *   received, per second, over `seconds` after a half-second warm-up.
 * - **Latency.** Then each publisher sends at a fixed rate (at most a quarter of what either side
 *   delivered); each subscriber records the time from the publisher's call (`node.publish`, or the
 *   bare send) to the frame's arrival: p50 and p99 over every frame.
 *
 * The bench relay's limits are raised (connections, per-address, bytes per second) so that the
 * machine is measured rather than the limits; the report lists the ones used. Child processes are
 * started through `sh -c 'ulimit -n <hard limit>'`, and the report gives the limits they got.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { type CommandSpec, helpText, numberOption, parseCommand, UsageError } from "./args.ts";
import { median } from "./median.ts";
import { Progress } from "./progress.ts";

/** Marks a bench payload: these 8 bytes, then the publisher's timestamp (float64 ms) and sequence number. */
export const MARKER = new TextEncoder().encode("GVbench1");

/** Latency histogram: buckets 1 % wide from 1 µs, so quantiles are within 1 %. Mergeable. */
export class Histogram {
  static readonly GROWTH = Math.log(1.01);
  counts = new Map<number, number>();
  total = 0;

  add(ms: number): void {
    const bucket = Math.max(0, Math.ceil(Math.log(Math.max(ms * 1000, 1)) / Histogram.GROWTH));
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + 1);
    this.total++;
  }

  merge(counts: Iterable<[number, number]>): void {
    for (const [b, c] of counts) {
      this.counts.set(b, (this.counts.get(b) ?? 0) + c);
      this.total += c;
    }
  }

  /** The `q` quantile in ms (its bucket's upper bound), or null when empty. */
  quantile(q: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (const b of [...this.counts.keys()].sort((x, y) => x - y)) {
      seen += this.counts.get(b)!;
      if (seen >= rank) return round(Math.exp(b * Histogram.GROWTH) / 1000, 3);
    }
    return null;
  }
}

/**
 * Measures `child`'s clock against this process's (the round trip with the shortest time of a
 * dozen; the offset is then within half of it, tens of microseconds on loopback IPC) and tells the
 * child to subtract it. Each process's `performance.timeOrigin` is taken from the wall clock when
 * it starts, so two processes can disagree by more than a latency on loopback.
 */
async function calibrate(child: Child): Promise<void> {
  const clock = () => performance.timeOrigin + performance.now();
  let best = { rtt: Infinity, offset: 0 };
  for (let i = 0; i < 12; i++) {
    const t0 = clock();
    const { now } = await child.call("clock");
    const t1 = clock();
    if (t1 - t0 < best.rtt) best = { rtt: t1 - t0, offset: (now as number) - (t0 + t1) / 2 };
  }
  await child.call("offset", { ms: best.offset });
}

/** Options of {@link benchRelay}; every one has a flag. */
export interface RelayBenchOptions {
  /** Concurrent links to aim for. */
  links: number;
  /** Processes that open the idle links. */
  clientProcesses: number;
  /** Subscriber links in the fan-out runs. */
  subscribers: number;
  /** Processes the subscribers are spread over. */
  subscriberProcesses: number;
  /** Bytes of the application payload of each message. */
  payloadBytes: number;
  /** Messages in flight in the throughput runs. */
  window: number;
  /** Seconds each throughput run is measured. */
  seconds: number;
  /** Throughput runs per side, alternating relay and bare ws. */
  rounds: number;
  /** Highest rate of the latency runs, messages per second (capped at a quarter of the throughput). */
  latencyRate: number;
  /** Seconds the whole bench may take; the concurrency ramp stops early to keep to it. */
  budgetSeconds: number;
  /** Told what the bench is doing at each step (the command draws it as a progress line). */
  progress?: (what: string) => void;
}

export const RELAY_BENCH_DEFAULTS: Readonly<Omit<RelayBenchOptions, "progress">> = Object.freeze({
  links: 10_000,
  clientProcesses: 4,
  subscribers: 100,
  subscriberProcesses: 4,
  payloadBytes: 64,
  window: 32,
  seconds: 2,
  rounds: 3,
  latencyRate: 200,
  budgetSeconds: 180,
});

/** Relay limits for the bench: high enough that the machine, not the policy, is what stops it. */
function benchLimits(links: number): Record<string, number> {
  return {
    connectionsMax: links + 1000,
    connectionsPerIpMax: links + 1000,
    connectionsPerIpPerSecond: 1_000_000,
    linkBytesPerSecondMax: 1 << 30,
    broadcastBytesPerSecondMax: 1 << 30,
    handshakeTimeoutMs: 30_000,
  };
}

const MB = 2 ** 20;
const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ── child processes ─────────────────────────────────────────────────────────────────────────────

/** A child process of the bench, driven over IPC: `call` sends `{ id, op, … }` and awaits the reply. */
class Child {
  readonly process: ChildProcess;
  readonly ready: Promise<Record<string, any>>;
  #next = 1;
  #pending = new Map<number, { resolve: (v: Record<string, any>) => void; reject: (e: Error) => void }>();
  #exited: string | null = null;

  constructor(readonly name: string, script: string, args: string[], nodeFlags: string[] = []) {
    // The shell raises the open-files soft limit to the hard one: a process cannot raise its own
    // from JavaScript, and a child inherits its parent's.
    this.process = spawn("sh", ["-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, ...nodeFlags, script, ...args], {
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    let onReady: (m: Record<string, any>) => void;
    let onFail: (e: Error) => void;
    this.ready = new Promise((resolve, reject) => ((onReady = resolve), (onFail = reject)));
    this.ready.catch(() => {});
    this.process.on("message", (m: Record<string, any>) => {
      if (m.ready) return onReady(m);
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.error) p.reject(new Error(`${this.name}: ${m.error}`));
      else p.resolve(m);
    });
    this.process.once("exit", (code, signal) => {
      this.#exited = `${this.name} exited (${code ?? signal})`;
      onFail(new Error(this.#exited));
      for (const p of this.#pending.values()) p.reject(new Error(this.#exited));
      this.#pending.clear();
    });
  }

  call(op: string, body: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<Record<string, any>> {
    if (this.#exited) return Promise.reject(new Error(this.#exited));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${this.name}: ${op} took over ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.process.send({ id, op, ...body });
    });
  }

  /** Ends the process (SIGTERM, then SIGKILL after a second); resolves once it is gone. */
  stop(): Promise<void> {
    const p = this.process;
    if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const hard = setTimeout(() => p.kill("SIGKILL"), 1000);
      p.once("exit", () => (clearTimeout(hard), resolve()));
      p.kill("SIGTERM");
    });
  }
}

/**
 * The child script: the compiled `.js` next to this file, or, when this file runs as TypeScript
 * source (tests), the `.ts` bundled with esbuild into `node_modules/.cache/grapevine/`, where its
 * package imports still resolve.
 */
async function childScript(): Promise<string> {
  const fromSource = import.meta.url.endsWith(".ts");
  const path = fileURLToPath(new URL(`./bench-relay-child.${fromSource ? "ts" : "js"}`, import.meta.url));
  if (!fromSource) return path;
  const { build } = await import("esbuild");
  const dir = fileURLToPath(new URL("../node_modules/.cache/grapevine/", import.meta.url));
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const out = `${dir}bench-relay-child.mjs`;
  const result = await build({ entryPoints: [path], bundle: true, format: "esm", platform: "node", target: "node20", packages: "external", write: false, logLevel: "silent" });
  writeFileSync(`${out}.${process.pid}.tmp`, result.outputFiles[0].contents);
  renameSync(`${out}.${process.pid}.tmp`, out);
  return out;
}

// ── the report ──────────────────────────────────────────────────────────────────────────────────

/** One step of the concurrency ramp. */
export interface RampStep {
  links_requested: number;
  links_held: number;
  failed: number;
  open_ms: number;
  /** The relay's event-loop delay while the step's links connected (each a handshake with a new key). */
  loop_delay_p99_ms: number;
  loop_delay_max_ms: number;
  rss_mb: number;
  heap_mb: number;
}

/** One server's fan-out figures. */
export interface FanoutRun {
  /** Median of the runs. */
  frames_per_s: number;
  frames_per_s_runs: number[];
  messages_per_s: number;
  /** Frames received / (messages published × subscribers), after the run drained. */
  delivered: number;
  /** The server process's CPU time over the measured seconds, % of one core (median of the runs). */
  server_cpu_pct: number;
  frame_bytes: number;
  latency_loaded_ms: { p50: number | null; p99: number | null };
}

/** One server's latency figures at the low rate. */
export interface LatencyRun {
  p50_ms: number | null;
  p99_ms: number | null;
  samples: number;
  delivered: number;
}

/** What `grapevine bench relay --json` prints. */
export interface RelayBenchReport {
  bench: "relay";
  machine: {
    cpus: number;
    cpu_model: string;
    memory_mb: number;
    node: string;
    platform: string;
    /** Open-files limits the relay and client processes got. */
    nofile: Record<string, unknown>;
    /** 1-minute load average when the bench started and when it ended: other work on the machine skews every figure. */
    load_average: { start: number; end: number };
  };
  concurrency: {
    what: string;
    target: number;
    max_links: number;
    stopped: string;
    client_processes: number;
    baseline_rss_mb: number;
    rss_bytes_per_link: number;
    heap_bytes_per_link: number;
    handshakes_per_s: number;
    steps: RampStep[];
  };
  fanout: {
    what: string;
    subscribers: number;
    subscriber_processes: number;
    payload_bytes: number;
    window: number;
    seconds_per_run: number;
    rounds: number;
    relay: FanoutRun;
    bare_ws: FanoutRun;
    /** relay frames/s ÷ bare ws frames/s. */
    ratio: number;
  };
  latency: { what: string; rate_per_s: number; messages: number; relay: LatencyRun; bare_ws: LatencyRun };
  relay_limits: Record<string, number>;
  options: RelayBenchOptions;
  duration_ms: number;
}

/** Runs the bench; every child process is stopped before it returns or throws. */
export async function benchRelay(options: Partial<RelayBenchOptions> = {}): Promise<RelayBenchReport> {
  const o: RelayBenchOptions = { ...RELAY_BENCH_DEFAULTS, ...options };
  check(o);
  const started = performance.now();
  const loadAtStart = loadavg()[0];
  const deadline = started + o.budgetSeconds * 1000;
  const script = await childScript();
  const children: Child[] = [];
  const start = (name: string, args: string[], flags: string[] = []) => {
    const c = new Child(name, script, args, flags);
    children.push(c);
    return c;
  };
  const stopAll = () => Promise.all(children.splice(0).map((c) => c.stop()));
  const onSignal = () => void stopAll().then(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const limits = benchLimits(o.links);
  try {
    // Leave the fan-out and latency runs about 45 s of the budget.
    const concurrency = await ramp(o, limits, start, deadline - 45_000);
    await stopAll();
    const nofile = concurrency.nofile;
    const { fanout, latency } = await fanoutRuns(o, limits, start);
    const cpu = cpus();
    return {
      bench: "relay",
      machine: { cpus: cpu.length, cpu_model: cpu[0]?.model ?? "?", memory_mb: Math.round(totalmem() / MB), node: process.version, platform: process.platform, nofile, load_average: { start: round(loadAtStart, 2), end: round(loadavg()[0], 2) } },
      concurrency: concurrency.report,
      fanout,
      latency,
      relay_limits: limits,
      options: { ...o, progress: undefined },
      duration_ms: Math.round(performance.now() - started),
    };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await stopAll();
  }
}

function check(o: RelayBenchOptions): void {
  const int = (name: Exclude<keyof RelayBenchOptions, "progress">, min: number) => {
    if (!Number.isInteger(o[name]) || o[name] < min) throw new RangeError(`${name} must be an integer ≥ ${min}`);
  };
  int("links", 1);
  int("clientProcesses", 1);
  int("subscribers", 1);
  int("subscriberProcesses", 1);
  int("payloadBytes", 20);
  int("window", 1);
  int("rounds", 1);
  if (!(o.seconds > 0) || !(o.latencyRate > 0) || !(o.budgetSeconds > 0)) throw new RangeError("seconds, latencyRate and budgetSeconds must be positive");
  if (o.payloadBytes > 65_536) throw new RangeError("payloadBytes must be at most 65536 (messagePayloadBytesMax)");
}

type Start = (name: string, args: string[], flags?: string[]) => Child;

/** Idle authenticated links in steps; see the module doc. */
async function ramp(o: RelayBenchOptions, limits: Record<string, number>, start: Start, deadline: number) {
  // GRAPEVINE_BENCH_PROFILE=DIR: a CPU profile of this relay too (node --cpu-prof).
  const profile = process.env.GRAPEVINE_BENCH_PROFILE;
  const relay = start("relay", ["relay", JSON.stringify(limits)], ["--expose-gc", ...(profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : [])]);
  const clients = Array.from({ length: Math.min(o.clientProcesses, o.links) }, (_, i) => start(`client ${i}`, ["client"]));
  const ready = await relay.ready;
  const clientReady = await Promise.all(clients.map((c) => c.ready));
  const base = await relay.call("stats", { gc: true });
  const targets = [...new Set([0.1, 0.25, 0.5, 0.75, 1].map((f) => Math.max(1, Math.round(o.links * f))))];
  const steps: RampStep[] = [];
  let requested = 0;
  let stopped = "reached the target";
  let handshakeMs = 0;
  let handshakes = 0;
  for (const target of targets) {
    if (performance.now() > deadline) {
      stopped = "time budget";
      break;
    }
    o.progress?.(`links: opening ${target.toLocaleString("en")} of ${o.links.toLocaleString("en")}`);
    const add = target - requested;
    const shares = clients.map((_, i) => Math.floor(add / clients.length) + (i < add % clients.length ? 1 : 0));
    await relay.call("stats", { loop: true }); // the delay histogram starts with the step
    const t0 = performance.now();
    let results;
    try {
      results = await Promise.all(clients.map((c, i) => c.call("open", { url: ready.url, count: shares[i], concurrency: 32, authenticate: true, network: "bench", kind: "idle" }, Math.max(10_000, deadline - performance.now() + 10_000))));
    } catch (e) {
      stopped = `step to ${target} links: ${e instanceof Error ? e.message : String(e)}`;
      break;
    }
    const openMs = performance.now() - t0;
    const during = await relay.call("stats", { loop: true });
    requested = target;
    await sleep(1000); // hold: links the relay drops after the handshake show up here
    const st = await relay.call("stats", { gc: true }, 60_000);
    const failed = results.reduce((s, r) => s + r.failed, 0);
    handshakeMs += openMs;
    handshakes += results.reduce((s, r) => s + r.opened, 0);
    steps.push({ links_requested: target, links_held: st.links, failed, open_ms: Math.round(openMs), loop_delay_p99_ms: round(during.loop_delay_p99_ms, 2), loop_delay_max_ms: round(during.loop_delay_max_ms, 2), rss_mb: round(st.rss / MB, 1), heap_mb: round(st.heapUsed / MB, 1) });
    if (st.links < target * 0.99) {
      const why = results.flatMap((r) => r.failures).slice(0, 3).join("; ");
      stopped = `the relay held ${st.links} of ${target} links${why ? ` (${why})` : ""}`;
      break;
    }
  }
  const best = steps.reduce<RampStep | null>((a, s) => (a && a.links_held >= s.links_held ? a : s), null);
  const last = steps.at(-1);
  const perLink = (field: "rss_mb" | "heap_mb", baseBytes: number) =>
    best && best.links_held > 0 ? Math.round((best[field] * MB - baseBytes) / best.links_held) : 0;
  return {
    nofile: { relay: ready.nofile, clients: clientReady[0]?.nofile ?? null } as Record<string, unknown>,
    report: {
      what: "idle WebSocket links to one Node relay (relay/node.ts, ws), each authenticated by a full HELLO/PROOF handshake with its own new key pair, opened from separate client processes over loopback and then held idle; memory after a full GC in the relay process",
      target: o.links,
      max_links: best?.links_held ?? 0,
      stopped: last && last.links_held >= o.links ? "reached the target" : stopped,
      client_processes: clients.length,
      baseline_rss_mb: round(base.rss / MB, 1),
      rss_bytes_per_link: perLink("rss_mb", base.rss),
      heap_bytes_per_link: perLink("heap_mb", base.heapUsed),
      handshakes_per_s: handshakeMs > 0 ? Math.round(handshakes / (handshakeMs / 1000)) : 0,
      steps,
    },
  };
}

type Mode = "relay" | "bare";
type Marks = { t: number; tallies: Record<string, { frames: number; closed: number; histogram: [number, number][] }> }[];

/**
 * Fan-out throughput and latency against the relay and the bare ws server. The subscriber
 * processes hold links to both servers at once, and the runs alternate (relay, bare, relay, …), so
 * a change in the machine's load during the bench weighs on both alike; each side's figure is the
 * median of its runs.
 */
async function fanoutRuns(o: RelayBenchOptions, limits: Record<string, number>, start: Start) {
  // GRAPEVINE_BENCH_PROFILE=DIR writes a CPU profile of the fan-out relay there (node --cpu-prof).
  const profile = process.env.GRAPEVINE_BENCH_PROFILE;
  const servers = { relay: start("fan-out relay", ["relay", JSON.stringify(limits)], profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : []), bare: start("bare ws server", ["bare"]) };
  const procs = Math.min(o.subscriberProcesses, o.subscribers);
  const subs = Array.from({ length: procs }, (_, i) => start(`subscribers ${i}`, ["client"]));
  const urls = { relay: (await servers.relay.ready).url as string, bare: (await servers.bare.ready).url as string };
  await Promise.all(subs.map((s) => s.ready));
  const shares = subs.map((_, i) => Math.floor(o.subscribers / procs) + (i < o.subscribers % procs ? 1 : 0));
  for (const mode of ["relay", "bare"] as const) {
    const opened = await Promise.all(subs.map((s, i) => s.call("open", { url: urls[mode], count: shares[i], concurrency: 16, authenticate: mode === "relay", network: "bench", kind: "subscriber", tag: mode }, 60_000)));
    const n = opened.reduce((sum, r) => sum + r.opened, 0);
    if (n !== o.subscribers) throw new Error(`${mode}: ${n} of ${o.subscribers} subscribers connected (${opened.flatMap((r) => r.failures).join("; ")})`);
  }
  const marks = async (reset = false): Promise<Marks> => (await Promise.all(subs.map((s) => s.call("mark", { reset })))) as Marks;
  const framesOf = (m: Marks, mode: Mode) => m.reduce((n, x) => n + (x.tallies[mode]?.frames ?? 0), 0);
  const published = { relay: 0, bare: 0 };
  /**
   * Waits until the subscribers hold every frame published so far; gives up after a second without
   * progress, or 10 s in all (a loaded machine can stall a process for a while).
   */
  const drained = async (mode: Mode): Promise<Marks> => {
    const end = performance.now() + 10_000;
    let last = -1;
    let still = 0;
    for (;;) {
      const m = await marks();
      const frames = framesOf(m, mode);
      still = frames === last ? still + 1 : 0;
      if (frames >= published[mode] * o.subscribers || performance.now() > end || still >= 10) return m;
      last = frames;
      await sleep(100);
    }
  };

  // Publishers. The relay's first (a short windowed run tells the frame size on the wire); the
  // bare publisher then sends frames of that size.
  const pubs = { relay: start("relay publisher", ["client"]), bare: start("bare publisher", ["client"]) };
  await Promise.all([pubs.relay.ready, pubs.bare.ready]);
  // Latency compares a publisher's stamp with a subscriber's clock: put every one on this process's.
  for (const c of [...subs, pubs.relay, pubs.bare]) await calibrate(c);
  await pubs.relay.call("publisher", { url: urls.relay, mode: "relay", payloadBytes: o.payloadBytes, network: "bench" });
  await pubs.relay.call("run", { window: o.window });
  await sleep(500);
  const warm = await pubs.relay.call("stop", {}, 10_000);
  published.relay += warm.published;
  const frameBytes = warm.frame_bytes as number;
  if (!(frameBytes > 0)) throw new Error("relay: no message reached the probe during the warm-up");
  await pubs.bare.call("publisher", { url: urls.bare, mode: "bare", frameBytes, network: "bench" });

  const runs = { relay: [] as { framesPerS: number; cpuPct: number }[], bare: [] as { framesPerS: number; cpuPct: number }[] };
  const loaded = { relay: new Histogram(), bare: new Histogram() };
  const frameSizes = { relay: frameBytes, bare: 0 };
  for (let round = 0; round < o.rounds; round++) {
    for (const mode of ["relay", "bare"] as const) {
      o.progress?.(`fan-out: round ${round + 1} of ${o.rounds}, ${mode === "relay" ? "relay" : "bare ws"}`);
      await pubs[mode].call("run", { window: o.window });
      await sleep(500); // warm-up
      const m1 = await marks(true);
      const s1 = await servers[mode].call("stats");
      await sleep(o.seconds * 1000);
      const m2 = await marks(true);
      const s2 = await servers[mode].call("stats");
      const stop = await pubs[mode].call("stop", {}, 10_000);
      published[mode] += stop.published;
      frameSizes[mode] = stop.frame_bytes;
      let framesPerS = 0;
      for (let i = 0; i < subs.length; i++) framesPerS += ((m2[i].tallies[mode]?.frames ?? 0) - (m1[i].tallies[mode]?.frames ?? 0)) / ((m2[i].t - m1[i].t) / 1000);
      for (const m of m2) loaded[mode].merge(m.tallies[mode]?.histogram ?? []);
      runs[mode].push({ framesPerS, cpuPct: ((s2.cpuUs - s1.cpuUs) / 1000 / (s2.t - s1.t)) * 100 });
      await drained(mode);
    }
  }
  const delivered = { relay: 0, bare: 0 };
  for (const mode of ["relay", "bare"] as const) delivered[mode] = framesOf(await drained(mode), mode) / (published[mode] * o.subscribers);
  const fanoutOf = (mode: Mode): FanoutRun => {
    const fps = median(runs[mode].map((r) => r.framesPerS));
    return {
      frames_per_s: Math.round(fps),
      frames_per_s_runs: runs[mode].map((r) => Math.round(r.framesPerS)),
      messages_per_s: Math.round(fps / o.subscribers),
      delivered: round(delivered[mode], 4),
      server_cpu_pct: Math.round(median(runs[mode].map((r) => r.cpuPct))),
      frame_bytes: frameSizes[mode],
      latency_loaded_ms: { p50: loaded[mode].quantile(0.5), p99: loaded[mode].quantile(0.99) },
    };
  };
  const fanout = { relay: fanoutOf("relay"), bare: fanoutOf("bare") };

  // Latency: a fixed rate well under what both sides delivered, every frame timed.
  const rate = Math.max(5, Math.min(o.latencyRate, Math.floor(0.25 * Math.min(fanout.relay.messages_per_s, fanout.bare.messages_per_s))));
  const count = Math.max(20, Math.round(rate * o.seconds));
  const latency = {} as Record<Mode, LatencyRun>;
  for (const mode of ["relay", "bare"] as const) {
    o.progress?.(`latency: ${mode === "relay" ? "relay" : "bare ws"} at ${rate}/s`);
    const before = framesOf(await marks(true), mode);
    await pubs[mode].call("run", { rate, count });
    await sleep((count / rate) * 1000);
    const stop = await pubs[mode].call("stop", {}, 10_000);
    published[mode] += stop.published;
    const after = await drained(mode);
    const hist = new Histogram();
    for (const m of after) hist.merge(m.tallies[mode]?.histogram ?? []);
    latency[mode] = { p50_ms: hist.quantile(0.5), p99_ms: hist.quantile(0.99), samples: hist.total, delivered: round((framesOf(after, mode) - before) / (stop.published * o.subscribers), 4) };
  }
  return {
    fanout: {
      what: "relay: one publisher (a full node in its own process) calls node.publish(topic, payload); the relay verifies each signed broadcast message and pushes it (a Plumtree GOSSIP frame) on every subscriber link, each authenticated by a handshake. bare_ws: a publisher process sends a frame of the same size to a bare ws server, which sends it to every other client. Measured: frames carrying the payload received per second by all subscribers together, with at most 'window' messages in flight (paced by a probe link the server serves last); runs alternate relay/bare, figures are medians",
      subscribers: o.subscribers,
      subscriber_processes: procs,
      payload_bytes: o.payloadBytes,
      window: o.window,
      seconds_per_run: o.seconds,
      rounds: o.rounds,
      relay: fanout.relay,
      bare_ws: fanout.bare,
      ratio: round(fanout.relay.frames_per_s / Math.max(1, fanout.bare.frames_per_s), 3),
    },
    latency: {
      what: "ms from the publisher's call (node.publish, or the bare send) to a subscriber receiving the frame, every frame at every subscriber, at a fixed rate of at most a quarter of what either side delivered; clocks: each process's performance.timeOrigin + now(), less its offset from the bench's clock measured over IPC",
      rate_per_s: rate,
      messages: count,
      relay: latency.relay,
      bare_ws: latency.bare,
    },
  };
}

const FLAGS: Record<string, [Exclude<keyof RelayBenchOptions, "progress">, string]> = {
  links: ["links", "concurrent links to aim for"],
  "client-processes": ["clientProcesses", "processes opening them"],
  subscribers: ["subscribers", "fan-out subscribers"],
  "subscriber-processes": ["subscriberProcesses", "processes they are spread over"],
  "payload-bytes": ["payloadBytes", "message payload, 20–65536"],
  window: ["window", "messages in flight in the throughput runs"],
  seconds: ["seconds", "seconds measured per throughput run"],
  rounds: ["rounds", "throughput runs per side, alternating relay and bare ws"],
  "latency-rate": ["latencyRate", "messages per second in the latency runs"],
  budget: ["budgetSeconds", "seconds the whole bench may take"],
};

/** The command's options and help. */
export const BENCH_RELAY_SPEC: CommandSpec = {
  name: "grapevine bench relay",
  summary: "One Node relay in its own process, every peer in other processes, over loopback: links held (and\nmemory per link), fan-out throughput against a bare ws server in the same run (their ratio), and\nlatency. About 2 minutes; a progress line on stderr when it is a terminal.",
  options: {
    json: { type: "boolean", help: "print only the JSON report" },
    ...Object.fromEntries(Object.entries(FLAGS).map(([flag, [key, help]]) => [flag, { type: "string" as const, value: "N", help: `${help} (default ${RELAY_BENCH_DEFAULTS[key]})` }])),
  },
};

/**
 * `grapevine bench relay …`: parses the flags, runs {@link benchRelay}, prints a summary (unless
 * `--json`) and then the report as one JSON line. Returns the exit code (2 for a bad flag).
 */
export async function benchRelayCommand(argv: string[]): Promise<number> {
  const values = parseCommand(BENCH_RELAY_SPEC, argv);
  if (values === null) {
    console.log(helpText(BENCH_RELAY_SPEC));
    return 0;
  }
  const options: Partial<RelayBenchOptions> = {};
  for (const [flag, [key]] of Object.entries(FLAGS)) {
    if (values[flag] !== undefined) options[key] = numberOption(values, flag, 0, (n) => n > 0, "a positive number");
  }
  const progress = new Progress("bench relay");
  let report: RelayBenchReport;
  try {
    report = await benchRelay({ ...options, progress: (what) => progress.update(() => what, true) });
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(`bench relay: ${e.message}`);
    throw e;
  } finally {
    progress.done();
  }
  const json = values.json === true;
  if (!json) {
    const c = report.concurrency;
    const f = report.fanout;
    const l = report.latency;
    console.log(`  links held            ${c.max_links} of ${c.target} (${c.stopped}); ${c.rss_bytes_per_link} B RSS per link; ${c.handshakes_per_s} handshakes/s`);
    console.log(`  fan-out to ${f.subscribers}         relay ${f.relay.frames_per_s} frames/s, bare ws ${f.bare_ws.frames_per_s} frames/s: ratio ${f.ratio}`);
    console.log(`  latency at ${l.rate_per_s}/s       relay p50 ${l.relay.p50_ms} ms p99 ${l.relay.p99_ms} ms; bare ws p50 ${l.bare_ws.p50_ms} ms p99 ${l.bare_ws.p99_ms} ms`);
  }
  console.log(JSON.stringify(report));
  return 0;
}
