/**
 * The fuzz loop: frame `i` of seed `S` is drawn from its own generator, `deriveSeed(S, i)` — a
 * frame type (uniformly, so rare types get their share), a captured frame of that type, and its
 * mutations — and fed to every target that speaks its layer. Targets are rebuilt every `epoch`
 * frames, so the state a frame meets depends only on the frames since its epoch began: replaying
 * frame `i` reruns its epoch up to `i`, and a finding is reproduced from the seed and the index.
 *
 * At the end every crash is replayed (it must recur) and minimised, and every slow frame is timed
 * again (a garbage collection or a busy machine can stall one frame once; only a frame slow every
 * time is a hang).
 *
 * @module
 */

import { performance } from "node:perf_hooks";
import { toHex } from "../../src/bytes.ts";
import type { Engine } from "../../src/core/engine.ts";
import { deriveSeed, randomBelow, seededRng } from "../../src/core/random.ts";
import { createSignatureSuite } from "../../src/crypto/ed25519.ts";
import type { SignatureSuite } from "../../src/crypto/types.ts";
import { allItems, bytesItem, intItem, parseItem, replaceItem, splice } from "./cbor-edit.ts";
import { captureCorpus, type Corpus, type CorpusFrame } from "./corpus.ts";
import { mutate, type Mutated } from "./mutate.ts";
import { knownFinding, knownHang } from "./known.ts";
import { typeByName } from "./registry.ts";
import { checkDecoders, DriverTarget, EngineTarget, type Failure, HandshakeTarget, QUEUE_BOUNDS } from "./targets.ts";

export interface FuzzOptions {
  frames: number;
  seed: number;
  /** Source frame types to draw from (names); null for all. */
  types: string[] | null;
  /** A frame slower than this in one target is a hang. */
  timeoutMs: number;
  /** Seed of the capture scenario (one corpus serves every fuzz seed). */
  corpusSeed: number;
  /** Frames between two rebuilds of the targets. */
  epoch: number;
  /** Run only the epoch of this frame, up to it, and describe it. */
  replay: number | null;
  /** Run the real-node driver and the handshake targets (slower than the engine alone). */
  driver: boolean;
  handshake: boolean;
  /** Replay and minimise crashes, re-time slow frames. */
  confirm: boolean;
  progress?: (done: number, total: number, report: FuzzReport) => void;
  suite?: SignatureSuite;
  /** For tests: the victim engine to fuzz instead of the rebuilt one. */
  buildVictim?: (corpus: Corpus) => Engine;
}

export const DEFAULT_OPTIONS: FuzzOptions = {
  frames: 10_000, seed: 1, types: null, timeoutMs: 100, corpusSeed: 1, epoch: 512, replay: null,
  driver: true, handshake: true, confirm: true,
};

export interface CrashRecord {
  index: number;
  target: string;
  kind: Failure["kind"];
  phase: string;
  type: string;
  mutations: string[];
  bytes: number;
  hex: string;
  error: string;
  stack_top: string;
  /** Frames of this run that failed the same way. */
  count: number;
  replay: string;
  reproduced: boolean | null;
  /** The smallest frame found that fails the same way in a fresh target, or null. */
  minimized_hex: string | null;
  /** The id of a known finding (`known.ts`) this is; known findings do not fail the run. */
  known: string | null;
}

export interface HangRecord {
  index: number;
  target: string;
  type: string;
  mutations: string[];
  reason: "time" | "queue";
  ms: number;
  detail: string;
  replay: string;
  /** Slow again when replayed (time), or always (queue bounds are deterministic). */
  confirmed: boolean | null;
  retimed_ms: number[];
  /** The id of a known finding (`known.ts`) this is; known findings do not fail the run. */
  known: string | null;
}

export interface SlowRecord {
  index: number;
  target: string;
  type: string;
  mutations: string[];
  bytes: number;
  ms: number;
  /** For frames slower than a quarter of the timeout: the time of the same frame when replayed. */
  retimed_ms?: number;
}

