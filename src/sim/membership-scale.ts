/**
 * The membership scale experiment: steady-state membership load per member per protocol period
 * as the mesh grows, with HyParView-sized partial views.
 *
 * @module
 */

import { load, meter, round2, start, type MembershipScenarioOptions } from "./membership-scenarios.ts";

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
    const probesNow = () => sim.nodes.reduce((n, _, i) => n + sim.membership(i).stats.probes, 0);
    const probes0 = probesNow();
    const t0 = sim.now;
    await sim.runTo(t0 + periods * o.probeIntervalMs);
    const probes = probesNow() - probes0;
    const l = load(m(), nodes, sim.now - t0, o.probeIntervalMs);
    rows.push({
      nodes,
      degree,
      view_mean: round2(sim.nodes.reduce((s, _, i) => s + sim.membership(i).known, 0) / nodes),
      ...l,
      probes_per_member_per_period: round2(probes / nodes / periods),
      wall_ms: Math.round(o.clock() - started),
    });
  }
  return { experiment: "scale", passive_view: passiveView, periods, rows, seed: o.seed, crypto: o.cryptoName };
}
