/**
 * Keeping a link to another relay: dial its WebSocket URL, hand the link to the relay (which wraps
 * it in its guard and runs the handshake), and when it drops, dial again after an exponential
 * backoff with full jitter. The relay dials its peers itself, rather than through `dial()`, so that
 * those links pass through the same guard as accepted ones (limits, metrics, FORWARD routing).
 *
 * @module
 */

import type { Link } from "../src/transport/link.ts";
import { websocketLink, type WebSocketConstructor, type WebSocketLike } from "../src/transport/websocket.ts";
import { backoffDelay } from "../src/transport/backoff.ts";

/** A peer relay being kept dialed. */
export interface PeerDialer {
  readonly url: string;
  /** An authenticated link to it is up. */
  readonly connected: boolean;
  /**
   * Stops dialing (no retry left pending) and closes the current link, or the attempt under way,
   * with `reason` (default "relay closing").
   */
  close(reason?: string): void;
}

export interface KeepDialedOptions {
  WebSocket: WebSocketConstructor;
  frameBytesMax: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  /** Wraps the link and runs the handshake; resolves to the link in use, or null when it failed. */
  attach(link: Link): Promise<Link | null>;
  /** An attempt failed or the link dropped (`reason`); the next attempt is in `retryInMs`. */
  failed?(reason: string, retryInMs: number): void;
}

/** Dials `url` now and again whenever the link drops, until `close()`. */
export function keepDialed(url: string, options: KeepDialedOptions): PeerDialer {
  let closed = false;
  let connected = false;
  let failures = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let current: Link | null = null;
  /** The link of an attempt whose handshake runs, so that `close()` ends it too. */
  let attempting: Link | null = null;

  const retry = (reason: unknown = "dial failed") => {
    connected = false;
    current = attempting = null;
    if (closed) return;
    const delay = backoffDelay(failures++, options.backoffMinMs, options.backoffMaxMs); // as dial() waits
    options.failed?.(typeof reason === "string" ? reason : reason instanceof Error ? reason.message : "dial failed", delay);
    timer = setTimeout(attempt, delay);
    (timer as { unref?: () => void }).unref?.();
  };

  const attempt = () => {
    timer = null;
    if (closed) return;
    let socket: WebSocketLike;
    try {
      socket = new options.WebSocket(url);
    } catch (e) {
      retry(e);
      return;
    }
    const raw = (attempting = websocketLink(socket, { frameBytesMax: options.frameBytesMax }));
    void options.attach(raw).then((link) => {
      attempting = null;
      if (!link) return retry("handshake failed");
      if (closed) return link.close("relay closing");
      connected = true;
      failures = 0;
      current = link;
      const previous = link.onclose;
      link.onclose = (reason) => {
        previous?.(reason);
        retry(reason);
      };
    }, retry);
  };

  attempt();
  return {
    url,
    get connected() {
      return connected;
    },
    close(reason = "relay closing") {
      closed = true;
      if (timer) clearTimeout(timer);
      (current ?? attempting)?.close(reason);
    },
  };
}
