import { describe, expect, it } from "vitest";
import { toHex } from "../../src/bytes.ts";
import { ClaimQueue, effectOf } from "../../src/core/claims.ts";
import type { EngineEvent, MemberEvent } from "../../src/core/events.ts";
import { LocalHealth, retransmitLimit, suspicionParams, suspicionTimeoutMs } from "../../src/core/lifeguard.ts";
import { signingBytes } from "../../src/crypto/context.ts";
import { GrapevineError } from "../../src/errors.ts";
import {
  CLAIM_KIND,
  decodeClaimBody,
  decodeMemberFrame,
  encodeClaimBody,
  encodeMemberFrame,
  claimId,
  IDS_OP,
  MEMBER_FRAME,
  SHUFFLE_FLAG,
  type ClaimBody,
  type ClaimWire,
} from "../../src/wire/member-frames.ts";
import { encode } from "../../src/wire/cbor.ts";
import { Engine, PROTOCOL_VERSION } from "../../src/core/engine.ts";
import { seededRng } from "../../src/core/random.ts";
import { scopeIdOf } from "../../src/core/scopes.ts";
import { enc, suite, World } from "./harness.ts";
import { onClaimsSent, runFor, signed, stateAt } from "./membership-helpers.ts";

const FAST = { probeIntervalMs: 1000, probeTimeoutMs: 500, intervalMs: 60_000 };

function memberEvents(w: World, node?: number): MemberEvent[] {
  return w.events.filter((x) => x.event.type === "member" && (node === undefined || x.node === node)).map((x) => x.event as MemberEvent);
}

/**
 * Six nodes in a full mesh (5 peers each: a pass is 5 periods), settled and left 5 s, then the
 * PINGs sent from now on counted.
 */
async function quietMeshCountingPings(): Promise<{ w: World; pings: () => number }> {
  const w = new World(6, FAST);
  w.linkAll();
  await w.settle();
  await runFor(w, 5000);
  let pings = 0;
  w.filter = (_from, _to, bytes) => (bytes[1] === MEMBER_FRAME.PING && pings++, true);
  return { w, pings: () => pings };
}

/**
 * Runs `ms` in 50 ms steps and counts the steps at which node `n`'s timers were due (a node wakes
 * for those, and for frames as they come).
 */
async function timerWakes(w: World, n: number, ms: number): Promise<number> {
  let wakes = 0;
  for (const until = w.now + ms; w.now < until; ) {
    w.now += 50;
    if (w.engines[n].nextWakeAt() <= w.now) wakes++;
    for (const e of w.engines) e.tick(w.now);
    await w.settle();
  }
  return wakes;
}

/**
 * Runs `ms` with node `n` frozen for the first `stallMs` (a starved process): it is not ticked and
 * frames to it are held; when it wakes its timers fire first, then the held frames arrive.
 */
async function runStalled(w: World, n: number, stallMs: number, ms: number): Promise<void> {
  const held: [number, Uint8Array][] = [];
  const filter = w.filter;
  w.filter = (from, to, bytes) => {
    if (to !== n) return filter(from, to, bytes);
    held.push([from, bytes]);
    return false;
  };
  const until = w.now + stallMs;
  while (w.now < until) {
    w.now += 50;
    w.engines.forEach((e, i) => i !== n && e.tick(w.now));
    await w.settle();
  }
  w.filter = filter;
  w.engines[n].tick(w.now);
  for (const [from, bytes] of held) w.engines[n].receive(w.now, from, bytes);
  await w.settle();
  await runFor(w, ms - stallMs);
}

describe("membership: joining and views", () => {
  it("linked nodes learn each other from signed alive claims, and gossip spreads them beyond links", async () => {
    const w = new World(4, FAST);
    w.link(0, 1);
    w.link(1, 2);
    w.link(2, 3);
    await w.settle();
    await runFor(w, 3000);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) if (i !== j) expect(stateAt(w, i, j), `${i} sees ${j}`).toBe("alive");
    }
    expect(w.penalties()).toEqual([]);
    const first = memberEvents(w, 0).find((e) => toHex(e.member) === toHex(w.keys[3].publicKey))!;
    expect(first.previous).toBeNull();
    expect(first.state).toBe("alive");
  });

  it("a member that leaves is seen as left at once (pre-signed farewell), and its links are dropped", async () => {
    const w = new World(3, FAST);
    w.linkAll();
    await w.settle();
    await runFor(w, 1500);
    w.engines[2].leave(w.now);
    await w.settle();
    expect(stateAt(w, 0, 2)).toBe("left");
    expect(stateAt(w, 1, 2)).toBe("left");
    await runFor(w, 1500);
    const drops = w.events.filter((x) => x.node === 0 && x.event.type === "drop-link").map((x) => x.event);
    expect(drops).toEqual([{ type: "drop-link", linkId: 2, reason: "member left" }]);
  });
});

