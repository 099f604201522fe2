/**
 * The pieces that let the simulator run large: the compact overlay (the same links as the plain
 * construction it replaced), the typed-array event queue (the same order as a sort), the heap plan
 * of the command line, and its progress line.
 */
import { describe, expect, it } from "vitest";
import { randomBelow, seededRng, type Rng } from "../../src/core/random.ts";
import { neighbours, randomOverlay } from "../../src/sim/network.ts";
import { EventQueue } from "../../src/sim/queue.ts";
import { defaultDegree } from "../../src/sim/scenarios.ts";
import { heapDecision, heapNeedBytes, SEMI_SPACE_MB, simProgressText, type HeapPlan } from "../../cli/sim-scale.ts";
import { deriveSimKeys, nativePublicKey, simKeyDeriver } from "../../cli/sim-keys.ts";
import { simKeyPair, simKeySeed } from "../../src/sim/scenarios.ts";

const SEED = Number(process.env.GRAPEVINE_SEED ?? 20261121);

/** The overlay as it was first written: adjacency lists and a set per node. */
function plainOverlay(rng: Rng, n: number, degree: number): { adj: number[][]; rev: number[][] } {
  const adj: number[][] = Array.from({ length: n }, () => []);
  const seen: Set<number>[] = Array.from({ length: n }, () => new Set());
  const connect = (a: number, b: number) => {
    if (a === b || seen[a].has(b)) return;
    seen[a].add(b);
    seen[b].add(a);
    adj[a].push(b);
    adj[b].push(a);
  };
  if (degree >= n - 1) {
    for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) connect(a, b);
  } else {
    const out = Math.ceil(degree / 2);
    for (let a = 0; a < n; a++) {
      let tries = 0;
      let made = 0;
      while (made < out && tries++ < out * 20) {
        const b = randomBelow(rng, n);
        if (b !== a && !seen[a].has(b)) {
          connect(a, b);
          made++;
        }
      }
    }
  }
  return { adj, rev: adj.map((peers, a) => peers.map((b) => adj[b].indexOf(a))) };
}

