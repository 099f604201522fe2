// Builds the frame vectors from fixed inputs: the same code on every runtime must give the same
// bytes. Used by frames.check.ts (compares with the frozen JSON) and gen-frames.ts (writes it).
import { fromHex, toHex } from "../../src/bytes.ts";
import { Engine, PROTOCOL_VERSION } from "../../src/core/engine.ts";
import { seededRng } from "../../src/core/random.ts";
import { createSignatureSuite } from "../../src/crypto/ed25519.ts";
import { keyPairFromSeed } from "../../src/crypto/keys.ts";
import { DIGEST_FLAG, encodeFrame, FRAME, type Frame } from "../../src/wire/frames.ts";
import { encodeLeaf, encodeMessageBody, encodeRootBody } from "../../src/wire/records.ts";
import { signingBytes } from "../../src/crypto/context.ts";
import { CLAIM_KIND, encodeClaimBody, encodeMemberFrame, MEMBER_FRAME, SHUFFLE_FLAG, SYNC_FLAG, type MemberFrame } from "../../src/wire/member-frames.ts";

export interface FrameVector {
  name: string;
  hex: string;
}

const KEY = keyPairFromSeed(fromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
/** A second member: the one accused in the suspicion vectors (it signs the alive claim that proves the rank). */
const KEY2 = keyPairFromSeed(fromHex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"));
const H16 = fromHex("00112233445566778899aabbccddeeff");

/** Hand-made frames of every type, and a delta produced by a real engine with a real signature. */
export async function buildFrameVectors(subtle: SubtleCrypto | undefined): Promise<FrameVector[]> {
  const out: FrameVector[] = [];
  const add = (name: string, f: Frame) => out.push({ name, hex: toHex(encodeFrame(f)) });
  add("digest: empty rows, pull", { type: FRAME.DIGEST, flags: DIGEST_FLAG.WANT, scope: { depth: 0, index: 0 }, rows: [], summary: null, id: 1 });
  add("digest: two rows, push-pull", {
    type: FRAME.DIGEST, flags: DIGEST_FLAG.WANT | DIGEST_FLAG.OFFER, scope: { depth: 0, index: 0 },
    rows: [{ origin: KEY.publicKey, generation: 1700000000000, have: 7 }, { origin: new Uint8Array(32).fill(0xab), generation: 2, have: 0 }],
    summary: null,
    id: 2,
  });
  add("digest: summary at depth 1", { type: FRAME.DIGEST, flags: 3, scope: { depth: 1, index: 13 }, rows: null, summary: { hash: H16, count: 10000 }, id: 3 });
  const hashes = new Uint8Array(256);
  hashes.set(H16, 0);
  hashes.set(H16, 240);
  add("tree: one node", {
    type: FRAME.TREE, flags: 1,
    nodes: [{ depth: 2, index: 255, childHashes: hashes, childCounts: [5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 300] }],
  });
  const messageBody = encodeMessageBody({ origin: KEY.publicKey, topic: "tx", issuedAtMs: 1700000000000, expiresAtMs: 1700000060000, nonce: 7, payload: new TextEncoder().encode("pay bob 5") });
  out.push({ name: "message body", hex: toHex(messageBody) });
  const suiteForMessages = await createSignatureSuite({ subtle });
  const messageSignature = await suiteForMessages.sign(KEY, signingBytes("message", "vectors", PROTOCOL_VERSION, messageBody));
  add("gossip: a signed message", { type: FRAME.GOSSIP, body: messageBody, signature: messageSignature, hops: 3 });
  add("ihave: two ids", { type: FRAME.IHAVE, ids: [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)] });
  add("graft: one id", { type: FRAME.GRAFT, ids: [new Uint8Array(32).fill(3)] });
  add("prune", { type: FRAME.PRUNE });
  out.push({ name: "leaf: a value", hex: toHex(encodeLeaf({ key: "status", version: 3, value: new TextEncoder().encode("online") })) });
  out.push({ name: "leaf: a tombstone", hex: toHex(encodeLeaf({ key: "gone", version: 4, value: null })) });
  out.push({
    name: "root body",
    hex: toHex(encodeRootBody({ origin: KEY.publicKey, generation: 1, version: 4, root: new Uint8Array(32).fill(1), count: 2, floor: 0, flags: 0 })),
  });

  // Membership (types 8–14) with real claims signed by KEY.
  const addMember = (name: string, f: MemberFrame) => out.push({ name, hex: toHex(encodeMemberFrame(f)) });
  const aliveBody = encodeClaimBody({ kind: CLAIM_KIND.ALIVE, member: KEY.publicKey, generation: 1700000000000, incarnation: 2, claimer: null, addr: "wss://relay.example/" });
  out.push({ name: "member: alive claim body", hex: toHex(aliveBody) });
  const suspectBody = encodeClaimBody({ kind: CLAIM_KIND.SUSPECT, member: KEY2.publicKey, generation: 3, incarnation: 0, claimer: KEY.publicKey, addr: null });
  out.push({ name: "member: suspect claim body", hex: toHex(suspectBody) });
  const claim = async (body: Uint8Array, key = KEY) => ({ body, signature: await suiteForMessages.sign(key, signingBytes("member", "vectors", PROTOCOL_VERSION, body)), fields: null as never });
  const alive = await claim(aliveBody);
  // An accusation carries the accused member's own alive claim at the accused rank.
  const accusedAlive = await claim(encodeClaimBody({ kind: CLAIM_KIND.ALIVE, member: KEY2.publicKey, generation: 3, incarnation: 0, claimer: null, addr: null }), KEY2);
  const suspect = { ...(await claim(suspectBody)), proof: accusedAlive };
  addMember("member: ping with a signed alive claim", { type: MEMBER_FRAME.PING, seq: 41, claims: [alive] });
  addMember("member: ack", { type: MEMBER_FRAME.ACK, seq: 41, claims: [] });
  addMember("member: ping-req", { type: MEMBER_FRAME.PING_REQ, seq: 42, target: new Uint8Array(32).fill(0xab), claims: [] });
  addMember("member: nack", { type: MEMBER_FRAME.NACK, seq: 42 });
  addMember("member: claims with a signed suspicion", { type: MEMBER_FRAME.CLAIMS, claims: [suspect] });
  addMember("member: sync asking for the peer's view", { type: MEMBER_FRAME.SYNC, flags: SYNC_FLAG.WANT, claims: [alive, suspect] });
  addMember("member: shuffle reply", { type: MEMBER_FRAME.SHUFFLE, flags: SHUFFLE_FLAG.REPLY, claims: [alive] });
  // An alive claim stating its member's lag: the optional seventh element of a claim body.
  const slowBody = encodeClaimBody({ kind: CLAIM_KIND.ALIVE, member: KEY.publicKey, generation: 1700000000000, incarnation: 3, claimer: null, addr: null, lag: 12_300 });
  addMember("member: claims with an alive claim stating a lag", { type: MEMBER_FRAME.CLAIMS, claims: [await claim(slowBody)] });

  // A real engine: fixed key, generation and seed; answer an empty pull with its signed map.
  const suite = await createSignatureSuite({ subtle });
  const e = new Engine({ publicKey: KEY.publicKey, generation: 1, random: seededRng(1), now: 0, options: { network: "vectors" } });
  e.set(0, "status", new TextEncoder().encode("online"));
  e.set(0, "cursor", new Uint8Array([1, 2, 3]));
  e.delete(0, "cursor");
  e.set(0, "name", new TextEncoder().encode("ada"));
  for (let j; (j = e.pollJob()); ) e.completeJob(0, j.id, j.kind === "sign" ? await suite.sign(KEY, j.message) : false);
  e.linkUp(0, 1, null);
  while (e.pollTransmit());
  e.receive(0, 1, encodeFrame({ type: FRAME.DIGEST, flags: DIGEST_FLAG.WANT, scope: { depth: 0, index: 0 }, rows: [], summary: null, id: 1 }));
  const full = e.pollTransmit();
  if (!full) throw new Error("engine did not answer");
  out.push({ name: "delta: full map from an engine (signed)", hex: toHex(full.bytes) });
  e.receive(0, 1, encodeFrame({
    type: FRAME.DIGEST, flags: DIGEST_FLAG.WANT | DIGEST_FLAG.EXACT, scope: { depth: 0, index: 0 },
    rows: [{ origin: KEY.publicKey, generation: 1, have: 2 }], summary: null, id: 5,
  }));
  const partial = e.pollTransmit();
  if (!partial) throw new Error("engine did not answer the partial pull");
  out.push({ name: "delta: entries above version 2 with inclusion proofs (signed)", hex: toHex(partial.bytes) });

  // Equivocation: two different roots KEY signed for one (generation, version).
  const rootA = encodeRootBody({ origin: KEY.publicKey, generation: 1, version: 4, root: new Uint8Array(32).fill(1), count: 2, floor: 0, flags: 0 });
  const rootB = encodeRootBody({ origin: KEY.publicKey, generation: 1, version: 4, root: new Uint8Array(32).fill(2), count: 2, floor: 0, flags: 0 });
  const signRoot = (body: Uint8Array) => suiteForMessages.sign(KEY, signingBytes("root", "vectors", PROTOCOL_VERSION, body));
  add("evidence: two roots for one version (signed)", {
    type: FRAME.EVIDENCE,
    roots: [{ body: rootA, signature: await signRoot(rootA) }, { body: rootB, signature: await signRoot(rootB) }],
  });
  return out;
}