describe("membership: failure detection", () => {
  it("a crashed member is suspected, then dead everywhere; each claim names its accuser", async () => {
    const w = new World(5, FAST);
    w.linkAll();
    await w.settle();
    await runFor(w, 2000);
    const crashedAt = w.now;
    w.filter = (from, to) => from !== 4 && to !== 4; // node 4 stops answering
    const allDead = () => [0, 1, 2, 3].every((i) => stateAt(w, i, 4) === "dead");
    expect(await runFor(w, 60_000, allDead)).toBe(true);
    const events = memberEvents(w).filter((e) => toHex(e.member) === toHex(w.keys[4].publicKey) && e.previous !== null);
    const suspect = events.find((e) => e.state === "suspect")!;
    expect(suspect.claimer).not.toBeNull();
    expect(events.find((e) => e.state === "dead")!.claimer).not.toBeNull();
    // 5 members: suspicion min is 4 × log10(5) periods ≈ 2.8 s, and detection comes well within 30 s.
    expect(w.now - crashedAt).toBeLessThan(30_000);
    expect(w.penalties()).toEqual([]);
  });

  it("a suspected member refutes with a higher incarnation and is never declared dead", async () => {
    const w = new World(4, FAST);
    w.linkAll();
    await w.settle();
    await runFor(w, 2000);
    // The 0–3 path is broken and 0's ping-reqs are lost (else 1 and 2 would vouch for 3): 0
    // suspects 3, 3 hears of it from the others and refutes.
    w.filter = (from, to, bytes) => !((from === 0 && to === 3) || (from === 3 && to === 0) || (from === 0 && bytes[1] === MEMBER_FRAME.PING_REQ));
    await runFor(w, 20_000);
    const about3 = memberEvents(w).filter((e) => toHex(e.member) === toHex(w.keys[3].publicKey));
    expect(about3.some((e) => e.state === "suspect")).toBe(true);
    expect(about3.some((e) => e.state === "dead")).toBe(false);
    expect(w.engines[3].membership.incarnation).toBeGreaterThan(0);
    expect(w.engines[3].membership.stats.refutations).toBeGreaterThan(0);
    for (const i of [1, 2]) expect(stateAt(w, i, 3)).toBe("alive");
  });

  it("a suspicion spreads with at most the k confirmations that shorten it; later ones are not taken in", async () => {
    const w = new World(8, FAST);
    w.linkAll();
    await w.settle();
    await runFor(w, 2000);
    const k = suspicionParams(w.engines[0].membership.known, w.engines[0].options).expected;
    expect(k).toBe(2);
    w.filter = (from, to) => from !== 7 && to !== 7; // node 7 is gone: nobody hears it refute
    const generation = w.engines[7].membership.selfClaim!.fields.generation;
    const accusers = [2, 3, 4, 5, 6];
    const claims = await Promise.all(accusers.map((by) =>
      signed(w, by, { kind: CLAIM_KIND.SUSPECT, member: w.keys[7].publicKey, generation, incarnation: 0, claimer: w.keys[by].publicKey, addr: null })));
    const spread = new Set<string>(); // accusers of node 7 whose claims node 0 passed on
    onClaimsSent(w, 0, (_to, c) => {
      if (c.fields.kind === CLAIM_KIND.SUSPECT && toHex(c.fields.member) === toHex(w.keys[7].publicKey)) spread.add(toHex(c.fields.claimer!));
    });
    w.engines[0].receive(w.now, 1, encodeMemberFrame({ type: MEMBER_FRAME.CLAIMS, claims }));
    await w.settle();
    await runFor(w, 1500);
    // The suspicion and its first k confirmations spread; the rest change no timeout anywhere.
    expect(spread.size).toBe(k + 1);
    expect(w.penalties()).toEqual([]);
  });

  it("when every link of a member closes at once, its accusers declare the death in turn: one or two deaths are signed, not one each", async () => {
    // Nine nodes all linked to node 9; when its process ends, all nine links close in the same
    // instant, and its accusers' deadlines are nearly the same.
    const w = new World(10, FAST);
    w.linkAll();
    await w.settle();
    await runFor(w, 2000);
    w.filter = (from, to) => from !== 9 && to !== 9;
    for (let i = 0; i < 9; i++) w.engines[i].linkDown(w.now, 9);
    await w.settle();
    const allDead = () => [...Array(9).keys()].every((i) => stateAt(w, i, 9) === "dead");
    expect(await runFor(w, 60_000, allDead)).toBe(true);
    await runFor(w, 5000);
    const declared = w.engines.slice(0, 9).reduce((n, e) => n + e.membership.stats.deathsDeclared, 0);
    const accusers = w.engines.slice(0, 9).filter((e) => e.membership.stats.suspicionsRaised > 0).length;
    // Each neighbour accuses at a random moment within a period, and not once the suspicion is
    // confirmed as often as Lifeguard counts: several accuse, not all nine.
    expect(accusers).toBeGreaterThan(1);
    expect(accusers).toBeLessThan(9);
    // Declaring at the deadline, all nine would sign a death; in turn, the first one's claim
    // reaches the rest before their turn comes (a second may sign before the news arrives).
    expect(declared).toBeLessThanOrEqual(2);
    expect(w.penalties()).toEqual([]);
  });

  it("an accusation that arrives while the refutation is being signed is answered with it once signed", async () => {
    const w = new World(3, FAST);
    w.linkAll();
    await w.settle();
    await runFor(w, 2000);
    const e1 = w.engines[1];
    const generation = e1.membership.selfClaim!.fields.generation;
    const accuse = (by: number) =>
      signed(w, by, { kind: CLAIM_KIND.SUSPECT, member: w.keys[1].publicKey, generation, incarnation: 0, claimer: w.keys[by].publicKey, addr: null });
    const [by0, by2] = [await accuse(0), await accuse(2)];
    const toNode2: number[] = []; // incarnations of node 1's alive claims sent to node 2
    w.filter = (from, to, bytes) => {
      if (from === 1 && to === 2 && bytes[1] === MEMBER_FRAME.CLAIMS) {
        const f = decodeMemberFrame(bytes, { frameBytesMax: e1.options.frameBytesMax, claimsMax: e1.options.claimsPerFrameMax });
        if ("claims" in f) for (const c of f.claims) if (c.fields.kind === CLAIM_KIND.ALIVE && toHex(c.fields.member) === toHex(w.keys[1].publicKey)) toNode2.push(c.fields.incarnation);
      }
      return true;
    };
    e1.receive(w.now, 0, encodeMemberFrame({ type: MEMBER_FRAME.CLAIMS, claims: [by0] }));
    const verify = e1.pollJob()!; // node 0's accusation: verified, so node 1 refutes and starts signing
    expect(verify.kind).toBe("verify");
    if (verify.kind !== "verify") return;
    e1.completeJob(w.now, verify.id, await (await suite()).verify(verify.publicKey, verify.message, verify.signature));
    expect(e1.membership.incarnation).toBe(1);
    // Node 2's accusation of incarnation 0 arrives while the new alive claim is still being signed.
    e1.receive(w.now, 2, encodeMemberFrame({ type: MEMBER_FRAME.CLAIMS, claims: [by2] }));
    await w.settle(); // signing completes; no tick, so no gossip round runs meanwhile
    expect(toNode2).toContain(1);
    expect(w.penalties()).toEqual([]);
  });

  it("a node over activeViewMax tells the peer it lets their link go; the peer closes it and suspects nobody", async () => {
    const w = new World(5, { ...FAST, activeViewSize: 2, activeViewMax: 2 });
    const linked = new Set<string>();
    const key = (a: number, b: number) => `${Math.min(a, b)}-${Math.max(a, b)}`;
    const reasons: string[] = [];
    const drive = () => {
      for (const { node, event } of w.events.splice(0)) {
        if (event.type === "member" && event.state !== "alive") reasons.push(`${node} holds ${event.state}`);
        if (event.type === "want-link") {
          const j = w.keys.findIndex((k) => toHex(k.publicKey) === toHex(event.peer));
          if (j !== node && !linked.has(key(node, j))) {
            linked.add(key(node, j));
            w.link(node, j);
          }
        } else if (event.type === "drop-link") {
          reasons.push(event.reason);
          const j = event.linkId as number;
          if (linked.delete(key(node, j))) {
            w.engines[node].linkDown(w.now, j);
            w.engines[j].linkDown(w.now, node);
          }
        }
      }
    };
    for (let a = 0; a < 5; a++) for (let b = a + 1; b < 5; b++) (linked.add(key(a, b)), w.link(a, b));
    await w.settle();
    await runFor(w, 20_000, () => (drive(), false));
    const degree = (i: number) => [...linked].filter((k) => k.split("-").includes(String(i))).length;
    expect([0, 1, 2, 3, 4].every((i) => degree(i) <= 2)).toBe(true);
    expect(reasons).toContain("peer let the link go"); // the peer closed it, after the notice
    expect(reasons.filter((r) => r.includes("holds"))).toEqual([]); // nobody suspected: every node stayed up
    expect(w.engines.reduce((n, e) => n + e.membership.stats.suspicionsRaised, 0)).toBe(0);
    expect(w.penalties()).toEqual([]);
  });

  it("a peer that never hears it was let go has the link closed from the other side a period later", async () => {
    const w = new World(4, { ...FAST, activeViewSize: 2, activeViewMax: 2 });
    w.filter = (_from, _to, bytes) => !(bytes[1] === MEMBER_FRAME.SHUFFLE && bytes[2] & SHUFFLE_FLAG.DISCONNECT); // notices lost
    w.linkAll();
    await w.settle();
    const drops: { node: number; linkId: unknown; reason: string; at: number }[] = [];
    const sentAt = new Map<string, number>();
    const filter = w.filter;
    w.filter = (from, to, bytes) => {
      if (bytes[1] === MEMBER_FRAME.SHUFFLE && bytes[2] & SHUFFLE_FLAG.DISCONNECT && !sentAt.has(`${from}-${to}`)) sentAt.set(`${from}-${to}`, w.now);
      return filter(from, to, bytes);
    };
    await runFor(w, 5000, () => {
      for (const { node, event } of w.events.splice(0)) if (event.type === "drop-link") drops.push({ node, linkId: event.linkId, reason: event.reason, at: w.now });
      return false;
    });
    expect(sentAt.size).toBeGreaterThan(0);
    expect(drops.some((d) => d.reason === "peer let the link go")).toBe(false); // no notice arrived
    for (const [k, at] of sentAt) {
      const [from, to] = k.split("-").map(Number);
      const d = drops.find((x) => x.node === from && x.linkId === to);
      expect(d?.reason).toBe("active view full");
      expect(d!.at - at).toBeGreaterThanOrEqual(1000); // a period after the notice, not at once
    }
  });

  it("a hub with far more links than it wants probes several per period, so a hung spoke is found soon", async () => {
    const w = new World(31, { ...FAST, activeViewSize: 3 });
    for (let i = 1; i < 31; i++) w.link(0, i); // a relay with a browser on each link
    await w.settle();
    await runFor(w, 2000);
    const hub = w.engines[0].membership;
    const turns = () => hub.stats.probes + hub.stats.probesSkipped;
    const before = turns();
    await runFor(w, 10_000);
    // ceil(30 / (4 · 3)) = 3 turns a period, each a probe or passed over (its spoke was heard from
    // within the hub's pass of 10 periods: the spokes probe the hub).
    expect(turns() - before).toBeGreaterThanOrEqual(25);
    expect(w.engines[5].membership.stats.probes).toBeLessThan(15); // a spoke: one a period at most
    w.filter = (from, to) => from !== 30 && to !== 30; // hung: the socket stays open, nothing answers
    const hungAt = w.now;
    expect(await runFor(w, 20_000, () => stateAt(w, 0, 30) !== "alive")).toBe(true);
    expect(w.now - hungAt).toBeLessThan(13_000); // found within a round of the hub's 30 links
  });

  it("a quiet mesh probes each link about once a pass, not once from each end, and still finds a member that stops", async () => {
    const { w, pings: pinged } = await quietMeshCountingPings();
    const skipped = w.engines.reduce((n, e) => n + e.membership.stats.probesSkipped, 0);
    const wakes = await timerWakes(w, 0, 30_000);
    const pings = pinged();
    // One probe a node a period would be 6 × 30 = 180; each of the 15 links once a pass is 90.
    console.log(`membership.test.ts: PINGs in 30 quiet periods of 6 nodes: ${pings} (180 if every turn probed); node 0 woke ${wakes} times`);
    // It wakes for its own probes (about one a pass a link, half of them its own) and for the
    // deadlines they set, not for every period's turn and upkeep (30 and more).
    expect(wakes).toBeLessThanOrEqual(24);
    expect(pings).toBeLessThanOrEqual(120);
    expect(pings).toBeGreaterThanOrEqual(60); // every link is still probed
    expect(w.engines.reduce((n, e) => n + e.membership.stats.probesSkipped, 0)).toBeGreaterThan(skipped);
    expect(memberEvents(w).filter((e) => e.state !== "alive")).toEqual([]);
    // A member that stops is suspected within a few periods by one of its monitors.
    const stoppedAt = w.now;
    w.filter = (from, to) => from !== 5 && to !== 5;
    expect(await runFor(w, 20_000, () => [0, 1, 2, 3, 4].some((i) => stateAt(w, i, 5) !== "alive"))).toBe(true);
    expect(w.now - stoppedAt).toBeLessThanOrEqual(5000);
  });

  it("a link whose peer answered a probe, or probed it, waits a pass before its next probe, whatever frames came just before", async () => {
    // Six nodes, each writing twice 300 ms apart every 6 s (phases staggered): every link carries
    // a short gap now and then, never a busy stream.
    const { w, pings: pinged } = await quietMeshCountingPings();
    for (let step = 0; step < 600; step++) { // 60 s in 100 ms steps
      for (let i = 0; i < 6; i++) if ((step - i * 10) % 60 === 0 || (step - i * 10) % 60 === 3) w.engines[i].set(w.now, "k", enc(`v${step}`));
      await w.round(100);
    }
    const pings = pinged();
    console.log(`membership.test.ts: PINGs in 60 periods of 6 nodes writing twice every 6 s: ${pings}`);
    // Waiting twice the last gap after every frame, a short gap led to a probe a period later, and
    // each answer (a period or two after the frame before) to another: a ramp back to a pass —
    // 280 PINGs here; with a probe either way making the link quiet again, 224.
    expect(pings).toBeLessThanOrEqual(245);
    expect(pings).toBeGreaterThanOrEqual(30);
    expect(memberEvents(w).filter((e) => e.state !== "alive")).toEqual([]);
  });

  it("a peer that was sending often is probed once silent for about a period, not a pass", async () => {
    // A hub of 7 spokes (a pass of 7 periods); spoke 7 writes every 100 ms, which state sync's
    // 100 ms rounds carry to the hub.
    const w = new World(8, { ...FAST, intervalMs: 100 });
    for (let i = 1; i < 8; i++) w.link(0, i);
    await w.settle();
    for (let t = 0; t < 60; t++) {
      w.engines[7].set(w.now, "cursor", enc(`${t}`));
      await runFor(w, 100);
    }
    const hub = w.engines[0].membership;
    const probes = hub.stats.probes;
    w.filter = (from, to) => from !== 7 && to !== 7; // it hangs: the socket stays open, nothing comes
    const hungAt = w.now;
    expect(await runFor(w, 20_000, () => stateAt(w, 0, 7) !== "alive")).toBe(true);
    // Silent for a period, probed, unanswered for a period: suspected within about three, where a
    // pass of silence (7 s) would come first if its traffic did not shorten the wait.
    expect(w.now - hungAt).toBeLessThanOrEqual(3500);
    expect(hub.stats.probes - probes).toBeGreaterThanOrEqual(1);
  });

  it("a restarted member rejoins with a new generation, which outranks its old death", async () => {
    const w = new World(3, FAST);
    w.linkAll();
    await w.settle();
    await runFor(w, 1500);
    w.filter = (from, to) => from !== 2 && to !== 2;
    expect(await runFor(w, 30_000, () => stateAt(w, 0, 2) === "dead" && stateAt(w, 1, 2) === "dead")).toBe(true);
    // Node 2 comes back: a fresh engine, same key, a newer generation (a boot timestamp).
    w.engines[2] = new Engine({ publicKey: w.keys[2].publicKey, generation: 2, random: seededRng(99), now: w.now, options: FAST });
    w.filter = () => true;
    w.link(0, 2);
    await w.settle();
    expect(await runFor(w, 5000, () => stateAt(w, 0, 2) === "alive" && stateAt(w, 1, 2) === "alive")).toBe(true);
    expect(w.engines[1].membership.member(w.keys[2].publicKey)).toMatchObject({ generation: 2, incarnation: 0 });
    expect(w.penalties()).toEqual([]);
  });

  it("a claim signed by someone else than it says is refused and penalised", async () => {
    const w = new World(3, FAST);
    w.linkAll();
    await w.settle();
    await runFor(w, 1500);
    // 0 forges "2 is dead, says 1" (signed with 0's key) and "2 left" (not 2's key).
    const forgedDead = await signed(w, 0, { kind: CLAIM_KIND.DEAD, member: w.keys[2].publicKey, generation: 1, incarnation: 0, claimer: w.keys[1].publicKey, addr: null });
    const forgedLeft = await signed(w, 0, { kind: CLAIM_KIND.LEFT, member: w.keys[2].publicKey, generation: 1, incarnation: 0, claimer: null, addr: null });
    w.engines[1].receive(w.now, 0, encodeMemberFrame({ type: MEMBER_FRAME.CLAIMS, claims: [forgedDead, forgedLeft] }));
    await w.settle();
    expect(stateAt(w, 1, 2)).toBe("alive");
    expect(w.penalties(1).map((p) => p.code)).toEqual(["CRYPTO_BAD_SIGNATURE", "CRYPTO_BAD_SIGNATURE"]);
  });

  it("an honest but false accusation is attributable and refuted", async () => {
    const w = new World(3, FAST);
    w.linkAll();
    await w.settle();
    await runFor(w, 1500);
    const lie = await signed(w, 0, { kind: CLAIM_KIND.DEAD, member: w.keys[2].publicKey, generation: 1, incarnation: 0, claimer: w.keys[0].publicKey, addr: null });
    w.engines[1].receive(w.now, 0, encodeMemberFrame({ type: MEMBER_FRAME.CLAIMS, claims: [lie] }));
    await w.settle();
    const dead = memberEvents(w, 1).find((e) => e.state === "dead")!;
    expect(toHex(dead.claimer!)).toBe(toHex(w.keys[0].publicKey));
    await runFor(w, 5000, () => stateAt(w, 1, 2) === "alive");
    expect(stateAt(w, 1, 2)).toBe("alive");
    expect(w.engines[2].membership.incarnation).toBe(1);
  });
});

