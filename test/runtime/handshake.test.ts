// The link handshake over in-memory links: success, every refusal, and hostile peers written by
// hand (a wrong version, a tampered proof, silence). Loopback only; every wait is bounded.
import { PROTOCOL_VERSION } from "../../src/core/engine.ts";
import { describe, expect, it } from "vitest";
import { createMemoryLinkPair, createNode, GrapevineError, issueCredential, type GrapevineNode, type Link, type NodeOptions } from "../../mod.ts";
import { nodeIdToText } from "../../src/crypto/identity.ts";
import type { KeyPair } from "../../src/crypto/types.ts";
import {
  decodeLinkFrame,
  encodeLinkFrame,
  handshakeSigningBytes,
  type HelloFrame,
  LINK_FRAME,
  type LinkFrame,
} from "../../src/wire/link-frames.ts";
import { type HandshakeConfig, runHandshake } from "../../src/runtime/handshake.ts";
import { runTimed, SLICE_MS } from "../../src/runtime/slice.ts";
import { keyPair, suite } from "../core/harness.ts";
import { until } from "../helpers/until.ts";

function node(i: number, options: NodeOptions = {}): Promise<GrapevineNode> {
  return createNode({ network: "t", intervalMs: 50, keyPair: keyPair(i), seed: i, ...options });
}

/** Both ends connect; returns both outcomes (fulfilled or rejected), never throws. */
async function link(a: GrapevineNode, b: GrapevineNode) {
  const [la, lb] = createMemoryLinkPair();
  return Promise.allSettled([a.connect(la), b.connect(lb)]);
}

function reason(r: PromiseSettledResult<unknown>): string {
  if (r.status === "fulfilled") throw new Error("expected the handshake to fail");
  expect(r.reason).toBeInstanceOf(GrapevineError);
  expect((r.reason as GrapevineError).code).toBe("LINK_CLOSED");
  return (r.reason as Error).message;
}

/** A peer written by hand on the raw end of a memory link. */
class FakePeer {
  received: (LinkFrame | { type: "unknown"; code: number } | Uint8Array)[] = [];
  closedWith: string | null = null;
  constructor(readonly link: Link, readonly kp: KeyPair) {
    link.onmessage = (bytes) => {
      try {
        this.received.push(decodeLinkFrame(bytes, 1 << 20));
      } catch {
        this.received.push(bytes);
      }
    };
    link.onclose = (r) => (this.closedWith = r);
  }
  send(f: LinkFrame): void {
    this.link.send(encodeLinkFrame(f));
  }
  hello(overrides: Partial<HelloFrame> = {}): void {
    this.send({ type: LINK_FRAME.HELLO, protocolVersion: PROTOCOL_VERSION, network: "t", nonce: new Uint8Array(32).fill(9), publicKey: this.kp.publicKey, credential: null, ...overrides });
  }
  frames<T extends number>(type: T): Extract<LinkFrame, { type: T }>[] {
    return this.received.filter((f) => !(f instanceof Uint8Array) && f.type === type) as never;
  }
}

