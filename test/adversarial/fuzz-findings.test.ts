// Bugs the frame fuzzer (`grapevine fuzz`, cli/fuzz/) found in files its author does not own,
// written down as the tests their fix must make pass. Each is marked `.fails` while the bug
// stands (vitest then fails the test once it passes: remove the marker and the matching entry of
// cli/fuzz/known.ts with the fix).
import { describe, expect, it } from "vitest";
import { fromHex } from "../../src/bytes.ts";
import { signingBytes } from "../../src/crypto/context.ts";
import { encodeFrame, FRAME } from "../../src/wire/frames.ts";
import { CLAIM_KIND, decodeClaimBody, encodeClaimBody, encodeMemberFrame, MEMBER_FRAME, SYNC_FLAG } from "../../src/wire/member-frames.ts";
import { PROTOCOL_VERSION } from "../../src/core/engine.ts";
import { encode } from "../../src/wire/cbor.ts";
import { keyPair, suite, World } from "../core/harness.ts";

describe("fuzz findings", () => {
  // Found by: npx grapevine fuzz --seed 5 --frames 300 (frame 201; minimized: a CLAIMS frame with
  // one claim, [2, victim, 1, 2^53 − 1, peer, null] signed by the peer). One admitted peer signs a
  // suspicion of a node at incarnation 2^53 − 1 (a number the wire carries). The node refutes at
  // incarnation 2^53, which no decoder accepts (claims stop at 2^53 − 1): every frame carrying its
  // new alive claim is refused and penalised by its peers, and it can never outrank the
  // accusation, so the mesh declares it dead. DESIGN §13: "claim numbers stay in a range the wire
  // always encodes, and a live node can always outrank a claim about itself". The fix belongs in
  // src/core/membership.ts (e.g. accusations above a ceiling the member can still outbid are
  // refused or clamped) and src/wire/member-frames.ts. Fixed: an accusation carries the accused's
  // own alive claim at the accused rank, and incarnations stop at 2^40: this one is refused.
  it("a node accused at incarnation 2^53 − 1 still refutes with a claim its peers accept", async () => {
    const w = new World(2, { network: "findings" });
    w.link(0, 1);
    await w.settle();
    const s = await suite();
    const body = encodeClaimBody({ kind: CLAIM_KIND.SUSPECT, member: w.keys[0].publicKey, generation: 1, incarnation: Number.MAX_SAFE_INTEGER, claimer: w.keys[1].publicKey, addr: null });
    const signature = await s.sign(w.keys[1], signingBytes("member", "findings", PROTOCOL_VERSION, body));
    // The claim as the attacker sends it: [body, signature], an incarnation the member never signed.
    const frame = encode([MEMBER_FRAME.CLAIMS, [[body, signature]]]);
    w.engines[0].receive(w.now, 1, frame);
    for (let k = 0; k < 3; k++) await w.round(250);
    const own = w.engines[0].membership.selfClaim!;
    expect(() => decodeClaimBody(own.body)).not.toThrow();
    expect(w.penalties(1)).toEqual([]); // node 0, the accused, is never blamed
    expect(w.penalties(0).map((p) => p.code)).toEqual(["WIRE_SHAPE"]); // the accuser is
    expect(w.engines[1].membership.member(w.keys[0].publicKey)?.state).toBe("alive");
  });

  // Found by: npx grapevine fuzz --seed 11 --frames 20000, in its amplification table: frame 3731
  // (an IHAVE with one id repeated ×301, retyped to GRAFT: 10,341 bytes in, 300 GOSSIP copies and
  // 40,422 bytes out) next to frame 9089 (one GRAFT naming the victim's 60 KB message: 37 bytes
  // in, 60,124 out). A GRAFT is answered with one GOSSIP per id it names, duplicates included, and
  // nothing charges the asker (graftsInFlightPerLinkMax bounds our requests, not theirs): with
  // idsPerFrameMax 1,024, one 33 KB frame makes a node send 1,024 copies of a 64 KiB message,
  // about 67 MB. DESIGN §13: "answers are deduplicated and charged to the asker's budget". The fix
  // belongs in src/core/broadcast.ts (#onGraft). Fixed: a GRAFT naming an id twice is malformed
  // (no honest node sends one): refused, penalised, answered with nothing.
  it("a GRAFT naming one message 300 times is answered with one copy at most", async () => {
    const w = new World(2, { network: "findings" });
    w.link(0, 1);
    await w.settle();
    w.engines[1].publish(w.now, "big", new Uint8Array(60_000).fill(7));
    await w.settle();
    const delivered = w.events.find((x) => x.node === 0 && x.event.type === "message");
    expect(delivered).toBeDefined();
    const id = fromHex((delivered!.event as { message: { id: string } }).message.id);
    w.engines[0].receive(w.now, 1, encodeFrame({ type: FRAME.GRAFT, ids: Array.from({ length: 300 }, () => id) }));
    let copies = 0;
    for (let t; (t = w.engines[0].pollTransmit()); ) if (t.bytes[1] === FRAME.GOSSIP) copies++;
    expect(copies).toBeLessThanOrEqual(1);
    await w.settle();
    expect(w.penalties(0).map((p) => p.code)).toEqual(["WIRE_SHAPE"]);
  });

  // Found by: the fuzzer's amplification table (SYNC, and PING/ACK frames retyped to SYNC: a
  // 4-byte [13, 1, []] answered with the victim's whole view, 1,209 bytes for 6 members, about
  // 300×). Every SYNC with WANT is answered with the whole view, however often it comes: each
  // member adds a claim of about 160 bytes, so with 1,000 members one 4-byte frame costs 160 KB
  // and a peer repeating it makes the node send 40,000 bytes per byte received, with no budget
  // charged. DESIGN §13: "answers are deduplicated and charged to the asker's budget". The fix
  // belongs in src/core/membership.ts (e.g. at most one full view per link per period). Fixed: a
  // view is sent in answer at most once a protocol period per link, within the answer budget.
  it("a peer repeating SYNC with WANT gets at most one full view per period", async () => {
    const w = new World(2, { network: "findings" });
    w.link(0, 1);
    await w.settle();
    const s = await suite();
    const claims = [];
    for (let i = 10; i < 110; i++) {
      const body = encodeClaimBody({ kind: CLAIM_KIND.ALIVE, member: keyPair(i).publicKey, generation: 1, incarnation: 0, claimer: null, addr: null });
      claims.push({ body, signature: await s.sign(keyPair(i), signingBytes("member", "findings", PROTOCOL_VERSION, body)), fields: decodeClaimBody(body) });
    }
    w.engines[0].introduce(w.now, claims);
    await w.settle();
    expect(w.engines[0].membership.known).toBeGreaterThanOrEqual(100);
    const want = encodeMemberFrame({ type: MEMBER_FRAME.SYNC, flags: SYNC_FLAG.WANT, claims: [] });
    let bytesOut = 0;
    for (let k = 0; k < 20; k++) {
      w.engines[0].receive(w.now, 1, want);
      for (let t; (t = w.engines[0].pollTransmit()); ) if (t.bytes[1] === MEMBER_FRAME.SYNC) bytesOut += t.bytes.length;
    }
    const view = 100 * 100; // at least this many bytes: one claim (body and signature) per member
    expect(bytesOut).toBeGreaterThan(view); // the first answer is the protocol
    expect(bytesOut).toBeLessThan(2 * view); // the next 19 within the same moment should not be
  });
});
