/**
 * `bench size` entry "presence+all-parts": presence with the package's main `createNode`, whose
 * nodes run every part (membership, broadcast and the digest trie) — the default an app gets without
 * choosing.
 *
 * @module
 */
import { createNode } from "../../src/runtime/create.ts";
import { dial } from "../../src/runtime/dial.ts";

/** Joins `room` through the relay at `url`. */
export async function start(url: string, room: string, state: unknown) {
  const node = await createNode({ network: "size" });
  dial(node, url);
  return { node, room: node.room(room, { presence: state }) };
}
