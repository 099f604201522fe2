// A node pulls an origin it lacks by name (an exact pull, WANT|EXACT) from one peer at a time: when
// several peers offer it the same version within `intervalMs`, it asks one of them; when that
// peer does not answer within `intervalMs` (slow or withholding), the next offer is taken up, and
// the node still gets the state.
import { describe, expect, it } from "vitest";
import { frameLimitsFor } from "../../src/core/limits.ts";
import { decodeFrame, DIGEST_FLAG, FRAME, type DigestFrame } from "../../src/wire/frames.ts";
import { ASKED_MAX, Exchange, type SyncContext } from "../../src/core/exchange.ts";
import { NOT_BEHIND, SyncLink } from "../../src/core/sync-link.ts";
import { seededRng } from "../../src/core/random.ts";
import type { Store } from "../../src/core/store.ts";
import { toHex } from "../../src/bytes.ts";
import { enc, World } from "./harness.ts";

const OPTIONS = { intervalMs: 1000, membership: false };
const EXACT = DIGEST_FLAG.WANT | DIGEST_FLAG.EXACT;
const WRITERS = [0, 1, 2, 3];

/**
 * Writers 0–3 (one key each) held by peers 4, 5 and 6; node 7 (new) linked to the three. Deltas
 * to node 7 from the peers in `held` are dropped (answers that have not arrived yet, or never
 * will); node 7's exact pulls are logged per origin as [peer, time].
 */
async function world(): Promise<{ w: World; held: Set<number>; exactOnly: Set<number>; pulls: Map<string, [number, number][]> }> {
  const w = new World(8, OPTIONS, 12);
  w.now = 1;
  for (const p of [4, 5, 6]) for (const wr of WRITERS) w.link(wr, p);
  await w.settleDue();
  for (const wr of WRITERS) w.engines[wr].set(w.now, "k", enc(`v${wr}`));
  await w.settleDue();
  for (let r = 0; r < 4; r++) await w.round(OPTIONS.intervalMs);
  for (const p of [4, 5, 6]) for (const wr of WRITERS) expect(w.get(p, wr, "k"), `${wr} at ${p}`).toBe(`v${wr}`);
  const limits = frameLimitsFor(w.engines[7].options);
  const held = new Set<number>();
  const exactOnly = new Set<number>(); // peers whose deltas to node 7 pass only in answer to its exact pulls
  const exactIds = new Set<string>(); // `${peer}:${digest id}` of node 7's exact pulls
  const pulls = new Map<string, [number, number][]>();
  w.filter = (from, to, bytes) => {
    if (from === 7 && bytes[1] === FRAME.DIGEST) {
      const f = decodeFrame(bytes, limits);
      if (f.type === FRAME.DIGEST && (f.flags & EXACT) === EXACT) {
        exactIds.add(`${to}:${f.id}`);
        for (const r of f.rows ?? []) pulls.set(toHex(r.origin), [...(pulls.get(toHex(r.origin)) ?? []), [to, w.now]]);
      }
    }
    if (to !== 7 || bytes[1] !== FRAME.DELTA) return true;
    if (held.has(from)) return false;
    if (!exactOnly.has(from)) return true;
    const f = decodeFrame(bytes, limits);
    return f.type === FRAME.DELTA && exactIds.has(`${from}:${f.replyTo}`);
  };
  return { w, held, exactOnly, pulls };
}

