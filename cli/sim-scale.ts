/**
 * What `grapevine sim` needs from the process around the simulator (which is itself sans-I/O) to
 * run large: the crypto mode, a heap check before anything is built, a progress line's simulator part, a
 * heap measure for `--profile-memory`, and the peak resident memory for the report.
 *
 * The heap check estimates what a run will hold from its size and scenario (per-node and per-link
 * figures measured with `--profile-memory`, with headroom for the collector). A run that will not fit
 * under the current heap limit re-runs this command in a child Node with a heap sized for it, when
 * the machine has the memory; otherwise it stops at once with one line saying how many nodes fit.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { totalmem } from "node:os";
import { performance } from "node:perf_hooks";
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createSignatureSuite } from "../src/crypto/ed25519.ts";
import type { SignatureSuite } from "../src/crypto/types.ts";
import { insecureHashSuite } from "../src/sim/hash-suite.ts";
import type { MemoryMeasure } from "../src/sim/memory.ts";
import { VerifyMemo } from "../src/sim/memo.ts";
import { activeViewDegree } from "../src/sim/membership-scenarios.ts";
import { defaultDegree } from "../src/sim/scenarios.ts";
import type { SimProgress } from "../src/sim/sim.ts";

/** The crypto modes, as reports name them. */
export const CRYPTO_MODES = ["ed25519", "ed25519-memoized", "insecure-hash"] as const;

/** A suite for a crypto mode, and how many checks it ran (memoized mode only). */
export async function simSuite(mode: string): Promise<{ suite: SignatureSuite; cryptoName: string; verdicts(): { checks: number; verified: number } | undefined }> {
  if (mode === "insecure-hash") return { suite: insecureHashSuite, cryptoName: mode, verdicts: () => undefined };
  if (mode !== "ed25519" && mode !== "ed25519-memoized") throw new Error(`--crypto: unknown ${mode} (${CRYPTO_MODES.join(", ")})`);
  // No verified-signature cache inside the suite: in mode ed25519 every simulated node checks for
  // itself; in ed25519-memoized the memo shares verdicts, and says so in the report.
  const real = await createSignatureSuite({ subtle: globalThis.crypto.subtle, verifiedCacheMax: 0 });
  if (mode === "ed25519") return { suite: real, cryptoName: `ed25519-${real.backend} (every node verifies)`, verdicts: () => undefined };
  const memo = new VerifyMemo(real);
  return { suite: memo, cryptoName: mode, verdicts: () => ({ ...memo.stats }) };
}

// ---------------------------------------------------------------------------- heap

/** What a run will build, as far as its memory goes. */
export interface HeapPlan {
  scenario: string;
  nodes: number;
  /** Mean links per node. */
  degree: number;
  /** broadcast: messages published. */
  messages?: number;
  /** reconcile: origins both nodes hold. */
  origins?: number;
  /** membership: the phase and the sizes of the scale phase. */
  phase?: string;
  scaleNodes?: number[];
}

/**
 * Bytes a node holds at the end of a spread (its peak): a fixed part (replicated state, engine)
 * and a part per link end (its state in the engine's subsystems, the simulator's link table).
 * Fitted to `--profile-memory` at 10,000 nodes with 16 and 40 links per node (11.2 and 15.7 KB per
 * node: 185 bytes per link end, 8.3 KB besides), rounded up. The spread's nodes run no broadcast;
 * the broadcast scenario's do, which adds about 160 bytes per link end and 0.4 KB per node.
 */
const NODE_BYTES = 8_500;
const LINK_END_BYTES = 190;
const BROADCAST_NODE_BYTES = 500;
const BROADCAST_LINK_END_BYTES = 170;
/**
 * A node's share of one replicated origin (partition: every node writes), of one broadcast message
 * (kept, and its copies in flight while the run publishes: the broadcast scenario's peak, fitted to
 * 10,000-node runs of 20 and 60 messages at 10 a second — 1,064 and 1,791 MB peak RSS, 1.8 KB per
 * message a node; the 600 this was before let a 100,000-node run re-run itself with too small a
 * heap), of one member it knows.
 */
const ORIGIN_BYTES = 2_500;
const MESSAGE_BYTES = 1_900;
const MEMBER_BYTES = 1_120;
/** The heap a run needs beyond its live bytes for the collector to work in, as a factor. */
const HEADROOM = 1.15;
/** Node itself, code, the young generation, and the transient overlay of a large run. */
const BASE_BYTES = 512 * 2 ** 20;

