/**
 * Dialing: keeps one WebSocket link from a node to a URL up. Each attempt opens a socket, wraps it
 * with {@link websocketLink} and runs the node's handshake; when the link goes down (or an attempt
 * fails) the dialer waits and tries again, with exponential backoff and full jitter: the n-th
 * consecutive failure waits a uniformly random time in `[0, min(backoffMaxMs, backoffMinMs · 2^n))`.
 * A link that came up resets the backoff.
 *
 * With fallback URLs (`options.urls`), a failed attempt moves on to the next URL in the list
 * (wrapping round), and the backoff grows only once a whole pass over the list has failed: when a
 * relay dies, its peers try the others at once. A link that goes down is first redialed at the
 * URL it was on.
 *
 * The WebSocket constructor is injected (`options.WebSocket`) or taken from `globalThis.WebSocket`
 * (browsers, Deno, Bun, Node ≥ 22); on Node 20 pass `nodeWebSocket` from `ws-node.ts`. Randomness
 * for the jitter comes from `Math.random`: it is not protocol state.
 *
 * @module
 */

import { backoffDelay } from "../transport/backoff.ts";
import { checkOption, type OptionSpec } from "../core/schema.ts";
import type { GrapevineNode, LinkHandle } from "./node.ts";
import { websocketLink, type WebSocketConstructor, type WebSocketLike } from "../transport/websocket.ts";

/** `dial`'s limits, in the one options schema (`backoffMinMs` must not exceed `backoffMaxMs`). */
export const DIAL_OPTION_SPECS = Object.freeze({
  backoffMinMs: { kind: "number", default: 500, min: 1, unit: "ms" },
  backoffMaxMs: { kind: "number", default: 30_000, min: 1, max: 86_400_000, unit: "ms" },
} satisfies Record<string, OptionSpec>);

/**
 * The relay each of a node's dialers last reached: together, the node's seeds (`node.join`). One
 * a dialer, so a relay that comes back under a new key, or a URL that leads to many, replaces its
 * seed instead of adding one for good; a closed dialer's goes.
 */
const SEEDS = new WeakMap<GrapevineNode, Map<object, string>>();

/** Sets (`null`: removes) what `dialer` gives `node` as a seed, telling membership if the set changed. */
function setSeed(node: GrapevineNode, dialer: object, peer: string | null): void {
  let seeds = SEEDS.get(node);
  if (!seeds) SEEDS.set(node, (seeds = new Map()));
  const before = new Set(seeds.values());
  if (peer === null) seeds.delete(dialer);
  else seeds.set(dialer, peer);
  const after = new Set(seeds.values());
  if (after.size === before.size && [...after].every((p) => before.has(p))) return;
  try {
    node.join([...after]);
  } catch {
    // the node closed: nothing to tell
  }
}

/** @internal The seeds `dial` gives `node` (for tests). */
export function dialSeeds(node: GrapevineNode): string[] {
  return [...new Set(SEEDS.get(node)?.values() ?? [])];
}

/**
 * Options of {@link dial}.
 *
 * @example
 * ```ts
 * dial(node, "wss://relay.example/", { backoffMinMs: 250, backoffMaxMs: 10_000, peer: relayId });
 * dial(node, "wss://a.example/", { urls: ["wss://b.example/", "wss://c.example/"] }); // fallbacks
 * ```
 */
export interface DialOptions {
  /**
   * Fallback URLs, tried in turn after `url` whenever an attempt fails (then `url` again, and so
   * on). Default none. `peer`, if given, must hold for all of them.
   */
  urls?: string[];
  /** WebSocket constructor; default `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** First reconnect delay bound in ms (doubled per consecutive failure). Default 500. */
  backoffMinMs?: number;
  /** Largest reconnect delay in ms. Default 30,000. */
  backoffMaxMs?: number;
  /** Largest frame accepted on the socket, in bytes. Default: the node's `frameBytesMax`. */
  frameBytesMax?: number;
  /** Accept only this peer (a node id) at the other end. */
  peer?: string;
  /** Jitter source in [0, 1); default `Math.random`. */
  random?: () => number;
}