describe("membership: dissemination", () => {
  it("a claim goes in full to a few peers and by id to the rest; a node told only the id asks for it", async () => {
    // 16 nodes, each linked to all 15 others: flooding would send each node up to 15 copies.
    const w = new World(16, FAST);
    w.linkAll();
    await w.settle();
    await runFor(w, 2000);
    w.filter = (from, to) => from !== 15 && to !== 15; // node 15 is gone
    const generation = w.engines[15].membership.selfClaim!.fields.generation;
    const claim = await signed(w, 1, { kind: CLAIM_KIND.SUSPECT, member: w.keys[15].publicKey, generation, incarnation: 0, claimer: w.keys[1].publicKey, addr: null });
    const sig = toHex(claim.signature);
    const copies = new Map<number, number>(); // node → full copies of the claim it was sent
    for (let from = 0; from < 15; from++) {
      onClaimsSent(w, from, (to, c) => {
        if (toHex(c.signature) === sig) copies.set(to, (copies.get(to) ?? 0) + 1);
      });
    }
    w.engines[0].receive(w.now, 1, encodeMemberFrame({ type: MEMBER_FRAME.CLAIMS, claims: [claim] }));
    await w.settle();
    const everyone = () => [...Array(15).keys()].every((i) => stateAt(w, i, 15) === "suspect");
    expect(await runFor(w, 5000, everyone)).toBe(true);
    await runFor(w, 3000);
    const received = [...copies].reduce((n, [to, k]) => n + (to < 15 ? k : 0), 0);
    const fanout = w.engines[0].options.memberGossipFanout;
    // (Node 15 itself is sent it on every probe, so it could refute: Lifeguard's buddy system.)
    // Each node that takes it in sends it in full to at most `fanout` live peers, answers the WANTs
    // of peers that had only its id, and tells the rest its id; flooding sent each node one copy per link.
    const stats = w.engines.slice(0, 15).map((e) => e.membership.stats);
    const wanted = stats.reduce((n, s) => n + s.idsWanted, 0);
    expect(received).toBeLessThanOrEqual(15 * fanout + wanted);
    // Fewer than every node pushing it to `fanout` peers: a node that has had it from two peers
    // stops sending it whole (45 copies before that rule, 41 with it).
    expect(received).toBeLessThan(15 * fanout);
    expect(received).toBeLessThan(15 * 14 / 2);
    expect(stats.reduce((n, s) => n + s.idsAnnounced, 0)).toBeGreaterThan(0);
    expect(w.penalties()).toEqual([]);
  });

  it("two peers sending a node copies of an accusation stop it sending that accusation whole, not spreading it: its id goes on, and the rest ask", async () => {
    // 1 and 2 hang off node 0, the chain 0–3–4–5 leads on; node 6 (known through node 1) is gone.
    const w = new World(7, FAST);
    for (const [a, b] of [[0, 1], [0, 2], [0, 3], [3, 4], [4, 5], [1, 6]]) w.link(a, b);
    await w.settle();
    await runFor(w, 3000, () => [0, 3, 4, 5].every((i) => stateAt(w, i, 6) === "alive"));
    w.filter = (from, to) => from !== 6 && to !== 6;
    const generation = w.engines[6].membership.selfClaim!.fields.generation;
    const claim = await signed(w, 1, { kind: CLAIM_KIND.SUSPECT, member: w.keys[6].publicKey, generation, incarnation: 0, claimer: w.keys[1].publicKey, addr: null });
    const sig = toHex(claim.signature);
    const got = new Map<number, number>(); // node → copies of this very claim it was sent
    for (const from of [0, 3, 4]) onClaimsSent(w, from, (to, c) => void (toHex(c.signature) === sig && got.set(to, (got.get(to) ?? 0) + 1)));
    const frame = encodeMemberFrame({ type: MEMBER_FRAME.CLAIMS, claims: [claim] });
    w.engines[0].receive(w.now, 1, frame);
    w.engines[0].receive(w.now, 2, frame); // the same bytes from a second peer, before the first is checked
    await w.settle();
    const wanted0 = w.engines[3].membership.stats.idsWanted;
    expect(await runFor(w, 4000, () => [3, 4, 5].every((i) => got.has(i)))).toBe(true);
    // Node 0 never pushed it (it came from two peers); node 3 had its id, asked, and got one copy.
    expect(got.get(3)).toBe(1);
    expect(w.engines[3].membership.stats.idsWanted).toBeGreaterThan(wanted0);
    expect([3, 4, 5].every((i) => ["suspect", "dead"].includes(stateAt(w, i, 6)!))).toBe(true);
    expect(w.penalties()).toEqual([]);
  });

  it("a claim whose signature fails is never sent on in answer to a WANT (a forgery would blame the node that passed it)", async () => {
    const w = new World(3, FAST);
    w.link(0, 1);
    w.link(0, 2);
    await w.settle();
    await runFor(w, 2000);
    const generation = w.engines[2].membership.selfClaim!.fields.generation;
    const genuine = await signed(w, 1, { kind: CLAIM_KIND.SUSPECT, member: w.keys[2].publicKey, generation, incarnation: 0, claimer: w.keys[1].publicKey, addr: null });
    const signature = genuine.signature.slice();
    signature[63] ^= 1; // the id (its first 8 bytes) is the genuine one's
    const forged = { ...genuine, signature };
    w.engines[0].receive(w.now, 1, encodeMemberFrame({ type: MEMBER_FRAME.CLAIMS, claims: [forged] }));
    await w.settle();
    expect(w.penalties(0).map((p) => p.code)).toEqual(["CRYPTO_BAD_SIGNATURE"]);
    const sent = w.engines[0].membership.stats.claimsSent;
    w.engines[0].receive(w.now, 2, encodeMemberFrame({ type: MEMBER_FRAME.IDS, op: IDS_OP.WANT, ids: [claimId(forged)] }));
    await w.settle();
    expect(w.engines[0].membership.stats.claimsSent).toBe(sent);
    expect(w.penalties(2)).toEqual([]);
  });

  it("a hub tells as many peers of a claim as its transmit limit allows, not every link", async () => {
    const w = new World(21, FAST);
    for (let i = 1; i < 21; i++) w.link(0, i);
    await w.settle();
    await runFor(w, 2000);
    const generation = w.engines[20].membership.selfClaim!.fields.generation;
    const claim = await signed(w, 1, { kind: CLAIM_KIND.SUSPECT, member: w.keys[20].publicKey, generation, incarnation: 0, claimer: w.keys[1].publicKey, addr: null });
    const id = toHex(claimId(claim));
    const told = new Set<number>(); // peers the hub sent the claim or its id
    onClaimsSent(w, 0, (to, c) => {
      if (toHex(c.signature) === toHex(claim.signature) && to !== 20) told.add(to);
    });
    const filter = w.filter;
    w.filter = (from, to, bytes) => {
      if (from === 0 && bytes[1] === MEMBER_FRAME.IDS) {
        const f = decodeMemberFrame(bytes, { frameBytesMax: 1 << 20, claimsMax: 1024 });
        if (f.type === MEMBER_FRAME.IDS && f.ids.some((x) => toHex(x) === id)) told.add(to);
      }
      return filter(from, to, bytes);
    };
    w.engines[0].receive(w.now, 1, encodeMemberFrame({ type: MEMBER_FRAME.CLAIMS, claims: [claim] }));
    await w.settle();
    await runFor(w, 3000);
    const limit = retransmitLimit(w.engines[0].membership.known, w.engines[0].options.retransmitMult);
    expect(limit).toBeLessThan(19);
    // Node 1 sent it and node 20 is the accused (told on every probe, so it could refute).
    expect(told.has(1)).toBe(false);
    expect(told.size).toBe(limit);
    expect(w.penalties()).toEqual([]);
  });

  it("a node told only an id asks an announcer for the claim, and gets it", async () => {
    // A line 2 – 1 – 3 plus 0 – 1; node 3 goes away, and node 1 holds a suspicion of it.
    const w = new World(4, FAST);
    w.link(0, 1);
    w.link(1, 2);
    w.link(1, 3);
    await w.settle();
    await runFor(w, 2000);
    // Node 2 is told the claim's id, and node 1's claims reach it only once it has asked.
    let wanted = false;
    const filter = w.filter;
    w.filter = (from, to, bytes) => {
      if (from === 3 || to === 3) return false;
      if (from === 2 && to === 1 && bytes[1] === MEMBER_FRAME.IDS) wanted = true;
      const carriesClaims = [MEMBER_FRAME.CLAIMS, MEMBER_FRAME.PING, MEMBER_FRAME.ACK, MEMBER_FRAME.PING_REQ].includes(bytes[1] as 12);
      if (from === 1 && to === 2 && carriesClaims && !wanted) return false;
      return filter(from, to, bytes);
    };
    const generation = w.engines[3].membership.selfClaim!.fields.generation;
    const claim = await signed(w, 0, { kind: CLAIM_KIND.SUSPECT, member: w.keys[3].publicKey, generation, incarnation: 0, claimer: w.keys[0].publicKey, addr: null });
    w.engines[1].receive(w.now, 0, encodeMemberFrame({ type: MEMBER_FRAME.CLAIMS, claims: [claim] }));
    await w.settle();
    await runFor(w, 1000); // a protocol period: node 1 has announced it (and so will send it when asked)
    w.engines[2].receive(w.now, 1, encodeMemberFrame({ type: MEMBER_FRAME.IDS, op: IDS_OP.HAVE, ids: [claimId(claim)] }));
    await w.settle();
    const heard = () => memberEvents(w, 2).some((e) => toHex(e.member) === toHex(w.keys[3].publicKey) && e.state === "suspect");
    expect(await runFor(w, 5000, heard)).toBe(true);
    expect(wanted).toBe(true);
    expect(w.engines[2].membership.stats.idsWanted).toBe(1);
    // A WANT naming the id many times gets one copy.
    const sent = w.engines[1].membership.stats.claimsSent;
    w.engines[1].receive(w.now, 2, encodeMemberFrame({ type: MEMBER_FRAME.IDS, op: IDS_OP.WANT, ids: Array.from({ length: 50 }, () => claimId(claim)) }));
    await w.settle();
    expect(w.engines[1].membership.stats.claimsSent - sent).toBe(1);
    expect(w.penalties()).toEqual([]);
  });

  it("ids a peer announces and never sends cost a bounded share of the list and one ask each; a WANT gets only claims held", async () => {
    // claimQueueMax 8: at most 8 missing ids, at most 2 of them first announced by any one link.
    const w = new World(3, { ...FAST, claimQueueMax: 8 });
    w.link(0, 1);
    w.link(0, 2);
    await w.settle();
    await runFor(w, 2000);
    const asked = new Map<number, string[]>(); // link → ids node 0 asked of it
    const filter = w.filter;
    w.filter = (from, to, bytes) => {
      if (from === 0 && bytes[1] === MEMBER_FRAME.IDS) {
        const f = decodeMemberFrame(bytes, { frameBytesMax: 1 << 20, claimsMax: 1024 });
        if (f.type === MEMBER_FRAME.IDS && f.op === IDS_OP.WANT) asked.set(to, [...(asked.get(to) ?? []), ...f.ids.map(toHex)]);
      }
      return filter(from, to, bytes);
    };
    // Node 1 announces 20 ids it will never send; then node 2 announces a real claim's id.
    const junk = Array.from({ length: 20 }, (_, i) => new Uint8Array(8).fill(i + 1));
    w.engines[0].receive(w.now, 1, encodeMemberFrame({ type: MEMBER_FRAME.IDS, op: IDS_OP.HAVE, ids: junk.slice(0, 10) }));
    w.engines[0].receive(w.now, 1, encodeMemberFrame({ type: MEMBER_FRAME.IDS, op: IDS_OP.HAVE, ids: junk.slice(10) }));
    const generation = w.engines[1].membership.selfClaim!.fields.generation;
    const claim = await signed(w, 2, { kind: CLAIM_KIND.SUSPECT, member: w.keys[1].publicKey, generation, incarnation: 0, claimer: w.keys[2].publicKey, addr: null });
    w.engines[2].receive(w.now, 0, encodeMemberFrame({ type: MEMBER_FRAME.CLAIMS, claims: [claim] })); // node 2 holds it (as if from elsewhere)
    await w.settle();
    await runFor(w, 1000); // a protocol period: node 2 has announced it (and so will send it when asked)
    w.engines[0].receive(w.now, 2, encodeMemberFrame({ type: MEMBER_FRAME.IDS, op: IDS_OP.HAVE, ids: [claimId(claim)] }));
    await w.settle();
    await runFor(w, 5000);
    // Node 1's junk took two places, each asked for once, then dropped; node 2's id got its place.
    expect(asked.get(1)).toHaveLength(2);
    expect(asked.get(1)!.every((id) => junk.some((j) => toHex(j) === id))).toBe(true);
    expect(asked.get(2)).toEqual([toHex(claimId(claim))]);
    expect(memberEvents(w, 0).some((e) => toHex(e.member) === toHex(w.keys[1].publicKey) && e.state === "suspect")).toBe(true);
    // A WANT of ids node 0 does not hold is answered with nothing.
    const sent = w.engines[0].membership.stats.claimsSent;
    w.engines[0].receive(w.now, 1, encodeMemberFrame({ type: MEMBER_FRAME.IDS, op: IDS_OP.WANT, ids: junk.slice(0, 4) }));
    await w.settle();
    expect(w.engines[0].membership.stats.claimsSent).toBe(sent);
    expect(w.penalties()).toEqual([]);
  });

  it("news is never sent back to the peers it came from", async () => {
    const w = new World(12, FAST);
    w.link(0, 1);
    w.link(0, 2);
    await w.settle();
    // Members node 0 has never heard of arrive from node 2 as gossip (news).
    const news = w.engines.slice(3).map((e) => e.membership.selfClaim!);
    const sigs = new Set(news.map((c) => toHex(c.signature)));
    const carried = new Map<number, number>(); // peer → news claims node 0 sent it
    onClaimsSent(w, 0, (to, c) => {
      if (sigs.has(toHex(c.signature))) carried.set(to, (carried.get(to) ?? 0) + 1);
    });
    w.engines[0].receive(w.now, 2, encodeMemberFrame({ type: MEMBER_FRAME.CLAIMS, claims: news }));
    await w.settle();
    await runFor(w, 3000);
    expect(carried.get(1) ?? 0).toBeGreaterThanOrEqual(news.length); // passed on to node 1
    expect(carried.get(2) ?? 0).toBe(0); // node 2 sent them: never back
    expect(w.penalties()).toEqual([]);
  });

  it("a burst of news goes out in full CLAIMS frames, not 16 claims at a time; pings carry at most claimsPerMessageMax", async () => {
    const w = new World(42, FAST);
    w.link(0, 1);
    w.link(0, 2);
    await w.settle();
    const o = w.engines[0].options;
    expect(o.claimsPerMessageMax).toBe(16);
    // 39 members node 0 has never heard of arrive from node 2 as gossip (news): all queued at once,
    // for node 1 (never sent back to node 2, which sent them).
    const news = w.engines.slice(2).map((e) => e.membership.selfClaim!);
    expect(news.every((c) => c !== null)).toBe(true);
    const sizes: { type: number; claims: number }[] = [];
    w.filter = (from, _to, bytes) => {
      if (from === 0 && bytes[1] >= 8 && bytes[1] <= 15) {
        const f = decodeMemberFrame(bytes, { frameBytesMax: o.frameBytesMax, claimsMax: o.claimsPerFrameMax });
        if ("claims" in f) sizes.push({ type: f.type, claims: f.claims.length });
      }
      return true;
    };
    w.engines[0].receive(w.now, 2, encodeMemberFrame({ type: MEMBER_FRAME.CLAIMS, claims: news }));
    await w.settle();
    await runFor(w, 2000);
    expect(w.engines[0].membership.known).toBe(41);
    const gossip = sizes.filter((x) => x.type === MEMBER_FRAME.CLAIMS).map((x) => x.claims);
    const piggy = sizes.filter((x) => x.type === MEMBER_FRAME.PING || x.type === MEMBER_FRAME.ACK).map((x) => x.claims);
    expect(Math.max(...gossip)).toBeGreaterThan(o.claimsPerMessageMax);
    expect(Math.max(...gossip)).toBeLessThanOrEqual(o.claimsPerFrameMax);
    expect(piggy.length).toBeGreaterThan(0);
    expect(Math.max(...piggy)).toBeLessThanOrEqual(o.claimsPerMessageMax);
    expect(w.penalties()).toEqual([]);
  });
});

