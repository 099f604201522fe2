/**
 * Membership experiments on the simulator, with real engines (SWIM + Lifeguard over the engines'
 * links), each returning a plain JSON-able report:
 *
 * - `detection`: crash a fraction of the nodes; how long until the first node suspects each one,
 *   and until every live node holds it dead (protocol periods and ms, p50/p99);
 * - `falsePositives`: frame loss plus slow (CPU-starved) nodes and no crash at all, so every
 *   death is a false positive; run once with Lifeguard and once without, on the same seed;
 * - `partition`: split in halves, wait, heal; do the views become one again, and how fast;
 * - `scale`: steady-state membership load per member per period as the mesh grows.
 *
 * Every run starts warm: each node signs its alive claim, and the claims are handed to the nodes
 * (every node's, or a HyParView-sized sample for `scale`) through `Membership.introduce`, which
 * verifies them like any other. The overlay is the active view the design asks for: about
 * log10 N + 1 links per node, kept up by the engines themselves (the simulator makes and drops
 * links on request). Load counts membership frames only (types 8–15).
 *
 * @module
 */

import type { Engine } from "../core/engine.ts";
import type { EngineOptions } from "../core/options.ts";
import { deriveSeed, seededRng } from "../core/random.ts";
import type { SignatureSuite } from "../crypto/types.ts";
import { toHex } from "../bytes.ts";
import type { ClaimWire } from "../wire/member-frames.ts";
import { simKeyPair } from "./scenarios.ts";
import { Simulation } from "./sim.ts";
import { DEFAULT_SLOW, type SlowProfile } from "./slow.ts";

/** Knobs common to the membership experiments. */
export interface MembershipScenarioOptions {
  nodes: number;
  seed: number;
  /** Links per node; 0: ceil(log10(N + 1)) + 1, at least 3 (the engine's own active-view target). */
  degree: number;
  loss: number;
  probeIntervalMs: number;
  lifeguard: boolean;
  suite: SignatureSuite;
  cryptoName: string;
  /** Wall clock for `wall_ms`, injected. */
  clock: () => number;
  /** Further engine options. */
  engine?: Partial<EngineOptions>;
}

/** The active view size the engine aims for with `nodes` members. */
export function activeViewDegree(nodes: number): number {
  return Math.max(3, Math.ceil(Math.log10(nodes + 1)) + 1);
}

const MEMBER_TYPES = [8, 9, 10, 11, 12, 13, 14, 15];

interface Run {
  sim: Simulation;
  ids: string[];
  degree: number;
}

/** Builds the simulation and warms it: every node knows `view(i)` of the others. */
/** Builds and warms a membership run (exported for diagnostics). */
export async function start(o: MembershipScenarioOptions, view: "all" | number, slow: { fraction: number; profile?: Partial<SlowProfile> } = { fraction: 0 }): Promise<Run> {
  const degree = o.degree > 0 ? o.degree : activeViewDegree(o.nodes);
  const sim = new Simulation({
    nodes: o.nodes,
    seed: o.seed,
    degree,
    engine: {
      probeIntervalMs: o.probeIntervalMs, probeTimeoutMs: o.probeIntervalMs / 2, lifeguard: o.lifeguard,
      // State gossip idles (nobody writes); rounds are slow so they barely count in wall time.
      intervalMs: 10_000, membersMax: Math.max(16_384, o.nodes + 16), ...o.engine,
    },
    network: { loss: o.loss },
    suite: o.suite,
    cryptoName: o.cryptoName,
    keyPair: (i) => simKeyPair(o.seed, i),
    cryptoDelayMs: 0,
  });
  const ids = sim.nodes.map((n) => toHex(n.keyPair.publicKey));
  await sim.runUntil(() => sim.nodes.every((_, i) => sim.engine(i).membership.selfClaim !== null), 1000);
  const claims = sim.nodes.map((_, i) => sim.engine(i).membership.selfClaim!) as ClaimWire[];
  const pick = seededRng(deriveSeed(o.seed, 91));
  const batch = 64;
  for (let i = 0; i < o.nodes; i++) {
    let mine: ClaimWire[];
    if (view === "all") mine = claims.filter((_, j) => j !== i);
    else {
      const chosen = new Set(sim.peersOf(i));
      for (let t = 0; chosen.size < view + sim.peersOf(i).length && t < view * 4; t++) chosen.add(pick.nextU32() % o.nodes);
      chosen.delete(i);
      mine = [...chosen].map((j) => claims[j]);
    }
    sim.engine(i).introduce(sim.now, mine);
    sim.flush(i);
    // Verify in batches, so the queued crypto never holds N² jobs at once.
    if (i % batch === batch - 1) await sim.runTo(sim.now);
  }
  await sim.runTo(sim.now + 1);
  for (let i = 0; i < o.nodes; i++) {
    const seeds = [0, 1, Math.floor(o.nodes / 2), Math.floor(o.nodes / 2) + 1].filter((k) => k < o.nodes);
    sim.engine(i).join(sim.now, seeds.map((k) => sim.nodes[k].keyPair.publicKey));
  }
  if (slow.fraction > 0) {
    const order = shuffled(o.nodes, deriveSeed(o.seed, 93));
    for (const i of order.slice(0, Math.round(slow.fraction * o.nodes))) sim.setSlow(i, slow.profile);
  }
  return { sim, ids, degree };
}

