/**
 * Membership frames (types 8–15) and the signed member claims they carry. See PROTOCOL.md §2.4.
 *
 * A **claim** is one signed statement about one member: `alive` and `left` are signed by the member
 * itself, `suspect` and `dead` by the node that makes the accusation (the `claimer`), so every
 * claim is attributable and only the member can refute one. The body is encoded once by its signer
 * and carried verbatim: receivers verify the exact bytes they got.
 *
 * Decoding follows the wire rules: the frame's length, then the bounded scan, then the shape of
 * the frame and of every claim body in it; anything wrong is a `GrapevineError` with a `WIRE_*`
 * code. Signatures are not checked here (the membership layer queues them as crypto jobs).
 *
 * @module
 */

import { bytesEqual } from "../bytes.ts";
import { remoteError } from "../errors.ts";
import { decode, encode } from "./cbor.ts";
import type { DecodeLimits } from "./limits.ts";
import { asArray, asBytes, asText, asUint } from "./shape.ts";

/** Membership frame type numbers. */
export const MEMBER_FRAME = Object.freeze({ PING: 8, ACK: 9, PING_REQ: 10, NACK: 11, CLAIMS: 12, SYNC: 13, SHUFFLE: 14, IDS: 15 });

/** Type numbers that belong to membership (inclusive). */
export const MEMBER_FRAME_TYPES = Object.freeze({ min: 8, max: 15 });

/** What a claim says about its member. */
export const CLAIM_KIND = Object.freeze({ ALIVE: 1, SUSPECT: 2, DEAD: 3, LEFT: 4 });

/** SYNC flags. */
export const SYNC_FLAG = Object.freeze({
  /** Answer with a SYNC of your own view (a push-pull). */
  WANT: 1,
});

/** SHUFFLE flags. */
export const SHUFFLE_FLAG = Object.freeze({
  /** This is the answer to a shuffle request; do not answer it. */
  REPLY: 1,
  /**
   * The sender lets this link go on purpose (its active view is full) and stays up: close the
   * link, and do not suspect the sender for it. Sent with REPLY, so a peer that does not know
   * the flag just takes the claims.
   */
  DISCONNECT: 2,
});

/**
 * What an IDS frame says of its claim ids. Other values are left for later versions: a frame
 * with one decodes as unknown and is ignored.
 */
export const IDS_OP = Object.freeze({
  /** The sender holds these claims (and will send them if asked). */
  HAVE: 1,
  /** Send me these claims. */
  WANT: 2,
  /**
   * A shuffle: the ids of the sender's own alive claim and of a random sample of the alive members
   * it holds. Ask for those you lack (WANT), and answer with a sample of yours (SAMPLE_REPLY).
   */
  SAMPLE: 3,
  /** The answer to a SAMPLE: a sample of the sender's alive claims by id; not answered. */
  SAMPLE_REPLY: 4,
});

/** A claim's id: the first bytes of its signature (a signature is unique to its signer and body). */
export const CLAIM_ID_BYTES = 8;

/** A claim's id (`CLAIM_ID_BYTES` of its signature; a view, not a copy). */
export function claimId(c: ClaimWire): Uint8Array {
  return c.signature.subarray(0, CLAIM_ID_BYTES);
}

/** Longest advertised address (a URL to dial the member at), in UTF-8 bytes. */
export const CLAIM_ADDR_BYTES_MAX = 256;
/** Longest claim body in bytes (a body with the longest address fits). */
export const CLAIM_BODY_BYTES_MAX = 400;

/** The signed fields of a claim. */
export interface ClaimBody {
  kind: number;
  /** The member the claim is about. */
  member: Uint8Array;
  /** The member's generation (grows on every restart). */
  generation: number;
  /** The member's incarnation within its generation (grows on every refutation). */
  incarnation: number;
  /** Who signed a `suspect` or `dead` claim; null for `alive` and `left` (the member signs). */
  claimer: Uint8Array | null;
  /** In an `alive` claim: where the member accepts links (a `ws://` or `wss://` URL), if anywhere. */
  addr: string | null;
  /**
   * In an `alive` claim: how late, in ms, the member's own timers have recently run (its event
   * loop stalled: a starved process, a throttled tab). Others wait that much longer before
   * declaring it dead. Absent (0) for a member that is not slow; at most `CLAIM_LAG_MS_MAX`.
   */
  lag?: number;
}

/** The most lag an alive claim can state: 30 s. */
export const CLAIM_LAG_MS_MAX = 30_000;

/**
 * The highest incarnation a claim may carry. A member raises its own incarnation by one per
 * refutation or restated lag, so it never comes near; the bound keeps every refutation encodable.
 */
