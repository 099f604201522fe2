// Hostile peers against membership: forged and false deaths, and requests (PING, SYNC) that would
// make a node give away its claim queue or its whole view again and again.
import { PROTOCOL_VERSION } from "../../src/core/engine.ts";
import { describe, expect, it } from "vitest";
import { toHex } from "../../src/bytes.ts";
import { signingBytes } from "../../src/crypto/context.ts";
import { encode } from "../../src/wire/cbor.ts";
import {
  CLAIM_KIND,
  claimId,
  decodeMemberFrame,
  encodeClaimBody,
  encodeMemberFrame,
  IDS_OP,
  MEMBER_FRAME,
  SYNC_FLAG,
  type ClaimBody,
  type ClaimWire,
} from "../../src/wire/member-frames.ts";
import type { KeyPair } from "../../src/crypto/types.ts";
import { suite, World } from "../core/harness.ts";
import { attachAttacker, outsiderKey, report } from "./helpers.ts";

const FAST = { probeIntervalMs: 1000, probeTimeoutMs: 500, intervalMs: 1000, deadMemberTtlMs: 8000 };

function stateAt(w: World, observer: number, member: number): string | undefined {
  return w.engines[observer].membership.stateOf(toHex(w.keys[member].publicKey));
}

async function runFor(w: World, ms: number, step = 50): Promise<void> {
  const until = w.now + ms;
  while (w.now < until) await w.round(step);
}

async function sign(key: KeyPair, body: ClaimBody): Promise<ClaimWire> {
  const bytes = encodeClaimBody(body);
  const signature = await (await suite()).sign(key, signingBytes("member", "grapevine", PROTOCOL_VERSION, bytes));
  return { body: bytes, signature, fields: body };
}

/** Introduces `n` members (alive, generation 1, keys `outsiderKey(firstKey + i)`) to node `node`; returns their claims. */
async function introduceMembers(w: World, node: number, n: number, firstKey: number): Promise<ClaimWire[]> {
  const claims: ClaimWire[] = [];
  for (let i = 0; i < n; i++) {
    const k = outsiderKey(firstKey + i);
    claims.push(await sign(k, { kind: CLAIM_KIND.ALIVE, member: k.publicKey, generation: 1, incarnation: 0, claimer: null, addr: "wss://a-long-enough-address.example/relay" }));
  }
  w.engines[node].introduce(w.now, claims);
  await w.settle();
  return claims;
}

/** A claim in the wire's older form (no proof): `[body, signature]` only. */
function claimsFrameWithoutProof(c: ClaimWire): Uint8Array {
  return encode([MEMBER_FRAME.CLAIMS, [[c.body, c.signature]]]);
}

