/**
 * The runtime-neutral relay: a full gossip peer (it owns a {@link GrapevineNode}, so it holds and
 * serves the mesh's state) and a forwarder of FORWARD frames between the peers it holds links to.
 * It speaks Web-standard types only (`Request`, `Response`, `WebSocket`, timers); each runtime's
 * adapter (`relay/node.ts`, `relay/deno.ts`, `relay/bun.ts`, `relay/workers.ts`) turns its server's
 * sockets into {@link Link}s and hands them to {@link Relay.accept}, and its HTTP requests to
 * {@link Relay.handle}.
 *
 * Order of checks for a new connection: the admission gate (total, per-address and per-address rate
 * limits) before any handshake work; then the handshake, within `handshakeTimeoutMs`; only then does
 * the engine see the link. Every frame passes the link's guard (size, bytes per second) before it
 * is decoded; FORWARDs are routed by the guard and the relay, never decoded beyond their header.
 *
 * Routing: a FORWARD to a peer the relay holds a link to goes on that link with `hops + 1`. One to a
 * peer it does not hold goes, on its first hop only, to the relays it peers with (`peers`), which
 * deliver it if they hold the target. Relays therefore form a full mesh among themselves; a FORWARD
 * crosses at most two relays, and never loops.
 *
 * @module
 */

import { createNode } from "../src/runtime/create.ts";
import { type GrapevineNode, type NodeOptions } from "../src/runtime/node.ts";
import { nodeIdFromText, nodeIdToText } from "../src/crypto/identity.ts";
import type { Link } from "../src/transport/link.ts";
import { GrapevineError, remoteError } from "../src/errors.ts";
import { CLOSE_CODE, encodeLinkFrame, LINK_FRAME } from "../src/wire/link-frames.ts";
import { GuardedLink, type GuardHost } from "./guard.ts";
import type { ForwardHeader } from "./forward.ts";
import { AdmissionGate, DEFAULT_RELAY_LIMITS, REFUSALS, resolveRelayLimits, type Refusal, type RelayLimits } from "./limits.ts";
import { RelayCounters, renderPrometheus, type MetricFamily } from "./metrics.ts";
import type { WebSocketConstructor } from "../src/transport/websocket.ts";
import { keepDialed, type PeerDialer } from "./peers.ts";
import { CarriedScopes } from "./carry.ts";
import { SILENT_LOG, type RelayLog } from "./log.ts";
import { clientAddress, type HeaderLookup, type ProxyHeader } from "./proxy.ts";

export { DEFAULT_RELAY_LIMITS, refusalResponse, refusalStatus, type Refusal, type RelayLimits } from "./limits.ts";
export type { WebSocketConstructor } from "../src/transport/websocket.ts";
export { jsonLog, LOG_LEVELS, type LogLevel, type RelayLog } from "./log.ts";
export { PROXY_HEADERS, type HeaderLookup, type ProxyHeader } from "./proxy.ts";

/** Options of {@link createRelay}: the node's options, the relay's limits, and the relays to peer with. */
export interface RelayOptions extends NodeOptions, Partial<RelayLimits> {
  /**
   * URLs (`ws://` or `wss://`) of other relays to dial and keep dialed, with exponential backoff.
   * Their ids become trusted: they may hand over FORWARDs that already took a hop. Default none.
   */
  peers?: string[];
  /** Constructor used to dial `peers`. Default: the global `WebSocket` (Node 20 has none: pass `ws`'s). */
  WebSocket?: WebSocketConstructor;
  /** First reconnect delay to a peer relay, in ms (doubled per failure, with jitter). Default 500. */
  backoffMinMs?: number;
  /** Longest reconnect delay to a peer relay, in ms. Default 30,000. */
  backoffMaxMs?: number;
  /** Clock for the limits, in ms. Default `performance.now()`. */
  now?: () => number;
  /**
   * The header a trusted reverse proxy writes the client's address into (`relay/proxy.ts`); the
   * adapters key the per-address limits by it. Default null: the TCP peer's address.
   */
  trustProxy?: ProxyHeader | null;
  /** Where connects, refusals, penalties and peer-relay changes are logged. Default: nowhere. */
  log?: RelayLog;
}