describe("simulator at scale", () => {
  it(`the compact overlay has the same links, in the same order, as the plain one (seed ${SEED})`, () => {
    for (const [n, degree] of [[2, 1], [3, 2], [12, 11], [33, 12], [40, 3], [500, 21], [3000, 26]]) {
      const plain = plainOverlay(seededRng(SEED + n), n, degree);
      const o = randomOverlay(seededRng(SEED + n), n, degree);
      for (let i = 0; i < n; i++) {
        expect(neighbours(o, i), `n ${n}, node ${i}`).toEqual(plain.adj[i]);
        expect(Array.from(o.rev.subarray(o.offsets[i], o.offsets[i + 1]))).toEqual(plain.rev[i]);
      }
    }
  });

  it(`the event queue pops in (time, push order), whatever the interleaving (seed ${SEED})`, () => {
    const rng = seededRng(SEED);
    const q = new EventQueue(4); // grows several times
    const pushed: { time: number; seq: number }[] = [];
    const popped: { time: number; seq: number }[] = [];
    let seq = 0;
    for (let step = 0; step < 20_000; step++) {
      if (q.size === 0 || randomBelow(rng, 3) > 0) {
        // Few distinct times, so ties are common.
        const time = randomBelow(rng, 50) + (popped.at(-1)?.time ?? 0);
        q.push(time, seq, 1, randomBelow(rng, 100), seq, 0, { seq });
        pushed.push({ time, seq });
        seq++;
      } else {
        const e = q.pop()!;
        popped.push({ time: e.time, seq: (e.ref as { seq: number }).seq });
        expect(e.arg).toBe((e.ref as { seq: number }).seq);
      }
    }
    for (let e; (e = q.pop()); ) popped.push({ time: e.time, seq: (e.ref as { seq: number }).seq });
    expect(popped).toHaveLength(pushed.length);
    // Within what was in the queue together, order is by time, then by push order.
    for (let k = 1; k < popped.length; k++) {
      const [a, b] = [popped[k - 1], popped[k]];
      if (b.seq > a.seq) expect(b.time >= a.time).toBe(true);
      else expect(b.time > a.time).toBe(true);
    }
  });

  it(`the event queue keeps its order as it grows past a burst and shrinks back (seed ${SEED})`, () => {
    const rng = seededRng(SEED);
    const q = new EventQueue(1024);
    const n = 300_000;
    for (let k = 0; k < n; k++) q.push(randomBelow(rng, 1000), k, 1, 0, k, 0, k);
    let last = { time: -1, seq: -1 };
    let outOfOrder = 0;
    for (let k = 0; k < n; k++) {
      const e = q.pop()!;
      if (!(e.time > last.time || (e.time === last.time && e.arg > last.seq)) || e.ref !== e.arg) outOfOrder++;
      last = { time: e.time, seq: e.arg };
      // Interleaved pushes while it shrinks, all later than anything popped.
      if (k % 1000 === 0) q.push(2000 + k, n + k, 1, 0, n + k, 0, n + k);
    }
    expect(outOfOrder).toBe(0);
    expect(q.capacityBytes).toBeLessThan(300_000 * 37 / 4);
    const rest: number[] = [];
    for (let e; (e = q.pop()); ) rest.push(e.arg);
    expect(rest).toEqual(Array.from({ length: 300 }, (_, i) => n + i * 1000));
  });

  it(`the key workers' native derivation gives every node the key simKeyPair gives it (seed ${SEED})`, () => {
    for (const seed of [SEED, 1, 42]) {
      const derive = simKeyDeriver(seed, 0);
      for (let i = 0; i < 40; i++) {
        const expected = simKeyPair(seed, i).publicKey;
        expect(nativePublicKey(simKeySeed(seed, i)), `seed ${seed} node ${i}`).toEqual(expected);
        expect(derive(simKeySeed(seed, i)), `seed ${seed} node ${i}`).toEqual(expected);
      }
    }
    expect(nativePublicKey(new Uint8Array(31))).toBeUndefined(); // not an Ed25519 seed
  });

  it(`where the native derivation is missing or gives other keys, the deriver gives simKeyPair's (seed ${SEED})`, () => {
    const wrong = (s: Uint8Array) => s.slice(); // a "public key" that is not one
    let calls = 0;
    const counted = (s: Uint8Array) => (calls++, wrong(s));
    for (const native of [() => undefined, counted]) {
      const derive = simKeyDeriver(SEED, 3, native);
      for (let i = 0; i < 10; i++) expect(derive(simKeySeed(SEED, i)), `node ${i}`).toEqual(simKeyPair(SEED, i).publicKey);
    }
    expect(calls).toBe(1); // checked once against node 3, then never used
  });

  it(`the command's keys, derived before a run, are simKeyPair's (seed ${SEED})`, async () => {
    const keyPair = await deriveSimKeys(SEED, 30);
    for (let i = 0; i < 30; i++) expect(keyPair(i), `node ${i}`).toEqual(simKeyPair(SEED, i));
  });

  it("a million-node spread at the default degree is planned to run on a 24 GB machine, with a heap above its measured peak", () => {
    // Measured (README): seed 42, 43 links a node, 18,071 MiB peak RSS on a machine of 24,105 MiB.
    const plan: HeapPlan = { scenario: "spread", nodes: 1_000_000, degree: defaultDegree(1_000_000, 3) };
    expect(plan.degree).toBe(43);
    expect(heapNeedBytes(plan)).toBeGreaterThanOrEqual(18_071 * 2 ** 20);
    const d = heapDecision(plan, 4 * 2 ** 30, 24_105 * 2 ** 20, true);
    expect(d.action).toBe("reexec");
  });

  it("the heap plan runs what fits, re-runs larger runs with a heap sized for them, and stops otherwise", () => {
    const gb = 2 ** 30;
    const plan = (nodes: number, scenario = "spread"): HeapPlan => ({ scenario, nodes, degree: 2 * Math.ceil(Math.log2(nodes)) + 3 });
    expect(heapDecision(plan(10_000), 4 * gb, 24 * gb, true)).toEqual({ action: "run" });
    // Fits the heap but large: re-run once with a larger young generation only (not when it cannot re-run).
    expect(heapNeedBytes(plan(100_000))).toBeLessThan(4 * gb);
    expect(heapDecision(plan(100_000), 4 * gb, 24 * gb, true)).toEqual({ action: "reexec", heapMb: null, semiSpaceMb: SEMI_SPACE_MB });
    expect(heapDecision(plan(100_000), 4 * gb, 24 * gb, false)).toEqual({ action: "run" });
    const need = heapNeedBytes(plan(1_000_000));
    expect(need).toBeGreaterThan(4 * gb);
    const big = heapDecision(plan(1_000_000), 4 * gb, 2 * need, true);
    expect(big.action).toBe("reexec");
    if (big.action === "reexec") {
      expect(big.heapMb! * 2 ** 20).toBeGreaterThanOrEqual(need);
      expect(big.semiSpaceMb).toBe(SEMI_SPACE_MB);
    }
    expect(heapDecision(plan(1_000_000), 4 * gb, 2 * need, false).action).toBe("stop");
    // Too large for the machine, or no way to re-run: how many nodes fit where it runs.
    for (const [limit, machine, canReexec] of [[4 * gb, 8 * gb, true], [4 * gb, 64 * gb, false]] as const) {
      const d = heapDecision(plan(3_000_000), limit, machine, canReexec);
      expect(d.action).toBe("stop");
      if (d.action !== "stop") continue;
      const room = canReexec ? machine * 0.85 : limit;
      // (The plan's links per node are kept: the command would run with the same --degree.)
      const fit = (nodes: number) => heapNeedBytes({ ...plan(3_000_000), nodes });
      expect(fit(d.fitNodes)).toBeLessThanOrEqual(room);
      expect(fit(d.fitNodes + 1000)).toBeGreaterThan(room);
    }
    // The broadcast scenario's peak grows with the messages a node holds or has in flight: measured
    // 1,064 MB peak RSS at 10,000 nodes with 20 messages and 1,791 MB with 60; the plan covers both.
    const bc = (messages: number) => heapNeedBytes({ scenario: "broadcast", nodes: 10_000, degree: 30, messages });
    expect(bc(20)).toBeGreaterThanOrEqual(1_064 * 2 ** 20);
    expect(bc(60)).toBeGreaterThanOrEqual(1_791 * 2 ** 20);
    expect(bc(60) - bc(20)).toBeGreaterThanOrEqual((1_791 - 1_064) * 2 ** 20);
    // Too large a scale phase: how many fit, and the flag that sets it.
    const scaleTooBig = heapDecision({ scenario: "membership", nodes: 1000, degree: 6, phase: "scale", scaleNodes: [100, 300_000] }, 4 * gb, 24 * gb, true);
    expect(scaleTooBig).toMatchObject({ action: "stop", flag: "--scale-nodes" });
    if (scaleTooBig.action === "stop") {
      expect(scaleTooBig.fitNodes).toBeGreaterThan(100_000);
      expect(scaleTooBig.fitNodes).toBeLessThan(300_000);
    }
    // 100,000 nodes' scale phase fits a 24 GB machine (re-run with a larger heap).
    expect(heapDecision({ scenario: "membership", nodes: 1000, degree: 6, phase: "scale", scaleNodes: [100_000] }, 4 * gb, 24 * gb, true)).toMatchObject({ action: "reexec" });
    expect(heapDecision(plan(3_000_000), 4 * gb, 8 * gb, true)).toMatchObject({ action: "stop", flag: "--nodes" });
    // Membership's scale phase: 2,426 MB peak RSS measured at 10,000 nodes (6 links, 120 members known).
    expect(heapNeedBytes({ scenario: "membership", nodes: 1000, degree: 6, phase: "scale", scaleNodes: [10_000] })).toBeGreaterThanOrEqual(2_426 * 2 ** 20);
    // Scenarios whose state grows with the square of the mesh need far more per node.
    expect(heapNeedBytes(plan(5000, "partition"))).toBeGreaterThan(10 * heapNeedBytes(plan(5000)));
  });

  it("the progress line's simulator part: nodes built, then time, round, informed fraction, events per second", () => {
    const text = simProgressText();
    expect(text({ stage: "boot", done: 16_384, total: 100_000, virtualMs: 0, events: 0 })).toBe("boot 16,384/100,000 nodes");
    expect(text({ stage: "run", virtualMs: 4200, events: 65_536, round: 3, informed: 0.5 })).toMatch(/^t 4\.2 s · round 3 · informed 50\.0 % · [\d,]+ events\/s$/);
  });
});
