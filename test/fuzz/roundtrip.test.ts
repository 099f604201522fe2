// decode(encode(x)) = x for every frame type, from generators over each type's whole grammar
// (PROTOCOL.md §2, §8): every field at its bounds, claims of every kind with and without address
// and lag, HELLOs with and without credential. A type in the registries without a generator here
// fails the first test, naming it.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { frameLimitsFor } from "../../src/core/engine.ts";
import { resolveOptions } from "../../src/core/options.ts";
import { decodeFrame, encodeFrame, FRAME, type Frame } from "../../src/wire/frames.ts";
import { decodeLinkFrame, encodeLinkFrame, LINK_FRAME, type LinkFrame } from "../../src/wire/link-frames.ts";
import { CLAIM_KIND, type ClaimBody, type ClaimWire, decodeMemberFrame, encodeClaimBody, encodeMemberFrame, IDS_OP, INCARNATION_MAX, MEMBER_FRAME, type MemberFrame } from "../../src/wire/member-frames.ts";
import { utf8ByteLength } from "../../src/wire/shape.ts";
import { FRAME_TYPES } from "../../cli/fuzz/registry.ts";

// Replay a failure with the printed seed: FC_SEED=<seed> npx vitest run test/fuzz/roundtrip.test.ts
const seed = Number(process.env.FC_SEED ?? 0x5eed);
console.log(`roundtrip.test.ts: fast-check seed ${seed} (replay: FC_SEED=${seed} npx vitest run test/fuzz/roundtrip.test.ts)`);

const OPTIONS = resolveOptions({});
const LIMITS = frameLimitsFor(OPTIONS);
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const uint = fc.maxSafeNat();
const seq = fc.integer({ min: 0, max: 0xffff_ffff });
const flags = fc.integer({ min: 0, max: 0xff });
/** Text the encoder takes: no lone surrogate, no leading U+FEFF, within `max` UTF-8 bytes. */
const text = (max: number, min = 0) =>
  fc.string({ unit: "grapheme", minLength: min, maxLength: max }).filter((s) => !s.startsWith("\uFEFF") && utf8ByteLength(s) <= max && utf8ByteLength(s) >= min);

const claimBody: fc.Arbitrary<ClaimBody> = fc.integer({ min: CLAIM_KIND.ALIVE, max: CLAIM_KIND.LEFT }).chain((kind) => {
  const accusation = kind === CLAIM_KIND.SUSPECT || kind === CLAIM_KIND.DEAD;
  return fc.record({
    kind: fc.constant(kind),
    member: bytes(32),
    generation: uint,
    incarnation: fc.integer({ min: 0, max: INCARNATION_MAX }),
    claimer: accusation ? bytes(32) : fc.constant(null),
    addr: kind === CLAIM_KIND.ALIVE ? fc.option(text(60), { nil: null }) : fc.constant(null),
    lag: kind === CLAIM_KIND.ALIVE ? fc.option(fc.integer({ min: 1, max: 30_000 }), { nil: undefined }) : fc.constant(undefined),
  }).map((c) => {
    const body: ClaimBody = { kind: c.kind, member: c.member, generation: c.generation, incarnation: c.incarnation, claimer: c.claimer, addr: c.addr };
    if (c.lag !== undefined) body.lag = c.lag;
    return body;
  });
});
/** A claim; an accusation carries its proof, the member's alive claim at the accused rank, or (as gossip sends an old rank's) none. */
const claim = fc.tuple(claimBody, bytes(64), bytes(64), fc.option(text(60), { nil: null }), fc.boolean()).map(([fields, signature, proofSignature, addr, withProof]) => {
  const c: ClaimWire = { body: encodeClaimBody(fields), signature, fields };
  if ((fields.kind === CLAIM_KIND.SUSPECT || fields.kind === CLAIM_KIND.DEAD) && withProof) {
    const alive: ClaimBody = { kind: CLAIM_KIND.ALIVE, member: fields.member, generation: fields.generation, incarnation: fields.incarnation, claimer: null, addr };
    c.proof = { body: encodeClaimBody(alive), signature: proofSignature, fields: alive };
  }
  return c;
});
const claims = fc.array(claim, { maxLength: 4 });
const scope = fc.integer({ min: 0, max: 4 }).chain((depth) => fc.record({ depth: fc.constant(depth), index: fc.integer({ min: 0, max: 16 ** depth - 1 }) }));

