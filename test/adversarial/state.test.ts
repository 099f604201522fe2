// Hostile peers against replicated state: truncated deltas under a genuine root, equivocation,
// floods of fresh origins, and requests that ask for far more than they cost.
import { describe, expect, it } from "vitest";
import { toHex } from "../../src/bytes.ts";
import { Engine, frameLimitsFor } from "../../src/core/engine.ts";
import { DEFAULT_OPTIONS } from "../../src/core/options.ts";
import { ENTRY_HELD_BYTES, ORIGIN_HELD_BYTES, type Store } from "../../src/core/store.ts";
import { seededRng } from "../../src/core/random.ts";
import { decodeFrame, DELTA_FLAG, DIGEST_FLAG, encodeFrame, FRAME, type DeltaFrame } from "../../src/wire/frames.ts";
import { peekFrameType } from "../../src/wire/link-frames.ts";
import { enc, World } from "../core/harness.ts";
import { attachAttacker, fullOriginDelta, originId, outsiderKey, report } from "./helpers.ts";

const LIMITS = frameLimitsFor(DEFAULT_OPTIONS);
const ATTACKER = 99;

/** The delta node `owner` answers an empty pull with (its whole map, under its signed root). */
function deltaServedBy(e: Engine, now: number): DeltaFrame {
  e.linkUp(now, 777, null);
  while (e.pollTransmit());
  e.receive(now, 777, encodeFrame({ type: FRAME.DIGEST, flags: DIGEST_FLAG.WANT, scope: { depth: 0, index: 0 }, rows: [], summary: null, id: 1 }));
  let frame: DeltaFrame | undefined;
  for (let t; (t = e.pollTransmit()); ) {
    const f = decodeFrame(t.bytes, LIMITS);
    if (f.type === FRAME.DELTA) frame = f;
  }
  e.linkDown(now, 777);
  if (!frame) throw new Error("no delta served");
  return frame;
}

describe("adversarial: truncated state", () => {
  it("a genuine root replayed with a delta that starts at 0 and carries nothing deletes no key", async () => {
    // 0: origin; 1: victim; 99: attacker holding 0's genuine signed root.
    const w = new World(2, { intervalMs: 500, membership: false });
    w.link(0, 1);
    for (let i = 0; i < 5; i++) w.engines[0].set(w.now, `k${i}`, enc(`v${i}`));
    await w.settle();
    for (let r = 0; r < 3; r++) await w.round(500);
    expect(w.get(1, 0, "k3")).toBe("v3");
    const genuine = deltaServedBy(w.engines[0], w.now).origins[0];
    const a = attachAttacker(w, 1, ATTACKER, outsiderKey(3));
    const truncated = encodeFrame({ type: FRAME.DELTA, flags: DELTA_FLAG.RUMOR, replyTo: 0, origins: [{ ...genuine, from: 0, full: false, entries: [] }] });
    let samples = 0;
    let present = 0;
    const deletesBefore = w.events.filter((x) => x.node === 1 && x.event.type === "change" && x.event.change.value === null).length;
    for (let t = 0; t < 200; t++) {
      if (t % 3 === 0) a.send(truncated); // every 150 ms, as in the measured attack
      await w.round(50);
      samples++;
      if (w.get(1, 0, "k3") === "v3") present++;
    }
    const deletes = w.events.filter((x) => x.node === 1 && x.event.type === "change" && x.event.change.value === null).length - deletesBefore;
    report("truncated-state", { samples, key_present: present, fraction_present: present / samples, delete_events: deletes });
    expect(present).toBe(samples);
    expect(deletes).toBe(0);
    // Honest deletes still arrive: the origin deletes a key, and it goes on the victim too.
    w.engines[0].delete(w.now, "k3");
    for (let r = 0; r < 4; r++) await w.round(500);
    expect(w.get(1, 0, "k3") ?? null).toBeNull();
  });
});

