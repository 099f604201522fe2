// Equivocation evidence from peers: what a link's record of "already has it" may hold. Only an
// origin proven to equivocate is remembered for a link, so unchecked pairs (free to make) cost the
// link no memory and cannot stop the sender from being told when the origin is proven; the record
// is bounded however many origins are proven.
import { describe, expect, it } from "vitest";
import { toHex } from "../../src/bytes.ts";
import { TokenBucket } from "../../src/core/budget.ts";
import { digestRowsPart } from "../../src/core/digest-rows.ts";
import { Evidence, TOLD_PER_LINK_MAX } from "../../src/core/evidence.ts";
import { DEFAULT_OPTIONS } from "../../src/core/options.ts";
import { Store } from "../../src/core/store.ts";
import type { SubsystemHost } from "../../src/core/subsystem.ts";
import { decodeFrame, FRAME, type EvidenceFrame } from "../../src/wire/frames.ts";
import { encodeRootBody } from "../../src/wire/records.ts";
import { frameLimitsFor } from "../../src/core/limits.ts";

const OPTIONS = { ...DEFAULT_OPTIONS, network: "evidence-test" };

/** Evidence over links 1 and 2, with a host whose checks pass only for signatures in `valid`. */
function setup() {
  const valid = new Set<string>();
  const sent: { link: number; type: number }[] = [];
  const penalties: { link: number; code: string }[] = [];
  const host = {
    options: OPTIONS,
    protocolVersion: 1,
    id: new Uint8Array(32),
    generation: 1,
    now: () => 0,
    wallClock: (now: number) => now,
    send: (link: number, bytes: Uint8Array) => sent.push({ link, type: decodeFrame(bytes, frameLimitsFor(OPTIONS)).type as number }),
    answer: () => true,
    sign: () => {},
    verify: (_k: Uint8Array, _m: Uint8Array, signature: Uint8Array, done: (ok: boolean) => void) => done(valid.has(toHex(signature))),
    validate: () => {},
    emit: () => {},
    penalize: (link: number, err: { code: string }) => penalties.push({ link, code: err.code }),
  } as unknown as SubsystemHost;
  const store = new Store(new Uint8Array(32).fill(7), 1, OPTIONS, digestRowsPart.make());
  const links = new Map<number, unknown>([[1, {}], [2, {}]]);
  const evidence = new Evidence(host, store, { deltasDropped: 0 }, links);
  let n = 0;
  /** Two different roots for one origin's version 1, their signatures valid or not. */
  const pair = (origin: Uint8Array, signed: boolean): EvidenceFrame => {
    const roots = [0, 1].map((i) => {
      const body = encodeRootBody({ origin, generation: 1, version: 1, root: new Uint8Array(32).fill(i + 1), count: 0, floor: 0, flags: 0 });
      const signature = new Uint8Array(64);
      new DataView(signature.buffer).setUint32(0, ++n);
      if (signed) valid.add(toHex(signature));
      return { body, signature };
    });
    return { type: FRAME.EVIDENCE, roots } as EvidenceFrame;
  };
  const budget = () => new TokenBucket(1e9, 1e9, 0);
  return { evidence, store, sent, penalties, pair, budget };
}

const originNo = (i: number) => {
  const o = new Uint8Array(32);
  new DataView(o.buffer).setUint32(0, i + 1);
  return o;
};

describe("equivocation evidence: a link's record of what it has", () => {
  it("holds nothing for pairs that do not check (each is penalised), however many come", () => {
    const { evidence, penalties, pair, budget } = setup();
    for (let i = 0; i < 3000; i++) evidence.receive(0, 1, pair(originNo(i), false), budget());
    expect(evidence.toldCount(1)).toBe(0);
    expect(penalties.filter((p) => p.link === 1 && p.code === "CRYPTO_BAD_SIGNATURE")).toHaveLength(3000);
  });

  it("a peer that sent an unchecked pair naming an origin is still sent the evidence once another proves it; the prover is not", () => {
    const { evidence, store, sent, pair, budget } = setup();
    const origin = originNo(42);
    evidence.receive(0, 1, pair(origin, false), budget());
    evidence.receive(0, 2, pair(origin, true), budget());
    expect(store.distrusted(toHex(origin))).toBe(true);
    expect(sent.filter((s) => s.type === FRAME.EVIDENCE).map((s) => s.link)).toEqual([1]);
    // Told once: proving it again, from either link, sends nothing more.
    evidence.receive(0, 1, pair(origin, true), budget());
    evidence.receive(0, 2, pair(origin, true), budget());
    expect(sent.filter((s) => s.type === FRAME.EVIDENCE)).toHaveLength(1);
    expect(evidence.toldCount(1)).toBe(1);
    expect(evidence.toldCount(2)).toBe(1);
  });

  it("stays within its bound however many origins are proven over one link", () => {
    const { evidence, pair, budget } = setup();
    for (let i = 0; i < 3 * TOLD_PER_LINK_MAX; i++) {
      evidence.receive(0, 2, pair(originNo(i), true), budget());
      expect(evidence.toldCount(2)).toBeLessThanOrEqual(TOLD_PER_LINK_MAX);
    }
    expect(evidence.toldCount(2)).toBeGreaterThan(0);
  });
});