/**
 * A running dialer.
 *
 * @example
 * ```ts
 * const dialer = dial(node, "wss://relay.example/");
 * setInterval(() => console.log(dialer.connected ? `linked to ${dialer.peer}` : "reconnecting"), 5000);
 * ```
 */
export interface Dialer {
  /** Stops reconnecting and closes the current link, if any. */
  close(): void;
  /** Whether an authenticated link is up right now. */
  readonly connected: boolean;
  /** The peer at the other end of the current (or last) link, or null before the first one. */
  readonly peer: string | null;
  /** The URL of the current link, or of the attempt under way or next. */
  readonly url: string;
}

/**
 * What a `"link-failed"` event says: an attempt that did not give an authenticated link, why, and
 * when the dialer tries again.
 *
 * @example
 * ```ts
 * node.on("link-failed", ({ url, reason, retryInMs }) => {
 *   console.warn(`${url}: ${reason}; again in ${Math.round(retryInMs)} ms`);
 * });
 * ```
 */
export interface LinkFailedDetail {
  url: string;
  /**
   * Why: the remote's own words when it closed the link (`closed by peer: …`, e.g. `not admitted`,
   * `too many connections from this address`, `connecting too fast`), a mismatch found here
   * (`network mismatch: …`, `protocol version mismatch: …`), or the transport's (`websocket failed
   * to connect`, a handshake timeout).
   */
  reason: string;
  /** The reason the remote gave in its CLOSE frame, or null when the failure was found here. */
  remoteReason: string | null;
  /** Consecutive failed attempts, this one included. */
  failures: number;
  /** When the next attempt starts, in ms from now (with jitter; see the backoff above). */
  retryInMs: number;
  /** The URL of the next attempt (the next fallback, or the same). */
  nextUrl: string;
}

/**
 * Connects `node` to `url` and keeps it connected until `close()` or until the node closes. Emits
 * `CustomEvent`s on the node: `"link-up"` (`detail`: `{ peer, url }`), `"link-down"` (`{ peer,
 * url, reason, retryInMs }`) and, for an attempt that fails before its link is up, `"link-failed"`
 * ({@link LinkFailedDetail}: the remote's CLOSE reason, if it gave one, and the next retry). Throws
 * `TypeError` if there is no WebSocket constructor or `url` is not a ws(s) URL, and `RangeError`
 * for bad backoff bounds.
 *
 * @example
 * ```ts
 * import { createNode, dial } from "grapevine";
 * const node = await createNode({ network: "lobby" });
 * const dialer = dial(node, "wss://relay.example/", { backoffMaxMs: 10_000 });
 * node.on("link-up", ({ peer }) => console.log("up", peer));
 * // later
 * dialer.close();
 * ```
 */
export function dial(node: GrapevineNode, url: string, options: DialOptions = {}): Dialer {
  const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof Ctor !== "function") throw new TypeError("dial: no WebSocket constructor; pass options.WebSocket (on Node 20: nodeWebSocket)");
  if (options.urls !== undefined && !Array.isArray(options.urls)) throw new TypeError("dial: options.urls must be an array of URLs");
  const urls = [url, ...(options.urls ?? [])];
  for (const u of urls) checkUrl(u);
  const min = options.backoffMinMs ?? DIAL_OPTION_SPECS.backoffMinMs.default;
  const max = options.backoffMaxMs ?? DIAL_OPTION_SPECS.backoffMaxMs.default;
  checkOption("backoffMinMs", min, DIAL_OPTION_SPECS.backoffMinMs);
  checkOption("backoffMaxMs", max, DIAL_OPTION_SPECS.backoffMaxMs);
  if (!(min > 0) || !(max >= min) || !Number.isFinite(max)) throw new RangeError("dial: need 0 < backoffMinMs <= backoffMaxMs");
  return new Redialer(node, urls, Ctor, min, max, options);
}

