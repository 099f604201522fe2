/**
 * The relay on Cloudflare Workers: a Worker routes each request to one Durable Object per network
 * name, and that object runs the relay, taking WebSockets through the hibernation API
 * (`state.acceptWebSocket`, `webSocketMessage`, `webSocketClose`).
 *
 * URLs: `wss://HOST/` and `https://HOST/healthz|metrics` reach the default network
 * (`GRAPEVINE_NETWORK`, else `grapevine`); `wss://HOST/NAME/` and `https://HOST/NAME/healthz|metrics`
 * reach network `NAME` (URL-encoded, at most 255 UTF-8 bytes) — only if the operator allowed it:
 * listed in `GRAPEVINE_NETWORKS`, or matching `GRAPEVINE_NETWORK_PATTERN` while fewer than
 * `GRAPEVINE_NETWORKS_MAX` names have been seen (counted once, ever, by the `NetworkRegistry`
 * object). Any other name is 404, so a stranger cannot make the account create objects at will.
 *
 * Hibernation: the node's rounds are driven by the object's alarm, not by timers (`onWake` and
 * `node.tick()`), so between events nothing is pending and an idle object hibernates; a message or
 * the alarm wakes it. Each socket carries, as its attachment, the peer it authenticated (and the
 * expiry of the credential that admitted it), so an object woken from hibernation takes its
 * sockets back (`relay.adopt`, which checks admission again) without a new handshake: peers do
 * not notice. What is lost with the memory is the gossip state, which the woken object
 * learns again from those peers within a few rounds. A socket whose handshake had not finished is
 * closed (1012, "relay restarted") and its peer dials again. The alarm is set only while clients
 * are connected; when the last one leaves the relay stops (its peer-relay links too) and the object
 * is left to be evicted. Links this object dials itself (`GRAPEVINE_PEERS`) are outgoing sockets,
 * which keep an object in memory while they are up: hibernation pays off for relays without peers.
 *
 * What persists: the relay's key pair, in the object's storage (or `GRAPEVINE_KEY`), so its id is
 * stable across evictions and deploys.
 *
 * Configuration: the environment variables of every relay (`relay/config.ts`: `GRAPEVINE_PEERS`,
 * `GRAPEVINE_ALLOW`, `GRAPEVINE_AUTHORITY`, the limits, `GRAPEVINE_LOG_LEVEL`, …); the client
 * address is `CF-Connecting-IP`, which Cloudflare's edge sets. JSON log lines go to the console.
 *
 * Closing: workerd (locally, through miniflare) does not end the TCP connection after a close the
 * object starts on a hibernatable socket; peers act on the CLOSE frame the relay sends first.
 *
 * Deploy with wrangler (see `relay/wrangler.toml` and `docs/deploy.md`).
 *
 * @module
 */

import { exportSecretKey, importSecretKey } from "../src/crypto/identity.ts";
import { generateKeyPair } from "../src/crypto/ed25519.ts";
import { localError } from "../src/errors.ts";
import type { Link } from "../src/transport/link.ts";
import { clipUtf8, CLOSE_REASON_BYTES_MAX } from "../src/wire/link-frames.ts";
import { relayOptionsOf, RelayUsageError, resolveRelayConfig } from "./config.ts";
import { createRelay, type Relay, type RelayOptions } from "./core.ts";
import { jsonLog } from "./log.ts";
// `WebSocket` here is the Workers runtime's (with the hibernation API's attachments), not the DOM's.
import type { DurableObjectNamespace, DurableObjectState, DurableObjectStorage, ExportedHandler, WebSocket, WorkersGlobals, WorkersResponseInit } from "./platform-workers.ts";

