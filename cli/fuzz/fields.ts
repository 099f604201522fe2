/**
 * Where the numbers and keys of each frame type sit, so field-aware mutations can aim at them: an
 * incarnation of 2^53 − 1, a generation one higher, a version one past the signed one, a seq at
 * 2^32, an id repeated, a key that is the victim's own. Paths are array indices from the frame's
 * root (`"*"`: any element). Signed bodies (claims, messages, root bodies) are described by the
 * fields inside them and where their signature sits, so a mutation can re-sign what it changed
 * with the key of the peer that sends it: what one admitted key pair can do.
 *
 * A type missing here still gets every generic mutation; adding its line adds the aimed ones.
 *
 * @module
 */

import type { SignedKind } from "../../src/crypto/context.ts";

export type FieldKind =
  | "uint" // a count, version, time or id
  | "seq" // a 32-bit sequence number
  | "generation"
  | "incarnation"
  | "flags"
  | "key" // a 32-byte node key
  | "id" // a message id (32 bytes): often one the victim holds
  | "hash" // a fixed-size hash or hash list
  | "bytes"
  | "signature"
  | "text"
  | "bool"
  | "kind" // a small enumeration (claim kind, close code, protocol version)
  | "lag"
  | "depth"
  | "index"
  | "nullable-key";

export type Path = readonly (number | "*")[];

export interface Field {
  name: string;
  path: Path;
  kind: FieldKind;
}

/** A signed body carried as a byte string: its own fields, and where its signature and signer are. */
export interface SignedBody {
  name: string;
  /** The byte string holding the body. */
  path: Path;
  /** Index of the signature in the same array as the body. */
  signatureIndex: number;
  context: SignedKind;
  fields: readonly Field[];
  /** Which field of the body names the signer (for claims, the claimer of an accusation). */
  signer: (body: unknown[]) => number;
}

const CLAIM_FIELDS: readonly Field[] = [
  { name: "kind", path: [0], kind: "kind" },
  { name: "member", path: [1], kind: "key" },
  { name: "generation", path: [2], kind: "generation" },
  { name: "incarnation", path: [3], kind: "incarnation" },
  { name: "claimer", path: [4], kind: "nullable-key" },
  { name: "addr", path: [5], kind: "text" },
  { name: "lag", path: [6], kind: "lag" },
];
// Accusations (kinds 2 and 3) are signed by their claimer, the rest by the member.
const claimSigner = (b: unknown[]) => (b[0] === 2 || b[0] === 3 ? 4 : 1);

const claims = (path: Path): SignedBody => ({ name: "claim", path: [...path, "*", 0], signatureIndex: 1, context: "member", fields: CLAIM_FIELDS, signer: claimSigner });

const MESSAGE: SignedBody = {
  name: "message", path: [1], signatureIndex: 2, context: "message", signer: () => 0,
  fields: [
    { name: "origin", path: [0], kind: "key" },
    { name: "topic", path: [1], kind: "text" },
    { name: "issuedAtMs", path: [2], kind: "uint" },
    { name: "expiresAtMs", path: [3], kind: "uint" },
    { name: "nonce", path: [4], kind: "uint" },
    { name: "payload", path: [5], kind: "bytes" },
  ],
};

const ROOT: SignedBody = {
  name: "root", path: [2, "*", 0], signatureIndex: 1, context: "root", signer: () => 0,
  fields: [
    { name: "origin", path: [0], kind: "key" },
    { name: "generation", path: [1], kind: "generation" },
    { name: "version", path: [2], kind: "uint" },
    { name: "root", path: [3], kind: "hash" },
    { name: "count", path: [4], kind: "uint" },
    { name: "floor", path: [5], kind: "uint" },
    { name: "flags", path: [6], kind: "flags" },
  ],
};