describe("link handshake over memory links", () => {
  it("succeeds: both sides learn the other's id, then gossip flows", async () => {
    const [a, b] = await Promise.all([node(0), node(1)]);
    const [ra, rb] = await link(a, b);
    expect(ra.status === "fulfilled" && ra.value.peer).toBe(b.id);
    expect(rb.status === "fulfilled" && rb.value.peer).toBe(a.id);
    expect(a.linkCount).toBe(1);
    expect(a.peers()).toEqual([b.id]);
    a.set("k", "v");
    await until(() => b.get("k", a.id) === "v");
    await Promise.all([a.close(), b.close()]);
  });

  it("refuses another network, naming both", async () => {
    const [a, b] = await Promise.all([node(0, { network: "a" }), node(1, { network: "b" })]);
    const [ra, rb] = await link(a, b);
    expect(reason(ra)).toContain('network mismatch: expected "a", got "b"');
    expect(reason(rb)).toContain('network mismatch: expected "b", got "a"');
    expect(a.linkCount + b.linkCount).toBe(0);
    await Promise.all([a.close(), b.close()]);
  });

  it("refuses another protocol version and tells the peer why", async () => {
    const a = await node(0);
    const [la, lraw] = createMemoryLinkPair();
    const fake = new FakePeer(lraw, keyPair(5));
    const p = a.connect(la);
    fake.hello({ protocolVersion: 1 }); // the version before this one
    await expect(p).rejects.toThrow(`protocol version mismatch: expected ${PROTOCOL_VERSION}, got 1`);
    await until(() => fake.closedWith !== null);
    expect(fake.frames(LINK_FRAME.CLOSE)[0]).toMatchObject({ code: 2, reason: `protocol version mismatch: expected ${PROTOCOL_VERSION}, got 1` });
    await a.close();
  });

  it("a HELLO from a later version with extra elements is still told apart by its version", async () => {
    const a = await node(0);
    const [la, lraw] = createMemoryLinkPair();
    const fake = new FakePeer(lraw, keyPair(5));
    const p = a.connect(la);
    const { encode } = await import("../../src/wire/cbor.ts");
    lraw.send(encode([16, PROTOCOL_VERSION + 1, "t", new Uint8Array(32), keyPair(5).publicKey, null, "future", [1, 2]]));
    await expect(p).rejects.toThrow(`expected ${PROTOCOL_VERSION}, got ${PROTOCOL_VERSION + 1}`);
    expect(fake.frames(LINK_FRAME.HELLO)).toHaveLength(1);
    await a.close();
  });

  it("a tampered PROOF closes the link with 'bad handshake proof' and a penalty", async () => {
    const a = await node(0);
    const kp = keyPair(5);
    const [la, lraw] = createMemoryLinkPair();
    const fake = new FakePeer(lraw, kp);
    const penalties: { code: string; peer: string | null }[] = [];
    a.addEventListener("penalty", (e) => penalties.push((e as CustomEvent).detail));
    const p = a.connect(la);
    fake.hello();
    await until(() => fake.frames(LINK_FRAME.HELLO).length > 0);
    const theirs = fake.frames(LINK_FRAME.HELLO)[0];
    const signature = await (await suite()).sign(kp, handshakeSigningBytes("t", PROTOCOL_VERSION, theirs.nonce, kp.publicKey, a.publicKey));
    signature[10] ^= 1;
    fake.send({ type: LINK_FRAME.PROOF, signature });
    await expect(p).rejects.toThrow("bad handshake proof");
    expect(penalties).toEqual([expect.objectContaining({ code: "CRYPTO_BAD_SIGNATURE", peer: nodeIdToText(kp.publicKey) })]);
    await until(() => fake.closedWith !== null);
    expect(fake.frames(LINK_FRAME.CLOSE)[0]).toMatchObject({ code: 5, reason: "bad handshake proof" });
    await a.close();
  });

  it("a PROOF signed over someone else's nonce (a replay) does not verify", async () => {
    const a = await node(0);
    const kp = keyPair(5);
    const [la, lraw] = createMemoryLinkPair();
    const fake = new FakePeer(lraw, kp);
    const p = a.connect(la);
    fake.hello();
    const stale = await (await suite()).sign(kp, handshakeSigningBytes("t", PROTOCOL_VERSION, new Uint8Array(32).fill(1), kp.publicKey, a.publicKey));
    fake.send({ type: LINK_FRAME.PROOF, signature: stale });
    await expect(p).rejects.toThrow("bad handshake proof");
    await a.close();
  });

  it("a hand-written peer that follows the protocol is admitted, and its early gossip is not lost", async () => {
    const a = await node(0);
    const kp = keyPair(5);
    const [la, lraw] = createMemoryLinkPair();
    const fake = new FakePeer(lraw, kp);
    const p = a.connect(la);
    fake.hello();
    await until(() => fake.frames(LINK_FRAME.HELLO).length > 0);
    const theirs = fake.frames(LINK_FRAME.HELLO)[0];
    fake.send({ type: LINK_FRAME.PROOF, signature: await (await suite()).sign(kp, handshakeSigningBytes("t", PROTOCOL_VERSION, theirs.nonce, kp.publicKey, a.publicKey)) });
    // Sent right behind the PROOF, before `a` has verified it: kept, then handed to the engine.
    lraw.send(new Uint8Array([0xff])); // garbage: the engine must see it (and penalise it)
    const penalties: string[] = [];
    a.addEventListener("penalty", (e) => penalties.push((e as CustomEvent).detail.code));
    const handle = await p;
    expect(handle.peer).toBe(nodeIdToText(kp.publicKey));
    await until(() => penalties.length > 0);
    expect(penalties).toEqual(["WIRE_MALFORMED"]);
    await until(() => fake.frames(LINK_FRAME.PROOF).length > 0);
    await a.close();
  });

  it("refuses a peer claiming our own id", async () => {
    const a = await node(0);
    const [la, lraw] = createMemoryLinkPair();
    const fake = new FakePeer(lraw, keyPair(0));
    const p = a.connect(la);
    fake.hello();
    await expect(p).rejects.toThrow("peer claims our own node id");
    await a.close();
  });

  it("refuses a peer other than the one asked for", async () => {
    const [a, b, c] = await Promise.all([node(0), node(1), node(2)]);
    const [la, lb] = createMemoryLinkPair();
    const [ra, rb] = await Promise.allSettled([a.connect(la, { peer: c.id }), b.connect(lb)]);
    expect(reason(ra)).toContain(`unexpected peer: expected ${c.id}, got ${b.id}`);
    expect(reason(rb)).toContain("closed by peer: unexpected peer");
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it("allow-list: admits listed peers, refuses others with 'not admitted'", async () => {
    const [a, b, c] = await Promise.all([node(0), node(1), node(2)]);
    const gated = await node(3, { admission: { allow: [b.id] } });
    const [r1, r2] = await link(gated, b);
    expect(r1.status).toBe("fulfilled");
    expect(r2.status).toBe("fulfilled");
    const [r3, r4] = await link(gated, c);
    expect(reason(r3)).toBe("LINK_CLOSED: not admitted: not on the allow-list");
    expect(reason(r4)).toContain("closed by peer: not admitted");
    await Promise.all([a, b, c, gated].map((n) => n.close()));
  });

  it("credentials: a valid one admits; expired, forged, another member's, or none do not", async () => {
    const authority = keyPair(9);
    const s = await suite();
    const gated = await node(0, { admission: { authority: nodeIdToText(authority.publicKey) } });
    const inTheFuture = Date.now() + 60_000;

    const valid = await issueCredential(authority, keyPair(1).publicKey, inTheFuture, "t", s);
    expect(valid).toMatchObject({ member: nodeIdToText(keyPair(1).publicKey), authority: nodeIdToText(authority.publicKey), expiresAtMs: inTheFuture });
    const holder = await node(1, { credential: valid });
    const ok = await link(gated, holder);
    expect(ok.map((r) => r.status)).toEqual(["fulfilled", "fulfilled"]);
    // The admitting side knows until when the credential admits (a host that keeps sockets rechecks it).
    expect(ok.map((r) => (r.status === "fulfilled" ? r.value.admittedUntilMs : "failed"))).toEqual([inTheFuture, null]);

    const expired = await issueCredential(authority, keyPair(2).publicKey, Date.now() - 1, "t", s);
    const late = await node(2, { credential: expired });
    const [r1, r2] = await link(gated, late);
    expect(reason(r1)).toContain("not admitted: credential expired");
    expect(reason(r2)).toContain("closed by peer: not admitted");

    // Signed by an impostor who claims to be the authority: createNode refuses to present it ...
    const forged = { ...(await issueCredential(keyPair(8), keyPair(3).publicKey, inTheFuture, "t", s)), authority: nodeIdToText(authority.publicKey) };
    await expect(node(3, { credential: forged })).rejects.toThrow(/credential: credential does not verify/);
    // ... and a peer that presents it anyway is refused (a hand-written HELLO).
    const [la, lraw] = createMemoryLinkPair();
    const fake = new FakePeer(lraw, keyPair(3));
    const p = gated.connect(la);
    const { credentialToWire } = await import("../../src/runtime/credential.ts");
    fake.hello({ credential: credentialToWire(forged) });
    await expect(p).rejects.toThrow("not admitted: credential does not verify");

    // Another member's valid credential (stolen) does not admit the thief.
    const thief = await node(4);
    const [la2, lraw2] = createMemoryLinkPair();
    const fake2 = new FakePeer(lraw2, keyPair(4));
    const p2 = gated.connect(la2);
    fake2.hello({ credential: credentialToWire(valid) });
    await expect(p2).rejects.toThrow("not admitted: credential does not verify");

    const none = await node(5);
    const [r5] = await link(gated, none);
    expect(reason(r5)).toContain("not admitted: no credential");
    await Promise.all([gated, holder, late, thief, none].map((n) => n.close()));
  });

  it("allow-list and authority together: either admits", async () => {
    const authority = keyPair(9);
    const cred = await issueCredential(authority, keyPair(2).publicKey, Date.now() + 60_000, "t", await suite());
    const gated = await node(0, { admission: { allow: [nodeIdToText(keyPair(1).publicKey)], authority: nodeIdToText(authority.publicKey) } });
    const [listed, credentialed, stranger] = await Promise.all([node(1), node(2, { credential: cred }), node(3)]);
    expect((await link(gated, listed)).map((r) => r.status)).toEqual(["fulfilled", "fulfilled"]);
    expect((await link(gated, credentialed)).map((r) => r.status)).toEqual(["fulfilled", "fulfilled"]);
    expect(reason((await link(gated, stranger))[0])).toContain("not on the allow-list and no credential");
    await Promise.all([gated, listed, credentialed, stranger].map((n) => n.close()));
  });

  it("times out when the peer never answers", async () => {
    const a = await node(0, { handshakeTimeoutMs: 100 });
    const [la, lraw] = createMemoryLinkPair();
    const fake = new FakePeer(lraw, keyPair(5));
    const started = Date.now();
    await expect(a.connect(la)).rejects.toThrow("handshake timeout after 100 ms");
    expect(Date.now() - started).toBeLessThan(2000);
    await until(() => fake.closedWith !== null);
    expect(fake.frames(LINK_FRAME.CLOSE)[0]).toMatchObject({ code: 6 });
    await a.close();
  });

  it("gossip before the handshake closes the link", async () => {
    const a = await node(0);
    const [la, lraw] = createMemoryLinkPair();
    const p = a.connect(la);
    lraw.send(new Uint8Array([0x83, 0x02, 0x00, 0x80])); // a DELTA
    await expect(p).rejects.toThrow("unexpected frame before the handshake finished (type 2)");
    await a.close();
  });

  it("the peer closing mid-handshake rejects with its reason; closing the node rejects pending handshakes", async () => {
    const a = await node(0);
    const [la, lraw] = createMemoryLinkPair();
    const p = a.connect(la);
    lraw.close("going away");
    await expect(p).rejects.toThrow("link closed during the handshake: going away");
    const [lb] = createMemoryLinkPair();
    const q = a.connect(lb);
    await a.close();
    await expect(q).rejects.toThrow(/node closed/);
    await expect(a.connect(createMemoryLinkPair()[0])).rejects.toThrow(/closed/);
  });

  it("bad options fail fast", async () => {
    await expect(node(0, { admission: { allow: ["nope"] } })).rejects.toThrow(TypeError);
    await expect(node(0, { handshakeTimeoutMs: 0 })).rejects.toThrow(RangeError);
    const cred = await issueCredential(keyPair(9), keyPair(1).publicKey, Date.now() + 1000, "t", await suite());
    await expect(node(0, { credential: cred })).rejects.toThrow("credential was issued for another key");
    await expect(node(1, { credential: cred, network: "other" })).rejects.toThrow(/does not verify/);
  });
});

/** A link driven by hand: frames are delivered when the test calls `deliver`, in the same task. */
class HandLink implements Link {
  sent: LinkFrame[] = [];
  bufferedAmount = 0;
  onmessage: ((bytes: Uint8Array) => void) | null = null;
  onclose: ((reason: string) => void) | null = null;
  send(bytes: Uint8Array): void {
    this.sent.push(decodeLinkFrame(bytes, 1 << 20) as LinkFrame);
  }
  close(): void {}
  deliver(f: LinkFrame | Uint8Array): void {
    this.onmessage!(f instanceof Uint8Array ? f : encodeLinkFrame(f));
  }
}

/** Holds the thread for `ms`, charged to this turn's slice. */
function spendSlice(): void {
  runTimed(() => {
    const end = performance.now() + SLICE_MS;
    while (performance.now() < end);
  });
}

/** Waits until the slice has started over (turns passed with nothing waiting). */
async function freshSlice(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

describe("the handshake in the thread's time slice", () => {
  async function config(): Promise<HandshakeConfig> {
    return {
      keyPair: keyPair(0), suite: await suite(), network: "t", protocolVersion: PROTOCOL_VERSION, credential: null, admission: null,
      timeoutMs: 5000, frameBytesMax: 1 << 20, expectedPeer: null, wallClock: () => Date.now(), random: (n) => new Uint8Array(n).fill(3),
      earlyFramesMax: 64, earlyBytesMax: 1 << 21,
    };
  }
  const hello = (kp: KeyPair, network = "t"): LinkFrame => ({ type: LINK_FRAME.HELLO, protocolVersion: PROTOCOL_VERSION, network, nonce: new Uint8Array(32).fill(9), publicKey: kp.publicKey, credential: null });

  it("handles a frame at once while the slice lasts, and at a later turn once it is spent", async () => {
    const c = await config();
    await freshSlice();
    const fresh = new HandLink();
    const p1 = runHandshake(fresh, c).catch((e: Error) => e.message);
    fresh.deliver(hello(keyPair(5), "elsewhere"));
    expect(fresh.sent.map((f) => f.type)).toEqual([LINK_FRAME.HELLO, LINK_FRAME.CLOSE]); // in the same task
    expect(await p1).toContain("network mismatch");

    await freshSlice();
    const late = new HandLink();
    const p2 = runHandshake(late, c).catch((e: Error) => e.message);
    spendSlice();
    late.deliver(hello(keyPair(5), "elsewhere"));
    await Promise.resolve();
    expect(late.sent.map((f) => f.type)).toEqual([LINK_FRAME.HELLO]); // waits for a turn
    expect(await p2).toContain("network mismatch");
    expect(late.sent.map((f) => f.type)).toEqual([LINK_FRAME.HELLO, LINK_FRAME.CLOSE]);
  });

  it("sends its HELLO at a later turn once the slice is spent, and always before its PROOF", async () => {
    const c = await config();
    const kp = keyPair(5);
    const link = new HandLink();
    spendSlice();
    const p = runHandshake(link, c);
    link.deliver(hello(kp)); // waits as well
    expect(link.sent).toEqual([]);
    await until(() => link.sent.length >= 2);
    expect(link.sent.map((f) => f.type)).toEqual([LINK_FRAME.HELLO, LINK_FRAME.PROOF]);
    const ours = link.sent[0] as HelloFrame;
    const proof = await (await suite()).sign(kp, handshakeSigningBytes("t", PROTOCOL_VERSION, ours.nonce, kp.publicKey, c.keyPair.publicKey));
    link.deliver({ type: LINK_FRAME.PROOF, signature: proof });
    expect((await p).peer).toEqual(kp.publicKey);
  });

  it("a peer's CLOSE that waited for a turn still gives its reason when the link then closes", async () => {
    const c = await config();
    const link = new HandLink();
    await freshSlice();
    const p = runHandshake(link, c).catch((e: Error) => e.message);
    spendSlice();
    link.deliver({ type: LINK_FRAME.CLOSE, code: 1, reason: "going away" });
    link.onclose!("socket closed");
    expect(await p).toContain("closed by peer: going away");
  });

  it("frames that waited behind the peer's PROOF reach the new owner of the link, in order", async () => {
    const c = await config();
    const kp = keyPair(5);
    const link = new HandLink();
    await freshSlice();
    const p = runHandshake(link, c, (r) => ({ peer: r.peer, early: r.early.map((b) => b[0]) }));
    const ours = link.sent[0] as HelloFrame;
    link.deliver(hello(kp));
    const proof = await (await suite()).sign(kp, handshakeSigningBytes("t", PROTOCOL_VERSION, ours.nonce, kp.publicKey, c.keyPair.publicKey));
    spendSlice(); // the PROOF and what follows it wait in the handshake's inbox
    link.deliver({ type: LINK_FRAME.PROOF, signature: proof });
    for (let n = 1; n <= 5; n++) link.deliver(Uint8Array.of(0x80 + n)); // gossip sent right behind the PROOF
    const got = await p;
    expect(got.peer).toEqual(kp.publicKey);
    expect(got.early).toEqual([0x81, 0x82, 0x83, 0x84, 0x85]);
  });
});
