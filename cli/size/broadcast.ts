/**
 * `bench size` entry "presence+broadcast": presence plus the broadcast part — room messages
 * (`room.broadcast`, cursors) and the mesh's own publish/subscribe with a validator.
 *
 * @module
 */
import { broadcastPart, createNode, dial } from "../../src/lite/mod.ts";

/** Joins `room` through the relay at `url` and follows `topic`. */
export async function start(url: string, room: string, state: unknown, topic: string) {
  const node = await createNode({ network: "size", parts: { broadcast: broadcastPart } });
  dial(node, url);
  node.validate(topic, (m) => (m.payload === null ? "reject" : "accept"));
  node.subscribe(topic, (m) => console.log(m.origin, m.payload));
  node.publish(topic, { hello: true });
  const r = node.room(room, { presence: state });
  r.broadcast("cursor", { x: 0, y: 0 });
  return r;
}