export const INCARNATION_MAX = 2 ** 40;

/**
 * A claim as carried: the body bytes exactly as signed, the signature, and the decoded fields.
 * An accusation (suspect, dead) also carries `proof`: the accused member's own alive claim at the
 * rank accused, so an accusation can never name a rank the member did not sign, and the member can
 * always outrank it (PROTOCOL.md §2.5).
 */
export interface ClaimWire {
  body: Uint8Array;
  signature: Uint8Array;
  fields: ClaimBody;
  proof?: ClaimWire;
}

/** `[8, seq, claims]`: are you there? (with piggybacked claims) */
export interface PingFrame {
  type: typeof MEMBER_FRAME.PING;
  seq: number;
  claims: ClaimWire[];
}

/** `[9, seq, claims]`: here I am; answers a PING, or relays the answer to a PING_REQ. */
export interface AckFrame {
  type: typeof MEMBER_FRAME.ACK;
  seq: number;
  claims: ClaimWire[];
}

/** `[10, seq, target, claims]`: please ping `target` for me and relay its ACK as `seq`. */
export interface PingReqFrame {
  type: typeof MEMBER_FRAME.PING_REQ;
  seq: number;
  target: Uint8Array;
  claims: ClaimWire[];
}

/** `[11, seq]`: I could not reach the target of your PING_REQ `seq` (Lifeguard). */
export interface NackFrame {
  type: typeof MEMBER_FRAME.NACK;
  seq: number;
}

/** `[12, claims]`: claims gossiped on their own. */
export interface ClaimsFrame {
  type: typeof MEMBER_FRAME.CLAIMS;
  claims: ClaimWire[];
}

/** `[13, flags, claims]`: a chunk of the sender's whole view (push-pull). */
export interface SyncFrame {
  type: typeof MEMBER_FRAME.SYNC;
  flags: number;
  claims: ClaimWire[];
}

/** `[14, flags, claims]`: a random sample of alive members, for partial views (HyParView). */
export interface ShuffleFrame {
  type: typeof MEMBER_FRAME.SHUFFLE;
  flags: number;
  claims: ClaimWire[];
}

/** `[15, op, ids]`: claim ids the sender holds (HAVE, or a shuffle's SAMPLE and SAMPLE_REPLY), or asks for (WANT). */
export interface IdsFrame {
  type: typeof MEMBER_FRAME.IDS;
  op: (typeof IDS_OP)[keyof typeof IDS_OP];
  ids: Uint8Array[];
}

/** Every membership frame. */
export type MemberFrame = PingFrame | AckFrame | PingReqFrame | NackFrame | ClaimsFrame | SyncFrame | ShuffleFrame | IdsFrame;

/** A membership frame this version does not know (an IDS frame with an op of a later version). */
export interface UnknownMemberFrame {
  type: "unknown";
  code: number;
}

/** Whether a frame type number belongs to membership. */
export function isMemberFrameType(type: number | undefined): boolean {
  return type !== undefined && type >= MEMBER_FRAME_TYPES.min && type <= MEMBER_FRAME_TYPES.max;
}

const BODY_LIMITS: DecodeLimits = {
  frameBytesMax: CLAIM_BODY_BYTES_MAX,
  depthMax: 1,
  itemsMax: 8,
  arrayLengthMax: 7,
  mapSizeMax: 0,
  textBytesMax: CLAIM_ADDR_BYTES_MAX,
  bytesLengthMax: 32,
};

/** Encodes a claim body; throws `RangeError` for an address that is too long. */
export function encodeClaimBody(c: ClaimBody): Uint8Array {
  if (c.addr !== null && new TextEncoder().encode(c.addr).length > CLAIM_ADDR_BYTES_MAX) {
    throw new RangeError(`addr is longer than ${CLAIM_ADDR_BYTES_MAX} bytes`);
  }
  const lag = c.lag ?? 0;
  if (lag !== 0 && (c.kind !== CLAIM_KIND.ALIVE || !Number.isInteger(lag) || lag < 0 || lag > CLAIM_LAG_MS_MAX)) {
    throw new RangeError(`lag must be an integer in [0, ${CLAIM_LAG_MS_MAX}] and only in an alive claim`);
  }
  // The lag is a seventh element only when set, so a claim without one encodes as it always did.
  const a: unknown[] = [c.kind, c.member, c.generation, c.incarnation, c.claimer, c.addr];
  if (lag > 0) a.push(lag);
  return encode(a);
}