/** Estimated heap (bytes) a run needs, collector headroom included. */
export function heapNeedBytes(p: HeapPlan): number {
  // Each node opens ceil(degree / 2) links and is the far end of as many, on average.
  const ends = 2 * Math.ceil(p.degree / 2);
  const perNode = (n: number, extra: number) => n * (NODE_BYTES + LINK_END_BYTES * ends + extra);
  let live: number;
  switch (p.scenario) {
    case "partition":
      live = perNode(p.nodes, ORIGIN_BYTES * p.nodes);
      break;
    case "reconcile":
      live = 2 * ORIGIN_BYTES * (p.origins ?? 0);
      break;
    case "broadcast":
      live = perNode(p.nodes, BROADCAST_NODE_BYTES + BROADCAST_LINK_END_BYTES * ends + MESSAGE_BYTES * Math.min(p.messages ?? 0, 10_000));
      break;
    case "membership": {
      // The scale phase's nodes know a sample of the members (120 on average), taken as 150 here so
      // that the plan covers the peak resident memory measured at 10,000 nodes (2,426 MB; the heap
      // holds 0.95 GB after a collection in the steady periods); the other phases, every member.
      const scale = Math.max(0, ...(p.scaleNodes ?? [])) * (NODE_BYTES + LINK_END_BYTES * ends + MEMBER_BYTES * 150);
      const full = p.phase === "scale" ? 0 : perNode(p.nodes, MEMBER_BYTES * p.nodes);
      live = Math.max(scale, full);
      break;
    }
    default:
      live = perNode(p.nodes, 0);
  }
  return Math.ceil(live * HEADROOM + BASE_BYTES);
}

type Num = (name: string, dflt: number, check?: (n: number) => boolean) => number;

/**
 * The plan of a `grapevine sim` run of `nodes` nodes from its flags (with the command's defaults),
 * read before the run is built. Bad values are left to the command's own checks.
 */
export function heapPlanFromFlags(scenario: string, nodes: number, flags: Record<string, string | boolean>, num: Num): HeapPlan {
  const fanout = num("fanout", 3);
  const degree = num("degree", 0);
  const sizes = String(flags["scale-nodes"] ?? "100,1000,10000").split(",").map(Number).filter(Number.isFinite);
  return {
    scenario,
    nodes,
    degree: degree > 0 ? degree : scenario === "membership" ? activeViewDegree(nodes) : defaultDegree(nodes, fanout),
    messages: num("messages", 1000),
    origins: num("origins", 10_000),
    phase: (flags.phase as string | undefined) ?? "all",
    scaleNodes: sizes,
  };
}

/** How many node keys a run uses (the largest simulation it builds). */
export function keysNeeded(p: HeapPlan): number {
  if (p.scenario === "rooms") return 0; // rooms derives its own (simKeyPair per node)
  if (p.scenario !== "membership") return p.nodes;
  const scale = Math.max(0, ...(p.scaleNodes ?? []));
  return p.phase === "scale" ? scale : p.phase === "all" ? Math.max(p.nodes, scale) : p.nodes;
}

/** What to do about the heap. */
export type HeapDecision =
  | { action: "run" }
  | { action: "reexec"; heapMb: number | null; semiSpaceMb: number | null }
  | { action: "stop"; fitNodes: number; flag: "--nodes" | "--scale-nodes" };

/**
 * From this many estimated heap bytes a run re-runs itself with a young generation of
 * {@link SEMI_SPACE_MB} MB semi-spaces (V8's default is 16). A large simulation keeps much of what
 * it allocates for a while (frames in flight, each node's latest digests and answers); with the
 * default, every collection of the young generation copies that and walks the pointers to it from
 * the old generation. A 100,000-node spread (seed 42, one build, one run each) spent 27.6 s of its
 * 87.5 s collecting the young generation with the default, 21.2 of 82.8 with 32 MB, 16.5 of 72.7
 * with 64, 12.7 of 64.9 with 128; 256 gave nothing more (13.4 of 73.0).
 */
export const YOUNG_FROM_BYTES = 2 ** 30;
/** Semi-space size (MB) of a large run's young generation. */
export const SEMI_SPACE_MB = 128;

/**
 * Run as is, re-run with a larger heap (`heapMb`), or stop: `limit` is this process's heap limit,
 * `machine` the memory the machine (or its container) has, `fitNodes` how many nodes fit in it.
 */
export function heapDecision(p: HeapPlan, limit: number, machine: number, canReexec: boolean): HeapDecision {
  const need = heapNeedBytes(p);
  const semiSpaceMb = need >= YOUNG_FROM_BYTES ? SEMI_SPACE_MB : null;
  if (need <= limit) return canReexec && semiSpaceMb !== null ? { action: "reexec", heapMb: null, semiSpaceMb } : { action: "run" };
  // Leave the system and the rest of the machine a share.
  const usable = machine * 0.85;
  if (canReexec && need <= usable) return { action: "reexec", heapMb: Math.ceil(need / 2 ** 20), semiSpaceMb };
  const room = canReexec ? Math.max(usable, limit) : limit;
  // The size that binds: membership's scale phase sizes (`--scale-nodes`) when they are the largest.
  const scaleMax = p.scenario === "membership" && p.phase !== "detect" && p.phase !== "fp" && p.phase !== "partition" ? Math.max(0, ...(p.scaleNodes ?? [])) : 0;
  const flag = scaleMax > p.nodes ? "--scale-nodes" : "--nodes";
  let lo = 0;
  let hi = Math.max(p.nodes, scaleMax);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (heapNeedBytes({ ...p, nodes: Math.min(p.nodes, mid), scaleNodes: p.scaleNodes?.map((n) => Math.min(n, mid)) }) <= room) lo = mid;
    else hi = mid - 1;
  }
  return { action: "stop", fitNodes: lo, flag };
}