/** What `GET /healthz` answers. */
export interface RelayHealth {
  ok: boolean;
  /** The relay's node id. */
  id: string;
  network: string;
  /** Authenticated links the node holds. */
  links: number;
  /** Origins whose state the relay holds. */
  origins: number;
  /** Seconds since the relay started. */
  uptime: number;
  /** Scopes (rooms, topics) carried for clients. */
  scopes: number;
  /** Peer relays configured, and whether a link to each is up. */
  peers: { url: string; connected: boolean }[];
}

/**
 * Creates a relay and starts dialing its `peers`.
 *
 * @example
 * ```ts
 * import { createRelay } from "grapevine/relay";
 * const relay = await createRelay({ network: "example", connectionsPerIpMax: 8 });
 * // an adapter: for every WebSocket, relay.accept(websocketLink(socket), { ip });
 * // for every other request: (await relay.handle(request)) ?? new Response("not found", { status: 404 })
 * console.log(relay.id);
 * await relay.close();
 * ```
 */
export async function createRelay(options: RelayOptions = {}): Promise<Relay> {
  const { peers = [], WebSocket, backoffMinMs = 500, backoffMaxMs = 30_000, now, trustProxy = null, log = SILENT_LOG, ...rest } = options;
  const limitOptions: Partial<RelayLimits> = {};
  const nodeOptions: NodeOptions = {};
  for (const [key, value] of Object.entries(rest)) {
    if (key in DEFAULT_RELAY_LIMITS) (limitOptions as Record<string, unknown>)[key] = value;
    else (nodeOptions as Record<string, unknown>)[key] = value;
  }
  const limits = resolveRelayLimits(limitOptions);
  if (!(backoffMinMs > 0 && backoffMaxMs >= backoffMinMs)) throw new RangeError("need 0 < backoffMinMs <= backoffMaxMs");
  for (const url of peers) {
    if (!/^wss?:\/\//.test(url)) throw new TypeError(`peer URL must start with ws:// or wss://, got ${url}`);
  }
  const ctor = WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (peers.length > 0 && !ctor) throw new TypeError("no WebSocket constructor to dial peers with: pass options.WebSocket");
  // A smaller frame limit takes the state answers' budget down with it (it must leave room for framing).
  if (nodeOptions.deltaBytesMax === undefined && limits.frameBytesMax < DEFAULT_DELTA_BYTES_MAX + 1024) {
    nodeOptions.deltaBytesMax = Math.max(1, Math.floor(limits.frameBytesMax / 2));
  }
  // A relay carries every room its clients are in: more scopes than a client node joins.
  const node = await createNode({ scopesMax: RELAY_SCOPES_MAX, ...nodeOptions, frameBytesMax: limits.frameBytesMax });
  const relay = new Relay(node, limits, now ?? (() => performance.now()), { WebSocket: ctor, backoffMinMs, backoffMaxMs }, { trustProxy, log, admission: nodeOptions.admission });
  for (const url of peers) relay.addPeer(url);
  return relay;
}

/** Scopes a relay carries at most unless `scopesMax` is given (a client node's default is 1,024). */
const RELAY_SCOPES_MAX = 8192;

/** The engine's default `deltaBytesMax` (256 KiB). */
const DEFAULT_DELTA_BYTES_MAX = 262_144;

/** How a relay dials its peers. */
interface DialSettings {
  WebSocket: WebSocketConstructor | undefined;
  backoffMinMs: number;
  backoffMaxMs: number;
}

/** A running relay. Create it with {@link createRelay}. */
export class Relay {
  readonly node: GrapevineNode;
  readonly limits: RelayLimits;
  readonly counters: RelayCounters = new RelayCounters();
  #now: () => number;
  #startedAt: number;
  #gate: AdmissionGate;
  /** Every live link, authenticated or not. */
  #links = new Set<GuardedLink>();
  /** Links that went through the gate, to release on close. */
  #admitted = new Set<GuardedLink>();
  /** The newest authenticated link to each peer id. */
  #byPeer = new Map<string, GuardedLink>();
  #trusted = new Set<string>();
  #dialers: PeerDialer[] = [];
  #peersDialed = true; // see setPeersDialed
  #closed = false;
  #host: GuardHost;
  #dialing: DialSettings;
  #trustProxy: ProxyHeader | null;
  /** The admission allow-list and authority given (for {@link adopt}); null when absent. */
  #allow: Set<string> | null;
  #authority: string | null;
  /** The relay's log (`log` option). */
  readonly log: RelayLog;
  /** The scopes (rooms, topics) the relay carries: those its clients joined. */
  readonly scopes: CarriedScopes;

  /** @internal Use {@link createRelay}. */
  constructor(
    node: GrapevineNode,
    limits: RelayLimits,
    now: () => number,
    dialing: DialSettings,
    ops: { trustProxy: ProxyHeader | null; log: RelayLog; admission?: { allow?: string[]; authority?: string } },
  ) {
    this.node = node;
    this.#trustProxy = ops.trustProxy;
    this.#allow = ops.admission?.allow ? new Set(ops.admission.allow) : null;
    this.#authority = ops.admission?.authority ?? null;
    this.log = ops.log;
    this.#dialing = dialing;
    this.limits = limits;
    this.#now = now;
    this.#startedAt = now();
    this.#gate = new AdmissionGate(limits);
    this.#host = {
      limits,
      counters: this.counters,
      selfKey: node.publicKey,
      now,
      trusts: (peer) => this.#trusted.has(peer),
      route: (from, header, bytes) => this.#route(from, header, bytes),
      closed: (link, reason) => this.#forget(link, reason),
      penalised: (link, points, reason) => this.log.warn("relay_penalty", { peer: link.peer, ip: link.ip, points, score: link.score, reason }),
      fault: (link, code, points, reason) => {
        if (link.nodeLink === null || this.#closed) return false;
        this.node.penalize(link.nodeLink, remoteError(code, `relay: ${reason}`), points);
        return true;
      },
    };
    this.scopes = new CarriedScopes(node, (peer) => this.#trusted.has(peer), this.log);
    node.addEventListener("penalty", (e) => {
      const d = (e as CustomEvent<{ code: string; peer: string | null; message: string }>).detail;
      this.counters.reject(String(d.code).toLowerCase());
      this.log.warn("penalty", { peer: d.peer, code: d.code, message: d.message.slice(0, 200) });
    });
  }

  /**
   * The address a connection counts against for the per-address limits: the `trustProxy` header's
   * when one is configured and well-formed, else `socketAddress`.
   */
  clientAddress(headers: HeaderLookup, socketAddress: string): string {
    return clientAddress(headers, socketAddress, this.#trustProxy);
  }

  /** The relay's node id (its public key, base64url). */
  get id(): string {
    return this.node.id;
  }

  /**
   * Screens an attempt from `ip` before the adapter sets its transport up (the WebSocket upgrade):
   * a refusal while the address was refused in the last second and would be again (see
   * `AdmissionGate.screen`), counted and logged like any other; the adapter answers it in HTTP
   * (`refusalResponse`: 429 or 503, `retry-after: 1`) and does no WebSocket work. Null: go on, and
   * {@link accept} decides.
   */
  screen(ip: string): Refusal | null {
    const refusal = this.#closed ? null : this.#gate.screen(ip, this.#now());
    if (refusal) {
      this.counters.refuse(refusal.label);
      this.log.warn("refused", { reason: refusal.label, ip, before_upgrade: true });
    }
    return refusal;
  }

  /**
   * Takes a new connection. Limits are checked first: past one, the link is closed at once with a
   * reason (`too many connections`, `too many connections from this address`, `connecting too
   * fast`), before any handshake work. Otherwise resolves when the handshake has succeeded (with
   * the peer's id) or failed (with null; the link is closed); never rejects for a peer's fault.
   */
  async accept(link: Link, info: { ip: string }): Promise<string | null> {
    const refusal: Refusal | null = this.#closed ? REFUSALS.closed : this.#gate.admit(info.ip, this.#now());
    if (refusal) {
      this.counters.refuse(refusal.label);
      this.log.warn("refused", { reason: refusal.label, ip: info.ip });
      refuse(link, refusal.reason);
      return null;
    }
    const guarded = new GuardedLink(link, this.#host, { ip: info.ip });
    this.#admitted.add(guarded);
    return this.#attach(guarded);
  }

  /**
   * Takes back a connection whose peer this relay authenticated before it restarted, on the same
   * transport (a Durable Object woken from hibernation keeps its sockets): no handshake, no rate
   * check (it is not a new connection), but it counts against the connection limits again. The
   * caller vouches for `peer` and passes on `admittedUntilMs` from {@link admittedUntil} at the first
   * handshake: admission is checked again, so a peer no longer on the allow-list, or admitted by a
   * credential that has expired since (wall clock, `Date.now()`), is closed ("not admitted") and
   * must handshake anew.
   */
  adopt(link: Link, info: { ip: string; peer: string; admittedUntilMs?: number | null }): boolean {
    const problem = this.#closed ? REFUSALS.closed.reason : this.#readmissionProblem(info.peer, info.admittedUntilMs ?? null);
    if (problem !== null) {
      if (!this.#closed) this.log.info("link_not_resumed", { peer: info.peer, ip: info.ip, reason: problem });
      refuse(link, this.#closed ? problem : "not admitted");
      return false;
    }
    const guarded = new GuardedLink(link, this.#host, { ip: info.ip });
    guarded.admittedUntilMs = info.admittedUntilMs ?? null;
    this.#gate.restore(info.ip);
    this.#admitted.add(guarded);
    this.#links.add(guarded);
    guarded.nodeLink = this.node.adopt(guarded, info.peer, { admittedUntilMs: guarded.admittedUntilMs, client: !this.#trusted.has(info.peer) }).link;
    guarded.authenticated(info.peer, nodeIdFromText(info.peer));
    this.#byPeer.set(info.peer, guarded);
    this.log.debug("link_resumed", { peer: info.peer, ip: info.ip });
    return true;
  }

  /**
   * When the credential that admitted `peer`'s current link expires (wall-clock ms since the
   * epoch); null when it was admitted by the allow-list, no admission is configured, or no link to
   * it is up. A host that keeps sockets across restarts stores it with the socket for {@link adopt}.
   */
  admittedUntil(peer: string): number | null {
    return this.#byPeer.get(peer)?.admittedUntilMs ?? null;
  }

  /** Why `peer` would not be admitted again now (null: it would be). */
  #readmissionProblem(peer: string, admittedUntilMs: number | null): string | null {
    if (this.#allow === null && this.#authority === null) return null;
    if (this.#allow?.has(peer)) return null;
    if (this.#authority === null) return "not on the allow-list";
    if (admittedUntilMs === null) return "no credential recorded";
    return admittedUntilMs > Date.now() ? null : "credential expired";
  }

  /**
   * Serves the relay's HTTP endpoints: `GET /healthz` (JSON {@link RelayHealth}; 503 once closing)
   * and `GET /metrics` (Prometheus text). Returns `null` for anything else, for the adapter to serve
   * or 404.
   */
  async handle(request: Request): Promise<Response | null> {
    if (request.method !== "GET" && request.method !== "HEAD") return null;
    const { pathname } = new URL(request.url);
    if (pathname === "/healthz") {
      return new Response(JSON.stringify(this.health()), {
        status: this.#closed ? 503 : 200,
        headers: { "content-type": "application/json", "cache-control": "no-store" },
      });
    }
    if (pathname === "/metrics") {
      return new Response(this.metrics(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" } });
    }
    return null;
  }

  /** The `/healthz` document. */
  health(): RelayHealth {
    return {
      ok: !this.#closed,
      id: this.id,
      network: this.node.options.network,
      links: this.node.linkCount,
      origins: this.node.origins().length,
      uptime: Math.floor((this.#now() - this.#startedAt) / 1000),
      scopes: this.scopes.count,
      peers: this.#dialers.map((d) => ({ url: d.url, connected: d.connected })),
    };
  }

  /** The `/metrics` text (Prometheus exposition format 0.0.4). */
  metrics(): string {
    const c = this.counters;
    const stats = this.node.engine.stats;
    const families: MetricFamily[] = [
      { name: "grapevine_links", help: "Open links (handshaking or authenticated).", type: "gauge", value: this.#links.size },
      { name: "grapevine_links_authenticated", help: "Links whose peer proved its key.", type: "gauge", value: this.node.linkCount },
      { name: "grapevine_scopes", help: "Scopes (rooms, topics) carried for clients.", type: "gauge", value: this.scopes.count },
      { name: "grapevine_frames_in_total", help: "Frames received on relay links.", type: "counter", value: c.framesIn },
      { name: "grapevine_frames_out_total", help: "Frames sent on relay links.", type: "counter", value: c.framesOut },
      { name: "grapevine_bytes_in_total", help: "Bytes received on relay links.", type: "counter", value: c.bytesIn },
      { name: "grapevine_bytes_out_total", help: "Bytes sent on relay links.", type: "counter", value: c.bytesOut },
      { name: "grapevine_frames_rejected_total", help: "Frames refused or penalised, by reason.", type: "counter", value: { label: "reason", values: c.rejected } },
      { name: "grapevine_connections_refused_total", help: "Connections refused before the handshake, by reason.", type: "counter", value: { label: "reason", values: c.refused } },
      { name: "grapevine_forwards_total", help: "FORWARD frames sent on towards their target.", type: "counter", value: c.forwards },
      { name: "grapevine_forward_bytes_total", help: "Bytes of FORWARD frames sent on (peers' traffic through the relay, WebRTC signalling included).", type: "counter", value: c.forwardBytes },
      { name: "grapevine_state_origins", help: "Origins whose state the relay holds.", type: "gauge", value: this.node.origins().length },
      { name: "grapevine_state_bytes", help: "Memory others' state takes at the relay, every room together, as storeBytesMax counts it.", type: "gauge", value: this.node.engine.store.pool.held },
      { name: "grapevine_state_bytes_max", help: "storeBytesMax: past it, new state is refused until some is collected.", type: "gauge", value: this.node.options.storeBytesMax },
      { name: "grapevine_rounds_total", help: "Gossip rounds run.", type: "counter", value: stats.rounds },
      { name: "grapevine_uptime_seconds", help: "Seconds since the relay started.", type: "gauge", value: Math.floor((this.#now() - this.#startedAt) / 1000) },
    ];
    return renderPrometheus(families);
  }

  /**
   * Dials another relay at `url` (`ws://` or `wss://`) and keeps it dialed, with exponential
   * backoff; its id becomes trusted (it may hand over FORWARDs that already took a hop). The
   * `peers` option calls this for each URL. Throws `TypeError` without a WebSocket constructor.
   *
   * @example
   * ```ts
   * relay.addPeer("wss://relay-b.example/");
   * ```
   */
  addPeer(url: string): void {
    if (this.#closed) throw new TypeError("addPeer: the relay is closed");
    if (!/^wss?:\/\//.test(url)) throw new TypeError(`peer URL must start with ws:// or wss://, got ${url}`);
    if (!this.#dialing.WebSocket) throw new TypeError("no WebSocket constructor to dial peers with: pass options.WebSocket");
    this.#dialers.push(this.#peersDialed ? this.#dial(url) : undialed(url));
  }

  /**
   * Dials the peer relays (`peers`, {@link addPeer}; the default) or not: off, each dialer stops, no
   * retry left pending, its link closes ("peer link idle"), one added meanwhile waits, and they stop
   * being the node's seeds (it would wake every `seedRetryMs` to ask for them); on, each is dialed
   * at once. Links other relays dialed to this one stay. For hosts billed while an outgoing socket
   * is open (Workers).
   *
   * @example
   * ```ts
   * relay.setPeersDialed(false); // clients quiet; relay.setPeersDialed(true) once one speaks
   * ```
   */
  setPeersDialed(on: boolean): void {
    if (this.#closed || on === this.#peersDialed) return;
    this.#peersDialed = on;
    if (!on) this.node.join([]); // a link to each that comes up makes them seeds again
    this.#dialers = this.#dialers.map((d) => {
      if (on) return this.#dial(d.url);
      d.close("peer link idle");
      return undialed(d.url);
    });
  }

  /** Whether `peer` is one of the relays this one dials (known once a link to it authenticated). */
  isPeerRelay(peer: string): boolean {
    return this.#trusted.has(peer);
  }

  #dial(url: string): PeerDialer {
    const dialing = this.#dialing;
    return keepDialed(url, {
      WebSocket: dialing.WebSocket!,
      frameBytesMax: this.limits.frameBytesMax,
      backoffMinMs: dialing.backoffMinMs,
      backoffMaxMs: dialing.backoffMaxMs,
      attach: async (link) => {
        if (this.#closed) {
          refuse(link, REFUSALS.closed.reason);
          return null;
        }
        const guarded = new GuardedLink(link, this.#host, { ip: "", peerRelay: url });
        const peer = await this.#attach(guarded);
        if (peer) {
          this.#trusted.add(peer);
          this.scopes.relayKnown(peer);
          this.node.join([this.node.id, ...this.#trusted]); // relays are seeds: each keeps linked to the others
        }
        return peer ? guarded : null;
      },
      failed: (reason, retryInMs) => this.log.info("peer_relay_retry", { url, reason: reason.slice(0, 200), retry_in_ms: Math.round(retryInMs) }),
    });
  }

  /** Stops dialing, closes every link and the node. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const d of this.#dialers) d.close();
    await this.node.close({ leave: false });
    for (const link of this.#links) link.close(REFUSALS.closed.reason);
  }

  /** Runs the handshake on a guarded link; returns the peer id, or null (the link is closed). */
  async #attach(link: GuardedLink): Promise<string | null> {
    this.#links.add(link);
    try {
      // A link the relay accepted is a client's (a tab, a node behind NAT): the changes the relay
      // takes in go to it at once. Peer relays it dialed are gossiped with by rounds.
      const handle = await this.node.connect(link, { client: link.peerRelay === null });
      if (link.isClosed) return null;
      link.nodeLink = handle.link;
      link.admittedUntilMs = handle.admittedUntilMs;
      link.authenticated(handle.peer, nodeIdFromText(handle.peer));
      this.#byPeer.set(handle.peer, link);
      if (link.peerRelay !== null) this.log.info("peer_relay_up", { url: link.peerRelay, peer: handle.peer });
      else this.log.info("link_up", { peer: handle.peer, ip: link.ip, links: this.node.linkCount });
      return handle.peer;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.counters.reject(/timeout/.test(message) ? "handshake_timeout" : "handshake");
      this.log.warn("handshake_failed", { ip: link.ip, ...(link.peerRelay !== null ? { url: link.peerRelay } : {}), reason: message.slice(0, 200) });
      if (!link.isClosed) link.close("handshake failed");
      return null;
    }
  }

  #forget(link: GuardedLink, reason: string): void {
    this.#links.delete(link);
    if (this.#admitted.delete(link)) this.#gate.release(link.ip);
    if (link.peer !== null && this.#byPeer.get(link.peer) === link) this.#byPeer.delete(link.peer);
    if (link.peer !== null) {
      const fields = { peer: link.peer, reason: reason.slice(0, 200) };
      if (link.peerRelay !== null) this.log.warn("peer_relay_down", { url: link.peerRelay, ...fields });
      else this.log.info("link_down", { ip: link.ip, ...fields });
    }
  }

  #route(from: GuardedLink, header: ForwardHeader, bytes: Uint8Array): void {
    const target = this.#byPeer.get(nodeIdToText(header.to));
    if (target && target !== from) {
      if (target.sendRouted(bytes)) {
        this.counters.forwards++;
        this.counters.forwardBytes += bytes.length;
      } else this.counters.reject("forward_backpressure");
      return;
    }
    // Not ours: on its first hop only, hand it to every peer relay (they deliver or drop it).
    let sent = false;
    if (header.hops === 1) {
      for (const peer of this.#trusted) {
        const link = this.#byPeer.get(peer);
        if (link && link !== from && link.sendRouted(bytes)) {
          sent = true;
          this.counters.forwardBytes += bytes.length;
        }
      }
    }
    if (sent) this.counters.forwards++;
    else this.counters.reject("forward_no_route");
  }
}

/** A peer relay not dialed for now ({@link Relay.setPeersDialed}). */
const undialed = (url: string): PeerDialer => ({ url, connected: false, close() {} });

/**
 * Turns a connection away before the handshake: a CLOSE frame with the reason (the peer's
 * handshake reports it), then the transport's close with the same reason.
 */
function refuse(link: Link, reason: string): void {
  link.onmessage = null;
  try {
    link.send(encodeLinkFrame({ type: LINK_FRAME.CLOSE, code: CLOSE_CODE.NORMAL, reason }));
  } catch (e) {
    if (!(e instanceof GrapevineError)) throw e;
  }
  try {
    link.close(reason);
  } catch {
    // a transport that throws on close is closed enough
  }
}