/** Bindings and variables the Worker expects (see `relay/wrangler.toml`). */
export interface Env {
  RELAY: DurableObjectNamespace;
  /** The network registry, needed with `GRAPEVINE_NETWORK_PATTERN`. */
  REGISTRY?: DurableObjectNamespace;
  /** Network served at `/`. Default `grapevine`. */
  GRAPEVINE_NETWORK?: string;
  /** Other networks served, at `/NAME/` (space- or comma-separated). */
  GRAPEVINE_NETWORKS?: string;
  /** A pattern (a regular expression, matched whole) of further networks served. */
  GRAPEVINE_NETWORK_PATTERN?: string;
  /** How many names the pattern may ever admit. Default 100. */
  GRAPEVINE_NETWORKS_MAX?: string;
  /** Every other `GRAPEVINE_*` setting of `relay/config.ts`. */
  [name: string]: unknown;
}

const NETWORK_HEADER = "x-grapevine-network";
const NETWORK_BYTES_MAX = 255;
/** Default of `GRAPEVINE_NETWORKS_MAX`. */
const NETWORKS_MAX_DEFAULT = 100;
/** Names the pattern admitted, remembered per isolate so the registry is asked once per name. */
const admittedHere = new Set<string>();
/** At most this many remembered (the registry remains the authority). */
const ADMITTED_CACHE_MAX = 10_000;

/** The Worker: routes each request to the Durable Object of its network, if that network is served. */
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const parts = url.pathname.split("/").filter((p) => p !== "");
    const fallback = env.GRAPEVINE_NETWORK || "grapevine";
    let network = fallback;
    if (parts.length > 0 && parts[0] !== "healthz" && parts[0] !== "metrics") {
      try {
        network = decodeURIComponent(parts.shift()!);
      } catch {
        return text("bad network name", 400);
      }
    }
    if (new TextEncoder().encode(network).length > NETWORK_BYTES_MAX) return text("network name too long", 400);
    if (network !== fallback) {
      const verdict = await networkServed(network, env);
      if (verdict !== null) return verdict;
    }
    url.pathname = `/${parts.join("/")}`;
    const forwarded = new Request(url, request);
    forwarded.headers.set(NETWORK_HEADER, network);
    return env.RELAY.get(env.RELAY.idFromName(network)).fetch(forwarded);
  },
} as ExportedHandler<Env>;

