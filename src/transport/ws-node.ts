/**
 * Node 20 convenience: the `ws` package's WebSocket as a {@link WebSocketConstructor} for
 * {@link dial}, with a payload cap so an oversize message is refused by `ws` (close code 1009)
 * before it is buffered. Node ≥ 22, Deno, Bun and browsers have a global `WebSocket` and need none
 * of this. This file and `relay/node.ts` are the only ones that import `ws` (an optional peer
 * dependency), so nothing else in the library pulls it into a bundle.
 *
 * @module
 */

import WebSocket from "ws";
import type { WebSocketConstructor } from "./websocket.ts";

/**
 * A `ws` WebSocket class whose sockets accept messages of at most `maxPayload` bytes and do not
 * negotiate compression (a compressed frame could inflate past the cap only to be refused).
 *
 * @example
 * ```ts
 * import { createNode, dial } from "grapevine";
 * import { nodeWebSocketWith } from "./ws-node.ts";
 * const node = await createNode({ frameBytesMax: 65_536 });
 * dial(node, "ws://127.0.0.1:8080/", { WebSocket: nodeWebSocketWith(65_536) });
 * ```
 */
export function nodeWebSocketWith(maxPayload: number): WebSocketConstructor {
  if (!Number.isSafeInteger(maxPayload) || maxPayload < 1) throw new RangeError("nodeWebSocketWith: maxPayload must be a positive integer");
  return class NodeWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { maxPayload, perMessageDeflate: false });
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
 * import { nodeWebSocket } from "./ws-node.ts";
 * const node = await createNode({ network: "lobby" });
 * const dialer = dial(node, "ws://127.0.0.1:8080/", { WebSocket: nodeWebSocket });
 * ```
 */
export const nodeWebSocket: WebSocketConstructor = nodeWebSocketWith(1_048_576);
