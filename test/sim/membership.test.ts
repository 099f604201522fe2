import { describe, expect, it } from "vitest";
import { runDetection, type MembershipScenarioOptions } from "../../src/sim/membership-scenarios.ts";
import { runFalsePositives } from "../../src/sim/membership-false-positives.ts";
import { runMembershipPartition } from "../../src/sim/membership-partition.ts";
import { runScale } from "../../src/sim/membership-scale.ts";
import { insecureHashSuite } from "../../src/sim/hash-suite.ts";
import { DEFAULT_SLOW, SlowClock } from "../../src/sim/slow.ts";
import { seededRng } from "../../src/core/random.ts";
import { suite } from "../core/harness.ts";

const SEED = Number(process.env.GRAPEVINE_SEED ?? 20261121);

/** Runs a seeded check; on failure the message names the seed and how to replay it. */
async function withSeed<T>(seed: number, f: (seed: number) => Promise<T>): Promise<T> {
  try {
    return await f(seed);
  } catch (e) {
    throw new Error(`failed with seed ${seed} — replay with GRAPEVINE_SEED=${seed} npx vitest run test/sim/membership.test.ts\n${(e as Error).stack}`);
  }
}

function base(seed: number, over: Partial<MembershipScenarioOptions> = {}): MembershipScenarioOptions {
  return {
    nodes: 100, seed, degree: 0, loss: 0, probeIntervalMs: 1000, lifeguard: true,
    suite: insecureHashSuite, cryptoName: "insecure-hash", clock: () => 0, ...over,
  };
}

describe("simulator: membership", () => {
  it("crashed nodes are suspected within a few periods and dead everywhere soon after (real Ed25519)", () =>
    withSeed(SEED, async (seed) => {
      const r = await runDetection(base(seed, { nodes: 60, suite: await suite(), cryptoName: "ed25519" }), 0.05);
      expect(r.crashed).toBe(3);
      expect(r.undetected).toBe(0);
      expect(r.false_positives).toBe(0);
      expect(r.penalties).toBe(0);
      // A crash is probed within about e/(e−1) periods and suspected one period later.
      expect(r.first_suspicion_periods_mean!).toBeLessThan(4);
      // Suspicion lasts 4 · log10(60) ≈ 7.1 periods once confirmed; then the death spreads.
      expect(r.detection_periods_p99!).toBeLessThan(20);
      expect(r.steady.messages_per_member_per_period).toBeLessThan(4);
    }), 120_000);

  it("a slow node's stalls depend on its seed only, not on how many events it handled", () => {
    const busy = new SlowClock(seededRng(7), DEFAULT_SLOW, 0);
    const idle = new SlowClock(seededRng(7), DEFAULT_SLOW, 0);
    let stalledSteps = 0;
    for (let t = 0; t < 600_000; t += 50) {
      for (let k = 0; k < 5; k++) busy.defer(t + k, "io", t); // jitter draws on the busy node only
      expect(busy.stalled(t)).toBe(idle.stalled(t));
      if (idle.stalled(t)) stalledSteps++;
    }
    // About a quarter of the time stalled (mean stall ≈ 3.4 s, mean gap 10 s).
    expect(stalledSteps / 12_000).toBeGreaterThan(0.1);
    expect(stalledSteps / 12_000).toBeLessThan(0.45);
  });

  it("one seed reproduces a run exactly", () =>
    withSeed(SEED, async (seed) => {
      const a = await runDetection(base(seed, { nodes: 40 }), 0.05);
      const b = await runDetection(base(seed, { nodes: 40 }), 0.05);
      expect({ ...a, wall_ms: 0 }).toEqual({ ...b, wall_ms: 0 });
    }), 60_000);

  it("under loss and slow nodes, Lifeguard keeps healthy members from being declared dead", () =>
    withSeed(SEED, async (seed) => {
      const r = await runFalsePositives(base(seed, { nodes: 60, loss: 0.05 }), 0.15, 240_000);
      expect(r.with_lifeguard.penalties + r.without_lifeguard.penalties).toBe(0);
      expect(r.with_lifeguard.false_positives_of_healthy).toBeLessThanOrEqual(r.without_lifeguard.false_positives_of_healthy);
      expect(r.with_lifeguard.false_declarations_of_healthy).toBeLessThanOrEqual(r.without_lifeguard.false_declarations_of_healthy);
      expect(r.with_lifeguard.false_deaths_of_healthy).toBeLessThanOrEqual(r.without_lifeguard.false_deaths_of_healthy);
      for (const a of [r.with_lifeguard, r.without_lifeguard]) {
        // A death is one (member, incarnation); several accusers may sign it, and many nodes see it.
        expect(a.false_deaths_of_healthy).toBeLessThanOrEqual(a.false_declarations_of_healthy);
        expect(a.false_deaths_of_slow).toBeLessThanOrEqual(a.false_declarations_of_slow);
        expect(a.false_declarations_of_healthy_by_slow).toBeLessThanOrEqual(a.false_declarations_of_healthy);
        expect(a.suspicions_raised_by_slow).toBeLessThanOrEqual(a.suspicions_raised);
      }
      expect(r.with_lifeguard.suspicions_raised).toBeLessThan(r.without_lifeguard.suspicions_raised);
      expect(r.with_lifeguard.awareness_mean_slow).toBeGreaterThan(r.with_lifeguard.awareness_mean_healthy);
      expect(r.without_lifeguard.awareness_mean_slow).toBe(0);
      // Slow members state how late they run and are given that much longer: fewer of them die.
      expect(r.with_lifeguard.lag_announcements).toBeGreaterThan(0);
      expect(r.without_lifeguard.lag_announcements).toBe(0);
      expect(r.with_lifeguard.false_deaths_of_slow).toBeLessThan(r.without_lifeguard.false_deaths_of_slow);
    }), 180_000);

  it("a 50/50 partition heals into one view through the seeds", () =>
    withSeed(SEED, async (seed) => {
      const r = await runMembershipPartition(base(seed, { nodes: 60 }), 60_000);
      // Only members with a link across are probed across: a few without one stay "alive" over there.
      expect(r.other_half_dead_at_heal).toBeGreaterThan(0.8);
      expect(r.healed).toBe(true);
      expect(r.periods_to_one_view!).toBeLessThan(60);
      expect(r.cross_links_at_one_view).toBeGreaterThan(0);
      expect(r.penalties).toBe(0);
    }), 120_000);

  it("steady-state load per member does not grow with the mesh; a mesh whose members know each other shuffles by id, for a fraction of the bytes", () =>
    withSeed(SEED, async (seed) => {
      // Tables hold at most 4 × 20 = 80 members: 100 and 400 nodes have partial views (full
      // tables, whole claims in shuffles), 50 nodes know each other (samples by id).
      const r = await runScale(base(seed), [50, 100, 400], 20, 15);
      const [known, small, large] = r.rows;
      expect(known.view_mean).toBeGreaterThan(40); // nearly everyone, learnt from shuffles within the run
      expect(known.bytes_per_member_per_period).toBeLessThan(small.bytes_per_member_per_period / 3);
      expect(known.messages_per_member_per_period).toBeLessThan(small.messages_per_member_per_period * 1.5);
      expect(small.view_mean).toBeLessThan(small.nodes);
      expect(large.view_mean).toBeLessThan(large.nodes / 2); // partial views
      // A link heard from within a pass is not probed, so a quiet mesh sends about one probe a
      // link a pass (half a probe a member a period, not one).
      expect(large.probes_per_member_per_period).toBeGreaterThan(0.3);
      expect(large.probes_per_member_per_period).toBeLessThan(0.75);
      expect(large.messages_per_member_per_period).toBeLessThan(small.messages_per_member_per_period * 1.5);
      expect(large.bytes_per_member_per_period).toBeLessThan(small.bytes_per_member_per_period * 1.5);
    }), 120_000);
});