describe("membership: shuffles in a quiet mesh", () => {
  it("shuffles slow to a quarter as often while the view stays as it was, and a change brings the full rate back", async () => {
    const w = new World(7, { ...FAST, shuffleIntervalMs: 2000 });
    for (let a = 0; a < 6; a++) for (let b = a + 1; b < 6; b++) w.link(a, b); // node 6 joins later
    await w.settle();
    const at: number[][] = [[], [], [], [], [], []]; // when each of nodes 0–5 sent a shuffle request
    const filter = w.filter;
    w.filter = (from, to, bytes) => {
      if (bytes[1] === MEMBER_FRAME.IDS && bytes[2] === IDS_OP.SAMPLE && from < 6) at[from].push(w.now); // requests, not replies
      return filter(from, to, bytes);
    };
    await runFor(w, 30_000, () => false, 100); // the view settles
    const from = w.now;
    await runFor(w, 40_000, () => false, 100);
    const quiet = at.reduce((n, t) => n + t.filter((x) => x > from).length, 0);
    // Six nodes at 2 s would send 120 in 40 s; at a quarter of the rate, 30.
    expect(quiet).toBeGreaterThanOrEqual(24);
    expect(quiet).toBeLessThanOrEqual(36);
    // A member joins. Each node's next shuffle finds the view changed, and the one after it comes
    // 2 s later (then the period doubles again while nothing more changes).
    const joined = w.now;
    for (let a = 0; a < 6; a++) w.link(a, 6);
    await w.settle();
    await runFor(w, 12_000, () => false, 100);
    for (const times of at) {
      const after = times.filter((x) => x > joined);
      expect(after.length).toBeGreaterThanOrEqual(2);
      expect(after[1] - after[0]).toBeLessThanOrEqual(2100);
    }
    expect(w.penalties()).toEqual([]);
  });
  it("a shuffle names its sample by id: peers holding the claims ask for none; a node lacking members asks for those, takes them into its view and does not spread them", async () => {
    const w = new World(8, { ...FAST, shuffleIntervalMs: 2000 });
    for (let a = 0; a < 6; a++) for (let b = a + 1; b < 6; b++) w.link(a, b);
    await w.settle();
    await runFor(w, 3000, () => false, 100);
    // A chain 0–6–7 whose ends never get a view (SYNCs to 6 and 7 are lost): 6 and 7 can learn of
    // nodes 1–5 only from shuffles.
    const seen: { from: number; to: number; type: number; op: number; frame: Uint8Array }[] = [];
    const filter = w.filter;
    w.filter = (from, to, bytes) => {
      if (to >= 6 && bytes[1] === MEMBER_FRAME.SYNC) return false;
      seen.push({ from, to, type: bytes[1], op: bytes[2], frame: bytes });
      return filter(from, to, bytes);
    };
    w.link(0, 6);
    w.link(6, 7);
    await w.settle();
    const knows = (n: number) => [1, 2, 3, 4, 5].filter((i) => w.engines[n].membership.stateOf(toHex(w.keys[i].publicKey)) === "alive").length;
    expect([knows(6), knows(7)]).toEqual([0, 0]);
    await runFor(w, 60_000, () => false, 100);
    expect([knows(6), knows(7)]).toEqual([5, 5]);
    const limits = { frameBytesMax: 1 << 20, claimsMax: 256 };
    const decoded = (from: number, to: number, type: number) =>
      seen.filter((x) => x.from === from && x.to === to && x.type === type).map((x) => decodeMemberFrame(x.frame, limits));
    // Shuffles went by id only (9 bytes a member), and the clique, which holds every claim named,
    // asked for none.
    const samples = seen.filter((x) => x.type === MEMBER_FRAME.IDS && (x.op === IDS_OP.SAMPLE || x.op === IDS_OP.SAMPLE_REPLY));
    expect(samples.length).toBeGreaterThan(20);
    expect(Math.max(...samples.map((x) => x.frame.length))).toBeLessThanOrEqual(4 + 7 * 9); // its own id and ≤ 6 others
    expect(seen.filter((x) => x.type === MEMBER_FRAME.SHUFFLE)).toEqual([]);
    expect(seen.filter((x) => x.type === MEMBER_FRAME.IDS && x.op === IDS_OP.WANT).every((x) => x.from >= 6)).toBe(true);
    // What node 6 took from shuffles only fills its view: every claim it sent 7 was its own or one
    // 7 had asked for (a claim spread on as news would have gone whole, unasked).
    const asked = new Set(decoded(7, 6, MEMBER_FRAME.IDS).flatMap((f) => (f.type === MEMBER_FRAME.IDS && f.op === IDS_OP.WANT ? f.ids.map(toHex) : [])));
    const carrying = [MEMBER_FRAME.CLAIMS, MEMBER_FRAME.PING, MEMBER_FRAME.ACK, MEMBER_FRAME.PING_REQ];
    const sent = carrying.flatMap((t) => decoded(6, 7, t)).flatMap((f) => ("claims" in f ? f.claims : []));
    const others = sent.filter((c) => toHex(decodeClaimBody(c.body).member) !== toHex(w.keys[6].publicKey));
    expect(others.length).toBeGreaterThanOrEqual(5);
    expect(others.filter((c) => !asked.has(toHex(claimId(c))))).toEqual([]);
    expect(w.penalties()).toEqual([]);
  });

  it("a node whose table is full (the mesh is larger than its view) swaps whole claims, which its peer most likely lacks", async () => {
    const w = new World(6, { ...FAST, shuffleIntervalMs: 2000, membersMax: 3 });
    for (let a = 0; a < 6; a++) w.link(a, (a + 1) % 6);
    await w.settle();
    const kinds = { whole: 0, ids: 0 };
    const filter = w.filter;
    w.filter = (from, to, bytes) => {
      if (bytes[1] === MEMBER_FRAME.SHUFFLE && bytes[2] === 0) kinds.whole++;
      if (bytes[1] === MEMBER_FRAME.IDS && bytes[2] === IDS_OP.SAMPLE) kinds.ids++;
      return filter(from, to, bytes);
    };
    await runFor(w, 20_000, () => false, 100);
    expect(w.engines.every((e) => e.membership.known === 3)).toBe(true);
    expect(kinds.whole).toBeGreaterThan(10);
    expect(kinds.ids).toBe(0);
    expect(w.penalties()).toEqual([]);
  });
});

