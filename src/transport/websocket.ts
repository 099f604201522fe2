/**
 * A {@link Link} over any WHATWG-shaped WebSocket: the browsers', Deno's, Bun's, Node ≥ 22's global
 * one, or the `ws` package's class on Node 20 (same `binaryType`, `send`, `bufferedAmount`,
 * `onmessage`, `onclose` surface). No runtime is detected here: the caller brings the socket.
 *
 * Invariants: one WebSocket message is one frame; only binary messages count (a text message closes
 * the link with 1003), and a message above `frameBytesMax` closes it with 1009 before anyone looks
 * at its bytes. A socket still connecting is fine: frames sent before it opens wait in a bounded
 * queue, which counts towards `bufferedAmount`. `onclose` fires exactly once.
 *
 * @module
 */

import { localError } from "../errors.ts";
import { clipUtf8, CLOSE_REASON_BYTES_MAX } from "../wire/link-frames.ts";
import type { Link } from "./link.ts";

/**
 * The part of a WebSocket this module uses; browsers', Deno's, Bun's, undici's and `ws`'s all fit.
 *
 * @example
 * ```ts
 * const socket: WebSocketLike = new WebSocket("wss://relay.example/");
 * ```
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}

/**
 * A WebSocket constructor: the global `WebSocket`, or `ws`'s class (see `nodeWebSocket`).
 *
 * @example
 * ```ts
 * const Ctor: WebSocketConstructor = globalThis.WebSocket;
 * dial(node, "wss://relay.example/", { WebSocket: Ctor });
 * ```
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/**
 * Options of {@link websocketLink}.
 *
 * @example
 * ```ts
 * websocketLink(socket, { frameBytesMax: 65_536, connectQueueBytesMax: 262_144 });
 * ```
 */
export interface WebSocketLinkOptions {
  /** Largest message accepted, in bytes; larger ones close the link with 1009. Default 1 MiB. */
  frameBytesMax?: number;
  /** Bytes that may wait for a connecting socket to open; beyond, the link closes. Default 4 × frameBytesMax. */
  connectQueueBytesMax?: number;
  /**
   * A faster way to the wire for an open socket, tried before `socket.send`: it writes `bytes` as
   * one binary message and returns true, or returns false to leave it to `send`. The Node relay
   * passes one that writes a frame built once per message for all of its sockets
   * (`preparedFrameWriter` in `ws-node.ts`).
   */
  write?: (bytes: Uint8Array) => boolean;
}

/** WebSocket ready states (the WHATWG numbers; `ws` uses the same). */
const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

/**
 * WebSocket close codes used here (RFC 6455 §7.4.1). Where the runtime refuses them from an
 * application (WHATWG sockets allow only 1000 and 3000–4999), 4003 and 4009 are sent instead.
 *
 * @example
 * ```ts
 * socket.addEventListener("close", (e) => e.code === WS_CLOSE.MESSAGE_TOO_BIG && console.log("frame too large"));
 * ```
 */
export const WS_CLOSE = Object.freeze({ NORMAL: 1000, UNSUPPORTED_DATA: 1003, MESSAGE_TOO_BIG: 1009 });

/**
 * Wraps `socket` as a {@link Link}. Takes over its `binaryType` (set to `"arraybuffer"`) and its
 * `onopen`/`onmessage`/`onclose`/`onerror` handlers; add your own with `addEventListener`.
 *
 * @example
 * ```ts
 * import { createNode, websocketLink } from "grapevine";
 * const node = await createNode({ network: "lobby" });
 * const { peer } = await node.connect(websocketLink(new WebSocket("wss://relay.example/"), { frameBytesMax: 1 << 20 }));
 * ```
 */
export function websocketLink(socket: WebSocketLike, options: WebSocketLinkOptions = {}): Link {
  return new WebSocketLink(socket, options);
}

class WebSocketLink implements Link {
  onmessage: ((bytes: Uint8Array) => void) | null = null;
  onclose: ((reason: string) => void) | null = null;
  #socket: WebSocketLike;
  #frameBytesMax: number;
  #queueBytesMax: number;
  #write: ((bytes: Uint8Array) => boolean) | null;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #closing: string | null = null;
  #closed = false;

