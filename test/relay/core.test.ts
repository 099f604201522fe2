/**
 * The runtime-neutral relay over in-memory links: admission limits refuse before the handshake
 * and say why; `/healthz` and `/metrics`; gossip through the relay; FORWARD routing, forged
 * senders and the per-link byte rate.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryLinkPair, createNode, type GrapevineNode } from "../../mod.ts";
import { encodeLinkFrame, LINK_FRAME } from "../../src/wire/link-frames.ts";
import { nodeIdFromText } from "../../src/crypto/identity.ts";
import { encode } from "../../src/wire/cbor.ts";
import { ENTRY_HELD_BYTES, ORIGIN_HELD_BYTES } from "../../src/core/held.ts";
import { createRelay, DEFAULT_RELAY_LIMITS, type Relay, type RelayOptions } from "../../relay/core.ts";
import { AdmissionGate, REFUSALS, resolveRelayLimits, TokenBucket } from "../../relay/limits.ts";
import { attach, parsePrometheus, refusedWith, sample, until } from "./helpers.ts";

const open: { close(): Promise<void> }[] = [];
async function relayWith(options: RelayOptions = {}): Promise<Relay> {
  const relay = await createRelay({ network: "relay-test", intervalMs: 100, ...options });
  open.push(relay);
  return relay;
}
function track(node: GrapevineNode): GrapevineNode {
  open.push({ close: () => node.close({ leave: false }) });
  return node;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

describe("limits", () => {
  it("have documented defaults and refuse nonsense", () => {
    expect(DEFAULT_RELAY_LIMITS).toMatchObject({
      connectionsMax: 10_000, connectionsPerIpMax: 32, connectionsPerIpPerSecond: 10,
      linkBytesPerSecondMax: 1_048_576, frameBytesMax: 1_048_576, forwardsPerSecondMax: 200,
    });
    expect(() => resolveRelayLimits({ connectionsMax: 0 })).toThrow(RangeError);
    expect(() => resolveRelayLimits({ linkBytesPerSecondMax: Infinity })).toThrow(RangeError);
  });

  it("token bucket: burst, then the rate", () => {
    const b = new TokenBucket(10, 5, 0);
    expect(b.take(0, 5)).toBe(true);
    expect(b.take(0)).toBe(false);
    expect(b.take(99)).toBe(false);
    expect(b.take(100)).toBe(true);
    expect(b.isFull(10_000)).toBe(true);
  });

  it("the gate forgets idle addresses, so its table stays bounded", () => {
    const gate = new AdmissionGate(resolveRelayLimits({ connectionsPerIpPerSecond: 1 }));
    for (let i = 0; i < 500; i++) {
      expect(gate.admit(`10.0.${i >> 8}.${i & 255}`, 0)).toBeNull();
      gate.release(`10.0.${i >> 8}.${i & 255}`);
    }
    expect(gate.addressCount).toBe(500);
    gate.admit("192.0.2.1", 5_000);
    expect(gate.addressCount).toBe(1);
    expect(gate.open).toBe(1);
  });

  it("screens an address only while it was refused in the last second and would be again, spending nothing", () => {
    const gate = new AdmissionGate(resolveRelayLimits({ connectionsPerIpPerSecond: 2, connectionsPerIpMax: 3, connectionsMax: 4 }));
    const ip = "198.51.100.1";
    expect(gate.screen(ip, 0)).toBeNull(); // never seen
    expect(gate.admit(ip, 0)).toBeNull();
    expect(gate.admit(ip, 0)).toBeNull();
    expect(gate.screen(ip, 0)).toBeNull(); // its bucket is empty, but nothing was refused yet: admit tells it why
    expect(gate.admit(ip, 0)).toBe(REFUSALS.perIpRate);
    expect(gate.screen(ip, 100)).toBe(REFUSALS.perIpRate);
    for (let i = 0; i < 50; i++) gate.screen(ip, 100); // spends no token
    expect(gate.screen(ip, 600)).toBeNull(); // a token again: admit decides
    expect(gate.admit(ip, 600)).toBeNull();
    expect(gate.admit(ip, 1100)).toBe(REFUSALS.perIp); // three open, a token spent
    expect(gate.screen(ip, 1200)).toBe(REFUSALS.perIpRate); // checked in admit's order: no token yet
    expect(gate.screen(ip, 1700)).toBe(REFUSALS.perIp); // a token, but three open
    gate.release(ip);
    expect(gate.screen(ip, 1700)).toBeNull(); // one closed: no longer refused
    expect(gate.admit(ip, 1700)).toBeNull();
    expect(gate.admit(ip, 1700)).toBe(REFUSALS.perIpRate);
    expect(gate.screen(ip, 2699)).toBe(REFUSALS.perIp); // tokens again, but three open
    expect(gate.screen(ip, 2700)).toBeNull(); // a second after the refusal, never
    gate.release(ip);
    // Another address while the relay is full: refused by the relay's limit, then screened by it.
    expect(gate.admit("203.0.113.2", 2700)).toBeNull();
    expect(gate.admit("203.0.113.3", 2700)).toBeNull();
    expect(gate.admit("203.0.113.4", 2700)).toBe(REFUSALS.connections);
    expect(gate.screen("203.0.113.4", 2800)).toBe(REFUSALS.connections);
    expect(gate.screen("203.0.113.5", 2800)).toBeNull(); // not refused yet
    // A refused address is held for the window even with a full bucket, then swept.
    expect(gate.addressCount).toBe(4);
    gate.admit("192.0.2.9", 3500); // refused (full), and the sweep keeps 203.0.113.4: refused 0.8 s ago
    expect(gate.addressCount).toBe(5);
    gate.admit("192.0.2.10", 5000); // swept: 203.0.113.4 and 192.0.2.9, refused over a second ago with full buckets
    expect(gate.addressCount).toBe(4); // 198.51.100.1 (two open), 203.0.113.2 and .3 (one each), 192.0.2.10 (refused)
  });
});

describe("relay core over memory links", () => {
  it("refuses past connectionsMax with a reason, before the handshake, and admits again after a close", async () => {
    const relay = await relayWith({ connectionsMax: 2 });
    const a = await attach(relay, "10.0.0.1");
    const b = await attach(relay, "10.0.0.2");
    track(a.node);
    track(b.node);
    expect(await refusedWith(relay, "10.0.0.3")).toContain("too many connections");
    expect(relay.counters.refused.get("connections")).toBe(1);
    // The refused link never reached the handshake: no handshake failure was counted.
    expect(relay.counters.rejected.get("handshake")).toBeUndefined();
    a.link.close("bye");
    await until(() => relay.health().links === 1);
    const c = await attach(relay, "10.0.0.3");
    track(c.node);
    expect(relay.health().links).toBe(2);
  });

  it("refuses past connectionsPerIpMax, per address", async () => {
    const relay = await relayWith({ connectionsPerIpMax: 2 });
    for (let i = 0; i < 2; i++) track((await attach(relay, "198.51.100.7")).node);
    expect(await refusedWith(relay, "198.51.100.7")).toContain("too many connections from this address");
    track((await attach(relay, "198.51.100.8")).node);
    expect(relay.counters.refused.get("per_ip")).toBe(1);
  });

  it("refuses past connectionsPerIpPerSecond, and admits once the second has passed", async () => {
    let now = 0;
    const relay = await relayWith({ connectionsPerIpPerSecond: 3, now: () => now });
    for (let i = 0; i < 3; i++) track((await attach(relay, "203.0.113.9")).node);
    expect(await refusedWith(relay, "203.0.113.9")).toContain("connecting too fast");
    expect(relay.counters.refused.get("per_ip_rate")).toBe(1);
    now += 1000;
    track((await attach(relay, "203.0.113.9")).node);
  });

  it("is a full peer: two peers that only link to the relay converge through it", async () => {
    const relay = await relayWith();
    const a = track((await attach(relay, "10.1.0.1")).node);
    const b = track((await attach(relay, "10.1.0.2")).node);
    a.set("status", "from a");
    b.set("status", "from b");
    await until(() => b.get("status", a.id) === "from a" && a.get("status", b.id) === "from b");
    expect(relay.node.get("status", a.id)).toBe("from a");
    expect(relay.health().origins).toBe(2);
  });

  it("serves /healthz as JSON and /metrics as Prometheus text; other paths are left to the adapter", async () => {
    const relay = await relayWith();
    const a = track((await attach(relay, "10.2.0.1")).node);
    a.set("k", 1);
    await until(() => relay.node.get("k", a.id) === 1);
    const health = await relay.handle(new Request("http://relay.test/healthz"));
    expect(health?.status).toBe(200);
    expect(health?.headers.get("content-type")).toBe("application/json");
    const body = await health!.json();
    expect(body).toMatchObject({ ok: true, id: relay.id, network: "relay-test", links: 1, origins: 1 });
    expect(typeof body.uptime).toBe("number");

    const metrics = await relay.handle(new Request("http://relay.test/metrics"));
    expect(metrics?.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const { samples, types } = parsePrometheus(await metrics!.text());
    for (const name of [
      "grapevine_links", "grapevine_frames_in_total", "grapevine_frames_out_total", "grapevine_bytes_in_total",
      "grapevine_bytes_out_total", "grapevine_frames_rejected_total", "grapevine_state_origins", "grapevine_rounds_total",
      "grapevine_connections_refused_total", "grapevine_forwards_total", "grapevine_state_bytes", "grapevine_state_bytes_max",
    ]) expect(types.has(name), name).toBe(true);
    expect(types.get("grapevine_frames_in_total")).toBe("counter");
    expect(types.get("grapevine_links")).toBe("gauge");
    expect(sample(samples, "grapevine_links")).toBe(1);
    expect(sample(samples, "grapevine_state_origins")).toBe(1);
    // The one key the relay holds of a's counts its record, its entry and its leaf, against the default bound.
    expect(sample(samples, "grapevine_state_bytes")).toBe(relay.node.engine.store.pool.held);
    expect(sample(samples, "grapevine_state_bytes")).toBeGreaterThan(ORIGIN_HELD_BYTES + ENTRY_HELD_BYTES);
    expect(sample(samples, "grapevine_state_bytes_max")).toBe(134_217_728);
    expect(sample(samples, "grapevine_frames_in_total")).toBeGreaterThan(2);
    expect(sample(samples, "grapevine_bytes_out_total")).toBeGreaterThan(0);

    expect(await relay.handle(new Request("http://relay.test/other"))).toBeNull();
    expect(await relay.handle(new Request("http://relay.test/metrics", { method: "POST" }))).toBeNull();
  });

  it("labels refusals and rejections in /metrics", async () => {
    const relay = await relayWith({ connectionsMax: 1 });
    track((await attach(relay, "10.3.0.1")).node);
    await refusedWith(relay, "10.3.0.2");
    const { samples } = parsePrometheus(relay.metrics());
    expect(sample(samples, "grapevine_connections_refused_total", { reason: "connections" })).toBe(1);
  });

  it("forwards a FORWARD to a peer it holds a link to, hops + 1", async () => {
    const relay = await relayWith();
    const a = track((await attach(relay, "10.4.0.1")).node);
    const b = track((await attach(relay, "10.4.0.2")).node);
    const got: { from: string; payload: Uint8Array }[] = [];
    b.addEventListener("direct", (e) => got.push((e as CustomEvent).detail));
    expect(a.sendTo(b.id, new TextEncoder().encode("hello b"))).toBe(true);
    await until(() => got.length === 1);
    expect(got[0].from).toBe(a.id);
    expect(new TextDecoder().decode(got[0].payload)).toBe("hello b");
    expect(relay.counters.forwards).toBe(1);
    // A FORWARD to a peer the relay does not hold (and no peer relays) is dropped and counted.
    const stranger = track(await createNode({ network: "relay-test" }));
    a.sendTo(stranger.id, new Uint8Array([1]));
    await until(() => relay.counters.rejected.get("forward_no_route") === 1);
  });

  it("penalises a forged `from` (hops 0 from another key, or hops > 0 from a non-relay) in the link's one ledger and closes the link", async () => {
    const relay = await relayWith();
    const penalties: { code: string; message: string }[] = [];
    relay.node.on("penalty", (p) => penalties.push(p));
    const a = await attach(relay, "10.5.0.1");
    const b = track((await attach(relay, "10.5.0.2")).node);
    track(a.node);
    const got: unknown[] = [];
    b.addEventListener("direct", (e) => got.push((e as CustomEvent).detail));
    const forged = (hops: number) => encodeLinkFrame({ type: LINK_FRAME.FORWARD, to: nodeIdFromText(b.id), from: nodeIdFromText(b.id), hops, payload: new Uint8Array([7]) });
    a.link.send(forged(0));
    await until(() => relay.counters.rejected.get("forward_forged") === 1);
    a.link.send(forged(2));
    const reason = await a.closed;
    expect(reason).toMatch(/penalty/);
    expect(relay.counters.rejected.get("forward_forged")).toBe(2);
    // The node's ledger, where gossip faults count too: one score per link, one threshold.
    expect(penalties.map((p) => p.code)).toEqual(["WIRE_SHAPE", "WIRE_SHAPE"]);
    expect(penalties[0].message).toMatch(/forward_forged/);
    expect(got).toHaveLength(0);
    expect(relay.counters.forwards).toBe(0);
  });

  it("a forged FORWARD and bad gossip frames add up in one score: the link closes at one threshold, not two", async () => {
    const relay = await relayWith();
    const codes: string[] = [];
    relay.node.on("penalty", (p) => codes.push(p.code));
    const a = await attach(relay, "10.5.1.1");
    const b = track((await attach(relay, "10.5.1.2")).node);
    track(a.node);
    a.link.send(encodeLinkFrame({ type: LINK_FRAME.FORWARD, to: nodeIdFromText(b.id), from: nodeIdFromText(b.id), hops: 0, payload: new Uint8Array([7]) })); // 50
    await until(() => codes.length === 1);
    a.link.send(encode([1, "not a digest"])); // a malformed gossip frame: 25
    a.link.send(encode([1, "not a digest"])); // 25 more: 100, the threshold
    const reason = await a.closed;
    expect(reason).toMatch(/penalty score 100/);
    expect(codes[0]).toBe("WIRE_SHAPE");
    expect(codes).toHaveLength(3);
  });

  it("drops frames over linkBytesPerSecondMax and closes a link that keeps flooding", async () => {
    let now = 0;
    const relay = await relayWith({ linkBytesPerSecondMax: 16_384, frameBytesMax: 16_384, deltaBytesMax: 8_192, now: () => now });
    const a = await attach(relay, "10.6.0.1", { frameBytesMax: 16_384, deltaBytesMax: 8_192 });
    track(a.node);
    // A link-layer frame of a type nobody knows (25): ignored when admitted, so only the rate limit acts.
    const filler = encode([25, new Uint8Array(4_000)]);
    const before = relay.counters.framesIn;
    for (let i = 0; i < 3; i++) a.link.send(filler); // 12 kB: within the one-second burst
    await until(() => relay.counters.framesIn >= before + 3);
    expect(relay.counters.rejected.get("rate_limited")).toBeUndefined();
    now += 1000;
    for (let i = 0; i < 80; i++) a.link.send(filler);
    const reason = await a.closed;
    expect(reason).toMatch(/penalty.*rate_limited/);
    expect(relay.counters.rejected.get("rate_limited")).toBeGreaterThanOrEqual(40);
  });

  it("closes a link that sends a frame over frameBytesMax", async () => {
    const relay = await relayWith({ frameBytesMax: 16_384, deltaBytesMax: 8_192 });
    const a = await attach(relay, "10.7.0.1", { frameBytesMax: 16_384, deltaBytesMax: 8_192 });
    track(a.node);
    a.link.send(new Uint8Array(16_385));
    expect(await a.closed).toMatch(/too large/);
    expect(relay.counters.rejected.get("frame_too_large")).toBe(1);
  });

  it("a peer of another network is refused by the handshake and counted", async () => {
    const relay = await relayWith();
    const other = track(await createNode({ network: "elsewhere" }));
    const [mine, theirs] = createMemoryLinkPair();
    const connected = other.connect(mine);
    await relay.accept(theirs, { ip: "10.8.0.1" });
    await expect(connected).rejects.toThrow(/network/);
    expect(relay.counters.rejected.get("handshake")).toBe(1);
    await until(() => relay.metrics().includes("grapevine_links 0"));
  });

  it("after close: /healthz says 503, new links are refused", async () => {
    const relay = await createRelay({ network: "relay-test" });
    await relay.close();
    expect((await relay.handle(new Request("http://x/healthz")))?.status).toBe(503);
    expect(await refusedWith(relay, "10.9.0.1")).toContain("relay closing");
  });
});
