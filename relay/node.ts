/**
 * The relay on Node: `node:http` for `/healthz` and `/metrics`, `ws` for WebSockets. WebSocket
 * upgrades are accepted on `/` only (any other path gets 404); `ws` refuses messages over
 * `frameBytesMax` itself (close code 1009) before they are buffered whole.
 *
 * `ws` is an optional peer dependency, loaded when {@link serveRelay} runs, so importing this module
 * (or the `grapevine` command) works without it.
 *
 * The client address used for the per-IP limits is the TCP peer's; behind a reverse proxy every
 * client shares the proxy's address, so raise `connectionsPerIpMax` there or put the limits in the
 * proxy.
 *
 * @example
 * ```ts
 * import { serveRelay } from "grapevine/relay/node";
 * const served = await serveRelay({ port: 8787, network: "example" });
 * console.log(served.relay.id, served.url); // … ws://127.0.0.1:8787/
 * await served.close();
 * ```
 *
 * @module
 */

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { websocketLink } from "../src/transport/websocket.ts";
import { createRelay, type Relay, type RelayOptions } from "./core.ts";

/** Options of {@link serveRelay}: the relay's options plus where to listen. */
export interface ServeRelayOptions extends RelayOptions {
  /** TCP port; 0 picks a free one. Default 8787. */
  port?: number;
  /** Interface to listen on. Default `127.0.0.1` (loopback only). */
  host?: string;
}

/** A relay listening on a port. */
export interface ServedRelay {
  /** WebSocket URL peers dial, e.g. `ws://127.0.0.1:8787/`. */
  url: string;
  port: number;
  relay: Relay;
  /** Closes the relay, every socket and the server. */
  close(): Promise<void>;
}

/** Starts a relay on Node with `node:http` and `ws`. */
export async function serveRelay(options: ServeRelayOptions = {}): Promise<ServedRelay> {
  const { port = 8787, host = "127.0.0.1", ...relayOptions } = options;
  const [{ WebSocketServer }, { nodeWebSocketWith, wsReceiveLimits }] = await loadWs();
  const relay = await createRelay({ WebSocket: nodeWebSocketWith(relayOptions.frameBytesMax ?? 1_048_576), ...relayOptions });
  const frameBytesMax = relay.limits.frameBytesMax;
  const wss = new WebSocketServer({ noServer: true, ...wsReceiveLimits(frameBytesMax) });
  const server = createServer((req, res) => void respond(relay, req, res));
  server.on("upgrade", (req, socket, head) => {
    if (new URL(req.url ?? "/", "http://relay").pathname !== "/") {
      socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      void relay.accept(websocketLink(ws, { frameBytesMax }), { ip: req.socket.remoteAddress ?? "" });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `ws://${urlHost}:${bound}/`,
    port: bound,
    relay,
    async close() {
      await relay.close();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Hands a Node request to the relay as a WHATWG `Request`; writes its answer, or 404. */
async function respond(relay: Relay, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const method = req.method ?? "GET";
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    }
    const hasBody = method !== "GET" && method !== "HEAD";
    const request = new Request(new URL(req.url ?? "/", `http://${req.headers.host ?? "relay"}`), {
      method,
      headers,
      body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined,
      ...(hasBody ? { duplex: "half" } : {}),
    } as RequestInit);
    const response = (await relay.handle(request)) ?? new Response("not found\n", { status: 404, headers: { "content-type": "text/plain" } });
    const out: Record<string, string> = {};
    response.headers.forEach((value, name) => (out[name] = value));
    res.writeHead(response.status, out);
    res.end(method === "HEAD" ? undefined : Buffer.from(await response.arrayBuffer()));
  } catch {
    if (!res.headersSent) res.writeHead(500);
    res.end();
  }
}

/** Loads `ws` (an optional peer dependency) and the `ws`-based client, with a useful error. */
async function loadWs(): Promise<[typeof import("ws"), typeof import("../src/transport/ws-node.ts")]> {
  try {
    return await Promise.all([import("ws"), import("../src/transport/ws-node.ts")]);
  } catch (e) {
    throw new TypeError("grapevine/relay/node needs the ws package (an optional peer dependency): npm install ws", { cause: e });
  }
}
