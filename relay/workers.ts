/**
 * The relay on Cloudflare Workers: a Worker routes each request to one Durable Object per network
 * name, and that object runs the relay, taking WebSockets through the hibernation API
 * (`state.acceptWebSocket`, `webSocketMessage`, `webSocketClose`).
 *
 * URLs: `wss://HOST/` and `https://HOST/healthz|metrics` reach the default network
 * (`GRAPEVINE_NETWORK`, else `grapevine`); `wss://HOST/NAME/` and `https://HOST/NAME/healthz|metrics`
 * reach network `NAME` (URL-encoded, at most 255 UTF-8 bytes).
 *
 * What persists, and what does not:
 * - the relay's key pair is kept in the object's storage, so its id is stable across evictions and
 *   deploys;
 * - the gossip state lives in memory only. After an eviction the object starts empty and learns the
 *   state again from the peers that reconnect and from its peer relays, within a few rounds.
 * - An authenticated link does not survive an eviction either: the handshake's session is gone, so
 *   the first message on a socket the new instance does not know closes it (1012, "relay
 *   restarted"), and the peer's dialer reconnects.
 *
 * Timers: the node's gossip rounds run on `setTimeout`. A Durable Object with timers pending is not
 * hibernated, so while the relay runs it stays in memory (billed as active) and the hibernation API
 * buys what it can short of that: sockets are owned by the runtime, and messages arrive as events.
 * An alarm every {@link ALARM_INTERVAL_MS} wakes the object while it has sockets or peer relays, so
 * an evicted object comes back, re-dials its peers and resumes gossip without waiting for a client.
 *
 * Closing: workerd (locally, through miniflare) does not end the TCP connection after a close the
 * object starts on a hibernatable socket; peers act on the CLOSE frame the relay sends first.
 *
 * Deploy with wrangler (see `relay/wrangler.toml` and `relay/README.md`).
 *
 * @module
 */

import { exportSecretKey, importSecretKey } from "../src/crypto/identity.ts";
import { generateKeyPair } from "../src/crypto/ed25519.ts";
import { localError } from "../src/errors.ts";
import type { Link } from "../src/transport/link.ts";
import { clipUtf8, CLOSE_REASON_BYTES_MAX } from "../src/wire/link-frames.ts";
import { createRelay, type Relay } from "./core.ts";

/** Bindings and variables the Worker expects (see `relay/wrangler.toml`). */
export interface Env {
  RELAY: DurableObjectNamespace;
  /** Network served at `/`. Default `grapevine`. */
  GRAPEVINE_NETWORK?: string;
  /** Other relays' URLs (space- or comma-separated) every network's relay dials. */
  GRAPEVINE_PEERS?: string;
}

/** How often the alarm wakes a relay that has sockets or peers, in ms. */
// Not exported: a Worker module may export only handlers and Durable Object classes.
const ALARM_INTERVAL_MS = 30_000;
const NETWORK_HEADER = "x-grapevine-network";

/** Routes each request to the Durable Object of its network. */
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const parts = url.pathname.split("/").filter((p) => p !== "");
    let network = env.GRAPEVINE_NETWORK || "grapevine";
    if (parts.length > 0 && parts[0] !== "healthz" && parts[0] !== "metrics") {
      try {
        network = decodeURIComponent(parts.shift()!);
      } catch {
        return new Response("bad network name\n", { status: 400 });
      }
    }
    if (new TextEncoder().encode(network).length > 255) return new Response("network name too long\n", { status: 400 });
    url.pathname = `/${parts.join("/")}`;
    const forwarded = new Request(url, request);
    forwarded.headers.set(NETWORK_HEADER, network);
    return env.RELAY.get(env.RELAY.idFromName(network)).fetch(forwarded);
  },
};

/** A {@link Link} over a hibernatable WebSocket; the object's handlers feed it. */
class HibernatableSocketLink implements Link {
  onmessage: ((bytes: Uint8Array) => void) | null = null;
  onclose: ((reason: string) => void) | null = null;
  #ws: WebSocket;
  #closing: string | null = null;
  #closed = false;

  constructor(ws: WebSocket) {
    this.#ws = ws;
  }