describe("membership: partitions", () => {
  it("with no seeds, a healed partition becomes one view again: nodes re-dial dead members, which refute", async () => {
    const w = new World(6, { ...FAST, seedRetryMs: 2000 });
    const side = (i: number) => (i < 3 ? 0 : 1);
    let split = false;
    w.filter = (from, to) => !split || side(from) === side(to);
    const linked = new Set<string>();
    const link = (a: number, b: number) => {
      const k = `${Math.min(a, b)}-${Math.max(a, b)}`;
      if (a === b || linked.has(k) || (split && side(a) !== side(b))) return; // a dial across the split fails
      linked.add(k);
      w.link(a, b);
    };
    // The driver: act on the engines' want-link and drop-link events.
    const drive = () => {
      for (const { node, event } of w.events.splice(0)) {
        if (event.type === "want-link") {
          const j = w.keys.findIndex((k) => toHex(k.publicKey) === toHex(event.peer));
          link(node, j);
        } else if (event.type === "drop-link") {
          const j = event.linkId as number;
          if (linked.delete(`${Math.min(node, j)}-${Math.max(node, j)}`)) {
            w.engines[node].linkDown(w.now, j);
            w.engines[j].linkDown(w.now, node);
          }
        }
      }
    };
    for (let a = 0; a < 6; a++) for (let b = a + 1; b < 6; b++) link(a, b);
    await w.settle();
    const allAlive = () => [0, 1, 2, 3, 4, 5].every((i) => [0, 1, 2, 3, 4, 5].every((j) => i === j || stateAt(w, i, j) === "alive"));
    expect(await runFor(w, 5000, () => (drive(), allAlive()))).toBe(true);
    split = true;
    // Every member has a link across, so each side probes, suspects and declares the whole other
    // side dead and drops those links: no alive member is left over there to dial.
    const crossLinks = () => [...linked].filter((k) => side(+k.split("-")[0]) !== side(+k.split("-")[1])).length;
    const deadAcross = () => [0, 1, 2, 3, 4, 5].every((i) => [0, 1, 2, 3, 4, 5].every((j) => side(i) === side(j) || stateAt(w, i, j) === "dead"));
    expect(await runFor(w, 120_000, () => (drive(), crossLinks() === 0 && deadAcross()))).toBe(true);
    await runFor(w, 5000, () => (drive(), false));
    expect(crossLinks()).toBe(0);
    split = false;
    // Nobody probes the dead; only re-dialing them (every seedRetryMs, probability dead / live) brings them back.
    expect(await runFor(w, 30_000, () => (drive(), allAlive()))).toBe(true);
    expect(w.penalties()).toEqual([]);
  });
});