/** Null when `network` is served; otherwise the response that says it is not. */
async function networkServed(network: string, env: Env): Promise<Response | null> {
  const listed = (env.GRAPEVINE_NETWORKS ?? "").split(/[\s,]+/).filter((n) => n !== "");
  if (listed.includes(network)) return null;
  const pattern = env.GRAPEVINE_NETWORK_PATTERN;
  if (!pattern) return text("unknown network", 404);
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${pattern})$`, "u");
  } catch {
    return text("GRAPEVINE_NETWORK_PATTERN is not a regular expression", 500);
  }
  if (!re.test(network)) return text("unknown network", 404);
  if (admittedHere.has(network)) return null;
  if (!env.REGISTRY) return text("GRAPEVINE_NETWORK_PATTERN needs the REGISTRY binding (NetworkRegistry)", 500);
  const max = Number(env.GRAPEVINE_NETWORKS_MAX ?? NETWORKS_MAX_DEFAULT);
  if (!Number.isSafeInteger(max) || max < 0) return text("GRAPEVINE_NETWORKS_MAX must be an integer ≥ 0", 500);
  const registry = env.REGISTRY.get(env.REGISTRY.idFromName("networks"));
  const answer = await registry.fetch(new Request("https://registry/admit", { method: "POST", body: JSON.stringify({ network, max }) }));
  if (answer.status !== 200) return text("too many networks", 404);
  if (admittedHere.size >= ADMITTED_CACHE_MAX) admittedHere.clear();
  admittedHere.add(network);
  return null;
}

function text(body: string, status: number): Response {
  return new Response(`${body}\n`, { status, headers: { "content-type": "text/plain" } });
}

/**
 * Counts the network names the pattern admitted, once each, ever: a name is admitted while fewer
 * than `max` are known, and stays admitted. One object (`idFromName("networks")`) for the account.
 */
export class NetworkRegistry {
  #storage: DurableObjectStorage;

  constructor(state: DurableObjectState) {
    this.#storage = state.storage;
  }

  async fetch(request: Request): Promise<Response> {
    let body: { network?: unknown; max?: unknown };
    try {
      body = (await request.json()) as { network?: unknown; max?: unknown };
    } catch {
      return text("bad request", 400);
    }
    const { network, max } = body;
    if (typeof network !== "string" || network.length > NETWORK_BYTES_MAX || typeof max !== "number") return text("bad request", 400);
    if ((await this.#storage.get(`n:${network}`)) !== undefined) return text("known", 200);
    const count = (await this.#storage.get<number>("count")) ?? 0;
    if (count >= max) return text("full", 409);
    await this.#storage.put({ [`n:${network}`]: 1, count: count + 1 });
    return text("admitted", 200);
  }
}

/** What a hibernatable socket keeps across hibernation. */
interface Attachment {
  ip: string;
  /** The peer its handshake authenticated; null while it runs. */
  peer: string | null;
  /** When the credential that admitted it expires (`Relay.admittedUntil`); null or absent otherwise. */
  until?: number | null;
}

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
  /** When the node wants its next tick (ms since the epoch), or null. */
  #wantAt: number | null = null;
  /** The alarm this instance set, or null; undefined until read from storage. */
  #alarmAt: number | null | undefined = undefined;

  constructor(state: DurableObjectState, env: Env) {
    this.#state = state;
    this.#env = env;
  }

  async fetch(request: Request): Promise<Response> {
    const network = request.headers.get(NETWORK_HEADER) ?? "grapevine";
    let relay: Relay;
    try {
      relay = await this.#ensure(network);
    } catch (e) {
      if (e instanceof RelayUsageError || e instanceof RangeError || e instanceof TypeError) return text(`relay misconfigured: ${e.message}`, 500);
      throw e;
    }
    const url = new URL(request.url);
    if (request.headers.get("upgrade")?.toLowerCase() === "websocket" && url.pathname === "/") {
      const [client, server] = Object.values(new (globalThis as unknown as WorkersGlobals).WebSocketPair()) as [WebSocket, WebSocket];
      this.#state.acceptWebSocket(server);
      const ip = relay.clientAddress(request.headers, "");
      server.serializeAttachment({ ip, peer: null } satisfies Attachment);
      const link = new HibernatableSocketLink(server);
      this.#links.set(server, link);
      void relay.accept(link, { ip }).then((peer) => {
        if (peer !== null) server.serializeAttachment({ ip, peer, until: relay.admittedUntil(peer) } satisfies Attachment);
      });
      await this.#syncAlarm();
      const init: WorkersResponseInit = { status: 101, webSocket: client };
      return new Response(null, init);
    }
    let response = (await relay.handle(request)) ?? text("not found", 404);
    if (url.pathname === "/healthz") {
      // What only the object knows: its sockets and its alarm (none while nothing is connected).
      if (this.#alarmAt === undefined) this.#alarmAt = await this.#state.storage.getAlarm();
      const health = { ...((await response.json()) as object), clients: this.#clients().length, alarm_in_ms: this.#alarmAt === null ? null : Math.max(0, this.#alarmAt - Date.now()) };
      response = new Response(JSON.stringify(health), { status: response.status, headers: response.headers });
    }
    // A request with no client connected (a health check) must not leave a relay running, dialing its peers.
    if (this.#clients().length === 0) await this.#stop();
    return response;
  }

  async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const network = await this.#state.storage.get<string>("network");
    const relay = network === undefined ? null : await this.#ensure(network);
    const link = this.#links.get(ws);
    if (!relay || !link) {
      // Its handshake had not finished when the object hibernated: that session is gone.
      ws.close(1012, "relay restarted");
      return;
    }
    link.received(message, relay.limits.frameBytesMax);
  }

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.#links.get(ws)?.closed(code, reason);
    this.#links.delete(ws);
    await this.#idleIfAlone(ws);
  }

  async webSocketError(ws: WebSocket): Promise<void> {
    await this.webSocketClose(ws, 1006, "websocket error");
  }

  async alarm(): Promise<void> {
    this.#alarmAt = null;
    const network = await this.#state.storage.get<string>("network");
    if (network === undefined || this.#clients().length === 0) return this.#stop();
    const relay = await this.#ensure(network);
    relay.node.tick(); // announces the next wake-up through onWake, which sets the next alarm
  }

  /** Sockets of connected clients (and of relays that dialed this one). */
  #clients(): WebSocket[] {
    return this.#state.getWebSockets();
  }

  /**
   * The relay, created once per instance with the stored key (made and stored on first use); the
   * sockets that survived a hibernation are taken back at once.
   */
  #ensure(network: string): Promise<Relay> {
    this.#relay ??= (async () => {
      const env = (name: string) => (typeof this.#env[name] === "string" ? (this.#env[name] as string) : undefined);
      const config = resolveRelayConfig({}, env);
      const storage = this.#state.storage;
      let secret = env("GRAPEVINE_KEY") ?? (await storage.get<string>("secretKey"));
      if (secret === undefined) {
        secret = exportSecretKey(generateKeyPair((n) => crypto.getRandomValues(new Uint8Array(n))));
        await storage.put({ secretKey: secret });
      }
      if ((await storage.get<string>("network")) !== network) await storage.put({ network });
      this.#alarmAt = await storage.getAlarm();
      const log = jsonLog((line) => console.log(line), config.logLevel);
      const options: RelayOptions = {
        ...relayOptionsOf(config),
        network,
        keyPair: importSecretKey(secret),
        trustProxy: "cf-connecting-ip",
        log,
        onWake: (delayMs) => {
          this.#wantAt = delayMs === Infinity ? null : Date.now() + delayMs;
          void this.#syncAlarm();
        },
      };
      const relay = await createRelay(options);
      for (const ws of this.#clients()) {
        if (this.#links.has(ws)) continue;
        const a = ws.deserializeAttachment() as Attachment | null;
        if (!a || a.peer === null) continue; // closed on its next message (see webSocketMessage)
        const link = new HibernatableSocketLink(ws);
        this.#links.set(ws, link);
        relay.adopt(link, { ip: a.ip, peer: a.peer, admittedUntilMs: a.until ?? null }); // admission checked again
      }
      return relay;
    })();
    return this.#relay;
  }

  /** Keeps one alarm at the node's next wake-up while clients are connected; none otherwise. */
  async #syncAlarm(): Promise<void> {
    const storage = this.#state.storage;
    if (this.#alarmAt === undefined) this.#alarmAt = await storage.getAlarm();
    const want = this.#clients().length > 0 ? this.#wantAt : null;
    if (want === null) {
      if (this.#alarmAt !== null) {
        this.#alarmAt = null;
        await storage.deleteAlarm();
      }
      return;
    }
    // An earlier alarm still to come will tick, and the tick announces the next wake-up.
    if (this.#alarmAt !== null && this.#alarmAt <= want && this.#alarmAt > Date.now()) return;
    this.#alarmAt = want;
    await storage.setAlarm(want);
  }

  /** The last client left: stop the relay (its peer links too) and the alarm, so the object idles. */
  async #idleIfAlone(closing: WebSocket): Promise<void> {
    if (this.#clients().some((ws) => ws !== closing)) return;
    await this.#stop();
  }

  async #stop(): Promise<void> {
    const relay = this.#relay;
    this.#relay = null;
    this.#wantAt = null;
    if (relay) await (await relay).close();
    if (this.#alarmAt === undefined) this.#alarmAt = await this.#state.storage.getAlarm();
    if (this.#alarmAt !== null) {
      this.#alarmAt = null;
      await this.#state.storage.deleteAlarm();
    }
  }
}
