// A loopback WebSocket server for tests: `ws` on 127.0.0.1, every connection handed to a node
// through websocketLink. Also picks the client WebSocket: the runtime's global one when it has
// one (Node ≥ 22, Deno, Bun), else `ws` (Node 20), so the same tests cover both.
import { WebSocketServer, type WebSocket as WsSocket } from "ws";
import type { GrapevineNode, LinkHandle } from "../../mod.ts";
import { websocketLink, type WebSocketConstructor } from "../../src/transport/websocket.ts";
import { nodeWebSocket } from "../../src/transport/ws-node.ts";

export const ClientWebSocket: WebSocketConstructor =
  (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ?? nodeWebSocket;
export const usingGlobalWebSocket = ClientWebSocket !== nodeWebSocket;

export interface TestServer {
  port: number;
  url: string;
  wss: WebSocketServer;
  /** Handles of links whose handshake succeeded, in order. */
  handles: LinkHandle[];
  /** Reasons of handshakes that failed. */
  failures: string[];
  /** Server-side sockets, in order of arrival. */
  sockets: WsSocket[];
  /** Drops every connection at once (no close handshake) and stops listening. */
  kill(): Promise<void>;
}

export async function startServer(node: GrapevineNode, port = 0, frameBytesMax = node.options.frameBytesMax): Promise<TestServer> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port });
  await new Promise<void>((resolve, reject) => {
    wss.once("listening", resolve);
    wss.once("error", reject);
  });
  const actual = (wss.address() as { port: number }).port;
  const server: TestServer = {
    port: actual,
    url: `ws://127.0.0.1:${actual}/`,
    wss,
    handles: [],
    failures: [],
    sockets: [],
    kill: async () => {
      for (const s of wss.clients) s.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
  wss.on("connection", (socket) => {
    server.sockets.push(socket);
    node.connect(websocketLink(socket, { frameBytesMax })).then(
      (h) => server.handles.push(h),
      (e: Error) => server.failures.push(e.message),
    );
  });
  return server;
}

export { until } from "../helpers/until.ts";