describe("adversarial: equivocation", () => {
  it("an origin that signs two roots for one version is distrusted by every honest node, which all drop its keys and tell the application", async () => {
    // 0: the origin; 1..7: honest nodes on a ring; a twin of 0 (same key and generation) signs a
    // different map at the same version and reaches 5..7 only, while 0 reaches 1..4.
    const n = 8;
    const w = new World(n, { intervalMs: 300, membership: false });
    for (let i = 1; i < n; i++) w.link(i, i === n - 1 ? 1 : i + 1);
    w.engines[0].set(w.now, "k", enc("a"));
    await w.settle();
    const twin = new Engine({ publicKey: w.keys[0].publicKey, generation: 1, random: seededRng(77), now: w.now, options: { intervalMs: 300, membership: false } });
    twin.set(w.now, "k", enc("b"));
    const { suite } = await import("../core/harness.ts");
    const s = await suite();
    for (let j; (j = twin.pollJob()); ) if (j.kind === "sign") twin.completeJob(w.now, j.id, await s.sign(w.keys[0], j.message));
    const rootA = deltaServedBy(w.engines[0], w.now);
    const rootB = deltaServedBy(twin, w.now);
    // Evidence goes over each link once, however often the nodes meet the origin again.
    const evidenceOn = new Map<string, number>();
    const counted = w.filter;
    w.filter = (from, to, bytes) => {
      const ok = counted(from, to, bytes);
      if (ok && peekFrameType(bytes) === FRAME.EVIDENCE) evidenceOn.set(`${from}>${to}`, (evidenceOn.get(`${from}>${to}`) ?? 0) + 1);
      return ok;
    };
    // Each honest node hears from "the origin" (link 50: the origin or its twin) once.
    const inner = w.filter;
    w.filter = (from, to, bytes) => to < 50 && inner(from, to, bytes);
    for (let i = 1; i < n; i++) {
      w.engines[i].linkUp(w.now, 50, w.keys[0].publicKey);
      w.engines[i].receive(w.now, 50, encodeFrame({ ...(i <= 4 ? rootA : rootB), flags: DELTA_FLAG.RUMOR }));
    }
    await w.settle();
    for (let i = 1; i < n; i++) w.engines[i].linkDown(w.now, 50);
    await w.settle();
    for (let r = 0; r < 20; r++) await w.round(300);
    const origin = originId(w, 0);
    const verdicts = [1, 2, 3, 4, 5, 6, 7].map((i) => ({
      node: i,
      event: w.events.some((x) => x.node === i && x.event.type === "equivocation"),
      distrusted: w.engines[i].store.distrusted(origin),
      value: w.get(i, 0, "k") ?? null,
    }));
    // The origin goes on writing: nobody takes it up again, nobody is left on a stale value.
    w.engines[0].set(w.now, "k", enc("c"));
    w.filter = inner;
    w.link(0, 1);
    for (let r = 0; r < 10; r++) await w.round(300);
    const after = [1, 2, 3, 4, 5, 6, 7].map((i) => w.get(i, 0, "k") ?? null);
    report("equivocation", {
      honest_nodes: 7, detected: verdicts.filter((v) => v.event).length, distrusted: verdicts.filter((v) => v.distrusted).length,
      holding_a_value: verdicts.filter((v) => v.value !== null).length, holding_a_value_after_next_version: after.filter((v) => v !== null).length,
    });
    for (const v of verdicts) {
      expect(v.event, `node ${v.node} told`).toBe(true);
      expect(v.distrusted, `node ${v.node} distrusts`).toBe(true);
      expect(v.value, `node ${v.node} holds no value`).toBeNull();
    }
    expect(after.every((v) => v === null)).toBe(true);
    expect(evidenceOn.size).toBeGreaterThan(0);
    expect([...evidenceOn.values()].every((c) => c === 1), JSON.stringify([...evidenceOn])).toBe(true);
    // Evidence with two equal roots proves nothing: malformed, penalised.
    const a = attachAttacker(w, 3, ATTACKER, outsiderKey(4));
    const r0 = rootA.origins[0];
    a.send(encodeFrame({ type: FRAME.EVIDENCE, roots: [{ body: r0.rootBody, signature: r0.signature }, { body: r0.rootBody, signature: r0.signature }] }));
    await w.settle();
    expect(w.penalties(3).some((p) => p.linkId === ATTACKER && p.code === "WIRE_SHAPE")).toBe(true);
  });
});

