/**
 * What follows from the options for every frame: the decoding limits a frame is read within, and
 * the penalty points each kind of provable misbehaviour costs a link (PROTOCOL.md §6).
 *
 * @module
 */

import type { ErrorCode } from "../errors.ts";
import type { FrameLimits } from "../wire/frames.ts";
import type { EngineOptions } from "./options.ts";

/** Penalty points per kind of provable misbehaviour (PROTOCOL.md §6). */
export const PENALTY: Partial<Record<ErrorCode, number>> = {
  WIRE_FRAME_TOO_LARGE: 50,
  WIRE_MALFORMED: 25,
  WIRE_LIMIT: 25,
  WIRE_SHAPE: 25,
  CRYPTO_BAD_SIGNATURE: 50,
  STATE_BAD_PROOF: 50,
  STATE_CAP_EXCEEDED: 50,
  STATE_STALE: 10,
};

/** Limits of frozen options objects, by identity (see `frameLimitsFor`). */
const limitsOfFrozen = new WeakMap<EngineOptions, FrameLimits>();

/**
 * The frame decoding limits that follow from engine options. Frozen options (one resolved object
 * shared by many engines, as in a simulation: `resolveOptions`) get one frozen limits object, the
 * same each time, instead of one per engine.
 */
export function frameLimitsFor(o: EngineOptions): FrameLimits {
  if (!Object.isFrozen(o)) return limitsOf(o);
  let limits = limitsOfFrozen.get(o);
  if (!limits) limitsOfFrozen.set(o, (limits = Object.freeze(limitsOf(o))));
  return limits;
}

function limitsOf(o: EngineOptions): FrameLimits {
  return {
    frameBytesMax: o.frameBytesMax,
    leafBytesMax: o.valueBytesMax + o.keyBytesMax + 32,
    // Accept longer digests than this node sends: peers may switch to summaries at another size.
    digestRowsMax: Math.max(o.digestEntriesMax, 1024),
    deltaOriginsMax: o.deltaOriginsMax,
    entriesMax: o.keysPerOriginMax,
    treeNodesMax: o.treeNodesMax,
    messageBodyBytesMax: o.messagePayloadBytesMax + o.topicBytesMax + 96,
    idsMax: o.idsPerFrameMax,
    scopesMax: o.scopesPerLinkMax,
  };
}
