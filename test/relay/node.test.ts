/**
 * The Node adapter (`relay/node.ts`) over real loopback sockets: peers dialing with `dial` and `ws`
 * converge through it; two peered relays carry state and FORWARDs between their peers; HTTP
 * endpoints; an oversize frame, garbage and bad handshakes are refused.
 */
import { PROTOCOL_VERSION } from "../../src/core/engine.ts";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createNode, dial, type GrapevineNode, websocketLink } from "../../mod.ts";
import { nodeWebSocket } from "../../src/transport/ws-node.ts";
import { decodeLinkFrame, LINK_FRAME } from "../../src/wire/link-frames.ts";
import { serveRelay, type ServedRelay, type ServeRelayOptions, upgradeInTurn } from "../../relay/node.ts";
import { runTimed, SLICE_MS } from "../../src/runtime/slice.ts";
import { EventEmitter } from "node:events";
import { parsePrometheus, sample, until } from "./helpers.ts";

const NETWORK = "relay-node-test";
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function relay(options: ServeRelayOptions = {}): Promise<ServedRelay> {
  const served = await serveRelay({ port: 0, network: NETWORK, intervalMs: 100, backoffMinMs: 50, backoffMaxMs: 500, ...options });
  cleanups.push(() => served.close());
  return served;
}

async function peer(): Promise<GrapevineNode> {
  const node = await createNode({ network: NETWORK, intervalMs: 100 });
  cleanups.push(() => node.close({ leave: false }));
  return node;
}

function dialed(node: GrapevineNode, url: string) {
  const d = dial(node, url, { WebSocket: nodeWebSocket, backoffMinMs: 50, backoffMaxMs: 500 });
  cleanups.push(() => d.close());
  return d;
}