describe("adversarial: floods of fresh origins", () => {
  // Rounds drop a link's budgets that are full again (they are made at first use): with a round
  // every 100 ms the budgets must bound the flood as they do when no round runs.
  for (const intervalMs of [1_000_000, 100]) it(`one link cannot push more new origins or state bytes than its per-second budgets, nor the store past storeBytesMax (a round every ${intervalMs} ms)`, async () => {
    const storeBytesMax = 16 * 1024 * 1024;
    const w = new World(1, { intervalMs, membership: false, storeBytesMax });
    const a = attachAttacker(w, 0, ATTACKER, outsiderKey(5));
    const value = new Uint8Array(15_000).fill(9);
    const origins = 300;
    const deltas = [];
    for (let i = 0; i < origins; i++) {
      deltas.push(await fullOriginDelta(outsiderKey(1000 + i), 1, Array.from({ length: 8 }, (_, k) => ({ key: `k${k}`, value }))));
    }
    // At the measured attack's pace (600 origins of 120 KB in about 22 s: one every 37 ms, 3.2 MB/s),
    // for half as long.
    let sentBytes = 0;
    let next = 0;
    const held: number[] = [];
    for (let t = 0; next < origins; t++) {
      const frame = encodeFrame({ type: FRAME.DELTA, flags: DELTA_FLAG.RUMOR, replyTo: 0, origins: [deltas[next++]] });
      sentBytes += frame.length;
      a.send(frame);
      await w.settle();
      await w.round(37);
      if (t % 27 === 0) held.push(w.engines[0].store.heldBytes); // about once a second
    }
    const seconds = w.now / 1000;
    const store = w.engines[0].store;
    const accepted = store.origins.size - (store.origins.has(store.selfId) ? 1 : 0);
    report("fresh-origin-flood", {
      seconds, origins_sent: next, bytes_sent: sentBytes, origins_accepted: accepted, bytes_held: store.heldBytes,
      store_bytes_max: storeBytesMax, deltas_dropped: w.engines[0].stats.deltasDropped,
    });
    const o = DEFAULT_OPTIONS;
    expect(store.heldBytes).toBeLessThanOrEqual(storeBytesMax + o.originBytesMax);
    expect(accepted).toBeLessThanOrEqual(o.newOriginsPerLinkPerSecondMax * (seconds + 2));
    // The flood (3.2 MB/s) outruns the link's state-bytes budget: some of it is refused by that.
    expect(w.engines[0].stats.deltasDropped).toBeGreaterThan(0);
    // State bytes taken in never outrun the per-link budget.
    for (let i = 1; i < held.length; i++) expect(held[i] - held[i - 1]).toBeLessThanOrEqual(o.stateBytesPerLinkPerSecondMax + o.stateBytesPerLinkPerSecondMax);
    expect(w.penalties(0)).toEqual([]); // bounded, not punished: a fast honest peer looks the same
  });
});

describe("adversarial: fresh keys with tiny maps", () => {
  it("count ORIGIN_HELD_BYTES an origin and ENTRY_HELD_BYTES an entry beside their leaf bytes, so they fill no store past storeBytesMax; letting one go gives its count back", async () => {
    const storeBytesMax = 64 * 1024;
    const w = new World(1, { intervalMs: 1_000_000, membership: false, storeBytesMax, originBytesMax: 4096, valueBytesMax: 1024 });
    const a = attachAttacker(w, 0, ATTACKER, outsiderKey(7));
    const sent = 120;
    for (let i = 0; i < sent; i++) {
      // One entry of one byte: about ten leaf bytes, where the record and entry holding it take kilobytes of heap.
      const d = await fullOriginDelta(outsiderKey(5000 + i), 1, [{ key: "k", value: Uint8Array.of(1) }]);
      a.send(encodeFrame({ type: FRAME.DELTA, flags: DELTA_FLAG.RUMOR, replyTo: 0, origins: [d] }));
      await w.settle();
    }
    const store = w.engines[0].store as Store; // the engine's read-only view of it
    const others = [...store.origins.keys()].filter((id) => id !== store.selfId);
    const room = Math.floor(storeBytesMax / (ORIGIN_HELD_BYTES + ENTRY_HELD_BYTES));
    report("tiny-map-flood", { origins_sent: sent, origins_accepted: others.length, bytes_held: store.heldBytes, store_bytes_max: storeBytesMax });
    expect(store.heldBytes).toBeLessThanOrEqual(storeBytesMax);
    expect(others.length).toBeLessThanOrEqual(room); // each counts its leaf bytes too
    expect(others.length).toBeGreaterThanOrEqual(room - 1); // taken in up to the bound, then refused
    expect(w.penalties(0)).toEqual([]); // refused for room, not punished
    const before = store.heldBytes;
    const leafBytes = store.origins.get(others[0])!.bytes;
    store.forget(others[0], w.now);
    expect(store.heldBytes).toBe(before - ORIGIN_HELD_BYTES - ENTRY_HELD_BYTES - leafBytes);
  });

  it("maps of many one-byte keys count ENTRY_HELD_BYTES a key, so they hold no more entries than storeBytesMax pays for; growing a known map past it is refused too", async () => {
    const storeBytesMax = 512 * 1024;
    const w = new World(1, { intervalMs: 1_000_000, membership: false, storeBytesMax });
    const a = attachAttacker(w, 0, ATTACKER, outsiderKey(8));
    const keys = 200;
    const tiny = (n: number) => Array.from({ length: n }, (_, k) => ({ key: `k${k}`, value: Uint8Array.of(k & 0xff) }));
    for (let i = 0; i < 8; i++) {
      const d = await fullOriginDelta(outsiderKey(6000 + i), 1, tiny(keys));
      a.send(encodeFrame({ type: FRAME.DELTA, flags: DELTA_FLAG.RUMOR, replyTo: 0, origins: [d] }));
      await w.settle();
    }
    const store = w.engines[0].store as Store;
    const others = [...store.origins.values()].filter((o) => o.id !== store.selfId);
    const entries = others.reduce((n, o) => n + o.entries.size, 0);
    report("tiny-key-flood", { origins_accepted: others.length, entries_held: entries, bytes_held: store.heldBytes, store_bytes_max: storeBytesMax });
    // 8 × 200 keys are about 17 KB of leaves; counted at their heap (about 130 KB a map), three fit.
    expect(others.every((o) => o.entries.size === keys)).toBe(true);
    const perMap = store.heldBytes / others.length;
    expect(perMap).toBeGreaterThan(ORIGIN_HELD_BYTES + keys * ENTRY_HELD_BYTES);
    expect(others.length).toBe(Math.floor(storeBytesMax / perMap));
    expect(others.length).toBeLessThan(8);
    // The first map grows by a new root with twice the keys: refused, as the total would pass the bound.
    const first = others.find((o) => o.id === toHex(outsiderKey(6000).publicKey))!;
    const grown = await fullOriginDelta(outsiderKey(6000), 1, tiny(keys * 2));
    a.send(encodeFrame({ type: FRAME.DELTA, flags: DELTA_FLAG.RUMOR, replyTo: 0, origins: [grown] }));
    await w.settle();
    expect(first.entries.size).toBe(keys);
    expect(store.heldBytes).toBeLessThanOrEqual(storeBytesMax);
    expect(w.penalties(0)).toEqual([]); // refused for room, not punished
  });
});

