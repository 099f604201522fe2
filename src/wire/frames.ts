/**
 * Gossip frames: the messages nodes exchange over a link. A frame is one CBOR array whose first
 * element is its type number (see PROTOCOL.md). Decoding checks the frame's length first, bounds
 * every array, string and byte string while reading, then validates the shape; anything wrong is a
 * `GrapevineError` with a `WIRE_*` code. A frame of an unknown type decodes to `{ type: "unknown" }`
 * and is ignored by the engine, so newer peers can add types.
 *
 * @module
 */

import { decode, encode, encodeArray } from "./cbor.ts";
import type { DecodeLimits } from "./limits.ts";
import { asArray, asBool, asBytes, asUint } from "./shape.ts";
import { remoteError } from "../errors.ts";
import { SCOPE_ID_BYTES } from "./records.ts";

/** Frame type numbers. */
export const FRAME = Object.freeze({ DIGEST: 1, DELTA: 2, TREE: 3, GOSSIP: 4, IHAVE: 5, GRAFT: 6, PRUNE: 7, EVIDENCE: 32, SUBSCRIBE: 33, SCOPED: 34 });

/** SUBSCRIBE flags. */
export const SUBSCRIBE_FLAG = Object.freeze({
  /** The list is the sender's whole set of scopes (sent when a link comes up), not a change. */
  RESET: 1,
  /**
   * Send me your whole set (a RESET): the sender lost what it knew of this link's subscriptions —
   * a node that took the link over without a handshake (`adopt`, after a restart).
   */
  ASK: 2,
});

/** Digest flags. */
export const DIGEST_FLAG = Object.freeze({
  /** Send me deltas for the origins in scope where you are ahead of this digest. */
  WANT: 1,
  /** Answer with a digest of the origins in scope where I am ahead of you. */
  OFFER: 2,
  /** Only the listed origins are meant; an origin missing from the list says nothing. */
  EXACT: 4,
});

/** Delta flags. */
export const DELTA_FLAG = Object.freeze({
  /** Pushed as a rumor, not in answer to a digest. */
  RUMOR: 1,
  /** On a rumor: the sender serves the receiver (a relay and its tab) and pushes it every change it takes in, at once. */
  SERVED: 2,
});

/** A trie position (see `DigestTrie`): `depth` nibbles of origin prefix read as `index`. */
export interface ScopeWire {
  depth: number;
  index: number;
}

/** One digest row. */
export interface DigestRowWire {
  origin: Uint8Array;
  generation: number;
  have: number;
  /** Present when the sender holds the whole map at `have`: the first 8 bytes of SHA-256 of that signed root body. */
  tag?: Uint8Array;
}

/** `[1, flags, [depth, index], rows | null, [hash, count] | null, id]` */
export interface DigestFrame {
  type: typeof FRAME.DIGEST;
  flags: number;
  /** Chosen by the sender; a delta answering this digest echoes it as `replyTo`. */
  id: number;
  scope: ScopeWire;
  rows: DigestRowWire[] | null;
  summary: { hash: Uint8Array; count: number } | null;
}

/** One entry in a delta: the leaf bytes as the origin encoded them, and its inclusion proof. */
export interface EntryWire {
  leaf: Uint8Array;
  index: number;
  proof: Uint8Array[];
}

/** `[rootBody, signature, from, through, full, entries]` */
export interface OriginDeltaWire {
  rootBody: Uint8Array;
  signature: Uint8Array;
  from: number;
  through: number;
  /** Every entry of the map is present: proofs are omitted, the receiver rebuilds the root. */
  full: boolean;
  entries: EntryWire[];
}

/** `[2, flags, originDeltas, replyTo]` */
export interface DeltaFrame {
  type: typeof FRAME.DELTA;
  flags: number;
  /** The id of the digest this delta answers, or 0 when unasked (a rumor). */
  replyTo: number;
  origins: OriginDeltaWire[];
}

/** One trie node in a descent frame. */
export interface TreeNodeWire {
  depth: number;
  index: number;
  childHashes: Uint8Array;
  childCounts: number[];
}

/** `[3, flags, nodes]` */
export interface TreeFrame {
  type: typeof FRAME.TREE;
  flags: number;
  nodes: TreeNodeWire[];
}

/** `[4, body, signature, hops]`: a broadcast message, eagerly pushed. */
export interface GossipFrame {
  type: typeof FRAME.GOSSIP;
  /** A message body as its origin encoded it (see `records.ts`). */
  body: Uint8Array;
  signature: Uint8Array;
  hops: number;
}