describe("grapevine sim --scenario membership (command line)", () => {
  it("runs the phases asked for and prints one JSON report", async () => {
    const { runCli } = await import("../helpers/cli.ts");
    const detect = await runCli(["sim", "--scenario", "membership", "--phase", "detect", "--nodes", "40", "--crash", "0.05", "--crypto", "insecure-hash", "--seed", "3", "--json"]);
    expect((await runCli(["sim", "--scenario", "membership", "--phase", "nope"])).code).toBe(2);
    expect((await runCli(["sim", "--scenario", "membership", "--phase", "fp", "--fp-arm", "maybe"])).code).toBe(2);
    const fp = await runCli(["sim", "--scenario", "membership", "--phase", "fp", "--fp-arm", "without", "--nodes", "20", "--duration-ms", "5000", "--crypto", "insecure-hash", "--seed", "3", "--json"]);
    expect(detect.code).toBe(0);
    expect(fp.code).toBe(0);
    expect(detect.out[0]).toMatch(/^seed: 3 /);
    const report = JSON.parse(detect.out.filter((l) => l.startsWith("{"))[0]);
    expect(report).toMatchObject({ scenario: "membership", nodes: 40, seed: 3, crypto: "insecure-hash" });
    expect(report.detection).toMatchObject({ experiment: "detection", crashed: 2, undetected: 0 });
    expect(report.false_positives).toBeUndefined();
    const arm = JSON.parse(fp.out.filter((l) => l.startsWith("{")).at(-1)!);
    expect(arm.false_positives).toBeUndefined();
    expect(arm.false_positives_arm).toMatchObject({ experiment: "false_positives", lifeguard: false, duration_ms: 5000, slow_fraction: 0.1 });
  }, 60_000);
});
