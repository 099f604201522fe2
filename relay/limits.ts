/**
 * A relay's limits, in one place (STYLE.md item 6), and the two mechanisms that enforce them: a
 * token bucket (the engine's) and an admission gate that decides, before any handshake work,
 * whether a new connection may proceed. Runtime-neutral: time comes in as `now` (ms) from the caller.
 *
 * Invariants: every limit is a finite positive number; the gate's per-address table only holds
 * addresses with an open connection, a bucket still refilling or a refusal in the last
 * {@link SCREEN_MS} (about one second after their last attempt), so its size is bounded by the
 * connection limit plus the addresses that attempted in the last second or so.
 *
 * @module
 */

import { TokenBucket } from "../src/core/budget.ts";

/** Limits of one relay. Units are in the names; every field has a default in {@link DEFAULT_RELAY_LIMITS}. */
export interface RelayLimits {
  /** Open connections (accepted links, handshaking or not) across all addresses. */
  connectionsMax: number;
  /** Open connections from one IP address. */
  connectionsPerIpMax: number;
  /** New connections per second from one IP address (token bucket, burst of the same size). */
  connectionsPerIpPerSecond: number;
  /**
   * Bytes per second one link may send us (token bucket; burst one second's worth, at least one
   * frame). Frames over it are dropped; a link that keeps going over is closed.
   */
  linkBytesPerSecondMax: number;
  /** Bytes of one frame, in either direction; a larger frame closes the link. Also the engine's. */
  frameBytesMax: number;
  /** FORWARD frames per second one link may have us forward (token bucket, burst the same). */
  forwardsPerSecondMax: number;
}

/**
 * The defaults:
 * - `connectionsMax` 10,000 — well under a Durable Object's 32,768 WebSockets and a process's file limit;
 * - `connectionsPerIpMax` 32 — a household or office behind one NAT with several tabs each;
 * - `connectionsPerIpPerSecond` 10 — reconnect storms after a relay restart stay admissible;
 * - `linkBytesPerSecondMax` 1,048,576 (1 MiB/s) — far above gossip needs, far below a flood;
 * - `frameBytesMax` 1,048,576 (1 MiB) — the engine's default;
 * - `forwardsPerSecondMax` 200 — signalling and small messages, not bulk transfer.
 *
 * The handshake's own deadline is the node's `handshakeTimeoutMs` (10,000 ms by default).
 *
 * @example
 * ```ts
 * import { DEFAULT_RELAY_LIMITS } from "grapevine/relay";
 * console.log(DEFAULT_RELAY_LIMITS.connectionsPerIpMax); // 32
 * ```
 */
export const DEFAULT_RELAY_LIMITS: Readonly<RelayLimits> = Object.freeze({
  connectionsMax: 10_000,
  connectionsPerIpMax: 32,
  connectionsPerIpPerSecond: 10,
  linkBytesPerSecondMax: 1_048_576,
  frameBytesMax: 1_048_576,
  forwardsPerSecondMax: 200,
});

/** Fills in defaults; throws `RangeError` for a limit that is not a finite positive number. */
export function resolveRelayLimits(partial: Partial<RelayLimits> = {}): RelayLimits {
  const limits = { ...DEFAULT_RELAY_LIMITS } as RelayLimits;
  for (const key of Object.keys(DEFAULT_RELAY_LIMITS) as (keyof RelayLimits)[]) {
    const v = partial[key];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new RangeError(`${key} must be a finite positive number, got ${String(v)}`);
    limits[key] = v;
  }
  return limits;
}

// The engine's token bucket: a relay's budgets (bytes and forwards a link, log lines) are the same kind.
export { TokenBucket };

/** Why a connection was refused: a metrics label and the close reason the peer sees. */
export interface Refusal {
  label: "connections" | "per_ip" | "per_ip_rate" | "closed";
  reason: string;
}

/**
 * The HTTP status a refusal is answered with when it comes before the WebSocket upgrade
 * ({@link AdmissionGate.screen}): 503 when the relay is full or closing, 429 when the address is.
 */
export function refusalStatus(r: Refusal): 429 | 503 {
  return r.label === "per_ip" || r.label === "per_ip_rate" ? 429 : 503;
}

/** The headers of a refusal answered in HTTP: when to try again, and that the body is the reason as text. */
export const REFUSAL_HEADERS: Readonly<Record<string, string>> = Object.freeze({ "retry-after": "1", "content-type": "text/plain; charset=utf-8" });

/** A refusal as a fetch-style HTTP response (Deno, Bun, Workers): its status, {@link REFUSAL_HEADERS}, the reason as text. */
export function refusalResponse(r: Refusal): Response {
  return new Response(`${r.reason}\n`, { status: refusalStatus(r), headers: REFUSAL_HEADERS });
}