/** Decodes and checks a claim body: who signs it must follow from its kind. */
export function decodeClaimBody(bytes: Uint8Array): ClaimBody {
  // Borrowed: the member and claimer keys are views of the body, which the claim keeps anyway.
  const a = asArray(decode(bytes, BODY_LIMITS, true), "claim", 6, 7);
  const kind = asUint(a[0], "claim.kind", 0xff);
  if (kind < CLAIM_KIND.ALIVE || kind > CLAIM_KIND.LEFT) throw remoteError("WIRE_SHAPE", `claim.kind: unknown kind ${kind}`);
  const member = asBytes(a[1], "claim.member", 32);
  const generation = asUint(a[2], "claim.generation");
  const incarnation = asUint(a[3], "claim.incarnation", INCARNATION_MAX);
  const accusation = kind === CLAIM_KIND.SUSPECT || kind === CLAIM_KIND.DEAD;
  let claimer: Uint8Array | null = null;
  if (accusation) claimer = asBytes(a[4], "claim.claimer", 32);
  else if (a[4] !== null) throw remoteError("WIRE_SHAPE", "claim.claimer: only suspect and dead claims name a claimer");
  let addr: string | null = null;
  if (a[5] !== null) {
    if (kind !== CLAIM_KIND.ALIVE) throw remoteError("WIRE_SHAPE", "claim.addr: only alive claims carry an address");
    addr = asText(a[5], "claim.addr", CLAIM_ADDR_BYTES_MAX);
  }
  const body: ClaimBody = { kind, member, generation, incarnation, claimer, addr };
  if (a.length === 7) {
    if (kind !== CLAIM_KIND.ALIVE) throw remoteError("WIRE_SHAPE", "claim.lag: only alive claims carry a lag");
    body.lag = asUint(a[6], "claim.lag", CLAIM_LAG_MS_MAX);
    if (body.lag === 0) throw remoteError("WIRE_SHAPE", "claim.lag: a zero lag is left out, not sent");
  }
  return body;
}

/** The key that must have signed a claim: the claimer of an accusation, else the member. */
export function claimSigner(c: ClaimBody): Uint8Array {
  return c.claimer ?? c.member;
}

const claimsOut = (claims: readonly ClaimWire[]) =>
  claims.map((c) => (c.proof ? [c.body, c.signature, c.proof.body, c.proof.signature] : [c.body, c.signature]));

/** Encodes a membership frame. */
export function encodeMemberFrame(f: MemberFrame): Uint8Array {
  switch (f.type) {
    case MEMBER_FRAME.PING:
    case MEMBER_FRAME.ACK:
      return encode([f.type, f.seq, claimsOut(f.claims)]);
    case MEMBER_FRAME.PING_REQ:
      return encode([f.type, f.seq, f.target, claimsOut(f.claims)]);
    case MEMBER_FRAME.NACK:
      return encode([f.type, f.seq]);
    case MEMBER_FRAME.CLAIMS:
      return encode([f.type, claimsOut(f.claims)]);
    case MEMBER_FRAME.SYNC:
    case MEMBER_FRAME.SHUFFLE:
      return encode([f.type, f.flags, claimsOut(f.claims)]);
    case MEMBER_FRAME.IDS:
      return encode([f.type, f.op, f.ids]);
  }
}

/** Limits of membership frame decoding. */
export interface MemberFrameLimits {
  frameBytesMax: number;
  /** Most claims in one frame. */
  claimsMax: number;
}

function frameDecodeLimits(l: MemberFrameLimits): DecodeLimits {
  return {
    frameBytesMax: l.frameBytesMax,
    depthMax: 4,
    itemsMax: l.claimsMax * 5 + 64,
    arrayLengthMax: Math.max(l.claimsMax, 16),
    mapSizeMax: 64, // a newer peer's IDS frame of an unknown op may hold maps
    textBytesMax: 4096,
    bytesLengthMax: CLAIM_BODY_BYTES_MAX,
  };
}

function decodeClaims(v: unknown, path: string, max: number): ClaimWire[] {
  return asArray(v, path, 0, max).map((c, i) => decodeClaim(c, `${path}[${i}]`));
}

/**
 * One claim: `[body, signature]`, or for an accusation `[body, signature, proofBody, proofSignature]`
 * where the proof is the accused member's alive claim at exactly the accused rank. Gossip may leave
 * an accusation's proof out (`[body, signature]`) once that rank is old news (see `Dissemination`).
 */