describe("membership: Lifeguard", () => {
  it("suspicion starts long and shrinks on a log scale as confirmations arrive", () => {
    const p = suspicionParams(1000, { suspicionMult: 4, suspicionMaxTimeoutMult: 6, probeIntervalMs: 1000, lifeguard: true });
    expect(p.minMs).toBe(12_000);
    expect(p.maxMs).toBe(72_000);
    expect(p.expected).toBe(2);
    expect(suspicionTimeoutMs(p, 0)).toBe(72_000);
    expect(suspicionTimeoutMs(p, 1)).toBe(Math.floor(72_000 - (Math.log(2) / Math.log(3)) * 60_000));
    expect(suspicionTimeoutMs(p, 2)).toBe(12_000);
    expect(suspicionTimeoutMs(p, 9)).toBe(12_000);
    const swim = suspicionParams(1000, { suspicionMult: 4, suspicionMaxTimeoutMult: 6, probeIntervalMs: 1000, lifeguard: false });
    expect(suspicionTimeoutMs(swim, 0)).toBe(12_000);
    // Too few members to confirm: the minimum at once.
    const tiny = suspicionParams(3, { suspicionMult: 4, suspicionMaxTimeoutMult: 6, probeIntervalMs: 1000, lifeguard: true });
    expect(suspicionTimeoutMs(tiny, 0)).toBe(4000);
  });

  it("retransmit limit grows with log10 of the view", () => {
    expect(retransmitLimit(9, 4)).toBe(4);
    expect(retransmitLimit(10, 4)).toBe(8);
    expect(retransmitLimit(1000, 4)).toBe(16);
    expect(retransmitLimit(999, 4)).toBe(12);
  });

  it("local health is clamped and scales timing by score + 1; off without Lifeguard", () => {
    const h = new LocalHealth(8, true);
    h.apply(-1);
    expect(h.score).toBe(0);
    h.apply(3);
    expect(h.scale(500)).toBe(2000);
    h.apply(100);
    expect(h.score).toBe(7);
    const off = new LocalHealth(8, false);
    off.apply(5);
    expect(off.scale(500)).toBe(500);
  });

  it("a member whose timers stall states its lag, and is given that much longer before it is declared dead", async () => {
    // Three nodes: a suspicion lasts 4 s (too few members for confirmations to shorten it).
    const run = async (opts: Record<string, unknown>) => {
      const w = new World(3, { ...FAST, ...opts });
      w.linkAll();
      await w.settle();
      await runFor(w, 3000);
      const id = toHex(w.keys[2].publicKey);
      const deaths = () => memberEvents(w).filter((e) => e.state === "dead" && toHex(e.member) === id).length;
      await runStalled(w, 2, 3000, 8000); // a 3 s stall: shorter than a suspicion, but it teaches node 2 its lag
      const stated = w.engines[0].membership.lagOf(id);
      const before = deaths();
      // 8 s: past the 4 s suspicion, within 4 s + 2 × the stated lag (its first wake-up was 2–3 s late).
      await runStalled(w, 2, 8000, 20_000);
      return { stated, self: w.engines[2].membership.statedLag, died: deaths() - before, alive: stateAt(w, 0, 2) };
    };
    const lg = await run({});
    expect(lg.stated).toBeGreaterThanOrEqual(2000);
    expect(lg.self).toBeGreaterThanOrEqual(6000); // its claim now states the longer stall
    expect(lg.died).toBe(0);
    expect(lg.alive).toBe("alive");
    const swim = await run({ lifeguard: false });
    expect(swim.stated).toBe(0);
    expect(swim.died).toBeGreaterThan(0);
    const ignored = await run({ suspicionLagMult: 0 });
    expect(ignored.stated).toBeGreaterThanOrEqual(2000);
    expect(ignored.died).toBeGreaterThan(0);
    expect(ignored.alive).toBe("alive"); // it refuted once awake
  });

  it("a stated lag decays once the timers run on time, and the alive claim is re-signed without it", async () => {
    const w = new World(3, FAST);
    w.linkAll();
    await w.settle();
    await runFor(w, 3000);
    await runStalled(w, 2, 3000, 5000);
    const id = toHex(w.keys[2].publicKey);
    expect(w.engines[1].membership.lagOf(id)).toBeGreaterThanOrEqual(2000);
    const announced = w.engines[2].membership.stats.lagAnnouncements;
    // Half-life 5 min: a quarter after 10 min; the claim is re-signed stating no lag (under 1 s).
    await runFor(w, 25 * 60_000, () => w.engines[1].membership.lagOf(id) === 0, 1000);
    expect(w.engines[1].membership.lagOf(id)).toBe(0);
    expect(w.engines[2].membership.stats.lagAnnouncements - announced).toBeGreaterThanOrEqual(1);
    expect(w.engines[2].membership.stats.lagAnnouncements - announced).toBeLessThanOrEqual(3);
    // With no lag left to state, its upkeep and probe turns sleep again: fewer wake-ups than periods.
    await runFor(w, 10_000);
    expect(await timerWakes(w, 2, 30_000)).toBeLessThan(25); // 30 periods
  });

  it("late timers raise local health; healthy again, it comes back down", async () => {
    const w = new World(2, FAST);
    w.link(0, 1);
    await w.settle();
    await runFor(w, 2000);
    const m = w.engines[0].membership;
    expect(m.awareness).toBe(0);
    for (let k = 0; k < 3; k++) {
      // A starved process: timers fire seconds late, and before the ACKs that queued meanwhile.
      for (let t = 0; t < 2; t++) {
        w.now = w.engines[0].nextWakeAt() + 5000;
        w.engines[0].tick(w.now);
      }
      await w.settle();
    }
    expect(m.stats.lateTimers).toBeGreaterThanOrEqual(3);
    expect(m.awareness).toBeGreaterThanOrEqual(2);
    // Healthy again: acknowledged probes bring the score back down (one per stretched period).
    const probes = m.stats.probes;
    await runFor(w, 60_000, () => m.awareness === 0);
    expect(m.stats.probes - probes).toBeLessThan(60); // stretched: fewer than one probe a second
    expect(m.awareness).toBe(0);
  });

  it("without Lifeguard there are no NACKs and no health score", async () => {
    const w = new World(3, { ...FAST, lifeguard: false });
    w.linkAll();
    await w.settle();
    await runFor(w, 1500);
    w.filter = (from, to) => from !== 2 && to !== 2;
    await runFor(w, 5000);
    expect(w.engines[0].membership.stats.nacksSent + w.engines[1].membership.stats.nacksSent).toBe(0);
    expect(w.engines[0].membership.awareness).toBe(0);
  });
});