describe("adversarial: forged and false deaths", () => {
  it("a death at a rank the member never signed is refused (its sender penalised when it forged a proof or broke the wire's bounds); a death at its real rank is refuted, and the member stays alive, linked and holding its state", async () => {
    // 0..3 honest, 2 the victim, 4 the attacker (a member like any other, speaking the protocol).
    const w = new World(5, FAST);
    w.linkAll();
    w.engines[2].set(w.now, "status", new TextEncoder().encode("here"));
    await w.settle();
    await runFor(w, 3000);
    const observers = [0, 1, 3];
    for (const o of observers) expect(stateAt(w, o, 2)).toBe("alive");
    const victim = w.engines[2].membership.selfClaim!.fields;
    const attacker = w.keys[4];
    const dead = (generation: number, incarnation: number) =>
      sign(attacker, { kind: CLAIM_KIND.DEAD, member: w.keys[2].publicKey, generation, incarnation, claimer: attacker.publicKey, addr: null });
    const send = (bytes: Uint8Array) => {
      for (const o of observers) w.engines[o].receive(w.now, 4, bytes);
    };
    // First a death at the victim's real rank, with its real alive claim: a false accusation that
    // can only be refuted. Repeated after each refutation, five times.
    let refutedEveryTime = true;
    for (let k = 0; k < 5; k++) {
      const alive = w.engines[2].membership.selfClaim!;
      const lie = { ...(await dead(alive.fields.generation, alive.fields.incarnation)), proof: alive };
      send(encodeMemberFrame({ type: MEMBER_FRAME.CLAIMS, claims: [lie] }));
      await w.settle();
      await runFor(w, 3000);
      refutedEveryTime &&= observers.every((o) => stateAt(w, o, 2) === "alive");
    }
    const heldDeadMeanwhile = w.events.filter((x) => observers.includes(x.node) && x.event.type === "member" && x.event.state === "dead").length;
    // Then forgeries: (a) the largest incarnation a CBOR integer carries, (b) the next generation —
    // neither signed by the victim, both without a proof: gossip leaves a proof out of an
    // accusation of a rank it has long held, so a receiver that does not hold that rank ignores
    // it (an honest sender may be ahead of it) and penalises nobody — and (c) the next generation
    // with a "proof" the attacker signed.
    const current = w.engines[2].membership.selfClaim!.fields;
    const unproven = () => observers.map((o) => w.engines[o].membership.stats.accusationsUnproven);
    const unprovenBefore = unproven();
    send(claimsFrameWithoutProof(await dead(current.generation, 2 ** 53 - 1)));
    send(claimsFrameWithoutProof(await dead(current.generation + 1, 0)));
    const ignoredUnproven = unproven().map((n, k) => n - unprovenBefore[k]);
    const fakeAlive = await sign(attacker, { kind: CLAIM_KIND.ALIVE, member: w.keys[2].publicKey, generation: current.generation + 1, incarnation: 0, claimer: null, addr: null });
    send(encodeMemberFrame({ type: MEMBER_FRAME.CLAIMS, claims: [{ ...(await dead(current.generation + 1, 0)), proof: fakeAlive }] }));
    await w.settle();
    const forgedRefused = observers.every((o) => stateAt(w, o, 2) === "alive");
    const attackerPenalties = w.penalties().filter((p) => p.linkId === 4).map((p) => p.code);
    await runFor(w, 10_000); // longer than deadMemberTtlMs: a member held dead would be forgotten by now
    const victimPenalties = w.penalties().filter((p) => p.linkId === 2);
    const drops = w.events.filter((x) => x.event.type === "drop-link" && x.event.linkId === 2 && observers.includes(x.node));
    const holdingState = observers.filter((o) => w.get(o, 2, "status") === "here").length;
    report("forged-death", {
      forged_refused: forgedRefused, ignored_unproven: ignoredUnproven, attacker_penalties: attackerPenalties, false_deaths_refuted: refutedEveryTime,
      held_dead_events_meanwhile: heldDeadMeanwhile,
      victim_alive_at: observers.filter((o) => stateAt(w, o, 2) === "alive").length, observers: observers.length,
      victim_penalised: victimPenalties.length, victim_links_dropped: drops.length, holding_victim_state: holdingState,
      victim_incarnation: w.engines[2].membership.incarnation,
    });
    expect(forgedRefused).toBe(true);
    // (a) is malformed on the wire (an incarnation above 2^40), (b) ignored, (c) a bad signature.
    expect(ignoredUnproven).toEqual([1, 1, 1]);
    expect(attackerPenalties).toEqual(["WIRE_SHAPE", "WIRE_SHAPE", "WIRE_SHAPE", "CRYPTO_BAD_SIGNATURE", "CRYPTO_BAD_SIGNATURE", "CRYPTO_BAD_SIGNATURE"]);
    expect(refutedEveryTime).toBe(true);
    expect(w.engines[2].membership.incarnation).toBeGreaterThanOrEqual(5); // it refuted each one
    for (const o of observers) expect(stateAt(w, o, 2)).toBe("alive");
    expect(victimPenalties).toEqual([]);
    expect(drops).toEqual([]);
    expect(holdingState).toBe(observers.length);
  });
});