  get bufferedAmount(): number {
    return 0; // workerd does not expose it for server sockets; it applies its own flow control
  }

  send(bytes: Uint8Array): void {
    if (this.#closed || this.#closing !== null) throw localError("LINK_CLOSED", "websocket link is closed");
    this.#ws.send(bytes);
  }

  close(reason = "closed"): void {
    if (this.#closed || this.#closing !== null) return;
    this.#closing = reason;
    try {
      this.#ws.close(1000, clipUtf8(reason, CLOSE_REASON_BYTES_MAX));
    } catch {
      // already closing
    }
    // workerd may not deliver webSocketClose for a close we started; report it ourselves.
    this.closed(1000, reason);
  }

  received(message: string | ArrayBuffer, frameBytesMax: number): void {
    if (this.#closed || this.#closing !== null) return;
    if (typeof message === "string") return this.close("text messages are not part of the protocol");
    if (message.byteLength > frameBytesMax) return this.close(`frame of ${message.byteLength} bytes exceeds frameBytesMax ${frameBytesMax}`);
    this.onmessage?.(new Uint8Array(message));
  }

  closed(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onclose?.(this.#closing ?? (reason ? `${reason} (code ${code})` : `websocket closed (code ${code})`));
  }
}

/** The Durable Object that runs one network's relay. */
export class RelayObject {
  #state: DurableObjectState;
  #env: Env;
  #relay: Promise<Relay> | null = null;
  #links = new Map<WebSocket, HibernatableSocketLink>();

  constructor(state: DurableObjectState, env: Env) {
    this.#state = state;
    this.#env = env;
  }

  async fetch(request: Request): Promise<Response> {
    const network = request.headers.get(NETWORK_HEADER) ?? "grapevine";
    const relay = await this.#ensure(network);
    const url = new URL(request.url);
    if (request.headers.get("upgrade")?.toLowerCase() === "websocket" && url.pathname === "/") {
      const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
      this.#state.acceptWebSocket(server);
      const link = new HibernatableSocketLink(server);
      this.#links.set(server, link);
      void relay.accept(link, { ip: request.headers.get("cf-connecting-ip") ?? "" });
      await this.#armAlarm();
      return new Response(null, { status: 101, webSocket: client });
    }
    return (await relay.handle(request)) ?? new Response("not found\n", { status: 404 });
  }

  async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const link = this.#links.get(ws);
    if (!link) {
      // A socket from before an eviction: its handshake is gone with the old instance.
      ws.close(1012, "relay restarted");
      return;
    }
    const relay = await this.#relay!;
    link.received(message, relay.limits.frameBytesMax);
  }

  webSocketClose(ws: WebSocket, code: number, reason: string): void {
    this.#links.get(ws)?.closed(code, reason);
    this.#links.delete(ws);
  }

  webSocketError(ws: WebSocket): void {
    this.webSocketClose(ws, 1006, "websocket error");
  }

  async alarm(): Promise<void> {
    const network = await this.#state.storage.get<string>("network");
    if (network === undefined) return;
    await this.#ensure(network);
    await this.#armAlarm();
  }

  /** The relay, created once per instance with the stored key (made and stored on first use). */
  #ensure(network: string): Promise<Relay> {
    this.#relay ??= (async () => {
      const storage = this.#state.storage;
      let secret = await storage.get<string>("secretKey");
      if (secret === undefined) {
        secret = exportSecretKey(generateKeyPair((n) => crypto.getRandomValues(new Uint8Array(n))));
        await storage.put({ secretKey: secret, network });
      }
      const peers = (this.#env.GRAPEVINE_PEERS ?? "").split(/[\s,]+/).filter((p) => p !== "");
      return createRelay({ network, keyPair: importSecretKey(secret), peers });
    })();
    return this.#relay;
  }

  async #armAlarm(): Promise<void> {
    const hasWork = this.#state.getWebSockets().length > 0 || (this.#env.GRAPEVINE_PEERS ?? "").trim() !== "";
    if (hasWork && (await this.#state.storage.getAlarm()) === null) await this.#state.storage.setAlarm(Date.now() + ALARM_INTERVAL_MS);
  }
}
