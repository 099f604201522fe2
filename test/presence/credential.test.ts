// Verified users: an authority's credential binds a user id (and display claims) to a node key;
// every peer checks it, and a forged, expired, copied or malformed one marks the entry unverified.
import { PROTOCOL_VERSION } from "../../src/core/engine.ts";
import { createPublicKey, verify as cryptoVerify } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { fromBase64Url, toHex } from "../../src/bytes.ts";
import {
  createMemoryLinkPair,
  createNode,
  createSignatureSuite,
  type GrapevineNode,
  issueUserCredential,
  keyPairFromSeed,
  type NodeOptions,
  nodeIdToText,
  type SignatureSuite,
  type UserCredential,
} from "../../mod.ts";
import { userCredentialProblem, userCredentialToWire, userSigningBytes } from "../../src/runtime/credential.ts";
import { credentialFromPresence, credentialToPresence } from "../../src/presence/user.ts";
import type { PresenceEvent, Room } from "../../src/presence/room.ts";
import { keyPair } from "../core/harness.ts";
import { until } from "../relay/helpers.ts";
import { link, record } from "./helpers.ts";

const NETWORK = "presence-users";
const FAST: NodeOptions = { network: NETWORK, intervalMs: 50, probeIntervalMs: 100, probeTimeoutMs: 50, memberGossipIntervalMs: 20 };
const AUTHORITY = keyPairFromSeed(new Uint8Array(32).fill(1));
const AUTHORITY_ID = nodeIdToText(AUTHORITY.publicKey);
const HOUR = 3_600_000;

const nodes: GrapevineNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close({ leave: false });
});

/** Counts the user-credential signatures (context kind 6) a node's suite checks. */
function countingSuite(suite: SignatureSuite, counter: { user: number }): SignatureSuite {
  return {
    backend: suite.backend,
    sign: (kp, m) => suite.sign(kp, m),
    verify: (pk, m, s) => {
      if (m[10] === 6) counter.user++;
      return suite.verify(pk, m, s);
    },
  };
}

async function node(i: number, suite?: SignatureSuite): Promise<GrapevineNode> {
  const n = await createNode({ ...FAST, keyPair: keyPair(i), seed: i, ...(suite ? { suite } : {}) });
  nodes.push(n);
  return n;
}

function issue(member: GrapevineNode | string, user: string, extra: { claims?: Record<string, string>; expiresAtMs?: number; authority?: typeof AUTHORITY } = {}) {
  return issueUserCredential(extra.authority ?? AUTHORITY, {
    network: NETWORK, member: typeof member === "string" ? member : member.id, user, claims: extra.claims, expiresAtMs: extra.expiresAtMs ?? Date.now() + HOUR,
  });
}

/** Writes a presence value by hand, as a node that does not go through the room API would. */
function writeRaw(n: GrapevineNode, room: string, state: unknown, user: string, credential: UserCredential | null, member = credential?.member): void {
  const c = credential ? credentialToPresence({ ...userCredentialToWire({ ...credential, member: member! }, member!, 0) }) : undefined;
  // The room's key in the room's scope, written past the room's API (the hold lasts the node's life).
  n.scope(`room/${room}`).set("presence", c ? { s: state, u: user, c } : { s: state, u: user });
}