function decodeClaim(c: unknown, path: string): ClaimWire {
  const x = asArray(c, path, 2, 4);
  const claim = ownClaim(asBytes(x[0], `${path}.body`, undefined, CLAIM_BODY_BYTES_MAX), asBytes(x[1], `${path}.signature`, 64));
  const accusation = claim.fields.kind === CLAIM_KIND.SUSPECT || claim.fields.kind === CLAIM_KIND.DEAD;
  if (!accusation) {
    if (x.length !== 2) throw remoteError("WIRE_SHAPE", `${path}: only an accusation carries a proof`);
    return claim;
  }
  const fields = claim.fields;
  if (x.length === 2) return claim; // its proof left out: the receiver holds that alive claim, or ignores it
  if (x.length !== 4) throw remoteError("WIRE_SHAPE", `${path}: an accusation carries the member's alive claim at the accused rank whole, or not at all`);
  const proof = ownClaim(asBytes(x[2], `${path}.proof.body`, undefined, CLAIM_BODY_BYTES_MAX), asBytes(x[3], `${path}.proof.signature`, 64));
  const p = proof.fields;
  if (p.kind !== CLAIM_KIND.ALIVE || !bytesEqual(p.member, fields.member) || p.generation !== fields.generation || p.incarnation !== fields.incarnation) {
    throw remoteError("WIRE_SHAPE", `${path}.proof: not the accused member's alive claim at the accused rank`);
  }
  return { ...claim, proof };
}

/**
 * A claim decoded from views of a frame: its body and signature copied into one buffer of their
 * own (the frame is not kept alive by a claim a table holds for long), and its fields views of it.
 * One buffer instead of one for each byte string: a member table holds a claim or two per member.
 */
function ownClaim(bodyView: Uint8Array, signatureView: Uint8Array): ClaimWire {
  const own = new Uint8Array(bodyView.length + signatureView.length);
  own.set(bodyView);
  own.set(signatureView, bodyView.length);
  const body = own.subarray(0, bodyView.length);
  return { body, signature: own.subarray(bodyView.length), fields: decodeClaimBody(body) };
}

/** Decodes and validates a membership frame. Throws `GrapevineError` (`WIRE_*`) on anything malformed. */
export function decodeMemberFrame(bytes: Uint8Array, limits: MemberFrameLimits): MemberFrame | UnknownMemberFrame {
  if (bytes.length > limits.frameBytesMax) {
    throw remoteError("WIRE_FRAME_TOO_LARGE", `frame of ${bytes.length} bytes exceeds frameBytesMax ${limits.frameBytesMax}`);
  }
  // Borrowed views of the frame: a claim copies what it keeps (`ownClaim`), other byte strings are copied below.
  const raw = asArray(decode(bytes, frameDecodeLimits(limits), true), "frame", 1, 16);
  const type = asUint(raw[0], "frame.type");
  const seqMax = 0xffff_ffff;
  switch (type) {
    case MEMBER_FRAME.PING:
    case MEMBER_FRAME.ACK: {
      const name = type === MEMBER_FRAME.PING ? "ping" : "ack";
      const a = asArray(raw, name, 3, 3);
      return { type, seq: asUint(a[1], `${name}.seq`, seqMax), claims: decodeClaims(a[2], `${name}.claims`, limits.claimsMax) };
    }
    case MEMBER_FRAME.PING_REQ: {
      const a = asArray(raw, "pingReq", 4, 4);
      return {
        type,
        seq: asUint(a[1], "pingReq.seq", seqMax),
        target: asBytes(a[2], "pingReq.target", 32).slice(),
        claims: decodeClaims(a[3], "pingReq.claims", limits.claimsMax),
      };
    }
    case MEMBER_FRAME.NACK: {
      const a = asArray(raw, "nack", 2, 2);
      return { type, seq: asUint(a[1], "nack.seq", seqMax) };
    }
    case MEMBER_FRAME.CLAIMS: {
      const a = asArray(raw, "claims", 2, 2);
      return { type, claims: decodeClaims(a[1], "claims.claims", limits.claimsMax) };
    }
    case MEMBER_FRAME.SYNC:
    case MEMBER_FRAME.SHUFFLE: {
      const name = type === MEMBER_FRAME.SYNC ? "sync" : "shuffle";
      const a = asArray(raw, name, 3, 3);
      return { type, flags: asUint(a[1], `${name}.flags`, 0xff), claims: decodeClaims(a[2], `${name}.claims`, limits.claimsMax) };
    }
    case MEMBER_FRAME.IDS: {
      const op = raw[1];
      if (op !== IDS_OP.HAVE && op !== IDS_OP.WANT && op !== IDS_OP.SAMPLE && op !== IDS_OP.SAMPLE_REPLY) return { type: "unknown", code: type };
      const a = asArray(raw, "ids", 3, 3);
      const ids = asArray(a[2], "ids.ids", 0, limits.claimsMax).map((x, i) => asBytes(x, `ids.ids[${i}]`, CLAIM_ID_BYTES).slice());
      return { type, op, ids };
    }
    default:
      return { type: "unknown", code: type };
  }
}
