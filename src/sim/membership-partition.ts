/**
 * The membership partition experiment: split the mesh in halves, wait, heal; do the views become
 * one again, and how fast.
 *
 * @module
 */

import { load, meter, penaltyCounter, round4, start, type MembershipScenarioOptions } from "./membership-scenarios.ts";

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
    for (let j = 0; j < n; j++) if (half(j) !== half(i) && sim.membership(i).stateOf(ids[j]) === "dead") dead++;
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
      const mem = sim.membership(i);
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
