/**
 * Serving an origin's state to a peer: the delta that brings a peer at (generation, have) up to
 * the signed root this node holds, oldest entries first, each with its inclusion proof. Part of
 * the store (`store.ts`).
 *
 * @module
 */

import type { OriginDeltaWire } from "../wire/frames.ts";
import { firstAbove, type OriginState, type Snapshot } from "./origin.ts";

/**
 * The delta that brings a peer at (`generation`, `have`) up to this node's signed root of an
 * origin, oldest entries first, within `budget` bytes (always at least one entry), or null if the
 * peer is not behind or this node cannot prove the entries. A peer behind the origin's floor gets
 * the full map if it fits `roomForFull` (what is left of the frame), else nothing.
 */
export function deltaOf(st: OriginState, generation: number, have: number, budget: number, roomForFull = budget): { delta: OriginDeltaWire; bytes: number } | null {
  const snap: Snapshot | null = st.servable();
  if (!snap) return null;
  const f = snap.root.fields;
  if (generation > f.generation || (generation === f.generation && have >= f.version)) return null;
  // A peer of this generation behind the floor may hold entries whose tombstones are collected:
  // only the whole map proves they are gone, so it gets the full map or nothing (a peer of
  // another generation, or none, clears what it holds and can take the map in parts).
  const startOver = generation === f.generation && have < f.floor;
  const from = generation === f.generation && !startOver ? have : 0;
  const overhead = snap.root.body.length + 64 + 24;
  const fullBytes = snap.bytes + snap.byKey.length * 8 + overhead;
  if (startOver && fullBytes > roomForFull) return null;
  if (from === 0 && (fullBytes <= budget || startOver)) {
    return {
      delta: {
        rootBody: snap.root.body,
        signature: snap.root.signature,
        from: 0,
        through: f.version,
        full: true,
        entries: snap.byVersion.map((e, i) => ({ leaf: e.leaf, index: snap.keyIndex[i], proof: [] })),
      },
      bytes: fullBytes,
    };
  }
  const entries: OriginDeltaWire["entries"] = [];
  let bytes = overhead;
  let through = f.version;
  for (let i = firstAbove(snap.byVersion, from); i < snap.byVersion.length; i++) {
    const e = snap.byVersion[i];
    const index = snap.keyIndex[i];
    const proof = snap.tree.proof(index);
    const size = e.leaf.length + 33 * proof.length + 12;
    if (entries.length > 0 && bytes + size > budget) {
      through = snap.byVersion[i - 1].version;
      break;
    }
    entries.push({ leaf: e.leaf, index, proof });
    bytes += size;
  }
  return { delta: { rootBody: snap.root.body, signature: snap.root.signature, from, through, full: false, entries }, bytes };
}
