/**
 * The false-positive membership experiment: frame loss plus slow (CPU-starved) nodes and no crash
 * at all, so every death is false; one arm with Lifeguard and one without, on the same seed, and
 * how many fewer false deaths Lifeguard gives.
 *
 * @module
 */

import type { ReadonlyMembership } from "../core/membership/membership.ts";
import { DEFAULT_SLOW, type SlowProfile } from "./slow.ts";
import {
  activeViewDegree,
  load,
  meter,
  penaltyCounter,
  round2,
  round4,
  start,
  watchFalse,
  type MembershipScenarioOptions,
} from "./membership-scenarios.ts";

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
  /** Lifeguard's local health score of slow and of healthy members, averaged over members and over the run (sampled once a period). */
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
  const engines = sim.nodes.map((_, i) => sim.membership(i));
  const sum = (f: (e: ReadonlyMembership) => number, which: (i: number) => boolean = () => true) =>
    engines.reduce((s, e, i) => s + (which(i) ? f(e) : 0), 0);
  const slowCount = sim.nodes.filter((n) => n.slow).length;
  // Local health sampled once a protocol period over the run (a score rises and falls within seconds).
  const awareness = { slow: 0, healthy: 0, samples: 0 };
  for (let t = t0 + o.probeIntervalMs; t <= t0 + durationMs; t += o.probeIntervalMs) {
    await sim.runTo(t);
    awareness.slow += sum((e) => e.awareness, (i) => !!sim.nodes[i].slow);
    awareness.healthy += sum((e) => e.awareness, (i) => !sim.nodes[i].slow);
    awareness.samples++;
  }
  await sim.runTo(t0 + durationMs);
  const hours = (o.nodes * durationMs) / 3_600_000;
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
    suspicions_raised: sum((e) => e.stats.suspicionsRaised),
    suspicions_raised_by_slow: sum((e) => e.stats.suspicionsRaised, (i) => !!sim.nodes[i].slow),
    refutations: sum((e) => e.stats.refutations),
    late_timers: sum((e) => e.stats.lateTimers),
    lag_announcements: sum((e) => e.stats.lagAnnouncements),
    awareness_mean_slow: slowCount && awareness.samples ? round4(awareness.slow / awareness.samples / slowCount) : 0,
    awareness_mean_healthy: awareness.samples ? round4(awareness.healthy / awareness.samples / (o.nodes - slowCount)) : 0,
    ...l,
    penalties: penalties.count,
    wall_ms: Math.round(o.clock() - started),
  };
}

/** How many of `times` fall in each quarter of [t0, t0 + ms]. */
function quarters(times: number[], t0: number, ms: number): number[] {
  const q = [0, 0, 0, 0];
  for (const t of times) q[Math.min(3, Math.floor(((t - t0) * 4) / ms))]++;
  return q;
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
