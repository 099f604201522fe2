/**
 * The public options and statistics of direct links ({@link DirectLinksOptions},
 * {@link DirectLinksStats}), with their defaults and units, and the check of a numeric option.
 *
 * @module
 */

import type { RTCIceServerLike, RTCPeerConnectionConstructor, WebRTCLinkOptions } from "../transport/webrtc.ts";

/**
 * Options of {@link attachDirectLinks}.
 *
 * @example
 * ```ts
 * attachDirectLinks(node, {
 *   RTCPeerConnection,                                   // browsers: the global one
 *   max: 4,
 *   iceServers: [{ urls: "stun:stun.example.org:3478" }, { urls: "turn:turn.example.org", username: "u", credential: "p" }],
 *   pageHide: window,
 * });
 * ```
 */
export interface DirectLinksOptions {
  /** The `RTCPeerConnection` constructor: `globalThis.RTCPeerConnection`, or `node-datachannel/polyfill`'s. */
  RTCPeerConnection: RTCPeerConnectionConstructor;
  /** Most direct links (and attempts) at once; also the most `RTCPeerConnection`s. Default 4. */
  max?: number;
  /** STUN and TURN servers. Default none: enough on one host or one LAN, not across NATs. */
  iceServers?: RTCIceServerLike[];
  /** How often peers are looked at for new attempts, in ms. Default 1,000. */
  probeIntervalMs?: number;
  /** A WANT not answered within this many ms is given up. Default 5,000. */
  answerTimeoutMs?: number;
  /** An attempt whose link is not authenticated within this many ms is closed. Default 20,000. */
  setupTimeoutMs?: number;
  /** First delay before a peer is tried again after a failed attempt or a dropped link, in ms (doubles per failure). Default 2,000. */
  retryMinMs?: number;
  /** Longest delay between attempts to one peer, in ms. Default 60,000. */
  retryMaxMs?: number;
  /** Signals whose `sentAtMs` is further than this from the local wall clock are dropped, in ms. Default 30,000. */
  signalTtlMs?: number;
  /** Which peers may link directly (both ways). Default: every peer. */
  accept?: (peer: string) => boolean;
  /** On this target's `pagehide` (pass `window` in a page), every peer connection is closed and the manager stops. */
  pageHide?: EventTarget;
  /** Data channel link options (`chunkBytes`, `disconnectedCloseMs`); `frameBytesMax` is the node's. */
  link?: Omit<WebRTCLinkOptions, "frameBytesMax">;
  /** Wall clock in ms since the Unix epoch, for `sentAtMs`. Default `Date.now`. */
  wallClock?: () => number;
}

/**
 * What {@link DirectLinks.stats} reports.
 *
 * @example
 * ```ts
 * const { links, bytes } = direct.stats();
 * console.log(links.webrtc, "direct;", bytes.relay.out, "bytes sent through relays");
 * ```
 */
export interface DirectLinksStats {
  /** `webrtc`: authenticated direct links; `websocket`: every other link (to relays, or dialed peers); `relayed`: peers known but not linked, reachable through a relay only. */
  links: { websocket: number; webrtc: number; relayed: number };
  /** Frame bytes since attach over direct links, and over every other link (through relays, mostly). */
  bytes: { direct: { in: number; out: number }; relay: { in: number; out: number } };
  /** `RTCPeerConnection`s open now, and created since attach. */
  peerConnections: { open: number; created: number };
  /** Attempts started (offers made or answered), links authenticated, attempts that failed or timed out. */
  attempts: number;
  established: number;
  failed: number;
  /** Signals sent, received (verified), and dropped (malformed, forged, stale, replayed, or for a session we do not hold). */
  signals: { sent: number; received: number; dropped: number };
}

/** The events of {@link DirectLinks} and their details (`direct.on(type, fn)` hands `fn` the detail). */
export interface DirectEventMap {
  /** A direct link to `peer` is up (authenticated). */
  "direct-up": { peer: string };
  /** A direct link went down. */
  "direct-down": { peer: string; reason: string };
  /** An attempt or probe ended before its link was up. */
  "direct-failed": { peer: string; reason: string };
}

/** `v`, or `fallback` when undefined; a RangeError unless it is a positive finite number. */
export function positiveOption(v: number | undefined, fallback: number, name: string): number {
  const x = v ?? fallback;
  if (typeof x !== "number" || !(x > 0) || !Number.isFinite(x)) throw new RangeError(`attachDirectLinks: ${name} must be a positive number`);
  return x;
}