describe("membership: claims and frames", () => {
  const g = { state: "alive" as const, generation: 5, incarnation: 3 };

  it("orders claims by (generation, incarnation), then left > dead > suspect > alive", () => {
    expect(effectOf(CLAIM_KIND.ALIVE, 5, 3, g)).toBe("none");
    expect(effectOf(CLAIM_KIND.ALIVE, 5, 4, g)).toBe("change");
    expect(effectOf(CLAIM_KIND.SUSPECT, 5, 3, g)).toBe("change");
    expect(effectOf(CLAIM_KIND.SUSPECT, 5, 2, g)).toBe("none");
    expect(effectOf(CLAIM_KIND.SUSPECT, 5, 3, { ...g, state: "suspect" })).toBe("confirm");
    expect(effectOf(CLAIM_KIND.ALIVE, 5, 4, { ...g, state: "dead" })).toBe("change"); // refuted
    expect(effectOf(CLAIM_KIND.DEAD, 5, 3, { ...g, state: "suspect" })).toBe("change");
    expect(effectOf(CLAIM_KIND.LEFT, 5, 3, { ...g, state: "dead" })).toBe("change");
    expect(effectOf(CLAIM_KIND.ALIVE, 5, 9, { ...g, state: "left" })).toBe("none"); // left is final for a generation
    expect(effectOf(CLAIM_KIND.ALIVE, 6, 0, { ...g, state: "left" })).toBe("change"); // a restart rejoins
    expect(effectOf(CLAIM_KIND.ALIVE, 6, 0, { ...g, state: "dead" })).toBe("change");
  });

  it("the claim queue sends the least-sent first, retires claims at the limit, and replaces older news", () => {
    const c = (n: number): ClaimWire => ({ body: new Uint8Array([n]), signature: new Uint8Array(64), fields: null as unknown as ClaimBody });
    const q = new ClaimQueue(3);
    q.push("a", c(1));
    q.push("b", c(2));
    expect(q.take(1, 2)).toEqual([c(2)]); // newest first among equals
    expect(q.take(2, 2).map((x) => x.body[0]).sort()).toEqual([1, 2]);
    expect(q.size).toBe(1); // b reached its limit of 2
    q.push("a", c(3)); // newer news about a replaces the queued claim
    expect(q.take(5, 9)).toEqual([c(3)]);
    q.push("x", c(4));
    q.push("x", c(5), true); // a confirmation stays beside the first suspicion
    q.push("y", c(6));
    q.push("z", c(7)); // over the bound: the most-sent goes
    expect(q.size).toBe(3);
  });

  it("an accusation heard from two peers leaves the queue and is only announced; an alive claim does not", () => {
    const c = (n: number, kind: number = CLAIM_KIND.SUSPECT): ClaimWire => ({ body: new Uint8Array([n]), signature: new Uint8Array(64).fill(n), fields: { kind } as ClaimBody });
    const id = (x: ClaimWire) => toHex(claimId(x));
    const q = new ClaimQueue(8);
    q.push("a", c(1), false, ["p1"]); // came from p1: never sent back there
    q.push("b", c(2));
    expect(q.take(5, 9, undefined, "p1")).toEqual([c(2)]);
    // A copy that is not the queued claim (its id, another body) counts for nothing; nor does p1 again.
    q.heardFrom(id(c(1)), { ...c(1), body: new Uint8Array([9]) }, "p2");
    q.heardFrom(id(c(1)), c(1), "p1");
    expect(q.take(5, 9, undefined, "p3")).toEqual([c(1), c(2)]); // least sent first
    // A second peer sends the very claim: it has spread around here and is no longer sent whole.
    q.heardFrom(id(c(1)), c(1), "p2");
    expect(q.take(5, 9, undefined, "p4")).toEqual([c(2)]);
    expect(q.size).toBe(1);
    // Still announced by id, to peers other than the two that hold it.
    const fresh = q.takeFresh();
    const one = fresh.find((f) => f.claim.body[0] === 1)!;
    expect([one.has("p1"), one.has("p2"), one.has("p3")]).toEqual([true, true, true]); // p3 was sent it whole above
    expect(one.has("p4")).toBe(false);
    // Heard from two peers before it was queued: announced, never sent whole.
    q.push("c", c(3), false, ["p1", "p2"]);
    q.push("d", c(4));
    expect(q.take(5, 9, undefined, "p5").map((x) => x.body[0]).sort()).toEqual([2, 4]);
    expect(q.takeFresh().map((f) => f.claim.body[0]).sort()).toEqual([3, 4]);
    // Newer news about a member also stops the announcement of what it replaced.
    q.push("c", c(6), false, ["p1", "p2"]);
    q.push("c", c(7));
    expect(q.takeFresh().map((f) => f.claim.body[0])).toEqual([7]);
    // An alive claim (a refutation racing a deadline, a join) is sent whole however often it came.
    q.push("e", c(8, CLAIM_KIND.ALIVE), false, ["p1", "p2"]);
    q.heardFrom(id(c(8)), c(8, CLAIM_KIND.ALIVE), "p3");
    expect(q.take(5, 9, undefined, "p6").map((x) => x.body[0])).toContain(8);
  });

  it("claim bodies name a claimer exactly for accusations, an address and a lag only in alive", () => {
    const key = new Uint8Array(32).fill(7);
    const bad = [
      encode([CLAIM_KIND.ALIVE, key, 1, 0, key, null]),
      encode([CLAIM_KIND.SUSPECT, key, 1, 0, null, null]),
      encode([CLAIM_KIND.DEAD, key, 1, 0, key, "ws://x"]),
      encode([9, key, 1, 0, null, null]),
      encode([CLAIM_KIND.ALIVE, key, 1, 0, null]),
      encode([CLAIM_KIND.SUSPECT, key, 1, 0, key, null, 500]), // a lag only in alive
      encode([CLAIM_KIND.ALIVE, key, 1, 0, null, null, 0]), // a zero lag is left out
      encode([CLAIM_KIND.ALIVE, key, 1, 0, null, null, 30_001]), // over CLAIM_LAG_MS_MAX
      encode([CLAIM_KIND.ALIVE, key, 1, 0, null, null, 500, 1]),
    ];
    for (const b of bad) expect(() => decodeClaimBody(b)).toThrow(GrapevineError);
    const ok = { kind: CLAIM_KIND.ALIVE, member: key, generation: 1, incarnation: 2, claimer: null, addr: "wss://relay.example/" };
    expect(decodeClaimBody(encodeClaimBody(ok))).toEqual(ok);
    const slow = { ...ok, lag: 12_300 };
    expect(decodeClaimBody(encodeClaimBody(slow))).toEqual(slow);
    // Without a lag the body is the six-element array it always was.
    expect(encodeClaimBody({ ...ok, lag: 0 })).toEqual(encodeClaimBody(ok));
    expect(() => encodeClaimBody({ ...ok, kind: CLAIM_KIND.LEFT, lag: 100 })).toThrow(RangeError);
  });

  it("frames round-trip; malformed ones are refused with WIRE_* errors and penalised", async () => {
    const limits = { frameBytesMax: 1 << 20, claimsMax: 4 };
    const ping = { type: MEMBER_FRAME.PING, seq: 7, claims: [] };
    expect(decodeMemberFrame(encodeMemberFrame(ping), limits)).toEqual(ping);
    const req = { type: MEMBER_FRAME.PING_REQ, seq: 1, target: new Uint8Array(32), claims: [] };
    expect(decodeMemberFrame(encodeMemberFrame(req), limits)).toEqual(req);
    const ids = { type: MEMBER_FRAME.IDS, op: IDS_OP.WANT, ids: [new Uint8Array(8).fill(1), new Uint8Array(8)] };
    expect(decodeMemberFrame(encodeMemberFrame(ids), limits)).toEqual(ids);
    // An IDS frame of an op a later version added is ignored, whatever it holds.
    expect(decodeMemberFrame(encode([15, "future"]), limits)).toEqual({ type: "unknown", code: 15 });
    expect(decodeMemberFrame(encode([15, 5, { a: 1 }]), limits)).toEqual({ type: "unknown", code: 15 });
    const sample = { type: MEMBER_FRAME.IDS, op: IDS_OP.SAMPLE, ids: [new Uint8Array(8).fill(2)] };
    expect(decodeMemberFrame(encodeMemberFrame(sample), limits)).toEqual(sample);
    expect(() => decodeMemberFrame(encode([15, IDS_OP.SAMPLE_REPLY, { a: 1 }]), limits)).toThrow(GrapevineError);
    expect(() => decodeMemberFrame(encode([15, IDS_OP.HAVE, Array.from({ length: 5 }, () => new Uint8Array(8))]), limits)).toThrow(GrapevineError);
    expect(() => decodeMemberFrame(encode([15, IDS_OP.HAVE, [new Uint8Array(9)]]), limits)).toThrow(GrapevineError);
    const tooMany = encode([MEMBER_FRAME.CLAIMS, Array.from({ length: 5 }, () => [new Uint8Array(10), new Uint8Array(64)])]);
    expect(() => decodeMemberFrame(tooMany, limits)).toThrow(GrapevineError);
    expect(() => decodeMemberFrame(encode([MEMBER_FRAME.ACK, -1, []]), limits)).toThrow(GrapevineError);
    const w = new World(2, FAST);
    w.link(0, 1);
    await w.settle();
    w.engines[1].receive(w.now, 0, encode([MEMBER_FRAME.NACK, "x"]));
    await w.settle();
    expect(w.penalties(1).map((p) => p.code)).toEqual(["WIRE_SHAPE"]);
  });
});