describe("adversarial: requests that ask for more than they cost", () => {
  for (const intervalMs of [1_000_000, 100]) it(`empty pulls repeated without pause are answered within the link's answer budget (a round every ${intervalMs} ms)`, async () => {
    const w = new World(1, { intervalMs, membership: false });
    // The victim holds 40 origins' state (about 1.6 MB), as a relay would.
    const e = w.engines[0];
    w.filter = (_from, to) => to < 500; // the links the state arrives on have no engine behind them
    for (let i = 0; i < 40; i++) {
      const d = await fullOriginDelta(outsiderKey(3000 + i), 1, Array.from({ length: 4 }, (_, k) => ({ key: `k${k}`, value: new Uint8Array(10_000).fill(k) })));
      e.linkUp(w.now, 500 + i, null);
      e.receive(w.now, 500 + i, encodeFrame({ type: FRAME.DELTA, flags: DELTA_FLAG.RUMOR, replyTo: 0, origins: [d] }));
      await w.settle();
      e.linkDown(w.now, 500 + i);
    }
    expect(e.store.heldBytes).toBeGreaterThan(1_500_000);
    const a = attachAttacker(w, 0, ATTACKER, outsiderKey(6));
    await w.settle();
    const sentBefore = a.sent.length;
    let asked = 0;
    for (let t = 0; t < 100; t++) {
      for (let k = 0; k < 10; k++) {
        const pull = encodeFrame({ type: FRAME.DIGEST, flags: DIGEST_FLAG.WANT, scope: { depth: 0, index: 0 }, rows: [], summary: null, id: t * 10 + k + 1 });
        asked += pull.length;
        a.send(pull);
      }
      await w.settle();
      await w.round(10);
    }
    // Answers only: with rounds running the victim also sends the attacker its digests.
    const answered = a.sent.slice(sentBefore).filter((b) => decodeFrame(b, LIMITS).type === FRAME.DELTA).reduce((n, b) => n + b.length, 0);
    const budget = DEFAULT_OPTIONS.answerBytesPerSecondMax;
    report("pull-amplification", { seconds: 1, request_bytes: asked, bytes_answered: answered, answers_deferred: e.stats.answersDeferred });
    expect(answered).toBeLessThanOrEqual(budget * 2 + DEFAULT_OPTIONS.deltaBytesMax);
    expect(e.stats.answersDeferred).toBeGreaterThan(0);
  });
});

export { toHex };