describe("adversarial: requests for the claim queue and the view", () => {
  it("PINGs without pause get ACKs, but only the link's allowance of piggybacked claims: news still reaches the mesh", async () => {
    const w = new World(4, FAST);
    w.link(0, 1);
    w.link(0, 2);
    await w.settle();
    await runFor(w, 2000);
    const a = attachAttacker(w, 0, 99, outsiderKey(7));
    await w.settle();
    // News for node 0 to spread: node 3 joins through it.
    w.link(0, 3);
    let pings = 0;
    for (let t = 0; t < 40; t++) {
      for (let k = 0; k < 50; k++, pings++) a.send(encodeMemberFrame({ type: MEMBER_FRAME.PING, seq: pings + 1, claims: [] }));
      await w.round(50);
    }
    let acks = 0;
    let claimsToAttacker = 0;
    for (const bytes of a.sent) {
      const f = decodeMemberFrame(bytes, { frameBytesMax: 1 << 20, claimsMax: 256 });
      if (f.type === MEMBER_FRAME.ACK) {
        acks++;
        claimsToAttacker += f.claims.length;
      }
    }
    const learned = [1, 2].every((i) => stateAt(w, i, 3) === "alive");
    report("ping-flood", { seconds: 2, pings, acks, claims_to_attacker: claimsToAttacker, news_reached_others: learned });
    expect(acks).toBe(pings); // it is still answered: it must not come to suspect node 0
    expect(claimsToAttacker).toBeLessThanOrEqual(2 * 64 + 2 * 64); // burst plus two seconds of refill
    expect(learned).toBe(true);
  });

  it("SYNC requests without pause are answered within the link's answer budget, not with the whole view each time", async () => {
    const w = new World(1, { ...FAST, membersMax: 20_000 });
    const e = w.engines[0];
    // A view of 1,500 members, as a relay's might be.
    const claims = await introduceMembers(w, 0, 1500, 5000);
    expect(e.membership.known).toBe(1500);
    const a = attachAttacker(w, 0, 99, outsiderKey(8));
    await w.settle();
    const start = a.bytesSent();
    let asked = 0;
    for (let t = 0; t < 20; t++) {
      for (let k = 0; k < 5; k++) {
        const f = encodeMemberFrame({ type: MEMBER_FRAME.SYNC, flags: SYNC_FLAG.WANT, claims: [] });
        asked += f.length;
        a.send(f);
      }
      await w.round(100);
    }
    const answered = a.bytesSent() - start;
    const viewBytes = claims.reduce((s, c) => s + c.body.length + 70, 0);
    report("sync-flood", { seconds: 2, request_bytes: asked, view_bytes: viewBytes, bytes_answered: answered, unbounded_would_be: viewBytes * 100 });
    expect(answered).toBeLessThanOrEqual(3 * 1_048_576); // burst plus two seconds of the default budget
    expect(answered).toBeLessThan(viewBytes * 100 / 5);
  });

  it("accusations this node cannot prove, sent without pause, are answered with the claims it holds only within the link's answer budget", async () => {
    const budget = 8192;
    const w = new World(1, { ...FAST, answerBytesPerSecondMax: budget, deltaBytesMax: budget });
    const e = w.engines[0];
    const members = await introduceMembers(w, 0, 16, 7000);
    const attacker = outsiderKey(9);
    const a = attachAttacker(w, 0, 99, attacker);
    await w.settle();
    // One frame: each member accused at an incarnation it never signed, without a proof.
    const lies = await Promise.all(members.map((m) => sign(attacker, { kind: CLAIM_KIND.SUSPECT, member: m.fields.member, generation: 1, incarnation: 1, claimer: attacker.publicKey, addr: null })));
    const frame = encode([MEMBER_FRAME.CLAIMS, lies.map((c) => [c.body, c.signature])]);
    const start = a.bytesSent();
    const unproven = e.membership.stats.accusationsUnproven;
    let sent = 0;
    for (let t = 0; t < 20; t++) {
      for (let k = 0; k < 10; k++) a.send(frame), (sent += frame.length);
      await w.round(100);
    }
    const answered = a.bytesSent() - start;
    report("unproven-flood", { seconds: 2, bytes_sent: sent, bytes_answered: answered, budget_bytes_per_s: budget });
    expect(e.membership.stats.accusationsUnproven - unproven).toBe(200 * 16);
    expect(answered).toBeGreaterThan(0); // the claims held do go back, as far as the budget goes
    expect(answered).toBeLessThanOrEqual(3 * budget); // burst plus two seconds
    for (const m of members) expect(e.membership.stateOf(toHex(m.fields.member))).toBe("alive");
    expect(w.penalties()).toEqual([]);
  });

  it("WANTs without pause for every alive claim the node holds (a shuffle names them by id) are answered within the link's answer budget", async () => {
    const budget = 8192;
    const w = new World(1, { ...FAST, membersMax: 20_000, answerBytesPerSecondMax: budget, deltaBytesMax: budget });
    const claims = await introduceMembers(w, 0, 500, 11_000);
    const a = attachAttacker(w, 0, 99, outsiderKey(10));
    await w.settle();
    const ids = claims.map((c) => claimId(c));
    const per = 32; // an answer of 32 claims fits the budget's burst
    // A shuffle by id first, so the victim answers WANTs from its whole table.
    a.send(encodeMemberFrame({ type: MEMBER_FRAME.IDS, op: IDS_OP.SAMPLE, ids: ids.slice(0, 16) }));
    await w.settle();
    const start = a.bytesSent();
    let asked = 0;
    for (let t = 0; t < 20; t++) {
      for (let k = 0; k < ids.length; k += per) {
        const f = encodeMemberFrame({ type: MEMBER_FRAME.IDS, op: IDS_OP.WANT, ids: ids.slice(k, k + per) });
        asked += f.length;
        a.send(f);
      }
      await w.round(100);
    }
    const answered = a.bytesSent() - start;
    const viewBytes = claims.reduce((s, c) => s + c.body.length + 70, 0);
    report("want-flood", { seconds: 2, request_bytes: asked, view_bytes: viewBytes, bytes_answered: answered, budget_bytes_per_s: budget });
    expect(answered).toBeGreaterThan(budget / 2); // held claims are sent when asked for…
    expect(answered).toBeLessThanOrEqual(3 * budget); // …as far as the budget goes: burst plus two seconds
    expect(w.penalties()).toEqual([]);
  });

  it("shuffle samples naming ids nobody holds cost the node at most a quarter of its missing list, asked for once each, and a SAMPLE_REPLY each within the answer budget", async () => {
    const w = new World(3, { ...FAST, claimQueueMax: 64 });
    w.link(0, 1);
    await w.settle();
    const a = attachAttacker(w, 0, 99, outsiderKey(12));
    await w.settle();
    let wantedOfAttacker = 0;
    let replies = 0;
    const junk = (t: number) => Array.from({ length: 16 }, (_, i) => Uint8Array.of(0xee, t, i, 0, 0, 0, 0, 0));
    for (let t = 0; t < 40; t++) {
      a.send(encodeMemberFrame({ type: MEMBER_FRAME.IDS, op: IDS_OP.SAMPLE, ids: junk(t) }));
      await w.round(100);
    }
    await runFor(w, 3000);
    for (const f of a.sent) {
      if (f[1] !== MEMBER_FRAME.IDS) continue;
      const d = decodeMemberFrame(f, { frameBytesMax: 1 << 20, claimsMax: 256 });
      if (d.type !== MEMBER_FRAME.IDS) continue;
      if (d.op === IDS_OP.WANT) wantedOfAttacker += d.ids.length;
      if (d.op === IDS_OP.SAMPLE_REPLY) replies++;
    }
    report("junk-samples", { samples: 40, ids_named: 640, ids_asked_for: wantedOfAttacker, replies });
    // At most a quarter of claimQueueMax (16) of the attacker's ids are held and asked for at a
    // time; each is given up when asked and not sent, so over the run it is a bounded trickle.
    expect(wantedOfAttacker).toBeGreaterThan(0);
    expect(wantedOfAttacker).toBeLessThan(640 / 2);
    expect(replies).toBeGreaterThan(0);
    expect(replies).toBeLessThanOrEqual(40);
    // Node 1 still hears of a newcomer through node 0: the junk crowded nothing out.
    w.link(0, 2);
    await runFor(w, 3000);
    expect(w.engines[1].membership.stateOf(toHex(w.keys[2].publicKey))).toBe("alive");
    expect(w.penalties()).toEqual([]);
  });
});