  constructor(socket: WebSocketLike, options: WebSocketLinkOptions) {
    const max = options.frameBytesMax ?? 1_048_576;
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError("websocketLink: frameBytesMax must be a positive integer");
    this.#socket = socket;
    this.#frameBytesMax = max;
    this.#queueBytesMax = options.connectQueueBytesMax ?? 4 * max;
    this.#write = options.write ?? null;
    socket.binaryType = "arraybuffer";
    socket.onopen = () => this.#flush();
    socket.onmessage = (event: { data: unknown }) => this.#onMessage(event.data);
    socket.onclose = (event: { code?: number; reason?: string }) => this.#onClose(event);
    // An error ends the link at once: the spec has a close event follow, but not every runtime
    // sends one (Node 22's undici fires only `error` when a connection is refused). Having a
    // listener also keeps `ws` from throwing the error.
    socket.onerror = () => this.#onError();
    if (socket.readyState === CLOSED) queueMicrotask(() => this.#onClose({ code: 1006, reason: "socket already closed" }));
  }

  get bufferedAmount(): number {
    return this.#socket.bufferedAmount + this.#queuedBytes;
  }

  send(bytes: Uint8Array): void {
    if (this.#closing !== null || this.#closed || this.#socket.readyState > OPEN) throw localError("LINK_CLOSED", "websocket link is closed");
    if (this.#socket.readyState === CONNECTING) {
      if (this.#queuedBytes + bytes.length > this.#queueBytesMax) {
        this.#closeWith(WS_CLOSE.NORMAL, `more than ${this.#queueBytesMax} bytes queued before the socket opened`);
        throw localError("LINK_BACKPRESSURE", "websocket never opened and its queue is full");
      }
      this.#queue.push(bytes);
      this.#queuedBytes += bytes.length;
      return;
    }
    if (this.#write?.(bytes)) return;
    this.#socket.send(bytes);
  }

  close(reason = "closed"): void {
    this.#closeWith(WS_CLOSE.NORMAL, reason);
  }

  #flush(): void {
    const queued = this.#queue;
    this.#queue = [];
    this.#queuedBytes = 0;
    if (this.#closing !== null) return;
    for (const bytes of queued) this.#socket.send(bytes);
  }

  #onMessage(data: unknown): void {
    if (this.#closing !== null || this.#closed) return;
    if (typeof data === "string") {
      this.#closeWith(WS_CLOSE.UNSUPPORTED_DATA, "text messages are not part of the protocol");
      return;
    }
    let bytes: Uint8Array;
    if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else {
      this.#closeWith(WS_CLOSE.UNSUPPORTED_DATA, "message is neither text nor an ArrayBuffer");
      return;
    }
    if (bytes.length > this.#frameBytesMax) {
      this.#closeWith(WS_CLOSE.MESSAGE_TOO_BIG, `frame of ${bytes.length} bytes exceeds frameBytesMax ${this.#frameBytesMax}`);
      return;
    }
    this.onmessage?.(bytes);
  }

  /** Closes the socket; the link reports `reason`, whatever the socket's close event says later. */
  #closeWith(code: number, reason: string): void {
    if (this.#closing !== null || this.#closed) return;
    this.#closing = reason;
    this.#queue = [];
    this.#queuedBytes = 0;
    const wire = clipUtf8(reason, CLOSE_REASON_BYTES_MAX);
    try {
      this.#socket.close(code, wire);
    } catch {
      // WHATWG sockets accept only 1000 and 3000–4999 from the application: 1009 becomes 4009.
      try {
        this.#socket.close(code === WS_CLOSE.NORMAL ? code : 4000 + (code % 1000), wire);
      } catch {
        this.#socket.close();
      }
    }
  }

  #onError(): void {
    if (this.#closed) return;
    const connecting = this.#socket.readyState === CONNECTING;
    this.#closeWith(WS_CLOSE.NORMAL, this.#closing ?? (connecting ? "websocket failed to connect" : "websocket error"));
    this.#onClose({ code: 1006 });
  }

  #onClose(event: { code?: number; reason?: string }): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#queuedBytes = 0;
    const reason = this.#closing ?? (event.reason ? `${event.reason} (code ${event.code})` : `websocket closed (code ${event.code})`);
    this.onclose?.(reason);
  }
}
