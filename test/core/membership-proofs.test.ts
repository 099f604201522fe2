// An accusation's proof (the accused member's own alive claim at the accused rank) travels only
// where a peer may lack it: gossip leaves it out once the rank is old news, SYNC always carries it,
// and a receiver proves a proofless accusation with the alive claim it holds — or ignores it,
// penalising nobody, when it holds no such rank.
import { describe, expect, it } from "vitest";
import { toHex } from "../../src/bytes.ts";
import { CLAIM_KIND, encodeMemberFrame, MEMBER_FRAME, type ClaimWire } from "../../src/wire/member-frames.ts";
import { spreadMs, suspicionParams } from "../../src/core/lifeguard.ts";
import { World } from "./harness.ts";
import { onClaimsSent, runFor, signed, stateAt } from "./membership-helpers.ts";

const FAST = { probeIntervalMs: 1000, probeTimeoutMs: 500, intervalMs: 60_000 };
const GOSSIP = new Set<number>([MEMBER_FRAME.PING, MEMBER_FRAME.ACK, MEMBER_FRAME.PING_REQ, MEMBER_FRAME.CLAIMS]);
const accusation = (c: ClaimWire) => c.fields.kind === CLAIM_KIND.SUSPECT || c.fields.kind === CLAIM_KIND.DEAD;
const proofless = (c: ClaimWire): ClaimWire => ({ body: c.body, signature: c.signature, fields: c.fields });

/**
 * Four linked nodes; node 3 is falsely accused (by node 1, to node 0) and refutes: returns the
 * world, the alive claim at its new rank, and the time the accusation was sent.
 */
async function refuted(): Promise<{ w: World; fresh: ClaimWire; t0: number }> {
  const w = new World(4, FAST);
  w.linkAll();
  await w.settle();
  await runFor(w, 6000);
  const t0 = w.now;
  w.engines[0].receive(w.now, 1, encodeMemberFrame({ type: MEMBER_FRAME.CLAIMS, claims: [await signed(w, 1, {
    kind: CLAIM_KIND.SUSPECT, member: w.keys[3].publicKey, generation: w.engines[3].membership.selfClaim!.fields.generation,
    incarnation: w.engines[3].membership.incarnation, claimer: w.keys[1].publicKey, addr: null,
  })] }));
  const before = w.engines[3].membership.incarnation;
  expect(await runFor(w, 5000, () => w.engines[3].membership.incarnation > before && [0, 1, 2].every((i) => stateAt(w, i, 3) === "alive"))).toBe(true);
  return { w, fresh: w.engines[3].membership.selfClaim!, t0 };
}

/** Node `by` accuses node 3 at `fresh`'s rank to node 0; whether each accusation node 0 gossips at that rank carries the proof. */
async function accusedAgain(w: World, fresh: ClaimWire, by: number): Promise<boolean[]> {
  const seen: boolean[] = [];
  onClaimsSent(w, 0, (_, c, type) => {
    if (GOSSIP.has(type) && accusation(c) && c.fields.incarnation === fresh.fields.incarnation) seen.push(!!c.proof);
  });
  const again = await signed(w, by, { kind: CLAIM_KIND.SUSPECT, member: w.keys[3].publicKey, generation: fresh.fields.generation, incarnation: fresh.fields.incarnation, claimer: w.keys[by].publicKey, addr: null });
  w.engines[0].receive(w.now, by, encodeMemberFrame({ type: MEMBER_FRAME.CLAIMS, claims: [again] }));
  await runFor(w, 1000);
  return seen;
}

