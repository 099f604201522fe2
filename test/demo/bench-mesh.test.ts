import { describe, expect, it } from "vitest";
import { runMeshBench } from "../../cli/bench-mesh.ts";

describe("bench mesh (small)", () => {
  it("links a seeded mesh over loopback, delivers every message and reports each figure", async () => {
    const r = await runMeshBench({ nodes: 8, messages: 10, ratePerSecond: 50, payloadBytes: 100, seed: 3, close: 0, closeAfterTree: 0, idleMs: 2500, settleMs: 1000, intervalMs: 200, probeIntervalMs: 4000 });
    expect(r).toMatchObject({ bench: "broadcast-mesh", nodes: 8, messages: 10, seed: 3, delivered_fraction: 1 });
    expect(r.connect_ms).toBeLessThan(120_000); // linked: every node holds every other's state
    // Each message reached the 7 other nodes at least once; copies beyond one are the tree's redundancy.
    expect(r.copies_per_delivery).toBeGreaterThanOrEqual(1);
    expect(r.wire_bytes_per_delivery).toBeGreaterThan(100);
    expect(r.raw_verify_us).toBeGreaterThan(0);
    expect(r.key_check_us).toBeGreaterThan(0);
    expect(r.delivery_frames).toBeGreaterThan(0);
    expect(r.delivery_floor_us).toBeGreaterThan(r.raw_verify_us);
    expect(r.cpu_per_delivery_over_floor).toBeCloseTo(r.cpu_us_per_delivery / r.delivery_floor_us, 1);
    expect(r.key_check_over_raw_verify).toBeCloseTo(r.key_check_us / r.raw_verify_us, 1);
    // CPU above the idle upkeep is part of all the CPU while publishing.
    expect(r.cpu_us_per_delivery_above_idle).toBeGreaterThanOrEqual(0);
    expect(r.cpu_us_per_delivery_above_idle).toBeLessThanOrEqual(r.cpu_us_per_delivery);
    expect(r.cpu_per_delivery_above_idle_over_raw_verify).toBeCloseTo(r.cpu_us_per_delivery_above_idle / r.raw_verify_us, 1);
    expect(r.latency_ms.to_all.p50).not.toBeNull();
    // Idle traffic flows (probes, rounds) and its bare-socket floor was measured in the same run.
    expect(r.idle_frames_per_s).toBeGreaterThan(0);
    // Every node took the protocol period asked for: at most one probe each a period (4 s), so at
    // most 8 / 4 a second in all (a node with more links than it wants probes more: none here). At
    // the default 1 s this mesh starts 3.6–4 a second.
    expect(r.probe_interval_ms).toBe(4000);
    expect(r.idle_probes_per_s).toBeLessThanOrEqual(8 / 4);
    expect(r.idle_floor_cpu_ms_per_s).toBeGreaterThan(0);
    expect(r.idle_cpu_over_floor).toBeGreaterThan(0);
    // The 2.5 s idle window in slices of 1, 1 and 0.5 s; their least and median.
    const slices = r.idle_cpu_ms_per_s_slices;
    expect(slices).toHaveLength(3);
    for (const x of slices) expect(x).toBeGreaterThan(0);
    expect(r.idle_cpu_ms_per_s_min).toBe(Math.min(...slices));
    expect(r.idle_cpu_ms_per_s_median).toBe([...slices].sort((a, b) => a - b)[1]);
  }, 120_000);
});
