/**
 * A demo peer process in its documents: it opens each one's presence room (name, colour, and the
 * `bot` flag that tells pages it is not a tab) and moves a cursor there on a fixed curve, a few
 * times a second, with `room.broadcast` — the same messages a tab sends — so that every room the
 * relay carries has traffic to show.
 *
 * @module
 */

import type { GrapevineNode } from "../../src/runtime/node.ts";
import type { DemoPresence } from "./documents.ts";

/** Cursor messages a second, per room. */
const CURSOR_PER_S = 3;
const COLOURS = ["#d1495b", "#00798c", "#edae49", "#30638e", "#6a4c93", "#2a9d8f", "#e76f51", "#3d5a80"];

/** Opens `docs` as presence rooms of `node`; returns a function that stops the cursors and closes them. */
export function openDocuments(node: GrapevineNode, name: string, docs: string[]): () => void {
  if (docs.length === 0) return () => {};
  const number = Number(/(\d+)$/.exec(name)?.[1] ?? 0);
  const presence: DemoPresence = { name, color: COLOURS[number % COLOURS.length], bot: true };
  const rooms = docs.map((doc) => node.room<DemoPresence>(doc, { presence, user: name }));
  const started = Date.now();
  const timer = setInterval(() => {
    const t = (Date.now() - started) / 1000;
    rooms.forEach((room, i) => {
      // A Lissajous curve, its phase set by the peer and the room: peers never sit on each other.
      const phase = number * 1.3 + i * 2.1;
      room.broadcast("cursor", { x: 0.5 + 0.38 * Math.cos(0.6 * t + phase), y: 0.5 + 0.36 * Math.sin(1.1 * t + phase) });
    });
  }, 1000 / CURSOR_PER_S);
  return () => {
    clearInterval(timer);
    for (const room of rooms) room.close();
  };
}
