/**
 * Behind a reverse proxy: the client's address comes from the one header the operator trusts, and
 * only when they said so. Unit cases for each header, then the Node relay over real sockets with
 * `connectionsPerIpMax: 1`: clients with different forwarded addresses are admitted side by side,
 * and without `trustProxy` the same header changes nothing.
 */
import WebSocket from "ws";
import { afterEach, describe, expect, it } from "vitest";
import { serveRelay, type ServedRelay } from "../../relay/node.ts";
import { clientAddress } from "../../relay/proxy.ts";
import { decodeLinkFrame, LINK_FRAME } from "../../src/wire/link-frames.ts";

const h = (entries: Record<string, string>) => new Headers(entries);

describe("clientAddress", () => {
  it("ignores every header unless one is trusted", () => {
    const headers = h({ "x-forwarded-for": "198.51.100.7", "cf-connecting-ip": "198.51.100.8", forwarded: "for=198.51.100.9" });
    expect(clientAddress(headers, "10.0.0.2", null)).toBe("10.0.0.2");
  });

  it("reads only the trusted header: the last X-Forwarded-For entry, the last Forwarded for=, the edge headers whole", () => {
    const headers = h({
      "x-forwarded-for": "203.0.113.66, 198.51.100.7",
      forwarded: 'for=203.0.113.66;proto=https, for="[2001:DB8::17]:4711";by=proxy',
      "cf-connecting-ip": "198.51.100.8",
      "fly-client-ip": "198.51.100.10",
    });
    expect(clientAddress(headers, "10.0.0.2", "x-forwarded-for")).toBe("198.51.100.7");
    expect(clientAddress(headers, "10.0.0.2", "forwarded")).toBe("2001:db8::17");
    expect(clientAddress(headers, "10.0.0.2", "cf-connecting-ip")).toBe("198.51.100.8");
    expect(clientAddress(headers, "10.0.0.2", "fly-client-ip")).toBe("198.51.100.10");
    expect(clientAddress(h({ forwarded: "for=198.51.100.7:8080" }), "10.0.0.2", "forwarded")).toBe("198.51.100.7");
  });

  it("falls back to the socket's address for a missing, malformed or oversized header", () => {
    for (const value of ["", "unknown", "not an address", "for=_hidden", "1.2.3.4.5", `${"1".repeat(70)}`, `${"9.9.9.9,".repeat(1000)}8.8.8.8`]) {
      expect(clientAddress(h({ "x-forwarded-for": value }), "10.0.0.2", "x-forwarded-for"), value).toBe("10.0.0.2");
      expect(clientAddress(h({ forwarded: value }), "10.0.0.2", "forwarded"), value).toBe("10.0.0.2");
    }
    expect(clientAddress(h({}), "10.0.0.2", "cf-connecting-ip")).toBe("10.0.0.2");
  });
});

/** Opens a socket with `headers`; resolves "admitted" on the relay's HELLO, or the CLOSE reason. */
function connectWith(url: string, headers: Record<string, string>): Promise<{ outcome: string; ws: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    const timer = setTimeout(() => resolve({ outcome: "left waiting", ws }), 3000);
    ws.on("message", (data: Buffer) => {
      const frame = decodeLinkFrame(new Uint8Array(data), 4096);
      clearTimeout(timer);
      if (frame.type === LINK_FRAME.HELLO) resolve({ outcome: "admitted", ws });
      else if (frame.type === LINK_FRAME.CLOSE) resolve({ outcome: `refused: ${frame.reason}`, ws });
    });
    ws.on("error", () => {});
  });
}

describe("the Node relay behind a proxy", () => {
  let served: ServedRelay | null = null;
  const sockets: WebSocket[] = [];
  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.terminate();
    await served?.close();
    served = null;
  });

  it("with --trust-proxy, counts each forwarded client on its own", async () => {
    served = await serveRelay({ port: 0, network: "proxy", connectionsPerIpMax: 1, trustProxy: "x-forwarded-for" });
    const a = await connectWith(served.url, { "x-forwarded-for": "198.51.100.1" });
    const b = await connectWith(served.url, { "x-forwarded-for": "203.0.113.5, 198.51.100.2" });
    const c = await connectWith(served.url, { "x-forwarded-for": "198.51.100.1" });
    sockets.push(a.ws, b.ws, c.ws);
    expect([a.outcome, b.outcome, c.outcome]).toEqual(["admitted", "admitted", "refused: too many connections from this address"]);
  });

  it("without it, a forwarded header is ignored: every client is the proxy", async () => {
    served = await serveRelay({ port: 0, network: "proxy", connectionsPerIpMax: 1 });
    const a = await connectWith(served.url, { "x-forwarded-for": "198.51.100.1" });
    const b = await connectWith(served.url, { "x-forwarded-for": "198.51.100.2" });
    sockets.push(a.ws, b.ws);
    expect([a.outcome, b.outcome]).toEqual(["admitted", "refused: too many connections from this address"]);
  });
});
