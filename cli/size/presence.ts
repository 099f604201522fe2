/**
 * `bench size` entry "presence": what a tab that only shows presence imports — a node, a dialer to
 * a relay (the browser's WebSocket) and a room.
 *
 * @module
 */
import { createNode } from "../../src/runtime/node.ts";
import { dial } from "../../src/runtime/dial.ts";

/** Joins `room` through the relay at `url`. */
export async function start(url: string, room: string, state: unknown) {
  const node = await createNode({ network: "size" });
  dial(node, url);
  return { node, room: node.room(room, { presence: state }) };
}