/** `[5, ids]`: message ids this node holds (lazy push). */
export interface IHaveFrame {
  type: typeof FRAME.IHAVE;
  ids: Uint8Array[];
}

/** `[6, ids]`: send me these messages, and push to me eagerly from now on. */
export interface GraftFrame {
  type: typeof FRAME.GRAFT;
  ids: Uint8Array[];
}

/** `[7]`: stop pushing to me eagerly; announcements suffice. */
export interface PruneFrame {
  type: typeof FRAME.PRUNE;
}

/** A signed root as carried: the body bytes exactly as signed, and the signature. */
export interface SignedRootWire {
  body: Uint8Array;
  signature: Uint8Array;
}

/**
 * `[32, [bodyA, signatureA], [bodyB, signatureB]]`: proof that an origin equivocated — two
 * different root bodies it signed for one (generation, version).
 */
export interface EvidenceFrame {
  type: typeof FRAME.EVIDENCE;
  roots: [SignedRootWire, SignedRootWire];
}

/**
 * `[33, flags, add, remove]`: the scopes (rooms, topics) the sender wants to hear, or no longer
 * does; with RESET, `add` is the whole set. Scope ids are 16 bytes.
 */
export interface SubscribeFrame {
  type: typeof FRAME.SUBSCRIBE;
  flags: number;
  add: Uint8Array[];
  remove: Uint8Array[];
}

/** `[34, scope, frame]`: a sync or broadcast frame (its encoded bytes) of one scope. */
export interface ScopedFrame {
  type: typeof FRAME.SCOPED;
  scope: Uint8Array;
  frame: Uint8Array;
}

/** A frame of a type this version does not know. */
export interface UnknownFrame {
  type: "unknown";
  code: number;
}

/** Every frame this module decodes. */
export type Frame = DigestFrame | DeltaFrame | TreeFrame | GossipFrame | IHaveFrame | GraftFrame | PruneFrame | EvidenceFrame | SubscribeFrame | ScopedFrame;

const HASH16 = 16;
/** Bytes of a digest row's root tag. */
const ROOT_TAG_BYTES = 8;
/** Longest root body on the wire (§3.2: seven fields, two of them 32-byte keys and hashes). */
const ROOT_BODY_BYTES_MAX = 256;
const TRIE_DEPTH_MAX = 4;

/** Encodes a frame. */
export function encodeFrame(f: Frame): Uint8Array {
  switch (f.type) {
    case FRAME.DIGEST:
      return encode([
        FRAME.DIGEST,
        f.flags,
        [f.scope.depth, f.scope.index],
        f.rows ? f.rows.map((r) => (r.tag ? [r.origin, r.generation, r.have, r.tag] : [r.origin, r.generation, r.have])) : null,
        f.summary ? [f.summary.hash, f.summary.count] : null,
        f.id,
      ]);
    case FRAME.DELTA:
      return encode([
        FRAME.DELTA,
        f.flags,
        f.origins.map(originDeltaItem),
        f.replyTo,
      ]);
    case FRAME.TREE:
      return encode([FRAME.TREE, f.flags, f.nodes.map((n) => [n.depth, n.index, n.childHashes, n.childCounts])]);
    case FRAME.GOSSIP:
      return encode([FRAME.GOSSIP, f.body, f.signature, f.hops]);
    case FRAME.IHAVE:
    case FRAME.GRAFT:
      return encode([f.type, f.ids]);
    case FRAME.PRUNE:
      return encode([FRAME.PRUNE]);
    case FRAME.EVIDENCE:
      return encode([FRAME.EVIDENCE, ...f.roots.map((r) => [r.body, r.signature])]);
    case FRAME.SUBSCRIBE:
      return encode([FRAME.SUBSCRIBE, f.flags, f.add, f.remove]);
    case FRAME.SCOPED:
      return encode([FRAME.SCOPED, f.scope, f.frame]);
  }
}

/** How one origin's delta is laid out in a DELTA frame. */
function originDeltaItem(o: OriginDeltaWire): unknown[] {
  return [o.rootBody, o.signature, o.from, o.through, o.full, o.entries.map((e) => [e.leaf, e.index, e.proof])];
}

/** One origin's delta as a DELTA frame carries it, for {@link encodeDeltaFrame}. */
export function encodeOriginDelta(o: OriginDeltaWire): Uint8Array {
  return encode(originDeltaItem(o));
}

