// The driver's link layer after the handshake: addressed messages (FORWARD), CLOSE with a reason,
// link-layer penalties, and backpressure (congestion, drain, "peer not reading"). Memory links.
import { PROTOCOL_VERSION } from "../../src/core/engine.ts";
import { describe, expect, it } from "vitest";
import { createMemoryLinkPair, createNode, type GrapevineNode, type Link, type LinkHandle, type NodeOptions } from "../../mod.ts";
import { encodeLinkFrame, LINK_FRAME } from "../../src/wire/link-frames.ts";
import { keyPair } from "../core/harness.ts";
import { until } from "../helpers/until.ts";

function node(i: number, options: NodeOptions = {}): Promise<GrapevineNode> {
  return createNode({ network: "t", intervalMs: 50, keyPair: keyPair(i), seed: i, ...options });
}

/** A link end whose `bufferedAmount` the test can inflate, and whose sent frames it can tap. */
class Tapped implements Link {
  extra = 0;
  sent: Uint8Array[] = [];
  constructor(readonly inner: Link) {}
  get bufferedAmount(): number {
    return this.inner.bufferedAmount + this.extra;
  }
  get onmessage() {
    return this.inner.onmessage;
  }
  set onmessage(f) {
    this.inner.onmessage = f;
  }
  get onclose() {
    return this.inner.onclose;
  }
  set onclose(f) {
    this.inner.onclose = f;
  }
  send(bytes: Uint8Array): void {
    this.sent.push(bytes);
    this.inner.send(bytes);
  }
  close(reason?: string): void {
    this.inner.close(reason);
  }
}

async function pair(a: GrapevineNode, b: GrapevineNode): Promise<{ ta: Tapped; tb: Tapped; ha: LinkHandle; hb: LinkHandle }> {
  const [la, lb] = createMemoryLinkPair();
  const ta = new Tapped(la);
  const tb = new Tapped(lb);
  const [ha, hb] = await Promise.all([a.connect(ta), b.connect(tb)]);
  return { ta, tb, ha, hb };
}

function messages(n: GrapevineNode): { from: string; text: string }[] {
  const got: { from: string; text: string }[] = [];
  n.addEventListener("direct", (e) => {
    const d = (e as CustomEvent<{ from: string; payload: Uint8Array }>).detail;
    got.push({ from: d.from, text: new TextDecoder().decode(d.payload) });
  });
  return got;
}

