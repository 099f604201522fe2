/**
 * A relay that takes back sockets after a restart (`adopt`, as a Durable Object woken from
 * hibernation does) checks admission again: an allow-listed peer comes back; a peer admitted by an
 * authority's credential comes back only while that credential is unexpired; anyone else is
 * closed with "not admitted" and must run a fresh handshake (where its credential is checked).
 */
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryLinkPair, createNode, issueCredential, type GrapevineNode, type Link } from "../../mod.ts";
import { nodeIdToText } from "../../src/crypto/identity.ts";
import { createRelay, type Relay } from "../../relay/core.ts";
import { keyPair, suite } from "../core/harness.ts";

const open: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

const NETWORK = "readmit";
const authority = keyPair(40);
const listed = keyPair(41);
const holder = keyPair(42);

async function relay(): Promise<Relay> {
  const r = await createRelay({
    network: NETWORK, keyPair: keyPair(43),
    admission: { allow: [nodeIdToText(listed.publicKey)], authority: nodeIdToText(authority.publicKey) },
  });
  open.push(r);
  return r;
}

async function client(options: Parameters<typeof createNode>[0]): Promise<GrapevineNode> {
  const n = await createNode({ network: NETWORK, ...options });
  open.push(n);
  return n;
}

/** Connects `c` to `r` over memory; returns the client's end's far side (the relay's link) closings. */
async function connect(r: Relay, c: GrapevineNode): Promise<string> {
  const [mine, theirs] = createMemoryLinkPair();
  const [peer] = await Promise.all([r.accept(mine, { ip: "127.0.0.1" }), c.connect(theirs)]);
  expect(peer).toBe(c.id);
  return peer!;
}

/** A fresh link whose closing reason is recorded. */
function watched(): { link: Link; reasons: string[] } {
  const [link, far] = createMemoryLinkPair();
  const reasons: string[] = [];
  far.onclose = (r) => reasons.push(r);
  return { link, reasons };
}

describe("relay adopt checks admission again", () => {
  it("allow-listed: back; credential unexpired: back; expired or unrecorded: closed, not admitted", async () => {
    const r1 = await relay();
    const expiresAtMs = Date.now() + 60_000;
    const credential = await issueCredential(authority, holder.publicKey, expiresAtMs, NETWORK, await suite());
    const a = await client({ keyPair: listed });
    const b = await client({ keyPair: holder, credential });
    const aId = await connect(r1, a);
    const bId = await connect(r1, b);
    // What a host stores with each socket: the credential's expiry, or null for the allow-list.
    expect(r1.admittedUntil(aId)).toBeNull();
    expect(r1.admittedUntil(bId)).toBe(expiresAtMs);

    const r2 = await relay(); // the restarted relay (same key), holding the old sockets
    const back = watched();
    expect(r2.adopt(back.link, { ip: "127.0.0.1", peer: aId, admittedUntilMs: null })).toBe(true);
    const fresh = watched();
    expect(r2.adopt(fresh.link, { ip: "127.0.0.1", peer: bId, admittedUntilMs: expiresAtMs })).toBe(true);
    expect(r2.admittedUntil(bId)).toBe(expiresAtMs);
    expect(r2.node.peers().sort()).toEqual([aId, bId].sort());

    const r3 = await relay();
    const stale = watched();
    expect(r3.adopt(stale.link, { ip: "127.0.0.1", peer: bId, admittedUntilMs: Date.now() - 1 })).toBe(false);
    const unrecorded = watched();
    expect(r3.adopt(unrecorded.link, { ip: "127.0.0.1", peer: bId })).toBe(false);
    const stranger = watched();
    expect(r3.adopt(stranger.link, { ip: "127.0.0.1", peer: nodeIdToText(keyPair(44).publicKey), admittedUntilMs: null })).toBe(false);
    await new Promise((res) => setTimeout(res, 50));
    for (const w of [stale, unrecorded, stranger]) expect(w.reasons.join()).toContain("not admitted");
    expect(r3.node.peers()).toEqual([]);
    expect([back, fresh].map((w) => w.reasons)).toEqual([[], []]);
  });

  it("without admission configured, any vouched-for peer comes back", async () => {
    const r = await createRelay({ network: NETWORK, keyPair: keyPair(45) });
    open.push(r);
    const w = watched();
    expect(r.adopt(w.link, { ip: "127.0.0.1", peer: nodeIdToText(keyPair(46).publicKey) })).toBe(true);
    expect(r.node.peers()).toEqual([nodeIdToText(keyPair(46).publicKey)]);
  });
});
