import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { main } from "../../cli/grapevine.ts";

async function capture(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")));
  const error = vi.spyOn(console, "error").mockImplementation((...a) => void err.push(a.join(" ")));
  try {
    return { code: await main(argv), out, err };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe("grapevine sim (command line)", () => {
  it("prints the seed first and one JSON report last, with every promised field, and writes an SVG", async () => {
    const svg = join(mkdtempSync(join(tmpdir(), "gv-")), "plot.svg");
    const { code, out } = await capture(["sim", "--nodes", "64", "--fanout", "3", "--mode", "pushpull", "--loss", "0.05", "--seed", "9", "--json", "--svg", svg]);
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^seed: 9 /);
    const report = JSON.parse(out[out.length - 1]);
    for (const k of ["nodes", "fanout", "mode", "loss", "seed", "rounds_to_50", "rounds_to_99", "rounds_to_all", "delivered_fraction", "messages_per_node", "bytes_per_node", "wall_ms", "crypto"]) {
      expect(report).toHaveProperty(k);
    }
    expect(report).toMatchObject({ nodes: 64, fanout: 3, mode: "pushpull", loss: 0.05, seed: 9, delivered_fraction: 1, crypto: "ed25519-webcrypto (every node verifies)" });
    const text = readFileSync(svg, "utf8");
    expect(text).toMatch(/^<svg /);
    expect(text).toContain("<polyline");
  });

  it("the partition scenario reports converged and lost_writes", async () => {
    const { code, out } = await capture(["sim", "--scenario", "partition", "--nodes", "30", "--partition-ms", "10000", "--seed", "4", "--json"]);
    expect(code).toBe(0);
    expect(JSON.parse(out[out.length - 1])).toMatchObject({ scenario: "partition", converged: true, lost_writes: 0 });
  });

  it("bad flags exit 2 with a clear message", async () => {
    const { code, err } = await capture(["sim", "--mode", "gossipy"]);
    expect(code).toBe(2);
    expect(err.join("\n")).toMatch(/--mode: unknown gossipy/);
    expect((await capture(["sim", "--nodes"])).code).toBe(2);
    expect((await capture(["frobnicate"])).code).toBe(2);
  });
});