describe("exact pulls, one peer at a time", () => {
  it("a node offered the same origins by three peers before any answer came asks one of them for each", async () => {
    const { w, held, pulls } = await world();
    for (const p of [4, 5, 6]) held.add(p); // every answer still on its way
    for (const p of [4, 5, 6]) w.link(7, p);
    await w.settleDue();
    for (const wr of WRITERS) expect(pulls.get(w.engines[wr].store.selfId)?.length, `pulls of ${wr}`).toBe(1);
    held.clear(); // the answers' next copies arrive: nothing was lost
    for (let r = 0; r < 3 && WRITERS.some((wr) => w.get(7, wr, "k") === undefined); r++) await w.round(OPTIONS.intervalMs);
    for (const wr of WRITERS) expect(w.get(7, wr, "k"), `${wr} at 7`).toBe(`v${wr}`);
    expect(w.penalties()).toEqual([]);
  });

  it("a peer that never answers holds back the exact pull an interval at a time: after the first, an honest peer's offer is taken up", async () => {
    const { w, held, exactOnly, pulls } = await world();
    held.add(4); // never answers node 7
    held.add(5); // not yet
    held.add(6);
    const t0 = w.now;
    w.link(7, 4);
    await w.settleDue();
    w.link(7, 5);
    w.link(7, 6);
    await w.settleDue();
    for (const wr of WRITERS) expect(pulls.get(w.engines[wr].store.selfId), `pulls of ${wr}`).toEqual([[4, t0]]);
    // 5 and 6 answer now, but only exact pulls: node 7 gets the state only by asking again.
    held.delete(5);
    held.delete(6);
    exactOnly.add(5);
    exactOnly.add(6);
    for (let r = 0; r < 8 && WRITERS.some((wr) => w.get(7, wr, "k") === undefined); r++) await w.round(OPTIONS.intervalMs);
    for (const wr of WRITERS) {
      expect(w.get(7, wr, "k"), `${wr} at 7`).toBe(`v${wr}`);
      const log = pulls.get(w.engines[wr].store.selfId)!;
      expect(log[0]).toEqual([4, t0]);
      // Within the interval only the withholder was asked; after it, an honest peer was.
      for (const [peer, at] of log) if (at - t0 < OPTIONS.intervalMs) expect(peer, `pull of ${wr} at ${at}`).toBe(4);
      const honest = log.find(([peer]) => peer !== 4);
      expect(honest, `pulls of ${wr}: ${JSON.stringify(log)}`).toBeDefined();
      expect(honest![1] - t0).toBeGreaterThanOrEqual(OPTIONS.intervalMs);
    }
    expect(w.penalties()).toEqual([]);
  });

  it("a pull the link's answer budget held back is not remembered: another peer's offer is taken up at once", async () => {
    const { w } = await world();
    // Node 7's exchange on its own, with a host whose answer budget refuses everything on link 4.
    const sent: [number, Uint8Array][] = [];
    const e7 = w.engines[7];
    const host = { options: e7.options, now: () => w.now, answer: (link: number) => link !== 4, send: (link: number, bytes: Uint8Array) => sent.push([link, bytes]) };
    const ex = new Exchange({ host, store: e7.store as unknown as Store, rng: seededRng(3), stats: { answersDeferred: 0 }, evidence: { tell: () => {} }, differs: () => {} } as unknown as SyncContext);
    const rows = (w.engines[4].store as unknown as Store).trie.entriesUnder({ depth: 0, index: 0 }, 64);
    const offer = (id: number): DigestFrame => ({ type: FRAME.DIGEST, flags: DIGEST_FLAG.OFFER, scope: { depth: 0, index: 0 }, rows, summary: null, id });
    ex.onDigest(w.now, new SyncLink(4, NOT_BEHIND), offer(1));
    expect(sent).toEqual([]); // held back by the budget
    ex.onDigest(w.now, new SyncLink(5, NOT_BEHIND), offer(2));
    expect(sent.map(([link]) => link)).toEqual([5]);
    const f = decodeFrame(sent[0][1], frameLimitsFor(e7.options));
    expect(f.type === FRAME.DIGEST && (f.flags & EXACT) === EXACT && f.rows!.length).toBe(WRITERS.length);
  });

  it("a peer offering made-up origins makes a node remember ASKED_MAX pulls at most, for one interval", async () => {
    const { w } = await world();
    const e7 = w.engines[7];
    const host = { options: e7.options, now: () => w.now, answer: () => true, send: () => {} };
    const ex = new Exchange({ host, store: e7.store as unknown as Store, rng: seededRng(3), stats: { answersDeferred: 0 }, evidence: { tell: () => {} }, differs: () => {} } as unknown as SyncContext);
    const rng = seededRng(99);
    const link = new SyncLink(4, NOT_BEHIND);
    for (let d = 0; d < 20; d++) {
      // 64 origins no one has, at made-up versions.
      const rows = Array.from({ length: e7.options.digestEntriesMax }, () => ({ origin: Uint8Array.from({ length: 32 }, () => rng.nextU32() & 0xff), generation: 1, have: 1 + (rng.nextU32() % 1000) }));
      ex.onDigest(w.now, link, { type: FRAME.DIGEST, flags: DIGEST_FLAG.OFFER, scope: { depth: 0, index: 0 }, rows, summary: null, id: d + 1 });
      expect(ex.askedCount).toBeLessThanOrEqual(ASKED_MAX);
    }
    expect(ex.askedCount).toBe(ASKED_MAX);
    ex.forgetAsked(w.now + e7.options.intervalMs - 1);
    expect(ex.askedCount).toBe(ASKED_MAX);
    ex.forgetAsked(w.now + e7.options.intervalMs);
    expect(ex.askedCount).toBe(0);
  });
});