function checkUrl(url: string): void {
  let protocol;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new TypeError(`dial: not a URL: ${JSON.stringify(url)}`);
  }
  if (!["ws:", "wss:", "http:", "https:"].includes(protocol)) throw new TypeError(`dial: expected a ws:// or wss:// URL, got ${JSON.stringify(url)}`);
}

class Redialer implements Dialer {
  #node: GrapevineNode;
  #urls: string[];
  /** Index in `#urls` of the current or next attempt. */
  #at = 0;
  #Ctor: WebSocketConstructor;
  #min: number;
  #max: number;
  #options: DialOptions;
  #failures = 0;
  #stopped = false;
  #socket: WebSocketLike | null = null;
  #handle: LinkHandle | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #peer: string | null = null;
  #onNodeClose = () => this.close();

  constructor(node: GrapevineNode, urls: string[], Ctor: WebSocketConstructor, min: number, max: number, options: DialOptions) {
    this.#node = node;
    this.#urls = urls;
    this.#Ctor = Ctor;
    this.#min = min;
    this.#max = max;
    this.#options = options;
    node.addEventListener("close", this.#onNodeClose);
    void this.#attempt();
  }

  get connected(): boolean {
    return this.#handle !== null;
  }

  get peer(): string | null {
    return this.#peer;
  }

  get url(): string {
    return this.#urls[this.#at];
  }

  close(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#node.removeEventListener("close", this.#onNodeClose);
    setSeed(this.#node, this, null);
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#handle) this.#handle.close("dialer closed");
    else if (this.#socket) {
      try {
        this.#socket.close(1000, "dialer closed");
      } catch {
        // closing a socket that failed to open may throw in some runtimes
      }
    }
  }

  async #attempt(): Promise<void> {
    this.#timer = null;
    if (this.#stopped) return;
    let handle: LinkHandle;
    const url = this.#urls[this.#at];
    try {
      const socket = new this.#Ctor(url);
      this.#socket = socket;
      const link = websocketLink(socket, { frameBytesMax: this.#options.frameBytesMax ?? this.#node.options.frameBytesMax });
      handle = await this.#node.connect(link, this.#options.peer === undefined ? {} : { peer: this.#options.peer });
    } catch (e) {
      // A refused socket, a failed handshake or a closed node: try again later (or stop), at the
      // next URL if there are several.
      this.#socket = null;
      this.#at = (this.#at + 1) % this.#urls.length;
      const delay = this.#retry();
      if (delay !== null) {
        // A GrapevineError's message starts with its code; the reason is what follows.
        const reason = (e instanceof Error ? e.message : String(e)).replace(/^[A-Z_]+: /, "");
        const remote = /^closed by peer: ([^]*)$/.exec(reason);
        const detail: LinkFailedDetail = { url, reason, remoteReason: remote ? remote[1] : null, failures: this.#failures, retryInMs: delay, nextUrl: this.url };
        this.#node.dispatchEvent(new CustomEvent("link-failed", { detail }));
      }
      return;
    }
    this.#failures = 0;
    this.#handle = handle;
    this.#peer = handle.peer;
    // The relays this node dials are its seeds: membership keeps asking for one while no link is up.
    if (!this.#stopped) setSeed(this.#node, this, handle.peer);
    this.#emit("link-up", { peer: handle.peer, url });
    if (this.#stopped) handle.close("dialer closed");
    const reason = await handle.closed;
    this.#handle = null;
    this.#socket = null;
    const delay = this.#retry();
    this.#emit("link-down", { peer: handle.peer, url, reason, retryInMs: delay });
  }

  /** Schedules the next attempt; returns its delay in ms, or null once stopped. */
  #retry(): number | null {
    if (this.#stopped) return null;
    // The exponent counts whole passes over the URLs: every fallback gets the shortest delay first.
    const passes = Math.floor(this.#failures / this.#urls.length);
    this.#failures++;
    const delay = backoffDelay(passes, this.#min, this.#max, this.#options.random);
    this.#timer = setTimeout(() => void this.#attempt(), delay);
    return delay;
  }

  #emit(type: "link-up" | "link-down", detail: { peer: string; url: string; reason?: string; retryInMs?: number | null }): void {
    this.#node.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