export const REFUSALS = {
  connections: { label: "connections", reason: "too many connections" },
  perIp: { label: "per_ip", reason: "too many connections from this address" },
  perIpRate: { label: "per_ip_rate", reason: "connecting too fast" },
  closed: { label: "closed", reason: "relay closing" },
} as const satisfies Record<string, Refusal>;

interface AddressState {
  open: number;
  attempts: TokenBucket;
  /** When `admit` last refused this address (-Infinity: not lately). */
  refusedAt: number;
}

/** How often, at most, the per-address table is swept of idle entries. */
const SWEEP_INTERVAL_MS = 1000;

/**
 * How long after `admit` refused an address its further attempts may be refused before the
 * upgrade ({@link AdmissionGate.screen}), in ms.
 */
export const SCREEN_MS = 1000;

/**
 * Decides whether a connection from `ip` may proceed, and counts the open ones.
 *
 * @example
 * ```ts
 * const gate = new AdmissionGate(resolveRelayLimits({ connectionsPerIpMax: 1 }));
 * gate.admit("10.0.0.1", 0); // null: admitted
 * gate.admit("10.0.0.1", 0); // REFUSALS.perIp
 * gate.release("10.0.0.1");
 * ```
 */
export class AdmissionGate {
  #addresses = new Map<string, AddressState>();
  #open = 0;
  #sweptAt = -Infinity;

  constructor(readonly limits: RelayLimits) {}

  /** Open connections. */
  get open(): number {
    return this.#open;
  }

  /** Admits a connection (the caller must {@link release} it later) or says why not. */
  admit(ip: string, now: number): Refusal | null {
    this.#sweep(now);
    const state = this.#stateOf(ip, now);
    const refusal = this.#refusal(state, now, true);
    if (refusal) {
      state.refusedAt = now;
      return refusal;
    }
    state.open++;
    this.#open++;
    return null;
  }

  /**
   * Whether an attempt from `ip` may be refused before its transport is set up — before the
   * WebSocket upgrade, its hash and its socket's set-up: only while `admit` refused the address
   * within the last {@link SCREEN_MS} and would refuse it now. So the first refusal of a burst
   * still reaches the peer as a CLOSE frame with its reason, and the rest of the burst costs an
   * HTTP answer each. Changes nothing (no token is spent): an attempt it lets through is `admit`'s
   * to decide.
   */
  screen(ip: string, now: number): Refusal | null {
    const state = this.#addresses.get(ip);
    if (!state || now - state.refusedAt >= SCREEN_MS) return null;
    return this.#refusal(state, now, false);
  }

  /** Why an attempt of `state`'s address is refused now, or null; `spend`: it takes a token if one is there. */
  #refusal(state: AddressState, now: number, spend: boolean): Refusal | null {
    if (this.#open >= this.limits.connectionsMax) return REFUSALS.connections;
    // The rate is checked first so a refused attempt still spends a token: hammering stays refused.
    if (spend ? !state.attempts.take(now) : state.attempts.room(now) < 1) return REFUSALS.perIpRate;
    if (state.open >= this.limits.connectionsPerIpMax) return REFUSALS.perIp;
    return null;
  }

  /**
   * Counts a connection that was admitted before a restart and is back (no rate check: it is not
   * a new one). It may take the counts past their limits, once; new connections are then refused
   * until enough close.
   */
  restore(ip: string): void {
    this.#stateOf(ip, -Infinity).open++;
    this.#open++;
  }

  /** `ip`'s entry, made (its bucket full at `filledAt`) if it has none. */
  #stateOf(ip: string, filledAt: number): AddressState {
    let state = this.#addresses.get(ip);
    if (!state) {
      const rate = this.limits.connectionsPerIpPerSecond;
      state = { open: 0, attempts: new TokenBucket(rate, Math.max(1, rate), filledAt), refusedAt: -Infinity };
      this.#addresses.set(ip, state);
    }
    return state;
  }

  /** A connection admitted for `ip` has closed. */
  release(ip: string): void {
    const state = this.#addresses.get(ip);
    if (!state || state.open === 0) return;
    state.open--;
    this.#open--;
  }

  /** Addresses tracked (open connections or a bucket still refilling). */
  get addressCount(): number {
    return this.#addresses.size;
  }

  #sweep(now: number): void {
    if (now - this.#sweptAt < SWEEP_INTERVAL_MS) return;
    this.#sweptAt = now;
    for (const [ip, state] of this.#addresses) if (state.open === 0 && state.attempts.isFull(now) && now - state.refusedAt >= SCREEN_MS) this.#addresses.delete(ip);
  }
}
