/**
 * A dialer whose attempts fail says why, on the node's `"link-failed"` event: the remote's CLOSE
 * reason when the relay refused (admission, connection limits), the mismatch when this side found
 * it (another network, another protocol version), and when it tries next. Real sockets on loopback
 * against the Node relay, configured from its command-line flags; bounded waits.
 */
import { WebSocketServer } from "ws";
import { afterEach, describe, expect, it } from "vitest";
import { createNode, dial, type GrapevineNode, type LinkFailedDetail } from "../../mod.ts";
import { parseRelayArgs } from "../../relay/args.ts";
import { relayOptionsOf } from "../../relay/config.ts";
import { serveRelay } from "../../relay/node.ts";
import { generateKeyPair } from "../../src/crypto/keys.ts";
import { createSignatureSuite } from "../../src/crypto/ed25519.ts";
import { runHandshake } from "../../src/runtime/handshake.ts";
import { websocketLink } from "../../src/transport/websocket.ts";
import { nodeWebSocket } from "../../src/transport/ws-node.ts";
import { PROTOCOL_VERSION } from "../../src/core/engine.ts";
import { until } from "./server.ts";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));

/** A node dialing `url`; collects its link-failed events. */
async function dialer(url: string, network: string): Promise<{ node: GrapevineNode; failures: LinkFailedDetail[]; connected: () => boolean }> {
  const node = await createNode({ network, intervalMs: 100 });
  const failures: LinkFailedDetail[] = [];
  node.addEventListener("link-failed", (e) => failures.push((e as CustomEvent<LinkFailedDetail>).detail));
  const d = dial(node, url, { WebSocket: nodeWebSocket, backoffMinMs: 200, backoffMaxMs: 400, random: () => 0.5 });
  cleanup.push(async () => {
    d.close();
    await node.close({ leave: false });
  });
  return { node, failures, connected: () => d.connected };
}

describe("dial: link-failed", () => {
  it("carries the relay's refusal by admission (an allow-list from --allow) and the next retry", async () => {
    const friend = generateKeyPair(random);
    const config = parseRelayArgs(["--allow", (await createNode({ keyPair: friend })).id, "--network", "closed-club"], () => undefined)!;
    const served = await serveRelay({ port: 0, ...relayOptionsOf(config) });
    cleanup.push(() => served.close());
    const stranger = await dialer(served.url, "closed-club");
    await until(() => stranger.failures.length >= 2, 10_000, "two failed attempts");
    expect(stranger.failures[0]).toEqual({
      url: served.url, reason: "closed by peer: not admitted", remoteReason: "not admitted", failures: 1, retryInMs: 100, nextUrl: served.url,
    });
    expect(stranger.failures[1]).toMatchObject({ remoteReason: "not admitted", failures: 2, retryInMs: 200 }); // the backoff doubled
    expect(stranger.connected()).toBe(false);
  });

  it("carries a connection-limit refusal", async () => {
    const served = await serveRelay({ port: 0, network: "tight", connectionsPerIpMax: 1 });
    cleanup.push(() => served.close());
    const first = await dialer(served.url, "tight");
    await until(first.connected, 10_000, "first linked");
    const second = await dialer(served.url, "tight");
    await until(() => second.failures.length >= 1, 10_000, "refusal");
    expect(second.failures[0]).toMatchObject({ remoteReason: "too many connections from this address", failures: 1 });
    expect(second.failures[0].retryInMs).toBeGreaterThanOrEqual(0);
  });

  it("says which network the relay is on when it is another", async () => {
    const served = await serveRelay({ port: 0, network: "blue" });
    cleanup.push(() => served.close());
    const lost = await dialer(served.url, "green");
    await until(() => lost.failures.length >= 1, 10_000, "failed attempt");
    expect(lost.failures[0].reason).toMatch(/network mismatch: expected "green", got "blue"|closed by peer: network mismatch/);
  });

  it("says so when the other end speaks another protocol version", async () => {
    const suite = await createSignatureSuite({ subtle: crypto.subtle });
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise<void>((r) => wss.once("listening", r));
    cleanup.push(() => new Promise<void>((r) => {
      for (const c of wss.clients) c.terminate();
      wss.close(() => r());
    }));
    wss.on("connection", (ws) => {
      runHandshake(websocketLink(ws), {
        keyPair: generateKeyPair(random), suite, network: "v", protocolVersion: PROTOCOL_VERSION + 1, credential: null, admission: null,
        timeoutMs: 5000, frameBytesMax: 1 << 20, expectedPeer: null, wallClock: () => Date.now(), random, earlyFramesMax: 8, earlyBytesMax: 1 << 20,
      }).catch(() => {});
    });
    const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/`;
    const old = await dialer(url, "v");
    await until(() => old.failures.length >= 1, 10_000, "failed attempt");
    expect(old.failures[0].reason).toMatch(/protocol version mismatch/);
  });

  it("says so when nothing listens", async () => {
    const lonely = await dialer("ws://127.0.0.1:9/", "n");
    await until(() => lonely.failures.length >= 1, 10_000, "failed attempt");
    expect(lonely.failures[0]).toMatchObject({ remoteReason: null, failures: 1 });
    expect(lonely.failures[0].reason).toMatch(/websocket/);
  });
});
