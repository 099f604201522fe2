// dial(): connects, reconnects with backoff when the server dies and comes back on the same port,
// converges again, and stops for good on close(). Loopback only; small backoff; bounded waits.
import { afterEach, describe, expect, it } from "vitest";
import { createNode, dial, type GrapevineNode } from "../../mod.ts";
import { keyPair } from "../core/harness.ts";
import { dialSeeds } from "../../src/runtime/dial.ts";
import { ClientWebSocket, startServer, until } from "./server.ts";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function node(i: number): Promise<GrapevineNode> {
  const n = await createNode({ network: "dial", intervalMs: 50, keyPair: keyPair(i), seed: i });
  cleanup.push(() => n.close({ leave: false }));
  return n;
}

function record(n: GrapevineNode): string[] {
  const log: string[] = [];
  for (const type of ["link-up", "link-down"]) {
    n.addEventListener(type, (e) => {
      const d = (e as CustomEvent<{ peer: string; url: string }>).detail;
      log.push(`${type} ${d.peer.slice(0, 6)} ${d.url}`);
    });
  }
  return log;
}

describe("dial", () => {
  it("reconnects after the server is killed and restarted on the same port, and converges again", async () => {
    const [srvNode, client] = await Promise.all([node(0), node(1)]);
    let srv = await startServer(srvNode);
    cleanup.push(() => srv.kill());
    const url = srv.url;
    const log = record(client);
    const dialer = dial(client, url, { WebSocket: ClientWebSocket, backoffMinMs: 20, backoffMaxMs: 200 });
    cleanup.push(() => dialer.close());
    expect(dialer.connected).toBe(false);
    expect(dialer.peer).toBe(null);

    srvNode.set("epoch", 1);
    await until(() => client.get("epoch", srvNode.id) === 1, 10_000, "first convergence");
    expect(dialer.connected).toBe(true);
    expect(dialer.peer).toBe(srvNode.id);

    await srv.kill();
    await until(() => !dialer.connected, 5000, "dialer notices the drop");
    srvNode.set("epoch", 2);
    client.set("seen", 1);
    await new Promise((r) => setTimeout(r, 150)); // a few refused attempts while nothing listens
    srv = await startServer(srvNode, srv.port);
    await until(() => dialer.connected && client.get("epoch", srvNode.id) === 2 && srvNode.get("seen", client.id) === 1, 10_000, "convergence after restart");

    const p = srvNode.id.slice(0, 6);
    expect(log).toEqual([`link-up ${p} ${url}`, `link-down ${p} ${url}`, `link-up ${p} ${url}`]);
  });

  it("gives the node one seed a dialer: a relay back under a new key replaces it, and a closed dialer's goes", async () => {
    const [first, client] = await Promise.all([node(0), node(1)]);
    let srv = await startServer(first);
    cleanup.push(() => srv.kill());
    const dialer = dial(client, srv.url, { WebSocket: ClientWebSocket, backoffMinMs: 20, backoffMaxMs: 200 });
    cleanup.push(() => dialer.close());
    await until(() => dialer.peer === first.id, 10_000, "the first relay");
    expect(dialSeeds(client)).toEqual([first.id]);
    // The relay restarts with a new key on the same port.
    const second = await node(2);
    await srv.kill();
    srv = await startServer(second, srv.port);
    await until(() => dialer.peer === second.id && dialer.connected, 10_000, "the relay under its new key");
    expect(dialSeeds(client)).toEqual([second.id]);
    dialer.close();
    expect(dialSeeds(client)).toEqual([]);
  });

  it("close() stops reconnecting and closes the link", async () => {
    const [srvNode, client] = await Promise.all([node(0), node(1)]);
    const srv = await startServer(srvNode);
    cleanup.push(() => srv.kill());
    const log = record(client);
    const dialer = dial(client, srv.url, { WebSocket: ClientWebSocket, backoffMinMs: 10, backoffMaxMs: 20 });
    await until(() => dialer.connected);
    dialer.close();
    await until(() => !dialer.connected);
    await until(() => srvNode.linkCount === 0);
    await new Promise((r) => setTimeout(r, 200));
    expect(srv.handles.length).toBe(1);
    expect(log.filter((l) => l.startsWith("link-up"))).toHaveLength(1);
  });

  it("keeps retrying a server that refuses the handshake, with growing delays, until closed", async () => {
    const srvNode = await createNode({ network: "other", keyPair: keyPair(0) });
    cleanup.push(() => srvNode.close({ leave: false }));
    const client = await node(1);
    const srv = await startServer(srvNode);
    cleanup.push(() => srv.kill());
    const dialer = dial(client, srv.url, { WebSocket: ClientWebSocket, backoffMinMs: 10, backoffMaxMs: 40, random: () => 0.5 });
    await until(() => srv.failures.length >= 3);
    expect(dialer.connected).toBe(false);
    expect(srv.failures[0]).toContain("network mismatch");
    dialer.close();
    const n = srv.failures.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(srv.failures.length).toBeLessThanOrEqual(n + 1);
  });

  it("fails over to the next URL when its relay dies, and skips a dead first URL", async () => {
    const [a, b, client] = await Promise.all([node(0), node(2), node(1)]);
    const srvA = await startServer(a);
    const srvB = await startServer(b);
    cleanup.push(() => srvA.kill(), () => srvB.kill());
    const log = record(client);
    const dialer = dial(client, srvA.url, { urls: [srvB.url], WebSocket: ClientWebSocket, backoffMinMs: 20, backoffMaxMs: 5000 });
    cleanup.push(() => dialer.close());
    await until(() => dialer.connected, 10_000, "linked to A");
    expect([dialer.peer, dialer.url]).toEqual([a.id, srvA.url]);
    await srvA.kill();
    b.set("via", "b");
    await until(() => dialer.connected && client.get("via", b.id) === "b", 3000, "failed over to B");
    expect([dialer.peer, dialer.url]).toEqual([b.id, srvB.url]);
    expect(log).toEqual([`link-up ${a.id.slice(0, 6)} ${srvA.url}`, `link-down ${a.id.slice(0, 6)} ${srvA.url}`, `link-up ${b.id.slice(0, 6)} ${srvB.url}`]);

    const late = await node(3);
    const second = dial(late, srvA.url, { urls: [srvB.url], WebSocket: ClientWebSocket, backoffMinMs: 20, backoffMaxMs: 5000 });
    cleanup.push(() => second.close());
    await until(() => second.connected, 3000, "dead first URL skipped");
    expect(second.peer).toBe(b.id);
  });

  it("checks its arguments", async () => {
    const client = await node(1);
    expect(() => dial(client, "http//nope", { WebSocket: ClientWebSocket })).toThrow(TypeError);
    expect(() => dial(client, "ftp://127.0.0.1/", { WebSocket: ClientWebSocket })).toThrow(TypeError);
    expect(() => dial(client, "ws://127.0.0.1:1/", { WebSocket: ClientWebSocket, backoffMinMs: 10, backoffMaxMs: 5 })).toThrow(RangeError);
    expect(() => dial(client, "ws://127.0.0.1:1/", { WebSocket: ClientWebSocket, urls: ["ftp://x/"] })).toThrow(TypeError);
    expect(() => dial(client, "ws://127.0.0.1:1/", { WebSocket: ClientWebSocket, urls: "ws://x/" as unknown as string[] })).toThrow(TypeError);
  });
});
