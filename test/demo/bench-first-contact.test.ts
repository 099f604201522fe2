// `grapevine bench first-contact`, small: the measured node runs on a worker thread, which loads
// the built CLI (dist/), so this runs the command as a user does, from bin/.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { FirstContactReport } from "../../cli/bench-first-contact.ts";
import { seededGraph } from "../../cli/bench-mesh.ts";
import { deriveSeed, seededRng } from "../../src/core/random.ts";

const BIN = fileURLToPath(new URL("../../bin/grapevine.js", import.meta.url));

function bench(args: string[]): Promise<FirstContactReport> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, "bench", "first-contact", ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split("\n").at(-1)!));
    });
  });
}

describe("bench first-contact (small)", () => {
  it("star: every other node dials the measured node, which ends up holding every node's state", async () => {
    const r = await bench(["--nodes", "8", "--shape", "star", "--seed", "3"]);
    expect(r).toMatchObject({ bench: "first-contact", nodes: 8, shape: "star", seed: 3, measured_kind: "node", links: 7 });
    expect(r.measured.links).toBe(7);
    expect(r.measured.held_ms).toBeGreaterThan(0);
    expect(r.measured.samples).toBeGreaterThan(0);
    expect(r.measured.busy_ms).toBeGreaterThan(0);
    expect(r.measured.busy_ms).toBeLessThanOrEqual(r.measured.held_ms + 50);
    expect(r.measured.loop_delay_p99_ms).toBeGreaterThanOrEqual(r.measured.loop_delay_p50_ms);
    expect(r.measured.loop_delay_max_ms).toBeGreaterThanOrEqual(r.measured.loop_delay_p99_ms);
    expect(r.others_thread.nodes).toBe(7);
    expect(r.all_held_ms).toBeGreaterThanOrEqual(r.measured.held_ms);
  }, 150_000);

  it("star with --relay: the measured node is the Node relay (serveRelay), which ends up holding every node's state", async () => {
    const r = await bench(["--nodes", "8", "--shape", "star", "--seed", "3", "--relay"]);
    expect(r).toMatchObject({ bench: "first-contact", nodes: 8, shape: "star", seed: 3, measured_kind: "relay", links: 7 });
    expect(r.measured.links).toBe(7);
    expect(r.measured.held_ms).toBeGreaterThan(0);
    expect(r.measured.busy_ms).toBeGreaterThan(0);
    expect(r.all_held_ms).toBeGreaterThanOrEqual(r.measured.held_ms);
  }, 150_000);

  it("mesh: bench mesh's seeded graph, the measured node linked as node 0 of it", async () => {
    const r = await bench(["--nodes", "10", "--seed", "2"]);
    const edges = [...seededGraph(seededRng(deriveSeed(2, 1)), 10)];
    expect(r).toMatchObject({ shape: "mesh", nodes: 10, links: edges.length });
    expect(r.measured.links).toBe(edges.filter((e) => e.split("-").includes("0")).length);
  }, 150_000);

  it("refuses an unknown shape (a usage error)", async () => {
    await expect(bench(["--shape", "ring"])).rejects.toThrow("--shape: unknown ring (one of mesh, star)");
  });
});