export interface FuzzReport {
  seed: number;
  corpus_seed: number;
  frames: number;
  elapsed_ms: number;
  timeout_ms: number;
  corpus: { frames: number; by_type: Record<string, number> };
  per_type: Record<string, { frames: number; decoded: number; refused: number; penalised: number; failures: number }>;
  targets: { engine: number; decoders: number; driver: number; handshake: number };
  handshakes: { ok: number; refused: number };
  mutations: Record<string, number>;
  crashes: CrashRecord[];
  hangs: HangRecord[];
  slowest: SlowRecord[];
  /**
   * Per source type: the most bytes the victim sent in answer to one frame, per byte received
   * (the engine's for engine types; for link types, what the real node sent at once).
   */
  amplification: Record<string, { max_ratio: number; index: number; bytes_in: number; bytes_out: number; mutations: string[]; target: string }>;
  queues: { max_jobs: number; max_transmits: number; max_events: number; max_bytes_out: number; bounds: typeof QUEUE_BOUNDS };
  victim: { max_members: number; max_origins: number };
  memory: { heap_start_mb: number; heap_max_mb: number; rss_max_mb: number };
  ok: boolean;
  /** With `replay`: the replayed frame in full. */
  replayed?: { index: number; type: string; source: string; mutations: string[]; hex: string; outcomes: Record<string, unknown> };
}

/** The frame of index `i`: its source, its mutations, and the choices made for it. */
interface Drawn {
  index: number;
  src: CorpusFrame;
  mutated: Mutated;
  peer: number;
  toDriver: boolean;
  toHandshake: boolean;
}

const SLOWEST_KEPT = 10;
/** Candidate frames tried per minimisation (each costs a fresh victim for the engine, ~0.3 s). */
const MINIMIZE_BUDGET = 120;
/** Findings replayed and minimised, and slow frames retimed, at most (new findings first). */
const CONFIRM_MAX = 10;
const mb = (n: number) => Math.round(n / 2 ** 20);

/** The fuzz session: corpus, targets, and the draw of each frame. */
class Session {
  readonly byType: CorpusFrame[][];
  readonly engine: EngineTarget;
  readonly driver: DriverTarget | null;
  readonly handshake: HandshakeTarget | null;
  #driverStarted = false;

  constructor(readonly o: FuzzOptions, readonly corpus: Corpus, readonly suite: SignatureSuite) {
    const wanted = o.types?.map((n) => {
      const t = typeByName(n);
      if (!t) throw new RangeError(`--types: unknown frame type ${n}`);
      return t.name;
    });
    const groups = new Map<string, CorpusFrame[]>();
    for (const f of corpus.frames) {
      if (wanted && !wanted.includes(f.type.name)) continue;
      const g = groups.get(f.type.name) ?? [];
      g.push(f);
      groups.set(f.type.name, g);
    }
    this.byType = [...groups.values()];
    if (!this.byType.length) throw new RangeError("--types: no captured frame of those types");
    this.engine = new EngineTarget(corpus, suite, o.buildVictim ? () => o.buildVictim!(corpus) : undefined);
    this.driver = o.driver ? new DriverTarget(corpus, suite) : null;
    this.handshake = o.handshake ? new HandshakeTarget(corpus, suite) : null;
  }