describe("relay/node.ts", () => {
  it("two Node peers dial the relay and converge; the relay holds both states", async () => {
    const served = await relay();
    expect(served.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);
    const [a, b] = [await peer(), await peer()];
    const [da, db] = [dialed(a, served.url), dialed(b, served.url)];
    await until(() => da.connected && db.connected, 8000, "both dialers up");
    expect(da.peer).toBe(served.relay.id);
    a.set("name", "alice");
    b.set("name", "bob");
    await until(() => b.get("name", a.id) === "alice" && a.get("name", b.id) === "bob", 8000, "convergence");
    expect(served.relay.node.origins().sort()).toEqual([a.id, b.id].sort());
  });

  it("two peered relays with one peer each converge, and carry a FORWARD across", async () => {
    const r1 = await relay();
    const r2 = await relay({ peers: [r1.url] });
    r1.relay.addPeer(r2.url); // mutual peering: each trusts the other for FORWARDs with hops > 0
    const [a, b] = [await peer(), await peer()];
    const [da, db] = [dialed(a, r1.url), dialed(b, r2.url)];
    await until(() => da.connected && db.connected && r1.relay.health().peers.every((p) => p.connected) && r2.relay.health().peers.every((p) => p.connected), 8000, "links up");
    a.set("x", 1);
    b.set("y", 2);
    await until(() => b.get("x", a.id) === 1 && a.get("y", b.id) === 2, 10_000, "convergence across relays");

    const got: { from: string; payload: Uint8Array }[] = [];
    b.addEventListener("direct", (e) => got.push((e as CustomEvent).detail));
    a.sendTo(b.id, new TextEncoder().encode("across"));
    await until(() => got.length >= 1, 5000, "forwarded message");
    expect(got[0].from).toBe(a.id);
    expect(new TextDecoder().decode(got[0].payload)).toBe("across");
    expect(r1.relay.counters.forwards).toBeGreaterThanOrEqual(1);
    expect(r2.relay.counters.forwards).toBeGreaterThanOrEqual(1);
  });

  it("serves /healthz and /metrics over HTTP; 404 elsewhere, also for WebSocket upgrades", async () => {
    const served = await relay();
    const base = served.url.replace(/^ws/, "http");
    const health = await fetch(new URL("/healthz", base));
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, id: served.relay.id, network: NETWORK, links: 0 });
    const metrics = await fetch(new URL("/metrics", base));
    expect(metrics.headers.get("content-type")).toContain("text/plain");
    const { samples } = parsePrometheus(await metrics.text());
    expect(sample(samples, "grapevine_links")).toBe(0);
    expect((await fetch(new URL("/nope", base))).status).toBe(404);
    const code = await new Promise<string>((resolve) => {
      const ws = new WebSocket(new URL("/elsewhere", served.url));
      ws.on("unexpected-response", (_req, res) => resolve(String(res.statusCode)));
      ws.on("error", (e) => resolve(e.message));
    });
    expect(code).toContain("404");
  });

  it("closes a socket that sends a frame over frameBytesMax (1009, before buffering it whole)", async () => {
    const served = await relay({ frameBytesMax: 16_384, deltaBytesMax: 8_192 });
    const ws = new WebSocket(served.url);
    await new Promise((r) => ws.once("open", r));
    const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
    ws.send(new Uint8Array(20_000));
    expect(await closed).toBe(1009);
  });

  it("penalises garbage from an authenticated peer and closes its link", async () => {
    const served = await relay();
    const a = await peer();
    const link = websocketLink(new nodeWebSocket(served.url));
    const handle = await a.connect(link);
    for (let i = 0; i < 6; i++) link.send(new Uint8Array([0xff, 0x00, i]));
    const reason = await handle.closed;
    expect(reason).toMatch(/penalty/);
    expect(served.relay.counters.rejected.get("wire_malformed")).toBeGreaterThanOrEqual(1);
  });

  it("refuses bad handshakes: another network, a non-link frame first, a forged proof", async () => {
    const served = await relay();
    const stranger = await createNode({ network: "another-network" });
    cleanups.push(() => stranger.close());
    await expect(stranger.connect(websocketLink(new nodeWebSocket(served.url)))).rejects.toThrow(/network mismatch/);

    // A raw socket that starts with gossip instead of HELLO: the relay sends CLOSE and hangs up.
    const ws = new WebSocket(served.url);
    const frames: Buffer[] = [];
    ws.on("message", (d: Buffer) => frames.push(d));
    await new Promise((r) => ws.once("open", r));
    const closed = new Promise<void>((r) => ws.once("close", () => r()));
    ws.send(new Uint8Array([0x83, 0x01, 0x00, 0xf6]));
    await closed;
    expect(frames.some((f) => f[1] === 18)).toBe(true); // a CLOSE frame (type 18) came before the hang-up

    // HELLO with a key we cannot prove: the PROOF does not verify.
    const { encodeLinkFrame } = await import("../../src/wire/link-frames.ts");
    const ws2 = new WebSocket(served.url);
    await new Promise((r) => ws2.once("open", r));
    const closed2 = new Promise<void>((r) => ws2.once("close", () => r()));
    ws2.send(encodeLinkFrame({ type: LINK_FRAME.HELLO, protocolVersion: PROTOCOL_VERSION, network: NETWORK, nonce: new Uint8Array(32), publicKey: (await peer()).publicKey, credential: null }));
    ws2.send(encodeLinkFrame({ type: LINK_FRAME.PROOF, signature: new Uint8Array(64) }));
    await closed2;
    await until(() => (served.relay.counters.rejected.get("handshake") ?? 0) >= 3, 5000, "three handshake failures counted");
    await until(() => served.relay.health().links === 0 && served.relay.metrics().includes("grapevine_links 0"), 5000, "links gone");
  });

  it("refuses past connectionsPerIpMax over real sockets, with the reason", async () => {
    const served = await relay({ connectionsPerIpMax: 1 });
    const a = await peer();
    const b = await peer();
    await a.connect(websocketLink(new nodeWebSocket(served.url)));
    await expect(b.connect(websocketLink(new nodeWebSocket(served.url)))).rejects.toThrow(/too many connections from this address/);
    expect(served.relay.counters.refused.get("per_ip")).toBe(1);
  });

  it("answers the rest of a refused burst in HTTP before any WebSocket work; the first refusal still says why", async () => {
    const served = await relay({ connectionsPerIpPerSecond: 2, connectionsPerIpMax: 8 });
    /** One attempt from this address: what it got back. */
    const attempt = () => new Promise<string>((resolve) => {
      const ws = new WebSocket(served.url);
      ws.on("message", (data: Buffer) => {
        const frame = decodeLinkFrame(new Uint8Array(data), 4096);
        if (frame.type === LINK_FRAME.HELLO) resolve("admitted");
        else if (frame.type === LINK_FRAME.CLOSE) resolve(`refused: ${frame.reason}`);
      });
      ws.on("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve(`http ${res.statusCode} retry-after ${res.headers["retry-after"]}: ${body.trim()}`));
      });
      ws.on("error", () => {});
      sockets.push(ws);
    });
    const sockets: WebSocket[] = [];
    try {
      const outcomes: string[] = [];
      for (let i = 0; i < 6; i++) outcomes.push(await attempt()); // one after another, within a second
      expect(outcomes).toEqual([
        "admitted",
        "admitted",
        "refused: connecting too fast",
        ...Array(3).fill("http 429 retry-after 1: connecting too fast"),
      ]);
      expect(served.relay.counters.refused.get("per_ip_rate")).toBe(4);
      await new Promise((r) => setTimeout(r, 1100)); // the bucket refills, and the refusal is a second old
      expect(await attempt()).toBe("admitted");
    } finally {
      for (const ws of sockets) ws.terminate();
    }
  });

  it("upgrades in turns: at once while the thread's slice lasts, else at a later turn; a socket that errs or goes meanwhile is destroyed, not upgraded", async () => {
    const turn = () => new Promise((r) => setImmediate(r));
    const busy = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    const socket = () => Object.assign(new EventEmitter(), { destroyed: false, destroy() { this.destroyed = true; } });
    for (let i = 0; i < 3; i++) await turn(); // a fresh slice
    const upgraded: string[] = [];
    upgradeInTurn(socket(), () => upgraded.push("at once"));
    expect(upgraded).toEqual(["at once"]);
    runTimed(() => busy(SLICE_MS)); // the slice is spent
    const waits = socket();
    const errs = socket();
    const gone = socket();
    upgradeInTurn(waits, () => upgraded.push("later"));
    upgradeInTurn(errs, () => upgraded.push("erred"));
    upgradeInTurn(gone, () => upgraded.push("gone"));
    expect(upgraded).toEqual(["at once"]);
    errs.emit("error", new Error("ECONNRESET")); // handled: no uncaught error
    gone.destroy();
    for (let i = 0; i < 3; i++) await turn();
    expect(upgraded).toEqual(["at once", "later"]);
    expect(errs.destroyed).toBe(true);
    expect(waits.listenerCount("error")).toBe(0); // handed over as it came (ws adds its own)
  });

  it("a hundred clients connecting at once are all upgraded and linked", async () => {
    const served = await relay({ connectionsPerIpMax: 200, connectionsPerIpPerSecond: 200 });
    const sockets = Array.from({ length: 100 }, () => new WebSocket(served.url));
    cleanups.push(() => sockets.forEach((s) => s.terminate()));
    await Promise.all(sockets.map((s) => new Promise((resolve, reject) => (s.once("open", resolve), s.once("error", reject)))));
    expect(sockets.every((s) => s.readyState === WebSocket.OPEN)).toBe(true);
  });
});

describe("the Node relay's signature suite", () => {
  it("is the package's suite over node:crypto one-shot Ed25519: it passes the start-up probe and agrees with WebCrypto", async () => {
    const { nodeSignatureSuite } = await import("../../relay/node.ts");
    const { createSignatureSuite, generateKeyPair } = await import("../../mod.ts");
    const native = await nodeSignatureSuite();
    expect(native?.backend).toBe("node:crypto"); // the probe passed: no fallback
    const reference = await createSignatureSuite({ subtle: crypto.subtle, backend: "webcrypto" });
    const kp = generateKeyPair((n) => crypto.getRandomValues(new Uint8Array(n)));
    const message = new TextEncoder().encode("one verdict everywhere");
    const signature = await native!.sign(kp, message);
    expect(signature).toEqual(await reference.sign(kp, message)); // Ed25519 is deterministic
    expect(await native!.verify(kp.publicKey, message, signature)).toBe(true);
    const flipped = signature.slice();
    flipped[5] ^= 1;
    expect(await native!.verify(kp.publicKey, message, flipped)).toBe(false);
    expect(await native!.verify(kp.publicKey, message, new Uint8Array(63))).toBe(false);
  });
});