function shuffled(n: number, seed: number): number[] {
  const rng = seededRng(seed);
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextU32() % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Membership frames and bytes sent from now on. */
function meter(sim: Simulation): () => { frames: number; bytes: number } {
  const base = MEMBER_TYPES.map((t) => ({ ...(sim.trafficByType.get(t) ?? { frames: 0, bytes: 0 }) }));
  return () => {
    let frames = 0;
    let bytes = 0;
    MEMBER_TYPES.forEach((t, k) => {
      const c = sim.trafficByType.get(t) ?? { frames: 0, bytes: 0 };
      frames += c.frames - base[k].frames;
      bytes += c.bytes - base[k].bytes;
    });
    return { frames, bytes };
  };
}

/** Load of one window: membership frames and bytes per live member per protocol period. */
function load(m: { frames: number; bytes: number }, members: number, ms: number, periodMs: number) {
  const periods = ms / periodMs;
  return { messages_per_member_per_period: round2(m.frames / members / periods), bytes_per_member_per_period: Math.round(m.bytes / members / periods) };
}

/**
 * Counts deaths and suspicions of members that are in fact up (`up(j)`): per observer event (one
 * node marking one member), and per declaration (one signed dead claim, however many accept it).
 */
function watchFalse(sim: Simulation, index: Map<string, number>, up: (j: number) => boolean) {
  const c = {
    dead: 0, suspect: 0, deadOfSlow: 0, declared: new Set<string>(), declaredOfSlow: new Set<string>(),
    /** Dead claims about healthy members signed by a slow node. */
    declaredOfHealthyBySlow: new Set<string>(),
    /** Distinct deaths: (member, generation, incarnation), however many accusers signed one. */
    deaths: new Set<string>(),
    deathsOfSlow: new Set<string>(),
    /** When each distinct death of a slow member was first seen. */
    slowDeathAt: new Map<string, number>(),
  };
  sim.observe((_i, ev) => {
    if (ev.type !== "member" || (ev.state !== "dead" && ev.state !== "suspect")) return;
    const j = index.get(toHex(ev.member));
    if (j === undefined || !up(j)) return;
    if (ev.state === "dead") {
      const claimer = toHex(ev.claimer!);
      const claim = `${j}:${ev.generation}:${ev.incarnation}:${claimer}`;
      const death = `${j}:${ev.generation}:${ev.incarnation}`;
      c.dead++;
      c.declared.add(claim);
      c.deaths.add(death);
      if (sim.nodes[j].slow) {
        c.deadOfSlow++;
        c.declaredOfSlow.add(claim);
        c.deathsOfSlow.add(death);
        if (!c.slowDeathAt.has(death)) c.slowDeathAt.set(death, sim.now);
      } else {
        const k = index.get(claimer);
        if (k !== undefined && sim.nodes[k].slow) c.declaredOfHealthyBySlow.add(claim);
      }
    } else c.suspect++;
  });
  return c;
}

/** How many of `times` fall in each quarter of [t0, t0 + ms]. */
function quarters(times: number[], t0: number, ms: number): number[] {
  const q = [0, 0, 0, 0];
  for (const t of times) q[Math.min(3, Math.floor(((t - t0) * 4) / ms))]++;
  return q;
}

function penaltyCounter(sim: Simulation): { count: number } {
  const c = { count: 0 };
  sim.observe((_i, ev) => void (ev.type === "penalty" && c.count++));
  return c;
}

function pct(a: number[], q: number): number | null {
  if (!a.length) return null;
  const s = a.slice().sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

// ---------------------------------------------------------------------------- detection

/** Report of the crash-detection experiment. */
export interface DetectionReport {
  experiment: "detection";
  nodes: number;
  crashed: number;
  degree: number;
  loss: number;
  lifeguard: boolean;
  probe_interval_ms: number;
  /** Mean periods from a crash to the first suspicion of it (SWIM's analysis: e/(e−1) ≈ 1.58 plus the probe's own period). */
  first_suspicion_periods_mean: number | null;
  first_suspicion_ms_p50: number | null;
  first_suspicion_ms_p99: number | null;
  /** From the crash until every live node holds the crashed node dead. */
  detection_ms_p50: number | null;
  detection_ms_p99: number | null;
  detection_periods_p50: number | null;
  detection_periods_p99: number | null;
  /** Crashed nodes some live node still did not hold dead at the end. */
  undetected: number;
  /** Live members marked dead meanwhile (false positives). */
  false_positives: number;
  /** Steady state before the crash. */
  steady: { messages_per_member_per_period: number; bytes_per_member_per_period: number };
  /** From the crash until detection is complete. */
  during_detection: { messages_per_member_per_period: number; bytes_per_member_per_period: number };
  links_made: number;
  penalties: number;
  seed: number;
  crypto: string;
  wall_ms: number;
}

/** Crashes `crash` of the nodes at once after a warm-up; measures detection. */
export async function runDetection(o: MembershipScenarioOptions, crash = 0.01, maxMs = 120_000): Promise<DetectionReport> {
  const started = o.clock();
  const { sim, ids, degree } = await start(o, "all");
  const period = o.probeIntervalMs;
  const penalties = penaltyCounter(sim);
  const index = new Map(ids.map((id, i) => [id, i]));
  const fp = watchFalse(sim, index, (j) => sim.alive(j));
  await sim.runTo(sim.now + 10 * period);
  const steadyFrom = sim.now;
  const steadyMeter = meter(sim);
  await sim.runTo(sim.now + 20 * period);
  const steady = load(steadyMeter(), o.nodes, sim.now - steadyFrom, period);
  const victims = shuffled(o.nodes, deriveSeed(o.seed, 95)).slice(0, Math.max(1, Math.round(crash * o.nodes)));
  const firstSuspect = new Map<number, number>();
  const deadAt = new Map<number, number>(); // victim → time the last live node marked it dead
  const deadCount = new Map<number, Set<number>>();
  const victimSet = new Set(victims);
  const t0 = sim.now;
  sim.observe((i, ev, now) => {
    if (ev.type !== "member") return;
    const j = index.get(toHex(ev.member));
    if (j === undefined || !victimSet.has(j)) return;
    if ((ev.state === "suspect" || ev.state === "dead") && !firstSuspect.has(j)) firstSuspect.set(j, now - t0);
    if (ev.state === "dead") {
      let s = deadCount.get(j);
      if (!s) deadCount.set(j, (s = new Set()));
      s.add(i);
    }
  });
  for (const v of victims) sim.crash(v);
  const detMeter = meter(sim);
  const liveCount = o.nodes - victims.length;
  const allDead = (v: number) => {
    for (let i = 0; i < o.nodes; i++) if (sim.alive(i) && sim.engine(i).membership.stateOf(ids[v]) !== "dead") return false;
    return true;
  };
  let checkAt = 0;
  await sim.runUntil(() => {
    for (const v of victims) {
      if (deadAt.has(v) || (deadCount.get(v)?.size ?? 0) < liveCount) continue;
      if (allDead(v)) deadAt.set(v, sim.now - t0);
    }
    if (sim.now < checkAt) return deadAt.size === victims.length;
    checkAt = sim.now + period;
    // Nodes that learned of a victim only as dead (never alive) count too: check the views.
    for (const v of victims) if (!deadAt.has(v) && allDead(v)) deadAt.set(v, sim.now - t0);
    return deadAt.size === victims.length;
  }, t0 + maxMs);
  const during = load(detMeter(), liveCount, sim.now - t0, period);
  const first = [...firstSuspect.values()];
  const det = [...deadAt.values()];
  const p = (x: number | null) => (x === null ? null : round2(x / period));
  return {
    experiment: "detection",
    nodes: o.nodes,
    crashed: victims.length,
    degree,
    loss: o.loss,
    lifeguard: o.lifeguard,
    probe_interval_ms: period,
    first_suspicion_periods_mean: first.length ? round2(first.reduce((a, b) => a + b, 0) / first.length / period) : null,
    first_suspicion_ms_p50: roundOrNull(pct(first, 0.5)),
    first_suspicion_ms_p99: roundOrNull(pct(first, 0.99)),
    detection_ms_p50: roundOrNull(pct(det, 0.5)),
    detection_ms_p99: roundOrNull(pct(det, 0.99)),
    detection_periods_p50: p(pct(det, 0.5)),
    detection_periods_p99: p(pct(det, 0.99)),
    undetected: victims.length - deadAt.size,
    false_positives: fp.dead,
    steady,
    during_detection: during,
    links_made: sim.linkChanges.made,
    penalties: penalties.count,
    seed: o.seed,
    crypto: o.cryptoName,
    wall_ms: Math.round(o.clock() - started),
  };
}

function roundOrNull(x: number | null): number | null {
  return x === null ? null : Math.round(x);
}

// ---------------------------------------------------------------------------- false positives

/** One arm (with or without Lifeguard) of the false-positive experiment. */
export interface FalsePositiveArm {
  lifeguard: boolean;
  /** Times a live healthy (not slow) member was declared dead: distinct (member, incarnation), however many accusers signed it. */
  false_deaths_of_healthy: number;
  false_deaths_of_healthy_per_node_hour: number;
  /** Times a live slow member was declared dead (it stalled past a suspicion timeout). */
  false_deaths_of_slow: number;
  false_deaths_of_slow_per_node_hour: number;
  /** Those deaths by quarter of the run: slow members state their lag only after their first stalls. */
  false_deaths_of_slow_by_quarter: number[];
  /** Signed dead claims about live healthy (not slow) members (several accusers may sign one death), per node-hour of the mesh. */
  false_declarations_of_healthy: number;
  false_declarations_of_healthy_per_node_hour: number;
  /** Of those, how many a slow node signed (it stalled, then blamed the member it was probing). */
  false_declarations_of_healthy_by_slow: number;
  /** Signed dead claims about live slow members (stalled past a suspicion timeout). */
  false_declarations_of_slow: number;
  /** Times some node marked a live member dead (any member). */
  false_positives: number;
  false_positives_per_node_hour: number;
  /** Times some node marked a healthy (not slow) member dead: the Lifeguard paper's measure. */
  false_positives_of_healthy: number;
  false_positives_of_healthy_per_node_hour: number;
  /** Times some node marked a slow member dead (it was stalled longer than a suspicion timeout). */
  false_positives_of_slow: number;
  /** Times some node marked a live member suspect. */
  suspicions: number;
  suspicions_per_node_hour: number;
  suspicions_raised: number;
  /** Of those, raised by slow nodes. */
  suspicions_raised_by_slow: number;
  refutations: number;
  late_timers: number;
  /** Alive claims re-signed only to state a new lag (Lifeguard: slow members say how late they run). */
  lag_announcements: number;
  awareness_mean_slow: number;
  awareness_mean_healthy: number;
  messages_per_member_per_period: number;
  bytes_per_member_per_period: number;
  penalties: number;
  wall_ms: number;
}

/** Report of the false-positive experiment. */
export interface FalsePositiveReport {
  experiment: "false_positives";
  nodes: number;
  degree: number;
  loss: number;
  slow_fraction: number;
  slow_profile: SlowProfile;
  duration_ms: number;
  probe_interval_ms: number;
  with_lifeguard: FalsePositiveArm;
  without_lifeguard: FalsePositiveArm;
  /** without / with, deaths of healthy members; null when Lifeguard had none. */
  reduction_deaths_healthy: number | null;
  /** without / with, deaths of any member (healthy or slow); null when Lifeguard had none. */
  reduction_deaths_all: number | null;
  /** without / with, dead claims signed about healthy members; null when Lifeguard had none. */
  reduction_declarations_healthy: number | null;
  /** without / with, false positives (observer events) of healthy members; null when Lifeguard had none. */
  reduction_healthy: number | null;
  /** without / with, all false positives; null when Lifeguard had none. */
  reduction_all: number | null;
  seed: number;
  crypto: string;
}

/**
 * One arm of the false-positive experiment: loss plus slow nodes, nothing crashes, so every death
 * is false. `runFalsePositives` runs it with and without Lifeguard on the same seed.
 */
export async function runFalsePositiveArm(
  o: MembershipScenarioOptions,
  lifeguard: boolean,
  slowFraction = 0.1,
  durationMs = 600_000,
  profile: Partial<SlowProfile> = {},
): Promise<FalsePositiveArm> {
  const started = o.clock();
  const { sim, ids } = await start({ ...o, lifeguard }, "all", { fraction: slowFraction, profile });
  const penalties = penaltyCounter(sim);
  const index = new Map(ids.map((id, i) => [id, i]));
  const fp = watchFalse(sim, index, () => true);
  const t0 = sim.now;
  const m = meter(sim);
  await sim.runTo(t0 + durationMs);
  const hours = (o.nodes * durationMs) / 3_600_000;
  const engines = sim.nodes.map((_, i) => sim.engine(i));
  const sum = (f: (e: Engine) => number, which: (i: number) => boolean = () => true) =>
    engines.reduce((s, e, i) => s + (which(i) ? f(e) : 0), 0);
  const slowCount = sim.nodes.filter((n) => n.slow).length;
  const l = load(m(), o.nodes, durationMs, o.probeIntervalMs);
  const healthyDeclared = fp.declared.size - fp.declaredOfSlow.size;
  const healthyDeaths = fp.deaths.size - fp.deathsOfSlow.size;
  return {
    lifeguard,
    false_deaths_of_healthy: healthyDeaths,
    false_deaths_of_healthy_per_node_hour: round4(healthyDeaths / hours),
    false_deaths_of_slow: fp.deathsOfSlow.size,
    false_deaths_of_slow_per_node_hour: round4(fp.deathsOfSlow.size / hours),
    false_deaths_of_slow_by_quarter: quarters([...fp.slowDeathAt.values()], t0, durationMs),
    false_declarations_of_healthy: healthyDeclared,
    false_declarations_of_healthy_per_node_hour: round4(healthyDeclared / hours),
    false_declarations_of_healthy_by_slow: fp.declaredOfHealthyBySlow.size,
    false_declarations_of_slow: fp.declaredOfSlow.size,
    false_positives: fp.dead,
    false_positives_per_node_hour: round4(fp.dead / hours),
    false_positives_of_healthy: fp.dead - fp.deadOfSlow,
    false_positives_of_healthy_per_node_hour: round4((fp.dead - fp.deadOfSlow) / hours),
    false_positives_of_slow: fp.deadOfSlow,
    suspicions: fp.suspect,
    suspicions_per_node_hour: round2(fp.suspect / hours),
    suspicions_raised: sum((e) => e.membership.stats.suspicionsRaised),
    suspicions_raised_by_slow: sum((e) => e.membership.stats.suspicionsRaised, (i) => !!sim.nodes[i].slow),
    refutations: sum((e) => e.membership.stats.refutations),
    late_timers: sum((e) => e.membership.stats.lateTimers),
    lag_announcements: sum((e) => e.membership.stats.lagAnnouncements),
    awareness_mean_slow: slowCount ? round2(sum((e) => e.membership.awareness, (i) => !!sim.nodes[i].slow) / slowCount) : 0,
    awareness_mean_healthy: round2(sum((e) => e.membership.awareness, (i) => !sim.nodes[i].slow) / (o.nodes - slowCount)),
    ...l,
    penalties: penalties.count,
    wall_ms: Math.round(o.clock() - started),
  };
}

/** Loss plus slow nodes, nothing crashes: every death is false. Run with and without Lifeguard. */
export async function runFalsePositives(
  o: MembershipScenarioOptions,
  slowFraction = 0.1,
  durationMs = 600_000,
  profile: Partial<SlowProfile> = {},
): Promise<FalsePositiveReport> {
  const withLg = await runFalsePositiveArm(o, true, slowFraction, durationMs, profile);
  const without = await runFalsePositiveArm(o, false, slowFraction, durationMs, profile);
  return {
    experiment: "false_positives",
    nodes: o.nodes,
    degree: o.degree > 0 ? o.degree : activeViewDegree(o.nodes),
    loss: o.loss,
    slow_fraction: slowFraction,
    slow_profile: { ...DEFAULT_SLOW, ...profile },
    duration_ms: durationMs,
    probe_interval_ms: o.probeIntervalMs,
    with_lifeguard: withLg,
    without_lifeguard: without,
    reduction_deaths_healthy: ratio(without.false_deaths_of_healthy, withLg.false_deaths_of_healthy),
    reduction_deaths_all: ratio(without.false_deaths_of_healthy + without.false_deaths_of_slow, withLg.false_deaths_of_healthy + withLg.false_deaths_of_slow),
    reduction_declarations_healthy: withLg.false_declarations_of_healthy > 0
      ? round2(without.false_declarations_of_healthy / withLg.false_declarations_of_healthy)
      : null,
    reduction_healthy: withLg.false_positives_of_healthy > 0 ? round2(without.false_positives_of_healthy / withLg.false_positives_of_healthy) : null,
    reduction_all: withLg.false_positives > 0 ? round2(without.false_positives / withLg.false_positives) : null,
    seed: o.seed,
    crypto: o.cryptoName,
  };
}

/** a / b, or null when b is 0 (no finite ratio). */
function ratio(a: number, b: number): number | null {
  return b > 0 ? round2(a / b) : null;
}

function round4(x: number): number {
  return Math.round(x * 10000) / 10000;
}

// ---------------------------------------------------------------------------- partition

/** Report of the partition experiment. */
export interface MembershipPartitionReport {
  experiment: "partition";
  nodes: number;
  degree: number;
  partition_ms: number;
  /** Members of the other half each node held dead when the partition ended (mean fraction). */
  other_half_dead_at_heal: number;
  /** Every live node holds every other alive again. */
  healed: boolean;
  periods_to_one_view: number | null;
  ms_to_one_view: number | null;
  /** Links across the halves right after healing, and when the views became one. */
  cross_links_at_heal: number;
  cross_links_at_one_view: number;
  messages_per_member_per_period_after_heal: number;
  bytes_per_member_per_period_after_heal: number;
  penalties: number;
  seed: number;
  crypto: string;
  wall_ms: number;
}

/** Splits the mesh 50/50 for `partitionMs`, heals, and waits for one view (seeds re-link the halves). */
export async function runMembershipPartition(o: MembershipScenarioOptions, partitionMs = 60_000, maxMs = 300_000): Promise<MembershipPartitionReport> {
  const started = o.clock();
  const { sim, ids, degree } = await start(o, "all");
  const penalties = penaltyCounter(sim);
  const n = o.nodes;
  const half = (i: number) => (i < n / 2 ? 0 : 1);
  await sim.runTo(sim.now + 10 * o.probeIntervalMs);
  sim.split(half);
  await sim.runTo(sim.now + partitionMs);
  const sizes = [0, 0];
  for (let j = 0; j < n; j++) sizes[half(j)]++;
  let deadFrac = 0;
  for (let i = 0; i < n; i++) {
    let dead = 0;
    for (let j = 0; j < n; j++) if (half(j) !== half(i) && sim.engine(i).membership.stateOf(ids[j]) === "dead") dead++;
    deadFrac += dead / sizes[1 - half(i)];
  }
  sim.heal();
  const crossLinks = () => {
    let c = 0;
    for (let i = 0; i < n; i++) for (const j of sim.peersOf(i)) if (half(i) !== half(j)) c++;
    return c / 2;
  };
  const crossAtHeal = crossLinks();
  const t0 = sim.now;
  const m = meter(sim);
  const oneView = () => {
    for (let i = 0; i < n; i++) {
      const mem = sim.engine(i).membership;
      for (let j = 0; j < n; j++) if (j !== i && mem.stateOf(ids[j]) !== "alive") return false;
    }
    return true;
  };
  let next = 0;
  const healed = await sim.runUntil(() => {
    if (sim.now < next) return false;
    next = sim.now + o.probeIntervalMs;
    return oneView();
  }, t0 + maxMs);
  const l = load(m(), n, Math.max(1, sim.now - t0), o.probeIntervalMs);
  return {
    experiment: "partition",
    nodes: n,
    degree,
    partition_ms: partitionMs,
    other_half_dead_at_heal: round4(deadFrac / n),
    healed,
    periods_to_one_view: healed ? Math.ceil((sim.now - t0) / o.probeIntervalMs) : null,
    ms_to_one_view: healed ? Math.round(sim.now - t0) : null,
    cross_links_at_heal: crossAtHeal,
    cross_links_at_one_view: crossLinks(),
    messages_per_member_per_period_after_heal: l.messages_per_member_per_period,
    bytes_per_member_per_period_after_heal: l.bytes_per_member_per_period,
    penalties: penalties.count,
    seed: o.seed,
    crypto: o.cryptoName,
    wall_ms: Math.round(o.clock() - started),
  };
}

// ---------------------------------------------------------------------------- scale

/** One size of the scale experiment. */
export interface ScaleRow {
  nodes: number;
  degree: number;
  /** Members each node knows (mean): a partial view, not the whole mesh. */
  view_mean: number;
  messages_per_member_per_period: number;
  bytes_per_member_per_period: number;
  probes_per_member_per_period: number;
  wall_ms: number;
}

/** Report of the scale experiment. */
export interface ScaleReport {
  experiment: "scale";
  passive_view: number;
  periods: number;
  rows: ScaleRow[];
  seed: number;
  crypto: string;
}

/**
 * Steady-state membership load at several sizes: each node starts with its links and a sample of
 * `passiveView` other members (HyParView-sized views: no node holds the whole 10,000-node mesh)
 * and runs `periods` protocol periods after a warm-up.
 */
export async function runScale(o: MembershipScenarioOptions, sizes: number[], passiveView = 30, periods = 30): Promise<ScaleReport> {
  const rows: ScaleRow[] = [];
  for (const nodes of sizes) {
    const started = o.clock();
    const { sim, degree } = await start({ ...o, nodes, engine: { membersMax: 4 * passiveView, ...o.engine } }, passiveView);
    await sim.runTo(sim.now + 10 * o.probeIntervalMs);
    const m = meter(sim);
    const probes0 = sim.nodes.reduce((s, _, i) => s + sim.engine(i).membership.stats.probes, 0);
    const t0 = sim.now;
    await sim.runTo(t0 + periods * o.probeIntervalMs);
    const probes = sim.nodes.reduce((s, _, i) => s + sim.engine(i).membership.stats.probes, 0) - probes0;
    const l = load(m(), nodes, sim.now - t0, o.probeIntervalMs);
    rows.push({
      nodes,
      degree,
      view_mean: round2(sim.nodes.reduce((s, _, i) => s + sim.engine(i).membership.known, 0) / nodes),
      ...l,
      probes_per_member_per_period: round2(probes / nodes / periods),
      wall_ms: Math.round(o.clock() - started),
    });
  }
  return { experiment: "scale", passive_view: passiveView, periods, rows, seed: o.seed, crypto: o.cryptoName };
}