describe("membership: views and collection", () => {
  it("asks for a link when under its active view, drops links to the dead, and collects them", async () => {
    const w = new World(4, { ...FAST, activeViewSize: 3, deadMemberTtlMs: 30_000, leftOriginTtlMs: 60_000 });
    w.link(0, 1);
    w.link(1, 2);
    w.link(2, 3);
    w.link(0, 3);
    for (let i = 0; i < 4; i++) w.engines[i].set(w.now, "k", new Uint8Array([i]));
    const room = scopeIdOf("room/collect");
    for (const i of [0, 3]) w.engines[i].joinScope(w.now, room);
    w.engines[3].set(w.now, "s", new Uint8Array([3]), room);
    await w.settle();
    await runFor(w, 3000);
    const wants = w.events.filter((x) => x.event.type === "want-link") as { node: number; event: Extract<EngineEvent, { type: "want-link" }> }[];
    expect(wants.length).toBeGreaterThan(0);
    expect(toHex(wants.find((x) => x.node === 0)!.event.peer)).toBe(toHex(w.keys[2].publicKey));
    w.filter = (from, to) => from !== 3 && to !== 3;
    expect(await runFor(w, 60_000, () => stateAt(w, 0, 3) === "dead")).toBe(true);
    await runFor(w, 3000); // silent for two periods since its death: the link is let go at the next upkeep
    expect(w.events.some((x) => x.node === 0 && x.event.type === "drop-link" && x.event.linkId === 3)).toBe(true);
    const id3 = w.engines[3].store.selfId;
    expect(w.engines[0].store.origins.has(id3)).toBe(true);
    await runFor(w, 32_000, () => w.engines[0].membership.stateOf(toHex(w.keys[3].publicKey)) === undefined, 500);
    expect(w.engines[0].membership.stateOf(toHex(w.keys[3].publicKey))).toBeUndefined();
    expect(w.engines[0].store.origins.has(id3)).toBe(false); // its replicated state went with it
    // ... and the application heard of each key going, mesh-wide and in the room, as deletions.
    const gone = w.events.flatMap((x) => (x.node === 0 && x.event.type === "change" && x.event.change.originId === id3 && x.event.change.value === null ? [x.event.change] : []));
    expect(gone.map((c) => [c.key, c.scope ? toHex(c.scope) : null])).toEqual([["k", null], ["s", toHex(room)]]);
    expect(w.engines[0].scope(room)!.store.get(id3, "s")).toBeUndefined();
  });

  it("membership: false sends and answers nothing", async () => {
    const w = new World(2, { ...FAST, membership: false });
    w.link(0, 1);
    const sent: number[] = [];
    w.filter = (_f, _t, bytes) => (sent.push(bytes[1]), true);
    await w.settle();
    await runFor(w, 3000);
    expect(sent.filter((t) => t >= 8 && t <= 15)).toEqual([]);
    expect(w.engines[0].nextWakeAt()).toBeLessThan(Infinity);
  });

  it("an idle pair does not wake for claims every peer already has (queued claims wait for new peers, not the gossip interval)", async () => {
    const quiet = { intervalMs: 60_000, probeIntervalMs: 60_000, shuffleIntervalMs: 60_000, pushPullIntervalMs: 60_000 };
    const w = new World(2, quiet);
    w.link(0, 1);
    for (let i = 0; i < 2; i++) w.engines[i].set(w.now, "k", new Uint8Array([i]));
    await w.settle();
    await runFor(w, 5000); // claims and first answers settle
    // Event-driven from here: time jumps to the next wake-up, as a host's timer would.
    const end = w.now + 120_000;
    let wakes = 0;
    while (true) {
      const at = Math.min(...w.engines.map((e) => e.nextWakeAt()));
      if (at > end) break;
      w.now = Math.max(w.now, at);
      for (const e of w.engines) if (e.nextWakeAt() <= w.now) e.tick(w.now), wakes++;
      await w.settle();
    }
    // Periods of a minute: a probe, push-pull, shuffle and upkeep each, per node, about twice in
    // two minutes, and the pass each starts; far from a wake-up per 200 ms gossip interval (1,200).
    expect(wakes).toBeLessThan(60);
    expect(w.engines[1].store.get(w.engines[0].store.selfId, "k")?.[0]).toBe(0);
  });
});
