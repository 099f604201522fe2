// What a decoded membership frame keeps: each claim its own bytes (one buffer for a claim's body and
// signature, the key fields views of it), never the frame, so a member table holding a claim for
// minutes holds no frame, and changes to the frame's bytes after decoding change nothing.
import { describe, expect, it } from "vitest";
import { CLAIM_KIND, type ClaimBody, type ClaimWire, decodeMemberFrame, encodeClaimBody, encodeMemberFrame, IDS_OP, MEMBER_FRAME } from "../../src/wire/member-frames.ts";

const LIMITS = { frameBytesMax: 1 << 16, claimsMax: 64 };
const key = (b: number) => new Uint8Array(32).fill(b);
const sig = (b: number) => new Uint8Array(64).fill(b);

function claim(fields: ClaimBody, s: number, proof?: ClaimWire): ClaimWire {
  return { body: encodeClaimBody(fields), signature: sig(s), fields, ...(proof ? { proof } : {}) };
}

describe("decoded membership frames", () => {
  const alive = claim({ kind: CLAIM_KIND.ALIVE, member: key(1), generation: 3, incarnation: 2, claimer: null, addr: "ws://127.0.0.1:9/" }, 7);
  const suspect = claim({ kind: CLAIM_KIND.SUSPECT, member: key(1), generation: 3, incarnation: 2, claimer: key(2), addr: null }, 8, alive);

  it("a claim keeps one buffer of its own: body, signature and keys, not the frame", () => {
    const frame = encodeMemberFrame({ type: MEMBER_FRAME.CLAIMS, claims: [alive, suspect] });
    const f = decodeMemberFrame(frame, LIMITS);
    if (f.type !== MEMBER_FRAME.CLAIMS) throw new Error("not a CLAIMS frame");
    expect(f.claims).toEqual([alive, suspect]);
    for (const c of [f.claims[0], f.claims[1], f.claims[1].proof!]) {
      const buffer = c.body.buffer;
      expect(buffer.byteLength).toBe(c.body.length + 64);
      expect(c.signature.buffer).toBe(buffer);
      expect(c.fields.member.buffer).toBe(buffer);
      if (c.fields.claimer) expect(c.fields.claimer.buffer).toBe(buffer);
    }
    expect(f.claims[1].proof!.body.buffer).not.toBe(f.claims[1].body.buffer);
    frame.fill(0);
    expect(f.claims).toEqual([alive, suspect]);
  });

  it("a PING_REQ's target and an IDS frame's ids are copies too", () => {
    const target = key(9);
    const ping = encodeMemberFrame({ type: MEMBER_FRAME.PING_REQ, seq: 5, target, claims: [] });
    const ids = [new Uint8Array(8).fill(3), new Uint8Array(8).fill(4)];
    const have = encodeMemberFrame({ type: MEMBER_FRAME.IDS, op: IDS_OP.HAVE, ids });
    const p = decodeMemberFrame(ping, LIMITS);
    const h = decodeMemberFrame(have, LIMITS);
    ping.fill(0);
    have.fill(0);
    expect(p).toMatchObject({ type: MEMBER_FRAME.PING_REQ, seq: 5, target });
    expect(h).toMatchObject({ type: MEMBER_FRAME.IDS, op: IDS_OP.HAVE, ids });
    if (p.type !== MEMBER_FRAME.PING_REQ) throw new Error("not a PING_REQ");
    expect(p.target.buffer.byteLength).toBe(32);
  });
});