  async reset(): Promise<void> {
    this.engine.reset();
    if (this.driver) {
      if (this.#driverStarted) await this.driver.stop();
      await this.driver.start();
      this.#driverStarted = true;
    }
  }

  async close(): Promise<void> {
    if (this.driver && this.#driverStarted) await this.driver.stop();
    this.#driverStarted = false;
  }

  async draw(i: number): Promise<Drawn> {
    const rng = seededRng(deriveSeed(this.o.seed, i));
    const group = this.byType[randomBelow(rng, this.byType.length)];
    const src = group[randomBelow(rng, group.length)];
    const peer = src.type.layer === "link" ? 1 : this.engine.linkFor(src.from, rng.nextU32()).peer;
    const c = this.corpus;
    const mutated = await mutate(src, {
      rng, corpus: c.frames, keys: c.keys, messageIds: c.messageIds, victim: c.keys[0].publicKey, victimGeneration: 1, sender: c.keys[peer], network: c.network, suite: this.suite,
    });
    const toDriver = src.type.layer === "link" || randomBelow(rng, 8) === 0;
    const toHandshake = src.type.name === "HELLO" || src.type.name === "PROOF" || randomBelow(rng, 16) === 0;
    return { index: i, src, mutated, peer, toDriver, toHandshake };
  }

  /**
   * The handshake's frames for a drawn frame: the mutated one in the place of its kind; any other
   * frame either opens the conversation or follows the PROOF at once (kept until the verdict).
   */
  handshakeFrames(d: Drawn): { frames: Uint8Array[]; early: number } {
    const h = this.handshake!;
    if (d.src.type.name === "HELLO") return { frames: [d.mutated.bytes, h.proof], early: 0 };
    if (d.src.type.name === "PROOF") return { frames: [h.hello, d.mutated.bytes], early: 0 };
    return d.mutated.bytes[0] & 1 ? { frames: [d.mutated.bytes], early: 0 } : { frames: [h.hello, h.proof, d.mutated.bytes], early: 1 };
  }
}

/** One frame through its targets. */
interface FrameResult {
  failures: { target: string; failure: Failure }[];
  timings: { target: string; ms: number }[];
  engine: Awaited<ReturnType<EngineTarget["feed"]>> | null;
  decoded: boolean;
  handshake: "ok" | "refused" | "crash" | null;
  driverBytesOut: number | null;
}

async function runFrame(s: Session, d: Drawn): Promise<FrameResult> {
  const r: FrameResult = { failures: [], timings: [], engine: null, decoded: false, handshake: null, driverBytesOut: null };
  const bytes = d.mutated.bytes;
  const dec = checkDecoders(bytes, s.engine.engine);
  r.decoded = dec.decoded;
  r.timings.push({ target: "decoders", ms: dec.ms });
  for (const f of dec.failures) r.failures.push({ target: "decoders", failure: f });
  if (d.src.type.layer === "engine") {
    const e = await s.engine.feed(d.peer, bytes, deriveSeed(deriveSeed(s.o.seed, d.index), 9));
    r.engine = e;
    r.timings.push({ target: "engine", ms: e.ms });
    for (const f of e.failures) r.failures.push({ target: "engine", failure: f });
  }
  if (s.driver && d.toDriver) {
    const x = await s.driver.feed(bytes);
    r.driverBytesOut = x.bytesOut;
    r.timings.push({ target: "driver", ms: x.ms });
    for (const f of x.failures) r.failures.push({ target: "driver", failure: f });
  }
  if (s.handshake && d.toHandshake) {
    const { frames, early } = s.handshakeFrames(d);
    const x = await s.handshake.run(frames, early);
    r.handshake = x.outcome;
    r.timings.push({ target: "handshake", ms: x.ms });
    for (const f of x.failures) r.failures.push({ target: "handshake", failure: f });
  }
  return r;
}

/**
 * Groups failures that are one bug: same target, kind, phase, message (numbers aside) and place.
 * A refusal left unpunished is one bug whatever the decoder said, so those group by phase alone.
 */
function signature(target: string, f: Failure): string {
  const message = f.kind === "unpenalised" ? "" : f.error.replace(/\d+/g, "#").slice(0, 160);
  return `${target}|${f.kind}|${f.phase}|${message}|${f.stack.split(" | ")[0] ?? ""}`;
}

export function replayCommand(o: FuzzOptions, index: number): string {
  const extra = [
    o.types ? ` --types ${o.types.join(",")}` : "",
    o.corpusSeed !== DEFAULT_OPTIONS.corpusSeed ? ` --corpus-seed ${o.corpusSeed}` : "",
    o.epoch !== DEFAULT_OPTIONS.epoch ? ` --epoch ${o.epoch}` : "",
    o.driver ? "" : " --no-driver",
    o.handshake ? "" : " --no-handshake",
  ].join("");
  return `npx grapevine fuzz --seed ${o.seed} --replay ${index}${extra}`;
}

function emptyReport(o: FuzzOptions, corpus: Corpus): FuzzReport {
  const byType: Record<string, number> = {};
  for (const f of corpus.frames) byType[f.type.name] = (byType[f.type.name] ?? 0) + 1;
  const heap = process.memoryUsage();
  return {
    seed: o.seed, corpus_seed: o.corpusSeed, frames: 0, elapsed_ms: 0, timeout_ms: o.timeoutMs,
    corpus: { frames: corpus.frames.length, by_type: byType }, per_type: {},
    targets: { engine: 0, decoders: 0, driver: 0, handshake: 0 }, handshakes: { ok: 0, refused: 0 }, mutations: {},
    crashes: [], hangs: [], slowest: [], amplification: {},
    queues: { max_jobs: 0, max_transmits: 0, max_events: 0, max_bytes_out: 0, bounds: QUEUE_BOUNDS },
    victim: { max_members: 0, max_origins: 0 },
    memory: { heap_start_mb: mb(heap.heapUsed), heap_max_mb: mb(heap.heapUsed), rss_max_mb: mb(heap.rss) }, ok: true,
  };
}

/** Runs a fuzz session and returns its report (see the module doc). */
export async function runFuzz(options: Partial<FuzzOptions> = {}): Promise<FuzzReport> {
  const o: FuzzOptions = { ...DEFAULT_OPTIONS, ...options };
  const suite = o.suite ?? (await createSignatureSuite({ subtle: globalThis.crypto.subtle }));
  const started = performance.now();
  const corpus = await captureCorpus(suite, o.corpusSeed);
  const s = new Session(o, corpus, suite);
  const report = emptyReport(o, corpus);
  const crashes = new Map<string, CrashRecord>();
  const first = o.replay === null ? 0 : o.replay - (o.replay % o.epoch);
  const end = o.replay === null ? o.frames : o.replay + 1;
  try {
    if (s.handshake) await checkHandshakeBaseline(s);
    for (let i = first; i < end; i++) {
      if (i === first || i % o.epoch === 0) {
        if (i !== first) sample(report, s);
        await s.reset();
      }
      const d = await s.draw(i);
      const r = await runFrame(s, d);
      if (o.replay === i) report.replayed = describeReplay(i, d, r);
      record(report, o, crashes, i, d, r);
      o.progress?.(i - first + 1, end - first, report);
    }
    sample(report, s);
  } finally {
    await s.close();
  }
  report.crashes = [...crashes.values()];
  if (o.confirm && o.replay === null) await confirm(report, o, suite, corpus);
  report.elapsed_ms = Math.round(performance.now() - started);
  for (const h of report.hangs) h.known = knownHang(h.reason, h.detail)?.id ?? null;
  report.ok = !report.crashes.some((c) => c.known === null) && !report.hangs.some((h) => h.confirmed !== false && h.known === null);
  return report;
}

/** The unmutated handshake must succeed, or every PROOF mutation would be judged against a failure. */
async function checkHandshakeBaseline(s: Session): Promise<void> {
  const h = s.handshake!;
  const r = await h.run([h.hello, h.proof]);
  if (r.outcome !== "ok") throw new Error(`the captured handshake does not complete in the fuzzer (${r.outcome}: ${r.failures.map((f) => f.error).join("; ")})`);
}

function sample(report: FuzzReport, s: Session): void {
  const m = process.memoryUsage();
  report.memory.heap_max_mb = Math.max(report.memory.heap_max_mb, mb(m.heapUsed));
  report.memory.rss_max_mb = Math.max(report.memory.rss_max_mb, mb(m.rss));
  const e = s.engine.engine;
  report.victim.max_members = Math.max(report.victim.max_members, e.membership?.known ?? 0);
  report.victim.max_origins = Math.max(report.victim.max_origins, e.store.origins.size);
}

function record(report: FuzzReport, o: FuzzOptions, crashes: Map<string, CrashRecord>, i: number, d: Drawn, r: FrameResult): void {
  const type = d.src.type.name;
  report.frames++;
  const pt = (report.per_type[type] ??= { frames: 0, decoded: 0, refused: 0, penalised: 0, failures: 0 });
  pt.frames++;
  if (r.decoded) pt.decoded++;
  report.targets.decoders++;
  for (const m of d.mutated.mutations) {
    const op = m.split(":")[0];
    report.mutations[op] = (report.mutations[op] ?? 0) + 1;
  }
  const e = r.engine;
  if (e) {
    report.targets.engine++;
    if (e.refused) pt.refused++;
    if (e.penalised) pt.penalised++;
    const q = report.queues;
    q.max_jobs = Math.max(q.max_jobs, e.jobs);
    q.max_transmits = Math.max(q.max_transmits, e.transmits);
    q.max_events = Math.max(q.max_events, e.events);
    q.max_bytes_out = Math.max(q.max_bytes_out, e.bytesOut);
    amplify(report, type, i, e.bytesIn, e.bytesOut, d.mutated.mutations, "engine");
    const over = (["jobs", "transmits", "bytesOut", "events"] as const).filter((k) => e[k] > QUEUE_BOUNDS[k]);
    if (over.length) {
      report.hangs.push({
        index: i, target: "engine", type, mutations: d.mutated.mutations, reason: "queue", ms: e.ms,
        detail: `${over.map((k) => `${k} ${e[k]} > ${QUEUE_BOUNDS[k]}`).join(", ")} (sent ${Object.entries(e.sent).map(([t, n]) => `${n} ${t}`).join(", ")})`,
        replay: replayCommand(o, i), confirmed: true, retimed_ms: [], known: null,
      });
    }
  }
  if (r.driverBytesOut !== null) {
    report.targets.driver++;
    if (d.src.type.layer === "link") amplify(report, type, i, d.mutated.bytes.length, r.driverBytesOut, d.mutated.mutations, "driver");
  }
  if (r.handshake) {
    report.targets.handshake++;
    if (r.handshake === "ok") report.handshakes.ok++;
    else if (r.handshake === "refused") report.handshakes.refused++;
  }
  for (const t of r.timings) {
    if (t.ms > o.timeoutMs) {
      const answer = t.target === "engine" && e ? ` (sent ${Object.entries(e.sent).map(([k, n]) => `${n} ${k}`).join(", ") || "nothing"})` : "";
      report.hangs.push({
        index: i, target: t.target, type, mutations: d.mutated.mutations, reason: "time", ms: round(t.ms),
        detail: `${round(t.ms)} ms > ${o.timeoutMs} ms${answer}`, replay: replayCommand(o, i), confirmed: null, retimed_ms: [], known: null,
      });
    }
    const slow = report.slowest;
    if (slow.length < SLOWEST_KEPT || t.ms > slow[slow.length - 1].ms) {
      slow.push({ index: i, target: t.target, type, mutations: d.mutated.mutations, bytes: d.mutated.bytes.length, ms: round(t.ms) });
      slow.sort((x, y) => y.ms - x.ms);
      slow.length = Math.min(slow.length, SLOWEST_KEPT);
    }
  }
  if (r.failures.length) pt.failures++;
  for (const { target, failure } of r.failures) {
    const key = signature(target, failure);
    const seen = crashes.get(key);
    if (seen) {
      seen.count++;
      continue;
    }
    crashes.set(key, {
      index: i, target, kind: failure.kind, phase: failure.phase, type, mutations: d.mutated.mutations,
      bytes: d.mutated.bytes.length, hex: hexOf(d.mutated.bytes), error: failure.error, stack_top: failure.stack,
      count: 1, replay: replayCommand(o, i), reproduced: null, minimized_hex: null, known: knownFinding(failure)?.id ?? null,
    });
  }
}

function amplify(report: FuzzReport, type: string, index: number, bytesIn: number, bytesOut: number, mutations: string[], target: string): void {
  const ratio = Math.round((bytesOut / Math.max(1, bytesIn)) * 100) / 100;
  const a = report.amplification[type];
  if (!a || ratio > a.max_ratio) report.amplification[type] = { max_ratio: ratio, index, bytes_in: bytesIn, bytes_out: bytesOut, mutations, target };
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
const HEX_CHARS_MAX = 16_384;
const hexOf = (b: Uint8Array) => {
  const h = toHex(b.length > HEX_CHARS_MAX / 2 ? b.subarray(0, HEX_CHARS_MAX / 2) : b);
  return b.length > HEX_CHARS_MAX / 2 ? `${h}…(${b.length} bytes; the replay command rebuilds it)` : h;
};

function describeReplay(i: number, d: Drawn, r: FrameResult): FuzzReport["replayed"] {
  return {
    index: i, type: d.src.type.name, source: `${d.src.source} ${d.src.from}→${d.src.to} [${d.src.variants.join(", ")}]`,
    mutations: d.mutated.mutations, hex: toHex(d.mutated.bytes),
    outcomes: {
      failures: r.failures.map((f) => ({ target: f.target, ...f.failure })),
      timings: r.timings.map((t) => ({ target: t.target, ms: round(t.ms) })),
      engine: r.engine && { refused: r.engine.refused, penalised: r.engine.penalised, bytes_out: r.engine.bytesOut, transmits: r.engine.transmits, jobs: r.engine.jobs, events: r.engine.events },
      decoded: r.decoded, handshake: r.handshake, driver_bytes_out: r.driverBytesOut,
    },
  };
}

// ------------------------------------------------------------------ confirming findings

/** Reruns the epoch of frame `index` up to it, in a fresh session; returns that frame's result. */
async function rerun(o: FuzzOptions, suite: SignatureSuite, corpus: Corpus, index: number): Promise<{ d: Drawn; r: FrameResult }> {
  const s = new Session({ ...o, replay: index }, corpus, suite);
  try {
    let last: { d: Drawn; r: FrameResult } | null = null;
    for (let i = index - (index % o.epoch); i <= index; i++) {
      if (!last) await s.reset();
      const d = await s.draw(i);
      last = { d, r: await runFrame(s, d) };
    }
    return last!;
  } finally {
    await s.close();
  }
}

async function confirm(report: FuzzReport, o: FuzzOptions, suite: SignatureSuite, corpus: Corpus): Promise<void> {
  // New findings first: the budget of replays goes to them.
  report.crashes.sort((a, b) => Number(a.known !== null) - Number(b.known !== null));
  for (const c of report.crashes.slice(0, CONFIRM_MAX)) {
    const { d, r } = await rerun(o, suite, corpus, c.index);
    c.reproduced = r.failures.some((f) => signature(f.target, f.failure) === signature(c.target, { kind: c.kind, phase: c.phase, error: c.error, stack: c.stack_top }));
    if (c.reproduced) c.minimized_hex = await minimizeCrash(o, suite, corpus, c, d);
  }
  for (const h of report.hangs.filter((x) => x.reason === "time").slice(0, CONFIRM_MAX)) {
    const { r } = await rerun(o, suite, corpus, h.index);
    h.retimed_ms.push(round(r.timings.find((t) => t.target === h.target)?.ms ?? 0));
    h.confirmed = h.retimed_ms[0] > o.timeoutMs;
  }
  // A frame stalled once by a garbage collection looks slow; its replay tells.
  for (const sl of report.slowest.filter((x) => x.ms > o.timeoutMs / 4)) {
    const { r } = await rerun(o, suite, corpus, sl.index);
    sl.retimed_ms = round(r.timings.find((t) => t.target === sl.target)?.ms ?? 0);
  }
}

/**
 * Shrinks a crashing frame while a fresh target (no earlier frames) still fails the same way:
 * items of the CBOR tree replaced by the smallest of their kind, array elements dropped, then
 * byte ranges cut. Returns null when the frame needs the state earlier frames built.
 */
async function minimizeCrash(o: FuzzOptions, suite: SignatureSuite, corpus: Corpus, c: CrashRecord, d: Drawn): Promise<string | null> {
  // Only the target that failed, and fresh only where state matters (the engine): restarting the
  // others for every candidate would cost minutes.
  const s = new Session({ ...o, replay: c.index, driver: c.target === "driver", handshake: c.target === "handshake" }, corpus, suite);
  let budget = MINIMIZE_BUDGET;
  const same = (f: Failure) => f.kind === c.kind && f.phase === c.phase && (c.kind === "unpenalised" || f.error.replace(/\d+/g, "#") === c.error.replace(/\d+/g, "#"));
  const fails = async (bytes: Uint8Array): Promise<boolean> => {
    budget--;
    let failures: Failure[];
    if (c.target === "decoders") failures = checkDecoders(bytes, s.engine.engine).failures;
    else if (c.target === "engine") {
      s.engine.reset();
      failures = (await s.engine.feed(d.peer, bytes, deriveSeed(deriveSeed(o.seed, d.index), 9))).failures;
    } else if (c.target === "driver") failures = (await s.driver!.feed(bytes)).failures;
    else {
      const { frames, early } = s.handshakeFrames({ ...d, mutated: { bytes, mutations: d.mutated.mutations } });
      failures = (await s.handshake!.run(frames, early)).failures;
    }
    return failures.some(same);
  };
  try {
    await s.reset();
    let best = d.mutated.bytes;
    if (!(await fails(best))) return null;
    for (let changed = true; changed && budget > 0; ) {
      changed = false;
      for (const cand of candidates(best)) {
        if (budget <= 0) break;
        if (cand.length < best.length && (await fails(cand))) {
          best = cand;
          changed = true;
          break;
        }
      }
    }
    return toHex(best);
  } finally {
    await s.close();
  }
}

/** Smaller frames to try, the likeliest first: CBOR items dropped or emptied, then byte ranges cut. */
function* candidates(best: Uint8Array): Generator<Uint8Array> {
  const root = parseItem(best);
  if (root) {
    for (const it of allItems(root).sort((a, b) => b.end - b.start - (a.end - a.start))) {
      if (it === root) continue;
      if (it.parent?.major === 4) yield replaceItem(best, it, new Uint8Array(0), -1);
      if (it.major === 2 && it.end - it.headEnd > 0) yield replaceItem(best, it, bytesItem(best.slice(it.headEnd, it.headEnd + Math.floor((it.end - it.headEnd) / 2))));
      if (it.major === 0 && it.arg !== 0) yield replaceItem(best, it, intItem(0));
    }
  }
  for (let size = Math.floor(best.length / 2); size >= 1; size = Math.floor(size / 2)) {
    for (let at = 0; at + size <= best.length; at += size) yield splice(best, at, at + size, new Uint8Array(0));
  }
}
