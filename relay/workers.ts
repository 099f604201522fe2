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
 * is left to be evicted.
 *
 * Peer relays on demand: links this object dials itself (`GRAPEVINE_PEERS`) are outgoing sockets,
 * which cannot hibernate and keep the object in memory while they are up. So they are up only while
 * clients speak: once no client has sent anything for `GRAPEVINE_PEER_IDLE_MS` (default 10,000;
 * `0` or `off` keeps them up while clients are connected) the object closes them
 * (`relay.setPeersDialed(false)`, log `peer_relays_paused`) and can hibernate; a message on a
 * client's socket, or a new client, dials them again at once (`peer_relays_resumed`). What does not
 * count: messages on the socket of a peer relay (one this object dials, which dialed it too; such
 * accepted sockets stay open), and membership upkeep (SWIM pings, acks, claims, shuffles), which
 * closing and opening the peer links provokes from the clients. Anything else does, the clients'
 * own gossip rounds included: the links close only when those are further apart than the idle time.
 * Quiet is measured with timestamps and checked on the alarm, which comes by the quiet deadline
 * while the links are up; once they are closed no timer is pending. A woken object starts with them
 * closed (it slept, so its clients were quiet); its state exchange with the sockets it takes back
 * counts, so a wake dials them for a moment. While they are closed, what other relays' clients send
 * reaches this relay's clients only once one of these speaks (state then catches up); clients that
 * only listen want `off`.
 *
 * What persists: the relay's key pair, in the object's storage (or `GRAPEVINE_KEY`), so its id is
 * stable across evictions and deploys.
 *
 * Configuration: the environment variables of every relay (`relay/config.ts`: `GRAPEVINE_PEERS`,
 * `GRAPEVINE_ALLOW`, `GRAPEVINE_AUTHORITY`, the limits, `GRAPEVINE_LOG_LEVEL`, …) and the
 * Workers-only ones above (`GRAPEVINE_NETWORKS`, `GRAPEVINE_NETWORK_PATTERN`,
 * `GRAPEVINE_NETWORKS_MAX`, `GRAPEVINE_PEER_IDLE_MS`); the client address is `CF-Connecting-IP`,
 * which Cloudflare's edge sets. JSON log lines go to the console.
 *
 * Closing: workerd (locally, through miniflare) does not end the TCP connection after a close the
 * object starts on a hibernatable socket; peers act on the CLOSE frame the relay sends first.
 *
 * Deploy with wrangler (see `relay/wrangler.toml` and `docs/deploy.md`).
 *
 * @module
 */

import { exportSecretKey } from "../src/crypto/identity.ts";
import { generateKeyPair, importSecretKey } from "../src/crypto/keys.ts";
import { AT_ONCE_SPACING_MS } from "../src/core/hot-origins.ts";
import { localError } from "../src/errors.ts";
import type { Link } from "../src/transport/link.ts";
import { clipUtf8, CLOSE_REASON_BYTES_MAX, peekFrameType } from "../src/wire/link-frames.ts";
import { frameOwner } from "../src/wire/registry.ts";
import { relayOptionsOf, RelayUsageError, resolveRelayConfig } from "./config.ts";
import { createRelay, type Relay, type RelayOptions } from "./core.ts";
import { refusalResponse } from "./limits.ts";
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
  /** Ms without a client's message after which the peer-relay links close. Default 10,000; `0`/`off`: never. */
  GRAPEVINE_PEER_IDLE_MS?: string;
  /** Every other `GRAPEVINE_*` setting of `relay/config.ts`. */
  [name: string]: unknown;
}

const NETWORK_HEADER = "x-grapevine-network";
const NETWORK_BYTES_MAX = 255;
/** Default of `GRAPEVINE_NETWORKS_MAX`. */
const NETWORKS_MAX_DEFAULT = 100;
/** Default of `GRAPEVINE_PEER_IDLE_MS`: about when workerd would evict an idle object. */
const PEER_IDLE_MS_DEFAULT = 10_000;
/**
 * What the state and the kept broadcast messages may take here unless configured
 * (`GRAPEVINE_STORE_BYTES_MAX`): an isolate has 128 MB in all, code, sockets and buffers included,
 * where the engine's defaults (128 MiB of state, 32 MiB of messages) suit a server.
 */
const WORKERS_STORE_BYTES_MAX = 48 * 1024 * 1024;
const WORKERS_MESSAGE_CACHE_BYTES_MAX = 8 * 1024 * 1024;
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