describe("membership: accusation proofs", () => {
  it("gossip leaves the proof out once the accused rank is old news; SYNC carries it; every node still holds the crashed member dead", async () => {
    const w = new World(5, { ...FAST, pushPullIntervalMs: 2000 });
    w.linkAll();
    await w.settle();
    // News reaches 5 members in (⌈log 5 / log 3⌉ + 2) gossip intervals and a period: 1.8 s; node 4's rank is older by the crash.
    await runFor(w, 6000);
    const victim = toHex(w.keys[4].publicKey);
    const sent = { gossipWith: 0, gossipWithout: 0, syncWith: 0, syncWithout: 0 };
    for (const from of [0, 1, 2, 3]) {
      onClaimsSent(w, from, (_, c, type) => {
        if (!accusation(c) || toHex(c.fields.member) !== victim) return;
        const key = `${GOSSIP.has(type) ? "gossip" : "sync"}${c.proof ? "With" : "Without"}` as keyof typeof sent;
        sent[key]++;
      });
    }
    const filter = w.filter;
    w.filter = (from, to, bytes) => from !== 4 && to !== 4 && filter(from, to, bytes);
    const allDead = () => [0, 1, 2, 3].every((i) => stateAt(w, i, 4) === "dead");
    expect(await runFor(w, 60_000, allDead)).toBe(true);
    await runFor(w, 4000); // push-pull rounds with the death held
    expect(sent.gossipWithout).toBeGreaterThan(0);
    expect(sent.gossipWith).toBe(0);
    expect(sent.syncWith).toBeGreaterThan(0);
    expect(sent.syncWithout).toBe(0);
    expect(w.penalties()).toEqual([]);
    expect(w.engines.slice(0, 4).map((e) => e.membership.stats.accusationsUnproven)).toEqual([0, 0, 0, 0]);
  });

  it("an accusation of a rank just signed is gossiped with its proof", async () => {
    // Node 3's refutation is a rank its peers hold from now; node 2 accuses it again at once, and
    // node 0 gossips that on while the rank is news.
    const { w, fresh } = await refuted();
    const seen = await accusedAgain(w, fresh, 2);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((withProof) => withProof)).toBe(true);
    expect(w.penalties()).toEqual([]);
  });

  it("a rank held as long as news takes to spread, well within a minimum suspicion, is accused without the proof", async () => {
    const { w, fresh, t0 } = await refuted();
    const spread = spreadMs(4, w.engines[0].options);
    expect(spread).toBe(1800); // (⌈log 4 / log 3⌉ + 2) gossip intervals of 200 ms, and a 1000 ms period
    const minMs = suspicionParams(4, w.engines[0].options).minMs;
    expect(minMs).toBe(4000);
    // Node 3 is cut off (so it cannot refute again), and node 0 has held the rank for `spread`.
    const filter = w.filter;
    w.filter = (from, to, bytes) => from !== 3 && to !== 3 && filter(from, to, bytes);
    await runFor(w, spread);
    expect(w.now - t0).toBeLessThan(minMs); // the minimum suspicion the old rule waited has not passed
    const seen = await accusedAgain(w, fresh, 2);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((withProof) => !withProof)).toBe(true);
    expect(w.engines.slice(0, 3).map((e) => e.membership.stats.accusationsUnproven)).toEqual([0, 0, 0]);
    expect(w.penalties()).toEqual([]);
  });

  it("a proofless accusation is proven by the alive claim held at its rank, and the table keeps it with that proof; at a rank not held it is ignored, nobody penalised", async () => {
    const w = new World(4, { ...FAST, pushPullIntervalMs: 1000 });
    w.linkAll();
    await w.settle();
    await runFor(w, 3000);
    const alive = w.engines[2].membership.selfClaim!;
    const f = alive.fields;
    // At a rank node 0 does not hold (the next incarnation, which node 2 never signed): ignored,
    // and node 0's own claim goes back to the sender (which would answer with the accusation whole).
    const ahead = await signed(w, 1, { kind: CLAIM_KIND.SUSPECT, member: f.member, generation: f.generation, incarnation: f.incarnation + 1, claimer: w.keys[1].publicKey, addr: null }, alive);
    const back: ClaimWire[] = [];
    onClaimsSent(w, 0, (to, c, type) => {
      if (to === 1 && type === MEMBER_FRAME.CLAIMS && toHex(c.fields.member) === toHex(f.member)) back.push(c);
    });
    w.engines[0].receive(w.now, 1, encodeMemberFrame({ type: MEMBER_FRAME.CLAIMS, claims: [proofless(ahead)] }));
    await w.settle();
    expect(w.engines[0].membership.stats.accusationsUnproven).toBe(1);
    expect(stateAt(w, 0, 2)).toBe("alive");
    expect(back.map((c) => [c.fields.kind, c.fields.incarnation])).toEqual([[CLAIM_KIND.ALIVE, f.incarnation]]);
    // At the rank node 0 holds: taken (node 2 is told and refutes, but node 0 held it suspect first).
    const suspect = await signed(w, 1, { kind: CLAIM_KIND.SUSPECT, member: f.member, generation: f.generation, incarnation: f.incarnation, claimer: w.keys[1].publicKey, addr: null });
    const synced: ClaimWire[] = [];
    onClaimsSent(w, 0, (_, c, type) => {
      if (type === MEMBER_FRAME.SYNC && accusation(c) && toHex(c.fields.member) === toHex(f.member)) synced.push(c);
    });
    const filter = w.filter;
    w.filter = (from, to, bytes) => to !== 2 && filter(from, to, bytes); // node 2 does not hear of it yet
    w.engines[0].receive(w.now, 1, encodeMemberFrame({ type: MEMBER_FRAME.CLAIMS, claims: [proofless(suspect)] }));
    await w.settle();
    expect(stateAt(w, 0, 2)).toBe("suspect");
    await runFor(w, 1500);
    expect(synced.length).toBeGreaterThan(0);
    for (const c of synced) expect(c.proof?.signature).toEqual(alive.signature);
    w.filter = filter;
    expect(await runFor(w, 5000, () => [0, 1, 3].every((i) => stateAt(w, i, 2) === "alive"))).toBe(true);
    expect(w.penalties()).toEqual([]);
  });
});
