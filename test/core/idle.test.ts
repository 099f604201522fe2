// Idle anti-entropy (`idleRoundEvery`): a mesh where nothing changes exchanges far fewer digests,
// a difference no rumor carried is still found while idle, and finding it brings back full rounds.
import { describe, expect, it } from "vitest";
import { FRAME } from "../../src/wire/frames.ts";
import { enc, World } from "./harness.ts";

const OPTIONS = { membership: false, fanout: 3, intervalMs: 1000 };

/** Runs `rounds` rounds of 1 s; returns the DIGEST frames sent in them. */
async function digestsOver(w: World, rounds: number): Promise<number> {
  let digests = 0;
  const filter = w.filter;
  w.filter = (from, to, bytes) => {
    if (bytes[1] === FRAME.DIGEST) digests++;
    return filter(from, to, bytes);
  };
  for (let r = 0; r < rounds; r++) await w.round(1000);
  w.filter = filter;
  return digests;
}

/** Six linked nodes, each writing one key, then `rounds` rounds of 1 s in which nothing changes. */
async function quietMesh(idleRoundEvery: number, rounds: number): Promise<World> {
  const w = new World(6, { ...OPTIONS, idleRoundEvery });
  w.linkAll();
  for (let i = 0; i < 6; i++) w.engines[i].set(w.now, "k", enc(`v${i}`));
  await w.settle();
  for (let r = 0; r < rounds; r++) await w.round(1000);
  return w;
}

describe("idle anti-entropy", () => {
  it("a mesh where nothing changes sends a digest from one node idleRoundEvery rounds apart, then 2× and 4× as far; full rounds when idleRoundEvery is 1", async () => {
    const counts: number[] = [];
    for (const idleRoundEvery of [4, 1]) {
      const w = await quietMesh(idleRoundEvery, 12); // everything spreads, then nothing changes
      const early = await digestsOver(w, 12); // the first idle exchanges: 4, then 8 rounds apart
      counts.push(await digestsOver(w, 64));
      if (idleRoundEvery === 4) expect(early).toBeGreaterThan(0);
      expect(w.penalties()).toEqual([]);
    }
    const [idle, full] = counts;
    console.log(`idle.test.ts: digests over 64 quiet rounds: ${idle} idle, ${full} full`);
    // Full rounds: 6 nodes × 3 peers × 64 rounds. Idle, settled: 6 × 64 / 16 (6 × 64 / 4 = 96
    // if the gap did not grow).
    expect(full).toBe(6 * 3 * 64);
    expect(idle).toBeLessThanOrEqual((6 * 64) / 16 + 6);
    expect(idle).toBeGreaterThanOrEqual((6 * 64) / 16 - 6); // anti-entropy goes on
  });

  it("nodes that went quiet together spread their idle digests over the rounds", async () => {
    const w = new World(6, { ...OPTIONS, idleRoundEvery: 4 });
    w.linkAll();
    for (let i = 0; i < 6; i++) w.engines[i].set(w.now, "k", enc(`v${i}`));
    await w.settle();
    for (let r = 0; r < 40; r++) await w.round(1000);
    const rounds: number[] = [];
    for (let r = 0; r < 64; r++) rounds.push(await digestsOver(w, 1));
    const busy = rounds.filter((n) => n > 0).length;
    console.log(`idle.test.ts: 64 quiet rounds, ${rounds.reduce((a, b) => a + b, 0)} digests in ${busy} of them`);
    // 6 nodes × 64 / 16 = 24 digests: in the same 4 rounds if every node kept the same count.
    expect(busy).toBeGreaterThanOrEqual(12);
  });

  it("a difference that no rumor carried is found while idle, and brings back full rounds", async () => {
    const w = await quietMesh(4, 12);
    // Node 0 writes while every frame it sends is lost: its rumors never arrive.
    w.filter = (from) => from !== 0;
    w.engines[0].set(w.now, "k", enc("news nobody heard"));
    await w.settle();
    for (let r = 0; r < 6; r++) await w.round(1000); // its rumors are over; the mesh is idle again
    expect([1, 2, 3, 4, 5].map((i) => w.get(i, 0, "k"))).toEqual(Array(5).fill("v0"));
    // Frames flow again: an idle digest (node 0's, or a peer's) finds the difference.
    w.filter = () => true;
    let rounds = 0;
    while (![1, 2, 3, 4, 5].every((i) => w.get(i, 0, "k") === "news nobody heard") && rounds < 40) {
      await w.round(1000);
      rounds++;
    }
    expect([1, 2, 3, 4, 5].map((i) => w.get(i, 0, "k"))).toEqual(Array(5).fill("news nobody heard"));
    console.log(`idle.test.ts: the unheard write found and spread in ${rounds} rounds`);
    expect(rounds).toBeLessThanOrEqual(12);
    // The nodes that took the news in are active again: more digests than an idle mesh sends.
    expect(await digestsOver(w, 2)).toBeGreaterThan(6);
    expect(w.penalties()).toEqual([]);
  });
});

