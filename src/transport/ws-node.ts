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