/** The fields of every frame type, by type name. */
export const FIELDS: Readonly<Record<string, { fields: readonly Field[]; signed?: readonly SignedBody[] }>> = {
  DIGEST: {
    fields: [
      { name: "flags", path: [1], kind: "flags" },
      { name: "scope.depth", path: [2, 0], kind: "depth" },
      { name: "scope.index", path: [2, 1], kind: "index" },
      { name: "row.origin", path: [3, "*", 0], kind: "key" },
      { name: "row.generation", path: [3, "*", 1], kind: "generation" },
      { name: "row.have", path: [3, "*", 2], kind: "uint" },
      { name: "summary.hash", path: [4, 0], kind: "hash" },
      { name: "summary.count", path: [4, 1], kind: "uint" },
      { name: "id", path: [5], kind: "uint" },
    ],
  },
  DELTA: {
    fields: [
      { name: "flags", path: [1], kind: "flags" },
      { name: "origin.signature", path: [2, "*", 1], kind: "signature" },
      { name: "origin.from", path: [2, "*", 2], kind: "uint" },
      { name: "origin.through", path: [2, "*", 3], kind: "uint" },
      { name: "origin.full", path: [2, "*", 4], kind: "bool" },
      { name: "entry.leaf", path: [2, "*", 5, "*", 0], kind: "bytes" },
      { name: "entry.index", path: [2, "*", 5, "*", 1], kind: "uint" },
      { name: "entry.proof", path: [2, "*", 5, "*", 2, "*"], kind: "hash" },
      { name: "replyTo", path: [3], kind: "uint" },
    ],
    signed: [ROOT],
  },
  TREE: {
    fields: [
      { name: "flags", path: [1], kind: "flags" },
      { name: "node.depth", path: [2, "*", 0], kind: "depth" },
      { name: "node.index", path: [2, "*", 1], kind: "index" },
      { name: "node.childHashes", path: [2, "*", 2], kind: "hash" },
      { name: "node.childCount", path: [2, "*", 3, "*"], kind: "uint" },
    ],
  },
  GOSSIP: {
    fields: [
      { name: "signature", path: [2], kind: "signature" },
      { name: "hops", path: [3], kind: "uint" },
    ],
    signed: [MESSAGE],
  },
  IHAVE: { fields: [{ name: "id", path: [1, "*"], kind: "id" }] },
  GRAFT: { fields: [{ name: "id", path: [1, "*"], kind: "id" }] },
  PRUNE: { fields: [] },
  PING: { fields: [{ name: "seq", path: [1], kind: "seq" }, { name: "claim.signature", path: [2, "*", 1], kind: "signature" }], signed: [claims([2])] },
  ACK: { fields: [{ name: "seq", path: [1], kind: "seq" }, { name: "claim.signature", path: [2, "*", 1], kind: "signature" }], signed: [claims([2])] },
  PING_REQ: {
    fields: [{ name: "seq", path: [1], kind: "seq" }, { name: "target", path: [2], kind: "key" }, { name: "claim.signature", path: [3, "*", 1], kind: "signature" }],
    signed: [claims([3])],
  },
  NACK: { fields: [{ name: "seq", path: [1], kind: "seq" }] },
  CLAIMS: { fields: [{ name: "claim.signature", path: [1, "*", 1], kind: "signature" }], signed: [claims([1])] },
  SYNC: { fields: [{ name: "flags", path: [1], kind: "flags" }], signed: [claims([2])] },
  SHUFFLE: { fields: [{ name: "flags", path: [1], kind: "flags" }], signed: [claims([2])] },
  IDS: { fields: [{ name: "op", path: [1], kind: "kind" }, { name: "id", path: [2, "*"], kind: "hash" }] },
  HELLO: {
    fields: [
      { name: "protocolVersion", path: [1], kind: "kind" },
      { name: "network", path: [2], kind: "text" },
      { name: "nonce", path: [3], kind: "hash" },
      { name: "publicKey", path: [4], kind: "key" },
      { name: "credential.authority", path: [5, 0], kind: "key" },
      { name: "credential.expiresAtMs", path: [5, 1], kind: "uint" },
      { name: "credential.signature", path: [5, 2], kind: "signature" },
    ],
  },
  PROOF: { fields: [{ name: "signature", path: [1], kind: "signature" }] },
  CLOSE: { fields: [{ name: "code", path: [1], kind: "kind" }, { name: "reason", path: [2], kind: "text" }] },
  FORWARD: {
    fields: [
      { name: "to", path: [1], kind: "key" },
      { name: "from", path: [2], kind: "key" },
      { name: "hops", path: [3], kind: "uint" },
      { name: "payload", path: [4], kind: "bytes" },
    ],
  },
};