/** `GRAPEVINE_PEER_IDLE_MS` read: ms, or Infinity for links kept up (`0`, `off`, `Infinity`). */
function peerIdleMs(value: string | undefined): number {
  const v = value?.trim().toLowerCase() ?? "";
  if (v === "") return PEER_IDLE_MS_DEFAULT;
  if (v === "off" || v === "infinity") return Infinity;
  const n = Number(v);
  if (!/^[0-9.e+]+$/.test(v) || !Number.isFinite(n) || n < 0) throw new RelayUsageError(`GRAPEVINE_PEER_IDLE_MS: expected ms ≥ 0 or off, got ${value}`);
  return n === 0 ? Infinity : n;
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
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return text("bad request", 400);
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) return text("bad request", 400);
    const { network, max } = body as { network?: unknown; max?: unknown };
    if (typeof network !== "string" || new TextEncoder().encode(network).length > NETWORK_BYTES_MAX) return text("bad request", 400);
    if (typeof max !== "number" || !(max >= 0)) return text("bad request", 400);
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
  /** Told once the link is closed, whichever end closed it (the object's table lets it go). */
  #gone: () => void;

  constructor(ws: WebSocket, gone: () => void) {
    this.#ws = ws;
    this.#gone = gone;
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
    this.#gone();
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
  /** The timer of `#tickSoon`, while one is pending. */
  #soon: ReturnType<typeof setTimeout> | null = null;
  /** The alarm this instance set, or null; undefined until read from storage. */
  #alarmAt: number | null | undefined = undefined;
  /** Peer relays configured (`GRAPEVINE_PEERS`). */
  #peerCount = 0;
  /** `GRAPEVINE_PEER_IDLE_MS`; Infinity: peer links kept up. */
  #peerIdleMs = PEER_IDLE_MS_DEFAULT;
  /** Whether the relay dials its peer relays now. */
  #peersDialed = false;
  /** When a client last spoke (a message, or a new socket), ms since the epoch. */
  #clientSpokeAt = 0;

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
      const early = relay.screen(relay.clientAddress(request.headers, ""));
      if (early) return refusalResponse(early);
      const [client, server] = Object.values(new (globalThis as unknown as WorkersGlobals).WebSocketPair()) as [WebSocket, WebSocket];
      this.#state.acceptWebSocket(server);
      const ip = relay.clientAddress(request.headers, "");
      server.serializeAttachment({ ip, peer: null } satisfies Attachment);
      // Let go when closed, by either end: workerd may not deliver webSocketClose for a close the relay started.
      const link = new HibernatableSocketLink(server, () => this.#links.delete(server));
      this.#links.set(server, link);
      void relay.accept(link, { ip }).then((peer) => {
        if (peer !== null) server.serializeAttachment({ ip, peer, until: relay.admittedUntil(peer) } satisfies Attachment);
      });
      await this.#clientSpoke(relay);
      await this.#syncAlarm();
      const init: WorkersResponseInit = { status: 101, webSocket: client };
      return new Response(null, init);
    }
    let response = (await relay.handle(request)) ?? text("not found", 404);
    if (url.pathname === "/healthz") {
      // What only the object knows: its sockets and its alarm (none while nothing is connected).
      if (this.#alarmAt === undefined) this.#alarmAt = await this.#state.storage.getAlarm();
      const health = { ...((await response.json()) as object), clients: this.#clients().length, sockets_held: this.#links.size, alarm_in_ms: this.#alarmAt === null ? null : Math.max(0, this.#alarmAt - Date.now()) };
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
      // Its handshake had not finished when the object hibernated: that session is gone. (Or the
      // relay closed it already and this came meanwhile: the close stands.)
      try {
        ws.close(1012, "relay restarted");
      } catch {
        // closing already
      }
      return;
    }
    link.received(message, relay.limits.frameBytesMax);
    if (this.#onDemand && this.#speaks(ws, message, relay)) await this.#clientSpoke(relay);
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
    if (this.#onDemand && this.#peersDialed && Date.now() - this.#clientSpokeAt >= this.#peerIdleMs) {
      this.#peersDialed = false;
      relay.setPeersDialed(false); // closes the outgoing sockets and clears their retry timers
      relay.log.info("peer_relays_paused", { peers: this.#peerCount, quiet_ms: Date.now() - this.#clientSpokeAt });
    }
    this.#wantAt = null; // the tick announces the next wake-up through onWake, unless there is none
    relay.node.tick();
    await this.#syncAlarm();
  }

  /** Peer relays are dialed on demand: some are configured and `GRAPEVINE_PEER_IDLE_MS` is finite. */
  get #onDemand(): boolean {
    return this.#peerCount > 0 && this.#peerIdleMs !== Infinity;
  }

  /**
   * Whether `message` is a client speaking: not on the socket of a peer relay (known once this
   * object dialed it), and not membership upkeep (SWIM pings, acks, claims, shuffles), which the
   * relay's own link changes provoke: were it counted, closing the peer links would reopen them.
   */
  #speaks(ws: WebSocket, message: string | ArrayBuffer, relay: Relay): boolean {
    if (typeof message !== "string" && frameOwner(peekFrameType(new Uint8Array(message))) === "membership") return false;
    const a = ws.deserializeAttachment() as Attachment | null;
    return !a || a.peer === null || !relay.isPeerRelay(a.peer);
  }

  /** A client spoke: the quiet period starts again, and peer relays let go are dialed at once. */
  async #clientSpoke(relay: Relay): Promise<void> {
    if (!this.#onDemand) return;
    this.#clientSpokeAt = Date.now();
    if (this.#peersDialed) return; // the alarm already comes by the quiet deadline
    this.#peersDialed = true;
    relay.setPeersDialed(true);
    relay.log.info("peer_relays_resumed", { peers: this.#peerCount });
    await this.#syncAlarm();
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
      this.#peerIdleMs = peerIdleMs(env("GRAPEVINE_PEER_IDLE_MS"));
      this.#peerCount = config.peers.length;
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
        storeBytesMax: WORKERS_STORE_BYTES_MAX,
        messageCacheBytesMax: WORKERS_MESSAGE_CACHE_BYTES_MAX,
        ...relayOptionsOf(config),
        peers: [], // added below, dialed or not
        network,
        keyPair: importSecretKey(secret),
        trustProxy: "cf-connecting-ip",
        log,
        onWake: (delayMs) => {
          // Work due within moments (a change to pass on to clients at once: see `AT_ONCE_SPACING_MS`)
          // runs on a timer in this very event, not on an alarm: an alarm is a storage write, and
          // one a change would cost the operator two writes per change. The tick announces the
          // next wake-up, which moves the alarm as before. An alarm already set stays as it is;
          // only when there is none is one set, so one is always there to wake the object.
          if (delayMs <= AT_ONCE_SPACING_MS) {
            this.#tickSoon(delayMs);
            if (this.#alarmAt !== null) return;
          }
          this.#wantAt = delayMs === Infinity ? null : Date.now() + delayMs;
          void this.#syncAlarm();
        },
      };
      const relay = await createRelay(options);
      // On demand, a new instance dials its peers once a client speaks (a woken one: its clients were quiet).
      this.#peersDialed = !this.#onDemand;
      relay.setPeersDialed(this.#peersDialed);
      for (const url of config.peers) relay.addPeer(url);
      for (const ws of this.#clients()) {
        if (this.#links.has(ws)) continue;
        const a = ws.deserializeAttachment() as Attachment | null;
        if (!a || a.peer === null) continue; // closed on its next message (see webSocketMessage)
        const link = new HibernatableSocketLink(ws, () => this.#links.delete(ws));
        this.#links.set(ws, link);
        relay.adopt(link, { ip: a.ip, peer: a.peer, admittedUntilMs: a.until ?? null }); // admission checked again
      }
      return relay;
    })();
    return this.#relay;
  }

  /** Ticks the node after `delayMs` on a timer of this event (one pending at a time). */
  #tickSoon(delayMs: number): void {
    if (this.#soon !== null) return;
    this.#soon = setTimeout(() => {
      this.#soon = null;
      void this.#relay?.then((relay) => relay.node.tick()).catch(() => undefined); // closed meanwhile: nothing to do
    }, delayMs);
  }

  /**
   * Keeps one alarm while clients are connected, none otherwise: at the node's next wake-up, or
   * earlier at the quiet deadline while peer relays are dialed on demand.
   */
  async #syncAlarm(): Promise<void> {
    const storage = this.#state.storage;
    if (this.#alarmAt === undefined) this.#alarmAt = await storage.getAlarm();
    const quietAt = this.#onDemand && this.#peersDialed ? this.#clientSpokeAt + this.#peerIdleMs : null;
    const wants = [this.#wantAt, quietAt].filter((t) => t !== null);
    const want = this.#clients().length > 0 && wants.length > 0 ? Math.min(...wants) : null;
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
    if (this.#soon !== null) clearTimeout(this.#soon);
    this.#soon = null;
    if (relay) await (await relay).close();
    if (this.#alarmAt === undefined) this.#alarmAt = await this.#state.storage.getAlarm();
    if (this.#alarmAt !== null) {
      this.#alarmAt = null;
      await this.#state.storage.deleteAlarm();
    }
  }
}
