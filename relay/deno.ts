/**
 * The relay on Deno: `Deno.serve` and `Deno.upgradeWebSocket`. WebSockets are accepted on `/`;
 * other paths go to the relay's `/healthz` and `/metrics`, or 404.
 *
 * Run it: `deno run -A relay/deno.ts --port 8787 [--peer URL]... [--network NAME] [--key gvsk1.…]`
 * (the flags and environment variables of every relay, `relay/config.ts`; `--help` lists them).
 * On Deno Deploy, make this file the entrypoint; Deploy passes no flags, so set `GRAPEVINE_NETWORK`,
 * `GRAPEVINE_KEY` (a secret: without it the relay gets a new id on every cold start) and
 * `GRAPEVINE_PEERS` in the project's environment; Deploy's `PORT` makes it listen on 0.0.0.0. Each
 * Deploy isolate runs its own relay, holding its own links; list the isolates' public URLs as each
 * other's peers only where they are distinct.
 *
 * Deno's server WebSocket takes a message whole before it reaches us; the link then closes on one
 * over `frameBytesMax` (code 4009), so a peer can make us buffer one large message, not more.
 *
 * @example
 * ```ts
 * import { serveRelay } from "grapevine/relay/deno";
 * const served = await serveRelay({ port: 8787, network: "example" });
 * console.log(served.relay.id, served.url);
 * ```
 *
 * @module
 */

import { websocketLink, type WebSocketLike } from "../src/transport/websocket.ts";
import { createRelay, type Relay, type RelayOptions } from "./core.ts";
import { refusalResponse } from "./limits.ts";
import { relayMain } from "./main.ts";

/** Options of {@link serveRelay}: the relay's options plus where to listen. */
export interface ServeRelayOptions extends RelayOptions {
  /** TCP port; 0 picks a free one. Default 8787. */
  port?: number;
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
}

/** The request handler of a relay: WebSocket upgrades on `/`, then the relay's endpoints, else 404. */
export function relayHandler(relay: Relay): (request: Request, info: Deno.ServeHandlerInfo) => Promise<Response> {
  const frameBytesMax = relay.limits.frameBytesMax;
  return async (request, info) => {
    if (request.headers.get("upgrade")?.toLowerCase() === "websocket" && new URL(request.url).pathname === "/") {
      const addr = info.remoteAddr as Deno.NetAddr; // read before the upgrade, which ends the request
      const ip = relay.clientAddress(request.headers, addr.hostname ?? "");
      const early = relay.screen(ip);
      if (early) return refusalResponse(early);
      const { socket, response } = Deno.upgradeWebSocket(request);
      // Deno types send() as taking Uint8Array<ArrayBuffer> only; the link sends plain Uint8Arrays.
      const link = websocketLink(socket as unknown as WebSocketLike, { frameBytesMax });
      // Only once open: Deno ignores close() on a socket still connecting, so a refusal before
      // then would leave the peer waiting for its handshake timeout.
      socket.addEventListener("open", () => void relay.accept(link, { ip }), { once: true });
      return response;
    }
    return (await relay.handle(request)) ?? new Response("not found\n", { status: 404 });
  };
}

/** Starts a relay with `Deno.serve`. */
export async function serveRelay(options: ServeRelayOptions = {}): Promise<{ url: string; port: number; relay: Relay; close(): Promise<void> }> {
  const { port = 8787, host = "127.0.0.1", ...relayOptions } = options;
  const relay = await createRelay(relayOptions);
  const server = Deno.serve({ port, hostname: host, onListen: () => {} }, relayHandler(relay));
  const bound = (server.addr as Deno.NetAddr).port;
  return {
    url: `ws://${host.includes(":") ? `[${host}]` : host}:${bound}/`,
    port: bound,
    relay,
    async close() {
      await relay.close();
      await server.shutdown();
    },
  };
}

/**
 * The relay command on Deno: parses `argv` (the flags and `GRAPEVINE_*` variables of every
 * relay), serves until SIGINT or SIGTERM, and resolves with the exit code (0 after a clean stop,
 * 1 if it cannot start, 2 for a bad setting). This module runs it when it is the main module; an
 * entry point of your own can call it.
 *
 * @example
 * ```ts
 * import { main } from "grapevine/relay/deno";
 * const code = await main(["--port", "8787", "--network", "lobby"]);
 * ```
 */
export function main(argv: readonly string[] = Deno.args): Promise<number> {
  return relayMain({
    command: "deno run relay/deno.ts",
    argv,
    env: (name) => Deno.env.get(name),
    readTextFile: (path) => Deno.readTextFile(path),
    out: (line) => console.log(line),
    err: (line) => console.error(line),
    onStop(stop) {
      for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, stop);
    },
    serve: serveRelay,
  });
}

if (import.meta.main) Deno.exit(await main());