describe("addressed messages (FORWARD)", () => {
  it("sendTo over a direct link delivers a 'direct' event", async () => {
    const [a, b] = await Promise.all([node(0), node(1)]);
    await pair(a, b);
    const got = messages(b);
    expect(a.sendTo(b.id, new TextEncoder().encode("hi b"))).toBe(true);
    await until(() => got.length === 1);
    expect(got).toEqual([{ from: a.id, text: "hi b" }]);
    expect(() => a.sendTo(a.id, new Uint8Array(1))).toThrow(RangeError);
    expect(() => a.sendTo(b.id, new Uint8Array(a.options.frameBytesMax))).toThrow(RangeError);
    await Promise.all([a.close(), b.close()]);
  });

  it("without a direct link it goes out on every link; a node that is not the target drops it", async () => {
    const [a, m, n, target] = await Promise.all([node(0), node(1), node(2), node(3)]);
    const { ta } = await pair(a, m);
    const { ta: ta2 } = await pair(a, n);
    const gotM = messages(m);
    const gotN = messages(n);
    expect(a.sendTo(target.id, new TextEncoder().encode("for target"))).toBe(true);
    const forwards = (t: Tapped) => t.sent.filter((b) => b[1] === LINK_FRAME.FORWARD).length;
    expect(forwards(ta)).toBe(1);
    expect(forwards(ta2)).toBe(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(gotM).toEqual([]);
    expect(gotN).toEqual([]);
    expect(target.sendTo(a.id, new Uint8Array(1))).toBe(false); // no links at all
    await Promise.all([a, m, n, target].map((x) => x.close()));
  });

  it("a first-hop FORWARD whose 'from' is not the sender is penalised and dropped; a relayed one is delivered", async () => {
    const [a, b] = await Promise.all([node(0), node(1)]);
    const { ta } = await pair(a, b);
    const got = messages(b);
    const penalties: string[] = [];
    b.addEventListener("penalty", (e) => penalties.push((e as CustomEvent).detail.message));
    const someoneElse = keyPair(7).publicKey;
    ta.send(encodeLinkFrame({ type: LINK_FRAME.FORWARD, to: b.publicKey, from: someoneElse, hops: 0, payload: new Uint8Array([1]) }));
    ta.send(encodeLinkFrame({ type: LINK_FRAME.FORWARD, to: b.publicKey, from: someoneElse, hops: 1, payload: new TextEncoder().encode("relayed") }));
    await until(() => got.length === 1);
    expect(penalties).toEqual(["WIRE_SHAPE: forward: hops is 0 but from is not the sending peer"]);
    expect(got[0].text).toBe("relayed");
    await Promise.all([a.close(), b.close()]);
  });
});

describe("closing and link-layer penalties", () => {
  it("a closed link tells the peer why; both handles resolve; the engine forgets the link", async () => {
    const [a, b] = await Promise.all([node(0), node(1)]);
    const { ha, hb } = await pair(a, b);
    ha.close("maintenance");
    expect(await ha.closed).toBe("maintenance");
    expect(await hb.closed).toBe("closed by peer: maintenance");
    expect(a.linkCount + b.linkCount).toBe(0);
    expect(a.engine.links()).toEqual([]);
    await until(() => b.engine.links().length === 0);
    await Promise.all([a.close(), b.close()]);
  });

  it("a HELLO after the handshake and malformed link frames are penalised until the link closes", async () => {
    const [a, b] = await Promise.all([node(0), node(1)]);
    const { ta, hb } = await pair(a, b);
    const codes: string[] = [];
    b.addEventListener("penalty", (e) => codes.push((e as CustomEvent).detail.code));
    ta.send(encodeLinkFrame({ type: LINK_FRAME.HELLO, protocolVersion: PROTOCOL_VERSION, network: "t", nonce: new Uint8Array(32), publicKey: a.publicKey, credential: null }));
    for (let i = 0; i < 3; i++) ta.send(new Uint8Array([0x82, 0x13, 0x00])); // a FORWARD of the wrong shape
    expect(await hb.closed).toBe("penalty score 100: WIRE_SHAPE");
    expect(codes).toEqual(["WIRE_SHAPE", "WIRE_SHAPE", "WIRE_SHAPE", "WIRE_SHAPE"]);
    await Promise.all([a.close(), b.close()]);
  });

  it("unknown link-layer types are ignored", async () => {
    const [a, b] = await Promise.all([node(0), node(1)]);
    const { ta, hb } = await pair(a, b);
    const codes: string[] = [];
    b.addEventListener("penalty", (e) => codes.push((e as CustomEvent).detail.code));
    ta.send(new Uint8Array([0x82, 0x18, 0x1f, 0x01])); // [31, 1]
    ta.send(new Uint8Array([0x81, 0x14])); // [20]
    a.set("k", 1);
    await until(() => b.get("k", a.id) === 1);
    expect(codes).toEqual([]);
    expect(b.linkCount).toBe(1);
    void hb;
    await Promise.all([a.close(), b.close()]);
  });
});

describe("backpressure", () => {
  it("over the high-water mark a link is congested; drained below half it is not; stuck, it is closed", async () => {
    const a = await node(0, { linkHighWaterBytes: 10_000, linkCongestedCloseMs: 300 });
    const b = await node(1);
    const { ta, ha, hb } = await pair(a, b);
    const events: boolean[] = [];
    a.addEventListener("congestion", (e) => events.push((e as CustomEvent).detail.congested));

    ta.extra = 20_000;
    a.sendTo(b.id, new Uint8Array(1));
    expect(events).toEqual([true]);
    ta.extra = 6_000; // below high water, not yet below half: still congested
    await new Promise((r) => setTimeout(r, 150));
    expect(events).toEqual([true]);
    ta.extra = 0;
    await until(() => events.length === 2);
    expect(events).toEqual([true, false]);

    ta.extra = 50_000;
    const started = Date.now();
    a.sendTo(b.id, new Uint8Array(1));
    expect(await ha.closed).toBe("peer not reading");
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await hb.closed).toBe("closed by peer: peer not reading");
    expect(events).toEqual([true, false, true]);
    await Promise.all([a.close(), b.close()]);
  });
});
