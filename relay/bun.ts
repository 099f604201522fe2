/**
 * The relay on Bun: `Bun.serve` with its `websocket` handlers. Bun's `ServerWebSocket` is not
 * WHATWG-shaped (handlers live on the server, not the socket), so {@link BunSocketLink} adapts it
 * to a {@link Link}; `maxPayloadLength` makes Bun refuse an oversize message (close 1009) before
 * buffering it. WebSockets are accepted on `/`; other paths go to `/healthz`, `/metrics`, or 404.
 *
 * Run it: `bun relay/bun.ts --port 8787 [--peer URL]... [--network NAME] [--key gvsk1.…]` (the flags
 * and environment variables of every relay, `relay/config.ts`; `--help` lists them).
 *
 * @example
 * ```ts
 * import { serveRelay } from "grapevine/relay/bun";
 * const served = await serveRelay({ port: 8787, network: "example" });
 * console.log(served.relay.id, served.url);
 * ```
 *
 * @module
 */

import { localError } from "../src/errors.ts";
import type { Link } from "../src/transport/link.ts";
import { clipUtf8, CLOSE_REASON_BYTES_MAX } from "../src/wire/link-frames.ts";
import { createRelay, type Relay, type RelayOptions } from "./core.ts";
import { refusalResponse } from "./limits.ts";
import { relayMain } from "./main.ts";
import type { BunGlobals, BunImportMeta, Server, ServerWebSocket } from "./platform-bun.ts";

/** Bun's globals, typed by `./platform-bun.ts` so that this module checks without Bun's own types. */
const { Bun, process } = globalThis as unknown as BunGlobals;

interface SocketData {
  ip: string;
  link: BunSocketLink | null;
}

/** A {@link Link} over one of Bun's server WebSockets; the server's handlers feed it. */
export class BunSocketLink implements Link {
  onmessage: ((bytes: Uint8Array) => void) | null = null;
  onclose: ((reason: string) => void) | null = null;
  #ws: ServerWebSocket<SocketData>;
  #closing: string | null = null;
  #closed = false;

  constructor(ws: ServerWebSocket<SocketData>) {
    this.#ws = ws;
  }

  get bufferedAmount(): number {
    return this.#ws.getBufferedAmount();
  }

  send(bytes: Uint8Array): void {
    if (this.#closed || this.#closing !== null) throw localError("LINK_CLOSED", "websocket link is closed");
    this.#ws.send(bytes); // -1: queued under backpressure (bufferedAmount shows it); 0: socket gone
  }

  close(reason = "closed"): void {
    if (this.#closed || this.#closing !== null) return;
    this.#closing = reason;
    this.#ws.close(1000, clipUtf8(reason, CLOSE_REASON_BYTES_MAX));
  }

  /** From the server's `message` handler. */
  received(message: string | Uint8Array): void {
    if (this.#closed || this.#closing !== null) return;
    if (typeof message === "string") {
      this.#closing = "text messages are not part of the protocol";
      this.#ws.close(1003, this.#closing);
      return;
    }
    this.onmessage?.(new Uint8Array(message.buffer, message.byteOffset, message.byteLength));
  }

  /** From the server's `close` handler. */
  closed(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onclose?.(this.#closing ?? (reason ? `${reason} (code ${code})` : `websocket closed (code ${code})`));
  }
}

/** Options of {@link serveRelay}: the relay's options plus where to listen. */
export interface ServeRelayOptions extends RelayOptions {
  /** TCP port; 0 picks a free one. Default 8787. */
  port?: number;
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
}

/** Starts a relay with `Bun.serve`. */
export async function serveRelay(options: ServeRelayOptions = {}): Promise<{ url: string; port: number; relay: Relay; close(): Promise<void> }> {
  const { port = 8787, host = "127.0.0.1", ...relayOptions } = options;
  const relay = await createRelay(relayOptions);
  const server: Server<SocketData> = Bun.serve<SocketData>({
    port,
    hostname: host,
    async fetch(request, srv) {
      if (request.headers.get("upgrade")?.toLowerCase() === "websocket" && new URL(request.url).pathname === "/") {
        const ip = relay.clientAddress(request.headers, srv.requestIP(request)?.address ?? "");
        const early = relay.screen(ip);
        if (early) return refusalResponse(early);
        if (srv.upgrade(request, { data: { ip, link: null } })) return undefined;
        return new Response("websocket upgrade failed\n", { status: 400 });
      }
      return (await relay.handle(request)) ?? new Response("not found\n", { status: 404 });
    },
    websocket: {
      maxPayloadLength: relay.limits.frameBytesMax,
      open(ws) {
        ws.data.link = new BunSocketLink(ws);
        void relay.accept(ws.data.link, { ip: ws.data.ip });
      },
      message(ws, message) {
        ws.data.link?.received(message);
      },
      close(ws, code, reason) {
        ws.data.link?.closed(code, reason);
      },
    },
  });
  return {
    url: `ws://${host.includes(":") ? `[${host}]` : host}:${server.port}/`,
    port: server.port!,
    relay,
    async close() {
      await relay.close();
      await server.stop(true);
    },
  };
}

/**
 * The relay command on Bun: parses `argv` (the flags and `GRAPEVINE_*` variables of every
 * relay), serves until SIGINT or SIGTERM, and resolves with the exit code (0 after a clean stop,
 * 1 if it cannot start, 2 for a bad setting). This module runs it when it is the main module; an
 * entry point of your own can call it.
 *
 * @example
 * ```ts
 * import { main } from "grapevine/relay/bun";
 * const code = await main(["--port", "8787", "--network", "lobby"]);
 * ```
 */
export function main(argv: readonly string[] = Bun.argv.slice(2)): Promise<number> {
  return relayMain({
    command: "bun relay/bun.ts",
    argv,
    env: (name) => Bun.env[name],
    readTextFile: (path) => Bun.file(path).text(),
    out: (line) => console.log(line),
    err: (line) => console.error(line),
    onStop(stop) {
      for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, stop);
    },
    serve: serveRelay,
  });
}

if ((import.meta as ImportMeta & BunImportMeta).main) process.exit(await main());
