/**
 * The relay on Node: `node:http` for `/healthz` and `/metrics`, `ws` for WebSockets. WebSocket
 * upgrades are accepted on `/` only (any other path gets 404). Every socket gets `ws`'s receive
 * limits (`wsReceiveLimits`): a message over `frameBytesMax` is refused (1009) before it is
 * buffered whole, and one split into too many fragments is cut off (1008). A message sent to many
 * sockets (a broadcast) is framed once for all of them, and the frames of one turn of the event
 * loop leave each socket in one write (`preparedFrameWriter`).
 *
 * Attempts from an address the relay refused in the last second, and would refuse again, are
 * answered in HTTP (429 or 503) before any WebSocket work (`Relay.screen`).
 *
 * The address the per-address limits count is the TCP peer's, or, behind a reverse proxy, the one
 * its `trustProxy` header carries (`relay/proxy.ts`).
 *
 * The `grapevine relay` command runs this adapter (`cli/relay.ts`).
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

import * as nodeCrypto from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { WebSocketServer } from "ws";
import { createSignatureSuite } from "../src/crypto/ed25519.ts";
import { keyPairFromSeed } from "../src/crypto/keys.ts";
import { inTurn, ownTurn } from "../src/runtime/slice.ts";
import { nextTurn } from "../src/runtime/turn.ts";
import type { SignatureSuite } from "../src/crypto/types.ts";
import { websocketLink } from "../src/transport/websocket.ts";
import { nodeWebSocketWith, preparedFrameWriter, wsReceiveLimits } from "../src/transport/ws-node.ts";
import { createRelay, type Relay, type RelayOptions } from "./core.ts";
import { REFUSAL_HEADERS, refusalStatus, type Refusal } from "./limits.ts";
import type { HeaderLookup } from "./proxy.ts";

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
  const suite = relayOptions.suite ?? (await nodeSignatureSuite());
  if (suite) await warmUp(suite);
  const relay = await createRelay({ WebSocket: nodeWebSocketWith(relayOptions.frameBytesMax ?? 1_048_576), ...relayOptions, ...(suite ? { suite } : {}) });
  const frameBytesMax = relay.limits.frameBytesMax;
  const wss = new WebSocketServer({ noServer: true, ...wsReceiveLimits(frameBytesMax) });
  const server = createServer((req, res) => void respond(relay, req, res));
  server.on("upgrade", (req, socket, head) => {
    if (new URL(req.url ?? "/", "http://relay").pathname !== "/") {
      socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    const ip = relay.clientAddress(nodeHeaders(req), req.socket.remoteAddress ?? "");
    const early = relay.screen(ip);
    if (early) {
      socket.end(httpRefusal(early));
      return;
    }
    upgradeInTurn(socket, () =>
      wss.handleUpgrade(req, socket, head, (ws) => {
        void relay.accept(websocketLink(ws, { frameBytesMax, write: preparedFrameWriter(ws) }), { ip });
      })
    );
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

/** A refusal before the upgrade, as the raw HTTP answer written to the socket (see `refusalResponse`). */
function httpRefusal(r: Refusal): string {
  const status = refusalStatus(r);
  const body = `${r.reason}\n`;
  const headers = Object.entries(REFUSAL_HEADERS).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  return `HTTP/1.1 ${status} ${status === 429 ? "Too Many Requests" : "Service Unavailable"}\r\n${headers}connection: close\r\ncontent-length: ${new TextEncoder().encode(body).length}\r\n\r\n${body}`;
}

/** What {@link upgradeInTurn} needs of the socket being upgraded (a `node:net` socket has it). */
export interface UpgradingSocket {
  on(event: "error", listener: () => void): unknown;
  off(event: "error", listener: () => void): unknown;
  destroy(): void;
  readonly destroyed: boolean;
}

/**
 * Runs a WebSocket upgrade (`upgrade`: its hash, the 101 answer, the socket's setup and the link's
 * start) as the thread's work like a frame: at once while this turn's slice lasts, else at a later
 * turn (`ownTurn`), so a hundred clients connecting at once hold the event loop for about a slice,
 * not for all of them (with 99 clients connecting at once, a relay's longest stall had a median of
 * 26 ms over ten runs, and 17 ms in ten runs after). Until then an error on the socket (a client
 * gone meanwhile) only destroys it, and a socket destroyed meanwhile is not upgraded.
 */
export function upgradeInTurn(socket: UpgradingSocket, upgrade: () => void): void {
  const dropped = () => socket.destroy();
  socket.on("error", dropped);
  ownTurn(() => {
    socket.off("error", dropped);
    if (!socket.destroyed) upgrade();
  });
}

/** A Node request's headers as a {@link HeaderLookup} (repeated headers joined with ", "). */
function nodeHeaders(req: IncomingMessage): HeaderLookup {
  return {
    get(name) {
      const v = req.headers[name];
      return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
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

/**
 * Runs the signature paths once before the relay takes clients: the first key check and
 * verification in a process pay for compiling that code and building the curve's tables (tens of
 * milliseconds in one go), which would otherwise land on the event loop while the first clients
 * connect.
 */
async function warmUp(suite: SignatureSuite): Promise<void> {
  const keyPair = keyPairFromSeed(new Uint8Array(32).fill(7));
  const message = new TextEncoder().encode("relay warm-up");
  await suite.verify(keyPair.publicKey, message, await suite.sign(keyPair, message));
}

/**
 * The relay's signature suite on Node: the package's own (its encoding checks and pinned rule set
 * run first, its start-up probe checks the verdicts) over `node:crypto`'s one-shot Ed25519 sign and
 * verify, which run on the calling thread, at most a few milliseconds of them in one turn of the
 * event loop. A relay checks every broadcast message before it forwards it, and WebCrypto's round
 * trip through the thread pool costs more than the check itself (measured on Node 20: about 180 µs
 * of CPU a check through WebCrypto, 110 µs one-shot). Both use the same OpenSSL. A node gets the
 * same with `createNode({ nodeCrypto })`. Undefined (the default suite is used) if the probe
 * fails. `serveRelay` uses it unless given a `suite`.
 */
export async function nodeSignatureSuite(): Promise<SignatureSuite | undefined> {
  try {
    // A new key's first check takes its turn in the thread's time slice (as a node's own suite's
    // does), so a burst of clients with new keys cannot hold the loop one check after another.
    return await createSignatureSuite({ backend: "node:crypto", nodeCrypto, yieldTo: nextTurn, inTurn });
  } catch {
    return undefined;
  }
}