describe("user credentials", () => {
  it("sign a frozen byte string (context kind 6) and verify only for the member, user, claims and network they name", async () => {
    const member = keyPairFromSeed(new Uint8Array(32).fill(2));
    const suite = await createSignatureSuite({ backend: "noble" });
    const c = await issueUserCredential(AUTHORITY, { network: "docs", member: member.publicKey, user: "u-42", claims: { name: "Ada", avatar: "a.png" }, expiresAtMs: 1_893_456_000_000 }, suite);
    expect(c).toEqual({
      authority: AUTHORITY_ID, member: nodeIdToText(member.publicKey), user: "u-42", claims: { avatar: "a.png", name: "Ada" }, expiresAtMs: 1_893_456_000_000,
      signature: c.signature,
    });
    expect(Object.keys(c.claims)).toEqual(["avatar", "name"]); // ascending: one credential, one byte string
    const bytes = userSigningBytes("docs", PROTOCOL_VERSION, member.publicKey, "u-42", 1_893_456_000_000, [["avatar", "a.png"], ["name", "Ada"]]);
    expect(toHex(bytes)).toBe(FROZEN.signingBytes);
    expect(c.signature).toBe(FROZEN.signature);
    // An independent implementation agrees (OpenSSL through node:crypto).
    const authorityKey = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: AUTHORITY_ID }, format: "jwk" });
    expect(cryptoVerify(null, bytes, authorityKey, fromBase64Url(c.signature))).toBe(true);
    const wire = userCredentialToWire(c, c.member, 0);
    const verify = (pk: Uint8Array, m: Uint8Array, s: Uint8Array) => suite.verify(pk, m, s);
    expect(await userCredentialProblem(verify, "docs", AUTHORITY.publicKey, member.publicKey, wire)).toBeNull();
    expect(await userCredentialProblem(verify, "other", AUTHORITY.publicKey, member.publicKey, wire)).toBe("credential does not verify");
    expect(await userCredentialProblem(verify, "docs", AUTHORITY.publicKey, AUTHORITY.publicKey, wire)).toBe("credential does not verify");
    expect(await userCredentialProblem(verify, "docs", AUTHORITY.publicKey, member.publicKey, { ...wire, user: "u-43" })).toBe("credential does not verify");
    expect(await userCredentialProblem(verify, "docs", AUTHORITY.publicKey, member.publicKey, { ...wire, claims: [["avatar", "a.png"], ["name", "Eve"]] })).toBe("credential does not verify");
    expect(await userCredentialProblem(verify, "docs", member.publicKey, member.publicKey, wire)).toBe("credential from another authority");
  });

  it("refuse malformed requests and presentations with typed errors", async () => {
    const n = await node(60);
    await expect(issueUserCredential(AUTHORITY, { network: NETWORK, member: n.id, user: "", expiresAtMs: 1 })).rejects.toThrow(RangeError);
    await expect(issueUserCredential(AUTHORITY, { network: NETWORK, member: n.id, user: "x".repeat(257), expiresAtMs: 1 })).rejects.toThrow(RangeError);
    await expect(issueUserCredential(AUTHORITY, { network: NETWORK, member: n.id, user: "u", expiresAtMs: -1 })).rejects.toThrow(RangeError);
    await expect(issueUserCredential(AUTHORITY, { network: NETWORK, member: n.id, user: "u", claims: { name: 1 as unknown as string }, expiresAtMs: 1 })).rejects.toThrow(TypeError);
    const many = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, "v"]));
    await expect(issueUserCredential(AUTHORITY, { network: NETWORK, member: n.id, user: "u", claims: many, expiresAtMs: 1 })).rejects.toThrow(RangeError);
    await expect(issueUserCredential(AUTHORITY, { network: NETWORK, member: "not-a-node-id", user: "u", expiresAtMs: 1 })).rejects.toThrow(TypeError);

    const other = await node(61);
    const forOther = await issue(other, "alice");
    expect(() => n.room("r", { credential: forOther })).toThrow(TypeError); // issued for another node
    const expired = await issue(n, "alice", { expiresAtMs: Date.now() - 1 });
    expect(() => n.room("r", { credential: expired })).toThrow(RangeError);
    const mine = await issue(n, "alice");
    expect(() => n.room("r", { credential: mine, user: "bob" })).toThrow(TypeError);
    expect(() => n.room("r", { credential: { ...mine, signature: "short" } })).toThrow(TypeError);
    expect(() => n.room("r", { authority: "nonsense" })).toThrow(TypeError);
    expect(n.room("r", { credential: mine }).user).toBe("alice"); // the user comes from the credential
  });

  it("a room with an authority shows verified users, groups only them by user id, and marks forged, copied and other-authority credentials unverified", async () => {
    const counter = { user: 0 };
    const base = await createSignatureSuite({ subtle: globalThis.crypto.subtle });
    const hub = await node(62, countingSuite(base, counter));
    const ada = await node(63);
    const tab2 = await node(64);
    const forger = await node(65);
    const copier = await node(66);
    const outsider = await node(67);
    for (const n of [ada, tab2, forger, copier, outsider]) await link(hub, n);
    const room = hub.room("doc", { presence: "hub", authority: AUTHORITY_ID });
    const log = record(room);
    await until(() => log.some((e) => e.type === "sync"), 3000, "synced");

    const adaCredential = await issue(ada, "alice", { claims: { name: "Ada" } });
    ada.room("doc", { presence: { tab: 1 }, credential: adaCredential, authority: AUTHORITY_ID });
    tab2.room("doc", { presence: { tab: 2 }, credential: await issue(tab2, "alice", { claims: { name: "Ada" } }), authority: AUTHORITY_ID });
    // Signed by a key of its own but naming the authority: a forgery.
    const mallory = keyPairFromSeed(new Uint8Array(32).fill(3));
    const forged = { ...(await issue(forger, "alice", { authority: mallory })), authority: AUTHORITY_ID };
    forger.room("doc", { presence: { tab: "forged" }, credential: forged });
    // Ada's credential, copied into another node's entry: bound to Ada's key, not this one.
    writeRaw(copier, "doc", { tab: "copied" }, "alice", adaCredential, adaCredential.member);
    // A credential from another authority, and a malformed one: unverified, never an exception.
    outsider.room("doc", { presence: { tab: "outsider" }, credential: await issue(outsider, "alice", { authority: mallory }) });

    await until(() => room.presence.others.length === 5, 5000, "all five present");
    const byPeer = new Map(room.presence.others.map((e) => [e.peer, e]));
    expect(byPeer.get(ada.id)).toMatchObject({ user: "alice", verified: true, claims: { name: "Ada" } });
    expect(byPeer.get(tab2.id)).toMatchObject({ user: "alice", verified: true });
    for (const n of [forger, copier, outsider]) expect(byPeer.get(n.id)).toMatchObject({ user: "alice", verified: false, claims: null });
    // Joins are announced once, with the verdict already known: no unverified join then verified update.
    expect(log.filter((e) => e.type === "update")).toEqual([]);
    expect(log.filter((e) => e.type === "join").map((e) => (e as { entry: { verified: boolean } }).entry.verified).sort()).toEqual([false, false, false, true, true]);

    const users = room.presence.byUser();
    expect(users.get("alice")!.map((e) => e.peer).sort()).toEqual([ada.id, tab2.id].sort());
    for (const n of [forger, copier, outsider]) expect(users.get(n.id)!.map((e) => e.peer)).toEqual([n.id]);
    expect(users.get(hub.id)!.map((e) => e.peer)).toEqual([hub.id]); // hub has no credential: alone, unverified

    // State changes of a verified member do not verify again: one check per credential.
    const checks = counter.user;
    expect(checks).toBeGreaterThanOrEqual(4); // another authority's credential needs no signature check
    const adaRoom = ada.room("doc");
    for (let i = 0; i < 5; i++) {
      adaRoom.presence.set({ tab: 1, i });
      await new Promise((r) => setTimeout(r, 120));
    }
    await until(() => (byPeerState(room, ada.id) as { i?: number }).i === 4, 3000, "ada's updates");
    expect(counter.user).toBe(checks);
    expect(room.presence.others.find((e) => e.peer === ada.id)!.verified).toBe(true);

    // Messages carry the sender's verified user.
    const got: { user: string; verified: boolean; peer: string }[] = [];
    room.subscribe("hi", (m) => got.push({ user: m.user, verified: m.verified, peer: m.peer }));
    adaRoom.broadcast("hi", 1);
    forger.room("doc").broadcast("hi", 2);
    await until(() => got.length === 2, 3000, "messages");
    expect(got.find((m) => m.peer === ada.id)).toEqual({ user: "alice", verified: true, peer: ada.id });
    expect(got.find((m) => m.peer === forger.id)).toEqual({ user: "alice", verified: false, peer: forger.id });

    // A malformed credential is simply no credential.
    outsider.scope("room/doc").set("presence", { s: { tab: "outsider" }, u: "alice", c: [1, 2, 3] });
    await until(() => (byPeerState(room, outsider.id) as { tab: string }).tab === "outsider" && log.filter((e) => e.type === "update").length >= 1, 3000, "malformed");
    expect(room.presence.others.find((e) => e.peer === outsider.id)!.verified).toBe(false);
  });

  it("a verified entry becomes unverified when its credential expires (an update); self is verified too", async () => {
    const a = await node(68);
    const b = await node(69);
    await link(a, b);
    const expiresAtMs = Date.now() + 1500;
    const rb = b.room("r", { presence: "b", credential: await issue(b, "bob", { expiresAtMs }), authority: AUTHORITY_ID });
    const ra = a.room("r", { presence: "a", authority: AUTHORITY_ID });
    const log = record(ra);
    await until(() => ra.presence.others[0]?.verified === true && log.some((e) => e.type === "sync"), 3000, "verified");
    await until(() => rb.presence.self?.verified === true, 3000, "self verified");
    expect(rb.presence.byUser().get("bob")!.map((e) => e.peer)).toEqual([b.id]);
    await until(() => ra.presence.others[0]?.verified === false, 4000, "expired");
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAtMs);
    expect(log.filter((e) => e.type === "update")).toMatchObject([{ entry: { peer: b.id, verified: false, user: "bob" }, previous: "b" }]);
    expect(ra.presence.byUser().get(b.id)!.map((e) => e.peer)).toEqual([b.id]);
    await until(() => rb.presence.self?.verified === false, 2000, "self expired");
    // A fresh credential restores it.
    rb.setCredential(await issue(b, "bob"));
    await until(() => ra.presence.others[0]?.verified === true, 3000, "renewed");
  });

  it("a room without an authority verifies no one and groups by the user key each node gives", async () => {
    const a = await node(70);
    const b = await node(71);
    const c = await node(72);
    await link(a, b);
    await link(a, c);
    const ra = a.room("r", { presence: "a" });
    b.room("r", { presence: "b", credential: await issue(b, "bob") });
    c.room("r", { presence: "c", user: "bob" });
    await until(() => ra.presence.others.length === 2, 3000, "both");
    expect(ra.presence.others.every((e) => !e.verified)).toBe(true);
    expect(ra.presence.byUser().get("bob")!.map((e) => e.peer).sort()).toEqual([b.id, c.id].sort());
  });

  it("reads credentials from presence values strictly: one order of claims, bounded sizes", () => {
    const key = new Uint8Array(32).fill(7);
    const sig = new Uint8Array(64);
    expect(credentialFromPresence([key, 5, [["a", "1"], ["b", "2"]], sig], "u")).toMatchObject({ user: "u", expiresAtMs: 5 });
    expect(credentialFromPresence([key, 5, [["b", "2"], ["a", "1"]], sig], "u")).toBeNull(); // not ascending
    expect(credentialFromPresence([key, 5, [["a", "1"], ["a", "2"]], sig], "u")).toBeNull(); // duplicate
    expect(credentialFromPresence([key, 5, [["a", "x".repeat(600)]], sig], "u")).toBeNull(); // too large
    expect(credentialFromPresence([key.subarray(1), 5, [], sig], "u")).toBeNull();
    expect(credentialFromPresence([key, -1, [], sig], "u")).toBeNull();
    expect(credentialFromPresence([key, 5, [], sig, 1], "u")).toBeNull();
    expect(credentialFromPresence("nonsense", "u")).toBeNull();
  });
});

function byPeerState(room: Room<unknown>, peer: string): unknown {
  return room.presence.others.find((e) => e.peer === peer)?.state ?? {};
}

/** Frozen: the signing bytes and signature of the first test's credential (RFC 8032 signatures are deterministic). */
const FROZEN = {
  signingBytes:
    "677261706576696e650006000204646f63738458208139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b39464752d34321b000001b8dac5b40082826661766174617265612e706e6782646e616d6563416461",
  signature: "ZlxWNElltzA7EEjRhvp22uNU1l98BIxbEwLsYHoDzKMnKUGGW_yhR0yRcg7y8EQNRg2oOea4RcH-P6sONU2nDg",
};
