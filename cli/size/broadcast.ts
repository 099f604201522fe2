/**
 * `bench size` entry "presence+broadcast": presence plus the mesh's own publish/subscribe with a
 * validator (room messages already ride on broadcast; this adds the topic API an app calls).
 *
 * @module
 */
import { createNode } from "../../src/runtime/node.ts";
import { dial } from "../../src/runtime/dial.ts";

/** Joins `room` through the relay at `url` and follows `topic`. */
export async function start(url: string, room: string, state: unknown, topic: string) {
  const node = await createNode({ network: "size" });
  dial(node, url);
  node.validate(topic, (m) => (m.payload === null ? "reject" : "accept"));
  node.subscribe(topic, (m) => console.log(m.origin, m.payload));
  node.publish(topic, { hello: true });
  return node.room(room, { presence: state });
}
