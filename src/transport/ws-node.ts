/**
 * Node's side of WebSockets through the `ws` package (`grapevine/node`): the receive limits every
 * `ws` socket we open or accept is given, and `ws`'s WebSocket as a {@link WebSocketConstructor}
 * for {@link dial} on Node 20. Node ≥ 22, Deno, Bun and browsers have a global `WebSocket` and
 * need none of this. This file and `relay/node.ts` are the only library files that import `ws`, so
 * nothing else in the library pulls it into a bundle.
 *
 * Limits, all enforced by `ws` before a message is assembled (it closes the socket: 1009 for size,
 * 1008 for the counts):
 * - `maxPayload`: one message, that is one frame of ours, is at most `frameBytesMax` bytes;
 * - `maxFragments`: the WebSocket frames one message may be split into. Every fragment costs a
 *   buffer object however small it is, so a peer sending a million one-byte fragments would make
 *   us hold a million of them; honest senders (browsers split messages above about 128 KiB) use
 *   fragments far larger than {@link WS_PART_BYTES_MIN};
 * - `maxBufferedChunks`: socket reads held while a message is incomplete; the same reasoning for
 *   a peer that trickles a message in one-byte TCP segments;
 * - no compression: an inflated message could grow past the cap only to be refused.
 * They need `ws` ≥ 8.22.2 (earlier versions have no such limits or skip empty fragments); the
 * package depends on ^8.23.0, the version tested.
 *
 * @module
 */

import WebSocket from "ws";
import type { WebSocketConstructor } from "./websocket.ts";

/** The last message framed by {@link preparedFrameWriter}: the next socket given the same bytes reuses it. */
let prepared: { bytes: Uint8Array; frame: Buffer } | null = null;

/**
 * One unmasked binary WebSocket frame (FIN set) carrying `bytes`, as a server sends it; built once
 * for consecutive calls with the same `bytes` object — a broadcast hands one encoding to every link,
 * one after the other — so N sockets cost one header and one copy, not N. One frame is kept.
 */
export function serverFrame(bytes: Uint8Array): Buffer {
  if (prepared !== null && prepared.bytes === bytes) return prepared.frame;
  const length = bytes.length;
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x82; // FIN, binary
  if (length < 126) frame[1] = length;
  else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.set(bytes, header);
  prepared = { bytes, frame };
  return frame;
}

/** The parts of a server-side `ws` socket a prepared write uses (its TCP socket is not public API). */
interface WsInternals {
  readyState: number;
  extensions: string;
  _socket?: { write(chunk: Uint8Array): boolean; cork(): void; uncork(): void; destroyed?: boolean } | null;
}

type CorkedSocket = NonNullable<WsInternals["_socket"]>;
/** Sockets corked in this turn of the event loop; one `setImmediate` uncorks them all (not one per socket). */
const corkedThisTurn = new Set<CorkedSocket>();
function uncorkAll(): void {
  for (const socket of corkedThisTurn) socket.uncork();
  corkedThisTurn.clear();
}

/**
 * A `write` for `websocketLink` on a socket accepted by a `ws` server: writes the message's frame
 * ({@link serverFrame}, shared by every socket it goes to) straight to the TCP socket, the way
 * prepared messages work elsewhere, instead of having `ws` frame it again for each socket. Only for
 * server sockets (client frames must be masked) with no extension negotiated: then `ws` queues
 * nothing of its own (it queues only to compress), so bytes written here keep their order with its
 * own writes (pings, close) and count in its `bufferedAmount`. The socket is corked from its first
 * frame in a turn of the event loop until the next (`setImmediate`): the frames of every message a
 * relay handles in one turn leave in one system call per socket. Anything else returns false and
 * `ws.send` does the work.
 *
 * @example
 * ```ts
 * wss.on("connection", (ws) => node.connect(websocketLink(ws, { write: preparedFrameWriter(ws) })));
 * ```
 */
export function preparedFrameWriter(ws: WebSocket): (bytes: Uint8Array) => boolean {
  const internals = ws as unknown as WsInternals;
  return (bytes) => {
    const socket = internals._socket;
    if (internals.readyState !== WebSocket.OPEN || internals.extensions !== "" || !socket || socket.destroyed) return false;
    if (!corkedThisTurn.has(socket)) {
      // Frames written in this turn of the event loop leave in one write (one system call).
      socket.cork();
      if (corkedThisTurn.size === 0) setImmediate(uncorkAll);
      corkedThisTurn.add(socket);
    }
    socket.write(serverFrame(bytes));
    return true;
  };
}

/**
 * The smallest average part, in bytes, of a largest-size message that the fragment and read-chunk
 * limits still admit: a message of `frameBytesMax` bytes may arrive in `frameBytesMax / 512` parts.
 */
export const WS_PART_BYTES_MIN = 512;

/** What {@link wsReceiveLimits} returns: options of `ws`'s `WebSocket` and `WebSocketServer`. */
export interface WsReceiveLimits {
  maxPayload: number;
  maxFragments: number;
  maxBufferedChunks: number;
  perMessageDeflate: false;
}

/**
 * The receive limits of a `ws` socket that carries frames of at most `frameBytesMax` bytes.
 *
 * @example
 * ```ts
 * import { WebSocketServer } from "ws";
 * const wss = new WebSocketServer({ port: 0, ...wsReceiveLimits(1_048_576) });
 * // maxPayload 1,048,576; maxFragments 2,048; maxBufferedChunks 2,112
 * ```
 */
export function wsReceiveLimits(frameBytesMax: number): WsReceiveLimits {
  if (!Number.isSafeInteger(frameBytesMax) || frameBytesMax < 1) throw new RangeError("wsReceiveLimits: frameBytesMax must be a positive integer");
  const parts = Math.ceil(frameBytesMax / WS_PART_BYTES_MIN);
  return {
    maxPayload: frameBytesMax,
    maxFragments: Math.max(16, parts),
    // One more read per part at most, plus a few for the frame headers and the next message.
    maxBufferedChunks: parts + 64,
    perMessageDeflate: false,
  };
}

/**
 * A `ws` WebSocket class whose sockets take messages of at most `maxPayload` bytes, in a bounded
 * number of fragments and reads ({@link wsReceiveLimits}).
 *
 * @example
 * ```ts
 * import { createNode, dial } from "grapevine";
 * import { nodeWebSocketWith } from "grapevine/node";
 * const node = await createNode({ frameBytesMax: 65_536 });
 * dial(node, "ws://127.0.0.1:8080/", { WebSocket: nodeWebSocketWith(65_536) });
 * ```
 */
export function nodeWebSocketWith(maxPayload: number): WebSocketConstructor {
  if (!Number.isSafeInteger(maxPayload) || maxPayload < 1) throw new RangeError("nodeWebSocketWith: maxPayload must be a positive integer");
  const limits = wsReceiveLimits(maxPayload);
  return class NodeWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, limits);
    }
  };
}

/**
 * The `ws` WebSocket with `maxPayload` 1 MiB (the default `frameBytesMax`), for
 * `dial(node, url, { WebSocket: nodeWebSocket })` on Node 20.
 *
 * @example
 * ```ts
 * import { createNode, dial } from "grapevine";
 * import { nodeWebSocket } from "grapevine/node";
 * const node = await createNode({ network: "lobby" });
 * const dialer = dial(node, "ws://127.0.0.1:8080/", { WebSocket: nodeWebSocket });
 * ```
 */
export const nodeWebSocket: WebSocketConstructor = nodeWebSocketWith(1_048_576);
