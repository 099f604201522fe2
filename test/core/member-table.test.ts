import { describe, expect, it } from "vitest";
import { toHex } from "../../src/bytes.ts";
import { resolveOptions } from "../../src/core/options.ts";
import { MemberTable } from "../../src/core/membership/table.ts";
import { CLAIM_KIND, claimId, type ClaimWire } from "../../src/wire/member-frames.ts";

const stats = () => ({ claimsAccepted: 0 }) as never;

/** An alive claim (not signed: the table takes what intake has checked) whose signature starts with `prefix`. */
function alive(member: number, incarnation: number, prefix: number[]): ClaimWire {
  const key = new Uint8Array(32).fill(member);
  const signature = new Uint8Array(64).fill(incarnation + 1);
  signature.set(prefix);
  return {
    body: new Uint8Array([member, incarnation]),
    signature,
    fields: { kind: CLAIM_KIND.ALIVE, member: key, generation: 1, incarnation, claimer: null, addr: null, lag: 0 },
  };
}

describe("member table: alive claims by id", () => {
  it("finds each member's newest alive claim by its id, tells apart ids that share a key, and forgets replaced and removed ones", () => {
    const t = new MemberTable(resolveOptions({}), stats(), () => {});
    t.indexById(); // built empty, kept up to date as claims come
    const linked = () => new Set<string>();
    // Ids of a and b share their first 30 bits (the index key) and differ in the last 2 bits of byte 3 and after.
    const a1 = alive(1, 0, [9, 8, 7, 0b100, 1]);
    const b1 = alive(2, 0, [9, 8, 7, 0b101, 2]);
    const c1 = alive(3, 0, [1, 2, 3, 4, 5]);
    for (const c of [a1, b1, c1]) t.apply(0, toHex(c.fields.member), c, linked);
    for (const c of [a1, b1, c1]) expect(t.aliveById(claimId(c))).toBe(c);
    expect(t.aliveById(Uint8Array.of(9, 8, 7, 0b110, 0, 0, 0, 0))).toBeNull(); // same key, no such id
    // A newer alive claim of a replaces its old id; b, sharing the old key, is still found.
    const a2 = alive(1, 1, [4, 4, 4, 4, 4]);
    t.apply(1, toHex(a2.fields.member), a2, linked);
    expect(t.aliveById(claimId(a1))).toBeNull();
    expect(t.aliveById(claimId(a2))).toBe(a2);
    expect(t.aliveById(claimId(b1))).toBe(b1);
    // An accusation changes the state, not the alive claim held.
    const accusation: ClaimWire = { ...alive(2, 0, [7, 7, 7, 7]), fields: { ...b1.fields, kind: CLAIM_KIND.SUSPECT, claimer: new Uint8Array(32).fill(5) } };
    t.apply(2, toHex(b1.fields.member), accusation, linked);
    expect(t.aliveById(claimId(b1))).toBe(b1);
    t.remove(t.get(toHex(b1.fields.member))!);
    expect(t.aliveById(claimId(b1))).toBeNull();
    expect(t.aliveById(claimId(c1))).toBe(c1);
  });

  it("holds no index until one is asked for (a full table that shuffles whole claims never builds it); built late, it holds every record", () => {
    const t = new MemberTable(resolveOptions({}), stats(), () => {});
    const claims = [1, 2, 3].map((i) => alive(i, 0, [i, i, i, i]));
    for (const c of claims) t.apply(0, toHex(c.fields.member), c, () => new Set());
    expect(t.aliveById(claimId(claims[0]))).toBeNull();
    t.indexById();
    for (const c of claims) expect(t.aliveById(claimId(c))).toBe(c);
  });
});