/**
 * A DELTA frame of origins each encoded by {@link encodeOriginDelta}: the bytes `encodeFrame` makes
 * of the same frame, for a sender that puts one origin's delta in several frames and encodes it once.
 */
export function encodeDeltaFrame(flags: number, origins: readonly Uint8Array[], replyTo: number): Uint8Array {
  return encodeArray([encode(FRAME.DELTA), encode(flags), encodeArray(origins), encode(replyTo)]);
}

/** Limits of frame decoding, derived from the engine's caps. */
export interface FrameLimits {
  frameBytesMax: number;
  /** Largest leaf: key + value + CBOR overhead. */
  leafBytesMax: number;
  /** Most rows in a digest. */
  digestRowsMax: number;
  /** Most origin deltas in a delta frame. */
  deltaOriginsMax: number;
  /** Most entries in one origin delta (keys per origin). */
  entriesMax: number;
  /** Most trie nodes in a descent frame. */
  treeNodesMax: number;
  /** Largest broadcast message body. */
  messageBodyBytesMax: number;
  /** Most ids in an IHAVE or GRAFT frame. */
  idsMax: number;
  /** Most scope ids in one SUBSCRIBE frame (each list). */
  scopesMax: number;
}

function decodeLimits(l: FrameLimits): DecodeLimits {
  return {
    frameBytesMax: l.frameBytesMax,
    depthMax: 6,
    itemsMax: Math.max(65_536, l.digestRowsMax * 4 + 16),
    arrayLengthMax: Math.max(l.digestRowsMax, l.deltaOriginsMax, l.entriesMax, l.treeNodesMax, l.idsMax, l.scopesMax, 64),
    // Known frames hold no maps or text; a newer peer's unknown frames may, within these bounds.
    mapSizeMax: 64,
    textBytesMax: 4096,
    // A SCOPED frame carries a whole frame; nothing is longer than the frame itself anyway.
    bytesLengthMax: Math.max(l.leafBytesMax, l.messageBodyBytesMax, 16 * HASH16, l.frameBytesMax),
  };
}