describe("an idle node sleeps", () => {
  it("does not sleep through the rounds a broadcast message is re-announced at", async () => {
    const w = await quietMesh(4, 40);
    const rounds = () => w.engines.map((e) => e.stats.rounds);
    const before = rounds();
    for (let r = 0; r < 3; r++) await w.round(1000);
    // Asleep: nothing changed in state, so no node runs a round in 3 s (an idle exchange is 16 apart).
    const asleep = rounds().filter((n, i) => n > before[i]).length;
    w.engines[1].publish(w.now, "news", enc("hello")); // broadcast, not state: sync sees no change
    await w.settle();
    const at = rounds();
    for (let r = 0; r < 3; r++) await w.round(1000);
    // Every node holds the message's id to re-announce at its next rounds (broadcast's safety net
    // on lossy links), so each runs them.
    expect(rounds().every((n, i) => n - at[i] >= 2)).toBe(true);
    expect(asleep).toBeLessThanOrEqual(3);
    expect(w.penalties()).toEqual([]);
  });

  it("wakes only for its idle exchanges while nothing changes, and a change wakes it at its next round on the same grid", async () => {
    const w = await quietMesh(4, 40);
    const e = w.engines[2];
    const grid = e.nextWakeAt() % 1000; // its rounds' phase
    // Over 64 quiet seconds in 100 ms steps: how often is the node due (woken)?
    let wakes = 0;
    for (let t = 0; t < 640; t++) {
      w.now += 100;
      if (e.nextWakeAt() <= w.now) wakes++;
      for (const x of w.engines) x.tick(w.now);
      await w.settle();
    }
    // One idle exchange every 16 rounds, not a wake-up every round (64), give or take the rounds
    // its peers' digests keep it from sleeping through.
    console.log(`idle.test.ts: an idle node woke ${wakes} times in 64 quiet rounds`);
    expect(wakes).toBeLessThanOrEqual(12);
    expect(wakes).toBeGreaterThanOrEqual(3);
    expect(e.nextWakeAt() - w.now).toBeGreaterThan(1000); // asleep past its next round
    // A write wakes it at once (its own change goes to its peers without waiting for a round), and
    // its next round is on the grid it had.
    w.now += 30;
    e.set(w.now, "k", enc("news"));
    await w.settle();
    expect(e.nextWakeAt()).toBe(w.now);
    e.tick(w.now);
    const at = e.nextWakeAt();
    expect(at - w.now).toBeLessThanOrEqual(1000);
    expect(at % 1000).toBe(grid);
    expect(w.penalties()).toEqual([]);
  });
});

describe("link-up pulls of a node holding nothing", () => {
  it("a node that comes up holding nothing with ten links pulls from fanout of them at once, and still gets what its peers hold", async () => {
    const w = new World(11, OPTIONS);
    w.engines[1].set(w.now, "k", enc("from 1"));
    w.engines[7].set(w.now, "k", enc("from 7"));
    await w.settle();
    const digestsTo = new Set<number>();
    const filter = w.filter;
    w.filter = (from, to, bytes) => {
      if (from === 0 && bytes[1] === FRAME.DIGEST) digestsTo.add(to);
      return filter(from, to, bytes);
    };
    for (let i = 1; i < 11; i++) w.link(0, i);
    await w.settle(); // no round: only what link-up starts
    // Pulls of its own on at most `fanout` links; on the links to 1 and 7 it answers their digests.
    expect([...digestsTo].filter((to) => to !== 1 && to !== 7).length).toBeLessThanOrEqual(3);
    expect(w.get(0, 1, "k")).toBe("from 1");
    expect(w.get(0, 7, "k")).toBe("from 7");
    expect(w.penalties()).toEqual([]);
  });
});