const GENERATORS: Record<string, fc.Arbitrary<Frame | MemberFrame | LinkFrame>> = {
  DIGEST: fc.record({
    type: fc.constant(FRAME.DIGEST), flags, scope,
    rows: fc.option(fc.array(fc.oneof(
      fc.record({ origin: bytes(32), generation: uint, have: uint }),
      fc.record({ origin: bytes(32), generation: uint, have: uint, tag: bytes(8) }),
    ), { maxLength: 6 }), { nil: null }),
    summary: fc.option(fc.record({ hash: bytes(16), count: uint }), { nil: null }),
    id: uint,
  }),
  DELTA: fc.record({
    type: fc.constant(FRAME.DELTA), flags,
    origins: fc.array(fc.record({
      rootBody: fc.uint8Array({ maxLength: 256 }), signature: bytes(64), from: uint, through: uint, full: fc.boolean(),
      entries: fc.array(fc.record({ leaf: fc.uint8Array({ maxLength: 64 }), index: uint, proof: fc.array(bytes(32), { maxLength: 4 }) }), { maxLength: 3 }),
    }), { maxLength: 3 }),
    replyTo: uint,
  }),
  TREE: fc.record({
    type: fc.constant(FRAME.TREE), flags,
    nodes: fc.array(fc.integer({ min: 0, max: 3 }).chain((depth) => fc.record({
      depth: fc.constant(depth), index: fc.integer({ min: 0, max: 16 ** depth - 1 }), childHashes: bytes(256),
      childCounts: fc.array(uint, { minLength: 16, maxLength: 16 }),
    })), { maxLength: 3 }),
  }),
  GOSSIP: fc.record({ type: fc.constant(FRAME.GOSSIP), body: fc.uint8Array({ maxLength: 200 }), signature: bytes(64), hops: fc.integer({ min: 0, max: 255 }) }),
  IHAVE: fc.record({ type: fc.constant(FRAME.IHAVE), ids: fc.array(bytes(32), { maxLength: 8 }) }),
  GRAFT: fc.record({ type: fc.constant(FRAME.GRAFT), ids: fc.array(bytes(32), { maxLength: 8 }) }),
  PRUNE: fc.constant({ type: FRAME.PRUNE }),
  SUBSCRIBE: fc.record({
    type: fc.constant(FRAME.SUBSCRIBE), flags, add: fc.array(bytes(16), { maxLength: 4 }), remove: fc.array(bytes(16), { maxLength: 4 }),
  }),
  SCOPED: fc.record({ type: fc.constant(FRAME.SCOPED), scope: bytes(16), frame: fc.uint8Array({ maxLength: 300 }) }),
  EVIDENCE: fc.record({
    type: fc.constant(FRAME.EVIDENCE),
    roots: fc.tuple(fc.record({ body: fc.uint8Array({ maxLength: 256 }), signature: bytes(64) }), fc.record({ body: fc.uint8Array({ maxLength: 256 }), signature: bytes(64) })),
  }),
  PING: fc.record({ type: fc.constant(MEMBER_FRAME.PING), seq, claims }),
  ACK: fc.record({ type: fc.constant(MEMBER_FRAME.ACK), seq, claims }),
  PING_REQ: fc.record({ type: fc.constant(MEMBER_FRAME.PING_REQ), seq, target: bytes(32), claims }),
  NACK: fc.record({ type: fc.constant(MEMBER_FRAME.NACK), seq }),
  CLAIMS: fc.record({ type: fc.constant(MEMBER_FRAME.CLAIMS), claims }),
  SYNC: fc.record({ type: fc.constant(MEMBER_FRAME.SYNC), flags, claims }),
  SHUFFLE: fc.record({ type: fc.constant(MEMBER_FRAME.SHUFFLE), flags, claims }),
  IDS: fc.record({ type: fc.constant(MEMBER_FRAME.IDS), op: fc.constantFrom(IDS_OP.HAVE, IDS_OP.WANT), ids: fc.array(bytes(8), { maxLength: 4 }) }),
  HELLO: fc.record({
    type: fc.constant(LINK_FRAME.HELLO), protocolVersion: uint, network: text(255, 1), nonce: bytes(32), publicKey: bytes(32),
    credential: fc.option(fc.record({ authority: bytes(32), expiresAtMs: uint, signature: bytes(64) }), { nil: null }),
  }),
  PROOF: fc.record({ type: fc.constant(LINK_FRAME.PROOF), signature: bytes(64) }),
  CLOSE: fc.record({ type: fc.constant(LINK_FRAME.CLOSE), code: uint, reason: text(123) }),
  FORWARD: fc.record({ type: fc.constant(LINK_FRAME.FORWARD), to: bytes(32), from: bytes(32), hops: fc.integer({ min: 0, max: 4 }), payload: fc.uint8Array({ maxLength: 300 }) }),
};

function roundTrip(f: Frame | MemberFrame | LinkFrame): unknown {
  const family = FRAME_TYPES.find((t) => t.code === f.type)!.family;
  if (family === "link") return decodeLinkFrame(encodeLinkFrame(f as LinkFrame), OPTIONS.frameBytesMax);
  if (family === "membership") return decodeMemberFrame(encodeMemberFrame(f as MemberFrame), { frameBytesMax: OPTIONS.frameBytesMax, claimsMax: OPTIONS.claimsPerFrameMax });
  return decodeFrame(encodeFrame(f as Frame), LIMITS);
}

describe("decode(encode(x)) = x for every frame type", () => {
  it("every registered frame type has a generator", () => {
    expect(FRAME_TYPES.map((t) => t.name).filter((n) => !(n in GENERATORS))).toEqual([]);
  });
  for (const [name, gen] of Object.entries(GENERATORS)) {
    it(name, () => {
      fc.assert(fc.property(gen, (f) => {
        expect(roundTrip(f)).toEqual(f);
      }), { seed, numRuns: 100 });
    });
  }
});
