/**
 * Membership experiments on the simulator, with real engines (SWIM + Lifeguard over the engines'
 * links), each returning a plain JSON-able report:
 *
 * - `detection`: crash a fraction of the nodes; how long until the first node suspects each one,
 *   and until every live node holds it dead (protocol periods and ms, p50/p99);
 * - `falsePositives`: frame loss plus slow (CPU-starved) nodes and no crash at all, so every
 *   death is a false positive; run once with Lifeguard and once without, on the same seed
 *   (`membership-false-positives.ts`);
 * - `partition`: split in halves, wait, heal; do the views become one again, and how fast
 *   (`membership-partition.ts`);
 * - `scale`: steady-state membership load per member per period as the mesh grows
 *   (`membership-scale.ts`).
 *
 * This module holds what they share (the knobs, the warm start, the meters) and `detection`.
 *
 * Every run starts warm: each node signs its alive claim, and the claims are handed to the nodes
 * (every node's, or a HyParView-sized sample for `scale`) through `Membership.introduce`, which
 * verifies them like any other. The overlay is the active view the design asks for: about
 * log10 N + 1 links per node, kept up by the engines themselves (the simulator makes and drops
 * links on request). Load counts membership frames only (types 8–15).
 *
 * @module
 */

import { digestTreePart } from "../core/digest-tree.ts";
import { membershipPart } from "../core/membership/part.ts";
import type { EngineParts } from "../core/parts.ts";
import type { EngineOptions } from "../core/options.ts";
import { deriveSeed, seededRng } from "../core/random.ts";
import type { KeyPair, SignatureSuite } from "../crypto/types.ts";
import { toHex } from "../bytes.ts";
import type { ClaimWire } from "../wire/member-frames.ts";
import { simKeyPair } from "./scenarios.ts";
import { Simulation, type SimProgress } from "./sim.ts";
import type { SlowProfile } from "./slow.ts";


/** Membership scenarios run membership over state sync (nobody publishes, so no broadcast). */
const MEMBERSHIP_ONLY: EngineParts = Object.freeze({ membership: membershipPart, digest: digestTreePart });
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
  /** Told how far a large run has got (see `SimProgress`). */
  progress?: (p: SimProgress) => void;
  /** Node i's key pair; default `simKeyPair(seed, i)` (see `ScenarioOptions.keyPair`). */
  keyPair?: (i: number) => KeyPair;
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
    parts: MEMBERSHIP_ONLY,
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
    keyPair: o.keyPair ?? ((i) => simKeyPair(o.seed, i)),
    cryptoDelayMs: 0,
    progress: o.progress,
  });
  const ids = sim.nodes.map((n) => toHex(n.publicKey));
  await sim.runUntil(() => sim.nodes.every((_, i) => sim.membership(i).selfClaim !== null), 1000);
  const claims = sim.nodes.map((_, i) => sim.membership(i).selfClaim!) as ClaimWire[];
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
    sim.engine(i).join(sim.now, seeds.map((k) => sim.nodes[k].publicKey));
  }
  if (slow.fraction > 0) {
    const order = shuffled(o.nodes, deriveSeed(o.seed, 93));
    for (const i of order.slice(0, Math.round(slow.fraction * o.nodes))) sim.setSlow(i, slow.profile);
  }
  return { sim, ids, degree };
}

/** The integers 0..n−1 in a seeded random order. */
export function shuffled(n: number, seed: number): number[] {
  const rng = seededRng(seed);
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextU32() % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Membership frames and bytes sent from now on. */
export function meter(sim: Simulation): () => { frames: number; bytes: number } {
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
export function load(m: { frames: number; bytes: number }, members: number, ms: number, periodMs: number) {
  const periods = ms / periodMs;
  return { messages_per_member_per_period: round2(m.frames / members / periods), bytes_per_member_per_period: Math.round(m.bytes / members / periods) };
}

/**
 * Counts deaths and suspicions of members that are in fact up (`up(j)`): per observer event (one
 * node marking one member), and per declaration (one signed dead claim, however many accept it).
 */
export function watchFalse(sim: Simulation, index: Map<string, number>, up: (j: number) => boolean) {
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

/** Counts penalty events from here on. */
export function penaltyCounter(sim: Simulation): { count: number } {
  const c = { count: 0 };
  sim.observe((_i, ev) => void (ev.type === "penalty" && c.count++));
  return c;
}

/** The `q` quantile of `a` (null when empty). */
export function pct(a: number[], q: number): number | null {
  if (!a.length) return null;
  const s = a.slice().sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/** Rounds to 2 decimals, as the reports print. */
export function round2(x: number): number {
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
    for (let i = 0; i < o.nodes; i++) if (sim.alive(i) && sim.membership(i).stateOf(ids[v]) !== "dead") return false;
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

/** Rounds to 4 decimals, as the reports print. */
export function round4(x: number): number {
  return Math.round(x * 10000) / 10000;
}
