import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";

describe("grapevine sim (command line)", () => {
  it("prints the seed first and one JSON report last, with every promised field, and writes an SVG", async () => {
    const svg = join(mkdtempSync(join(tmpdir(), "gv-")), "plot.svg");
    const { code, out } = await runCli(["sim", "--nodes", "64", "--fanout", "3", "--mode", "pushpull", "--loss", "0.05", "--seed", "9", "--json", "--svg", svg]);
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^seed: 9 /);
    const report = JSON.parse(out[out.length - 1]);
    for (const k of ["nodes", "fanout", "mode", "loss", "seed", "rounds_to_50", "rounds_to_99", "rounds_to_all", "delivered_fraction", "messages_per_node", "bytes_per_node", "wall_ms", "crypto"]) {
      expect(report).toHaveProperty(k);
    }
    expect(report).toMatchObject({ nodes: 64, fanout: 3, mode: "pushpull", loss: 0.05, seed: 9, delivered_fraction: 1, crypto: "ed25519-webcrypto (every node verifies)" });
    expect(report.peak_rss_mb).toBeGreaterThan(0);
    const text = readFileSync(svg, "utf8");
    expect(text).toMatch(/^<svg /);
    expect(text).toContain("<polyline");
  });

  it("names the crypto mode; per-node and memoized checks give the same figures", async () => {
    const run = async (crypto: string) => {
      const { code, out } = await runCli(["sim", "--nodes", "50", "--seed", "11", "--crypto", crypto, "--json"]);
      expect(code).toBe(0);
      return JSON.parse(out[out.length - 1]);
    };
    const each = await run("ed25519");
    const memo = await run("ed25519-memoized");
    expect(each.crypto).toBe("ed25519-webcrypto (every node verifies)");
    expect(each.crypto_checks).toBeUndefined();
    expect(memo.crypto).toBe("ed25519-memoized");
    // Memoized: every node's check is counted, and far fewer were run.
    expect(memo.crypto_verified).toBeGreaterThan(0);
    expect(memo.crypto_verified).toBeLessThan(memo.crypto_checks / 4);
    for (const r of [each, memo]) for (const k of ["wall_ms", "keys_ms", "crypto", "crypto_checks", "crypto_verified", "peak_rss_mb"]) delete r[k];
    expect(memo).toEqual(each);
    expect((await runCli(["sim", "--crypto", "rot13"])).code).toBe(2);
  });

  it("--profile-memory reports bytes per node by structure", async () => {
    const { code, out } = await runCli(["sim", "--nodes", "300", "--seed", "2", "--profile-memory", "--json"]);
    expect(code).toBe(0);
    const m = JSON.parse(out[out.length - 1]).memory;
    expect(m).toMatchObject({ nodes: 300 });
    expect(Object.keys(m.by_structure)).toEqual(["queues", "broadcast", "membership", "links", "store", "engine", "keys", "other"]);
    // Every node holds links, replicated state and an engine: each of those is thousands of bytes.
    for (const k of ["links", "store", "engine"]) expect(m.by_structure[k], k).toBeGreaterThan(500);
    // The spread measures state sync: its nodes run no broadcast, and hold none.
    expect(Math.abs(m.by_structure.broadcast)).toBeLessThan(500);
    expect(m.bytes_per_node).toBeGreaterThan(m.by_structure.links + m.by_structure.store);
    expect(m.links_per_node).toBeGreaterThan(10);
    const b = await runCli(["sim", "--scenario", "broadcast", "--nodes", "300", "--messages", "5", "--seed", "2", "--profile-memory", "--json"]);
    expect(b.code).toBe(0);
    expect(JSON.parse(b.out[b.out.length - 1]).memory.by_structure.broadcast).toBeGreaterThan(500);
  }, 60_000);

  it("a run that cannot fit the heap stops at once with one line saying what fits", async () => {
    const { code, err, out } = await runCli(["sim", "--nodes", "50000000", "--seed", "1", "--json"]);
    expect(code).toBe(2);
    expect(out).toEqual([]); // nothing was built, not even the seed line
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^grapevine sim: 50,000,000 nodes \(spread\) need about [\d.]+ GiB of heap and this Node allows [\d.]+ GiB; about [\d,]+ fit: use --nodes \d+, or NODE_OPTIONS=--max-old-space-size=\d+/);
  });

  it("the partition scenario reports converged and lost_writes", async () => {
    const { code, out } = await runCli(["sim", "--scenario", "partition", "--nodes", "30", "--partition-ms", "10000", "--seed", "4", "--json"]);
    expect(code).toBe(0);
    expect(JSON.parse(out[out.length - 1])).toMatchObject({ scenario: "partition", converged: true, lost_writes: 0 });
  });

  it("bad flags exit 2 with a clear message", async () => {
    const { code, err } = await runCli(["sim", "--mode", "gossipy"]);
    expect(code).toBe(2);
    expect(err.join("\n")).toMatch(/--mode: unknown gossipy/);
    expect((await runCli(["sim", "--nodes"])).code).toBe(2);
    expect((await runCli(["frobnicate"])).code).toBe(2);
  });
});