/** Decodes and validates one frame. Throws `GrapevineError` (`WIRE_*`) on anything malformed. */
export function decodeFrame(bytes: Uint8Array, limits: FrameLimits): Frame | UnknownFrame {
  const raw = asArray(decode(bytes, decodeLimits(limits)), "frame", 1, 16);
  const type = asUint(raw[0], "frame.type");
  switch (type) {
    case FRAME.DIGEST: {
      const a = asArray(raw, "digest", 6, 6);
      const scope = decodeScope(a[2], "digest.scope");
      const rows = a[3] === null ? null : asArray(a[3], "digest.rows", 0, limits.digestRowsMax).map((r, i) => {
        const row = asArray(r, `digest.rows[${i}]`, 3, 4);
        const out: DigestRowWire = {
          origin: asBytes(row[0], `digest.rows[${i}].origin`, 32),
          generation: asUint(row[1], `digest.rows[${i}].generation`),
          have: asUint(row[2], `digest.rows[${i}].have`),
        };
        if (row.length === 4) out.tag = asBytes(row[3], `digest.rows[${i}].tag`, ROOT_TAG_BYTES);
        return out;
      });
      let summary = null;
      if (a[4] !== null) {
        const s = asArray(a[4], "digest.summary", 2, 2);
        summary = { hash: asBytes(s[0], "digest.summary.hash", HASH16), count: asUint(s[1], "digest.summary.count") };
      }
      return { type: FRAME.DIGEST, flags: asUint(a[1], "digest.flags", 0xff), scope, rows, summary, id: asUint(a[5], "digest.id") };
    }
    case FRAME.DELTA: {
      const a = asArray(raw, "delta", 4, 4);
      const origins = asArray(a[2], "delta.origins", 0, limits.deltaOriginsMax).map((o, i) => {
        const p = `delta.origins[${i}]`;
        const d = asArray(o, p, 6, 6);
        return {
          rootBody: asBytes(d[0], `${p}.rootBody`, undefined, ROOT_BODY_BYTES_MAX),
          signature: asBytes(d[1], `${p}.signature`, 64),
          from: asUint(d[2], `${p}.from`),
          through: asUint(d[3], `${p}.through`),
          full: asBool(d[4], `${p}.full`),
          entries: asArray(d[5], `${p}.entries`, 0, limits.entriesMax).map((e, j) => {
            const x = asArray(e, `${p}.entries[${j}]`, 3, 3);
            return {
              leaf: asBytes(x[0], `${p}.entries[${j}].leaf`, undefined, limits.leafBytesMax),
              index: asUint(x[1], `${p}.entries[${j}].index`),
              proof: asArray(x[2], `${p}.entries[${j}].proof`, 0, 32).map((h, k) =>
                asBytes(h, `${p}.entries[${j}].proof[${k}]`, 32)
              ),
            };
          }),
        };
      });
      return { type: FRAME.DELTA, flags: asUint(a[1], "delta.flags", 0xff), origins, replyTo: asUint(a[3], "delta.replyTo") };
    }
    case FRAME.TREE: {
      const a = asArray(raw, "tree", 3, 3);
      const nodes = asArray(a[2], "tree.nodes", 0, limits.treeNodesMax).map((n, i) => {
        const x = asArray(n, `tree.nodes[${i}]`, 4, 4);
        const scope = decodeScope([x[0], x[1]], `tree.nodes[${i}]`);
        if (scope.depth >= TRIE_DEPTH_MAX) throw remoteError("WIRE_SHAPE", `tree.nodes[${i}].depth: buckets have no children`);
        return {
          ...scope,
          childHashes: asBytes(x[2], `tree.nodes[${i}].childHashes`, 16 * HASH16),
          childCounts: asArray(x[3], `tree.nodes[${i}].childCounts`, 16, 16).map((c, k) =>
            asUint(c, `tree.nodes[${i}].childCounts[${k}]`)
          ),
        };
      });
      return { type: FRAME.TREE, flags: asUint(a[1], "tree.flags", 0xff), nodes };
    }
    case FRAME.GOSSIP: {
      const a = asArray(raw, "gossip", 4, 4);
      return {
        type: FRAME.GOSSIP,
        body: asBytes(a[1], "gossip.body", undefined, limits.messageBodyBytesMax),
        signature: asBytes(a[2], "gossip.signature", 64),
        hops: asUint(a[3], "gossip.hops", 255),
      };
    }
    case FRAME.IHAVE:
    case FRAME.GRAFT: {
      const name = type === FRAME.IHAVE ? "ihave" : "graft";
      const a = asArray(raw, name, 2, 2);
      const ids = asArray(a[1], `${name}.ids`, 0, limits.idsMax).map((id, i) => asBytes(id, `${name}.ids[${i}]`, 32));
      return { type, ids };
    }
    case FRAME.PRUNE:
      asArray(raw, "prune", 1, 1);
      return { type: FRAME.PRUNE };
    case FRAME.SUBSCRIBE: {
      const a = asArray(raw, "subscribe", 4, 4);
      const ids = (v: unknown, name: string) => asArray(v, `subscribe.${name}`, 0, limits.scopesMax).map((x, i) => asBytes(x, `subscribe.${name}[${i}]`, SCOPE_ID_BYTES));
      return { type: FRAME.SUBSCRIBE, flags: asUint(a[1], "subscribe.flags", 0xff), add: ids(a[2], "add"), remove: ids(a[3], "remove") };
    }
    case FRAME.SCOPED: {
      const a = asArray(raw, "scoped", 3, 3);
      return { type: FRAME.SCOPED, scope: asBytes(a[1], "scoped.scope", SCOPE_ID_BYTES), frame: asBytes(a[2], "scoped.frame", undefined, limits.frameBytesMax) };
    }
    case FRAME.EVIDENCE: {
      const a = asArray(raw, "evidence", 3, 3);
      const root = (v: unknown, i: number): SignedRootWire => {
        const r = asArray(v, `evidence.roots[${i}]`, 2, 2);
        return { body: asBytes(r[0], `evidence.roots[${i}].body`, undefined, ROOT_BODY_BYTES_MAX), signature: asBytes(r[1], `evidence.roots[${i}].signature`, 64) };
      };
      return { type: FRAME.EVIDENCE, roots: [root(a[1], 0), root(a[2], 1)] };
    }
    default:
      return { type: "unknown", code: type };
  }
}

function decodeScope(v: unknown, path: string): ScopeWire {
  const a = asArray(v, path, 2, 2);
  const depth = asUint(a[0], `${path}.depth`, TRIE_DEPTH_MAX);
  const index = asUint(a[1], `${path}.index`, 16 ** depth - 1);
  return { depth, index };
}
