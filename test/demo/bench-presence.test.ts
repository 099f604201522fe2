import { describe, expect, it } from "vitest";
import { runPresenceBench } from "../../cli/bench-presence.ts";

describe("bench presence (small)", () => {
  it("runs tabs on two peered relays and reports each figure; with rounds ten minutes apart every update still reaches every tab", async () => {
    // Rounds this far apart cannot carry an update within the bench's 15 s waits: only the
    // at-once path (a tab's own change, its relay's push to its clients and peer relays) can.
    const r = await runPresenceBench({ tabs: 4, relays: 2, updates: 2, full: false, intervalMs: 600_000, waitMaxMs: 15_000 });
    expect(r).toMatchObject({ bench: "presence", tabs: 4, relays: 2, updates: 2, full: false, interval_ms: 600_000 });
    expect(r.update_to_all_ms.p50).toBeGreaterThan(0);
    expect(r.update_to_all_ms.max).toBeGreaterThanOrEqual(r.update_to_all_ms.p50);
    expect(r.update_to_half_ms.p50).toBeLessThanOrEqual(r.update_to_all_ms.max);
    expect(r.update_to_all_ms.max).toBeLessThan(15_000);
    expect(r.relay_frames_per_update).toBeGreaterThan(0);
    expect(r.relay_bytes_per_update).toBeGreaterThan(0);
    expect(r.writers).toBe(1);
    expect(r.relay_engine_ms_per_step.p50).toBeGreaterThan(0);
    // The heap after a full GC, twice: a process holding relays and tabs holds megabytes.
    expect(r.heap_after_join_mb).toBeGreaterThan(1);
    expect(r.heap_after_updates_mb).toBeGreaterThan(1);
    expect(Number.isInteger(r.heap_growth_bytes_per_update)).toBe(true);
    expect(r).toMatchObject({ churn: 0, heap_after_churn_mb: null, heap_growth_bytes_per_departure: null, relay_departed_held: null });
  }, 60_000);

  it("with churn: tabs leave, every other with its farewell, and new ones take their place; the relay holds the farewells, and nothing of the rest", async () => {
    const r = await runPresenceBench({ tabs: 4, relays: 1, updates: 1, full: false, intervalMs: 600_000, waitMaxMs: 15_000, churn: 4 });
    expect(r.churn).toBe(4);
    expect(r.heap_after_churn_mb).toBeGreaterThan(1);
    expect(Number.isInteger(r.heap_growth_bytes_per_departure)).toBe(true);
    // Two left with a farewell: their room origins are kept (for leftOriginTtlMs) to pass it on; the
    // two that vanished are not farewells, and lite tabs are no members.
    expect(r.relay_departed_held).toEqual({ origins: 2, members: 0 });
    await expect(runPresenceBench({ tabs: 3, relays: 1, updates: 1, full: false, intervalMs: 1000, churn: -1 })).rejects.toThrow(RangeError);
  }, 60_000);

  it("with several writers a step: every tab sees every other writer's update of each step, each tab's own not counted", async () => {
    const r = await runPresenceBench({ tabs: 5, relays: 1, updates: 2, writers: 3, full: false, intervalMs: 600_000, waitMaxMs: 15_000 });
    expect(r).toMatchObject({ tabs: 5, updates: 2, writers: 3 });
    expect(r.update_to_all_ms.max).toBeLessThan(15_000);
    expect(r.relay_engine_ms_per_step.max).toBeGreaterThanOrEqual(r.relay_engine_ms_per_step.p50);
    await expect(runPresenceBench({ tabs: 3, relays: 1, updates: 1, writers: 4, full: false, intervalMs: 1000 })).rejects.toThrow(RangeError);
  }, 60_000);
});