const REEXEC_ENV = "GRAPEVINE_SIM_HEAP_MB";
/** Collections `heapMeasure` runs at most before it takes a reading that is still moving. */
const MEASURE_ROUNDS_MAX = 8;

/**
 * Checks the heap before a run is built. Returns null to go on in this process, or an exit code:
 * the child's, after re-running this command with a larger heap, or 2 after saying on stderr why
 * the run cannot go on here.
 */
export async function ensureHeap(argv: readonly string[], plan: HeapPlan): Promise<number | null> {
  const limit = getHeapStatistics().heap_size_limit;
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.() ?? 0;
  const machine = constrained > 0 && constrained < totalmem() ? constrained : totalmem();
  const script = process.argv[1] ?? "";
  // Only the grapevine command re-runs itself (not a test or another program calling `main`), once.
  const canReexec = process.env[REEXEC_ENV] === undefined && /grapevine(\.js)?$/.test(script);
  const d = heapDecision(plan, limit, machine, canReexec);
  const gib = (b: number) => (b / 2 ** 30).toFixed(1);
  const need = heapNeedBytes(plan);
  const what = `${Math.max(plan.nodes, keysNeeded(plan)).toLocaleString("en-US")} nodes (${plan.scenario}${plan.scenario === "membership" ? `, phase ${plan.phase ?? "all"}` : ""})`;
  if (d.action === "run") return null;
  if (d.action === "reexec") {
    const flags = [
      ...(d.heapMb !== null ? [`--max-old-space-size=${d.heapMb}`] : []),
      ...(d.semiSpaceMb !== null ? [`--max-semi-space-size=${d.semiSpaceMb}`] : []),
    ];
    const why = d.heapMb !== null
      ? `need about ${gib(need)} GiB of heap, this Node allows ${gib(limit)} GiB`
      : `need about ${gib(need)} GiB of heap: a larger young generation collects garbage less often`;
    console.error(`grapevine sim: ${what} ${why}: re-running with ${flags.join(" ")}`);
    const child = spawn(process.execPath, [...process.execArgv, ...flags, script, ...argv], {
      stdio: "inherit",
      env: { ...process.env, [REEXEC_ENV]: flags.join(" ") },
    });
    return await new Promise<number>((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  }
  const mb = Math.ceil(need / 2 ** 20);
  const where = canReexec ? `this machine has ${gib(machine)} GiB` : `this Node allows ${gib(limit)} GiB`;
  console.error(
    `grapevine sim: ${what} need about ${gib(need)} GiB of heap and ${where}; about ${d.fitNodes.toLocaleString("en-US")} fit: ` +
      `use ${d.flag} ${d.fitNodes}${canReexec ? "" : `, or NODE_OPTIONS=--max-old-space-size=${mb} on a machine with more memory`}`,
  );
  return 2;
}

// ---------------------------------------------------------------------------- measuring

/**
 * Heap plus external bytes after a full collection. Exposes `gc` to this process if it was not
 * started with `--expose-gc` (V8 reads the flag when a new context is made).
 */
export function heapMeasure(): MemoryMeasure {
  let gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  const collect = gc;
  const read = () => {
    collect();
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  return () => {
    // Memory outside the heap (array buffers' bytes) is given back by a background thread after
    // a collection: collect again until two readings agree, or a reading is taken too early and
    // what is given back later counts under the next structure measured.
    let before = read();
    for (let i = 0; i < MEASURE_ROUNDS_MAX; i++) {
      const now = read();
      if (now === before) break;
      before = now;
    }
    return before;
  };
}

/** The process's peak resident memory so far, MB. */
export function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

// ---------------------------------------------------------------------------- progress

/**
 * The simulator's part of the progress line (`cli/progress.ts` draws it): while keys are made and
 * nodes boot, how many; then virtual time, round, informed fraction and events per second (since
 * the previous report).
 */
export function simProgressText(): (p: SimProgress) => string {
  let last = { at: performance.now(), events: 0 };
  const fmt = (n: number) => n.toLocaleString("en-US");
  return (p) => {
    if (p.stage !== "run") return `${p.stage} ${fmt(p.done ?? 0)}/${fmt(p.total ?? 0)} nodes`;
    const t = performance.now();
    const rate = ((p.events - last.events) * 1000) / Math.max(1, t - last.at);
    last = { at: t, events: p.events };
    const parts = [`t ${(p.virtualMs / 1000).toFixed(1)} s`];
    if (p.round !== undefined) parts.push(`round ${p.round}`);
    if (p.informed !== undefined) parts.push(`informed ${(p.informed * 100).toFixed(1)} %`);
    parts.push(`${fmt(Math.round(rate))} events/s`);
    return parts.join(" · ");
  };
}
