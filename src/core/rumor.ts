/**
 * Rumors: DELTA frames (flagged `RUMOR`) that push hot origins' deltas, under the delta budget. A
 * relay's flush sends rumors of the same origins to many links, each lacking a different set of
 * them (every writing tab lacks every change but its own); each origin's delta is built and encoded
 * once for all of them ({@link BuiltDeltas}), so a flush of k origins to links lacking k different
 * sets costs k deltas and the copying of the frames, not k².
 *
 * @module
 */

import { DELTA_FLAG, encodeDeltaFrame, encodeOriginDelta } from "../wire/frames.ts";
import type { EngineOptions } from "./options.ts";
import type { Store } from "./store.ts";

/** A rumor's frame and the origins it carries. */
export interface Rumor {
  frame: Uint8Array;
  ids: string[];
}

/** An origin's delta as a rumor carries it, and what it counts against the delta budget. */
interface BuiltDelta {
  encoded: Uint8Array;
  bytes: number;
}

/** Deltas built for rumors that share one `fromOf` (one flush), by origin; null: none to send. */
export type BuiltDeltas = Map<string, BuiltDelta | null>;

/**
 * A rumor of the origins among `ids` that `hot` says are hot (each from version `fromOf(id)`) under
 * `options`' delta budget, or null when none fits. Rumors given the same `built` (and `fromOf`)
 * share each origin's delta. `flags`: the frame's (`RUMOR`, with `SERVED` to a client this node serves).
 */
export function buildRumor(
  store: Store,
  options: Readonly<EngineOptions>,
  ids: readonly string[],
  hot: (id: string) => boolean,
  fromOf: (id: string) => number,
  built: BuiltDeltas = new Map(),
  flags: number = DELTA_FLAG.RUMOR,
): Rumor | null {
  let budget = options.deltaBytesMax;
  const frameRoom = options.frameBytesMax - 1024;
  const origins: Uint8Array[] = [];
  const carried: string[] = [];
  const build = (id: string, generation: number, spend: number, room: number): BuiltDelta | null => {
    const d = store.deltaFor(id, generation, fromOf(id), spend, room);
    return d && { encoded: encodeOriginDelta(d.delta), bytes: d.bytes };
  };
  for (const id of ids) {
    const pos = store.position(id);
    if (!hot(id) || !pos || budget <= 0 || origins.length >= options.deltaOriginsMax) continue;
    const room = frameRoom - (options.deltaBytesMax - budget);
    // Built with the whole budget and room, a delta that fits what is left is the one this budget
    // and room would build (a delta is cut short only to fit); one that does not is built anew.
    let d = built.get(id);
    if (d === undefined) built.set(id, (d = build(id, pos.generation, options.deltaBytesMax, frameRoom)));
    if (d && (d.bytes > budget || d.bytes > room)) d = build(id, pos.generation, budget, room);
    if (!d) continue;
    origins.push(d.encoded);
    carried.push(id);
    budget -= d.bytes;
  }
  return origins.length ? { frame: encodeDeltaFrame(flags, origins, 0), ids: carried } : null;
}
