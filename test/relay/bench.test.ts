/**
 * `grapevine bench relay`, small: 200 idle authenticated links, 10 subscribers, one second per
 * throughput run. Checks the report's shape and that every figure is there and positive; the
 * figures themselves are the bench's business, not the test's.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { Histogram } from "../../cli/bench-relay.ts";

describe("grapevine bench relay", () => {
  it("prints one JSON line: links held with memory per link, fan-out against bare ws, latency", async () => {
    const { code, out } = await runCli(["bench", "relay", "--json", "--links", "200", "--client-processes", "2", "--subscribers", "10", "--subscriber-processes", "2", "--seconds", "1", "--rounds", "2", "--latency-rate", "50", "--budget", "90"]);
    expect(code).toBe(0);
    expect(out).toHaveLength(1);
    const r = JSON.parse(out[0]);
    expect(r.bench).toBe("relay");
    expect(r.machine.cpus).toBeGreaterThan(0);

    const c = r.concurrency;
    expect(c).toMatchObject({ target: 200, max_links: 200, stopped: "reached the target", client_processes: 2 });
    expect(c.what).toMatch(/handshake/);
    expect(c.steps.map((s: { links_requested: number }) => s.links_requested)).toEqual([20, 50, 100, 150, 200]);
    for (const s of c.steps) {
      expect(s.links_held).toBe(s.links_requested);
      // The relay's loop delay while the step's new keys connected, measured (1 ms resolution).
      expect(s.loop_delay_p99_ms).toBeGreaterThan(0);
      expect(s.loop_delay_max_ms).toBeGreaterThanOrEqual(s.loop_delay_p99_ms);
    }
    expect(c.rss_bytes_per_link).toBeGreaterThan(0);
    expect(c.handshakes_per_s).toBeGreaterThan(0);

    const f = r.fanout;
    expect(f).toMatchObject({ subscribers: 10, subscriber_processes: 2 });
    expect(f.what).toMatch(/node\.publish/);
    for (const run of [f.relay, f.bare_ws]) {
      expect(run.frames_per_s).toBeGreaterThan(0);
      expect(run.frames_per_s_runs).toHaveLength(2);
      expect(run.messages_per_s).toBeGreaterThan(0);
      expect(run.delivered).toBe(1);
      expect(run.latency_loaded_ms.p50).toBeGreaterThan(0);
    }
    // Same bytes on the wire, give or take the width of the CBOR integers in the relay's frames.
    expect(Math.abs(f.bare_ws.frame_bytes - f.relay.frame_bytes)).toBeLessThanOrEqual(4);
    expect(f.ratio).toBeGreaterThan(0);

    for (const run of [r.latency.relay, r.latency.bare_ws]) {
      expect(run.samples).toBe(r.latency.messages * 10);
      expect(r.latency.rate_per_s).toBeGreaterThan(0);
      expect(run.delivered).toBe(1);
      // A frame through a socket on loopback takes more than 10 µs: the floor bucket (1 µs) here
      // would mean stamps from a clock ahead of the subscriber's (the bench calibrates them).
      expect(run.p50_ms).toBeGreaterThan(0.01);
      expect(run.p99_ms).toBeGreaterThanOrEqual(run.p50_ms);
    }
    expect(r.duration_ms).toBeLessThan(90_000);
  }, 120_000);

  it("refuses bad flags (exit 2)", async () => {
    for (const bad of [["--links", "x"], ["--links", "0"], ["--nope", "1"]]) expect((await runCli(["bench", "relay", ...bad])).code).toBe(2);
  });

  it("histogram quantiles are within 1 % and merge", () => {
    const h = new Histogram();
    for (let i = 1; i <= 1000; i++) h.add(i / 10); // 0.1 … 100 ms
    expect(h.quantile(0.5)! / 50).toBeGreaterThan(0.99);
    expect(h.quantile(0.5)! / 50).toBeLessThan(1.011);
    const g = new Histogram();
    g.merge(h.counts);
    expect(g.total).toBe(1000);
    expect(g.quantile(0.99)).toBe(h.quantile(0.99));
    expect(new Histogram().quantile(0.5)).toBe(null);
  });
});
