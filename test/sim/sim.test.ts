import { describe, expect, it } from "vitest";
import { converged, lostWrites, runPartition, runReconcile, runSpread, Simulation, simKeyPair, type ScenarioOptions } from "../../src/sim/mod.ts";
import { suite } from "../core/harness.ts";

const SEED = Number(process.env.GRAPEVINE_SEED ?? 20261121);

/** Runs a seeded check; on failure the message names the seed and how to replay it. */
async function withSeed<T>(seed: number, f: (seed: number) => Promise<T>): Promise<T> {
  try {
    return await f(seed);
  } catch (e) {
    throw new Error(`failed with seed ${seed} — replay with GRAPEVINE_SEED=${seed} npx vitest run test/sim\n${(e as Error).stack}`);
  }
}

async function base(seed: number, over: Partial<ScenarioOptions> = {}): Promise<ScenarioOptions> {
  return {
    nodes: 60, fanout: 3, mode: "pushpull", loss: 0, seed, degree: 0, intervalMs: 1000,
    suite: await suite(), cryptoName: "ed25519", clock: () => 0, ...over,
  };
}

describe("simulator", () => {
  it("one seed reproduces a run exactly (real Ed25519)", () =>
    withSeed(SEED, async (seed) => {
      const a = await runSpread(await base(seed, { nodes: 80, loss: 0.05 }));
      const b = await runSpread(await base(seed, { nodes: 80, loss: 0.05 }));
      expect(a).toEqual(b);
      expect(a.delivered_fraction).toBe(1);
      const c = await runSpread(await base(seed + 1, { nodes: 80, loss: 0.05 }));
      expect(c.messages_per_node === a.messages_per_node && c.bytes_per_node === a.bytes_per_node).toBe(false);
    }));

  for (const mode of ["push", "pull", "pushpull"] as const) {
    it(`${mode}: everyone is informed, rounds grow like log N`, () =>
      withSeed(SEED, async (seed) => {
        const r = await runSpread(await base(seed, { mode, nodes: 200 }));
        expect(r.delivered_fraction).toBe(1);
        expect(r.penalties).toBe(0);
        expect(r.rounds_to_all).not.toBeNull();
        expect(r.rounds_to_50!).toBeLessThanOrEqual(r.rounds_to_99!);
        expect(r.rounds_to_all!).toBeLessThanOrEqual(mode === "push" ? 20 : 8);
      }));
  }

  it("10 % loss still converges", () =>
    withSeed(SEED, async (seed) => {
      const r = await runSpread(await base(seed, { nodes: 200, loss: 0.1 }));
      expect(r.delivered_fraction).toBe(1);
      expect(r.penalties).toBe(0);
    }));

  it("partition: both halves write, heal, converge with no lost write", () =>
    withSeed(SEED, async (seed) => {
      const r = await runPartition(await base(seed, { nodes: 40 }), 20_000);
      expect(r.converged).toBe(true);
      expect(r.lost_writes).toBe(0);
      expect(r.penalties).toBe(0);
      expect(r.writes_during_partition).toBeGreaterThan(0);
    }));

  it("crash and restart: the restarted node's old state is replaced, others converge", () =>
    withSeed(SEED, async (seed) => {
      const s = await suite();
      const sim = new Simulation({
        nodes: 30, seed, degree: 8, engine: { intervalMs: 1000 }, network: { duplicate: 0.2, latencyMaxMs: 400 },
        suite: s, cryptoName: "ed25519", keyPair: (i) => simKeyPair(seed, i), cryptoDelayMs: 1,
      });
      const enc = new TextEncoder();
      let penalties = 0;
      sim.observe((_i, ev) => void (ev.type === "penalty" && penalties++));
      for (let i = 0; i < 30; i++) sim.write(i, "v", enc.encode(`a${i}`));
      expect(await sim.runUntil(() => converged(sim), 30_000)).toBe(true);
      sim.crash(5);
      sim.crash(6);
      sim.write(7, "v", enc.encode("after-crash"));
      await sim.runTo(sim.now + 10_000);
      sim.restart(5);
      sim.write(5, "fresh", enc.encode("gen2"));
      expect(await sim.runUntil(() => converged(sim), sim.now + 60_000)).toBe(true);
      expect(lostWrites(sim)).toBe(0);
      expect(penalties).toBe(0); // duplicates, reordering and restarts are honest
      const id5 = sim.engine(5).store.selfId;
      for (let i = 0; i < 30; i++) {
        if (!sim.alive(i) || i === 5) continue;
        expect(sim.engine(i).store.get(id5, "v")).toBeUndefined(); // generation 1's key is gone
        expect(new TextDecoder().decode(sim.engine(i).store.get(id5, "fresh") as Uint8Array)).toBe("gen2");
      }
    }));

  it("reconcile: the Merkle digest finds few differences among many origins in far fewer bytes", () =>
    withSeed(SEED, async (seed) => {
      const r = await runReconcile({ ...(await base(seed)), origins: 2000, differences: 5 });
      expect(r.reconciled).toBe(true);
      expect(r.merkle_bytes).toBeLessThan(r.flat_bytes / 4);
    }), 60_000);
});
