/**
 * `bench size` entry "presence": what a tab that only shows presence imports — a node from
 * `grapevine/lite` with no parts (state sync, scopes and rooms only), a dialer to a relay (the
 * browser's WebSocket) and a room.
 *
 * @module
 */
import { createNode, dial } from "../../src/lite/mod.ts";

/** Joins `room` through the relay at `url`. */
export async function start(url: string, room: string, state: unknown) {
  const node = await createNode({ network: "size" });
  dial(node, url);
  return { node, room: node.room(room, { presence: state }) };
}
