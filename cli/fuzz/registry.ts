/**
 * Every frame type the protocol has, and the forms of them the corpus must hold.
 *
 * Types come from the wire modules' own registries (`FRAME`, `MEMBER_FRAME`, `LINK_FRAME`), so a
 * type added there is expected in the corpus at once: until the capture scenario produces it, the
 * corpus check fails and names it. A new registry module (a new family of types) is added to
 * {@link FAMILIES}; a new form worth fuzzing on its own (a flag, a claim kind) is one line in
 * {@link VARIANTS}. Nothing else in the fuzzer lists types.
 *
 * @module
 */

import { frameLimitsFor } from "../../src/core/engine.ts";
import { resolveOptions } from "../../src/core/options.ts";
import { decodeFrame, DELTA_FLAG, FRAME, type Frame } from "../../src/wire/frames.ts";
import { decodeLinkFrame, LINK_FRAME, peekFrameType, type LinkFrame } from "../../src/wire/link-frames.ts";
import { CLAIM_KIND, decodeMemberFrame, IDS_OP, MEMBER_FRAME, SHUFFLE_FLAG, SYNC_FLAG, type ClaimWire, type MemberFrame } from "../../src/wire/member-frames.ts";

/** Who handles a family of types: the engine (state, broadcast, membership) or the link layer. */
export type Layer = "engine" | "link";

/** The registries of type numbers, one per family; add a family here and nowhere else. */
export const FAMILIES: readonly { family: string; layer: Layer; types: Readonly<Record<string, number>> }[] = [
  { family: "gossip", layer: "engine", types: FRAME },
  { family: "membership", layer: "engine", types: MEMBER_FRAME },
  { family: "link", layer: "link", types: LINK_FRAME },
];

export interface FrameType {
  code: number;
  name: string;
  family: string;
  layer: Layer;
}

/** Every known frame type, by type number. */
export const FRAME_TYPES: readonly FrameType[] = FAMILIES.flatMap((f) =>
  Object.entries(f.types).map(([name, code]) => ({ code, name, family: f.family, layer: f.layer }))
).sort((a, b) => a.code - b.code);

const BY_CODE = new Map(FRAME_TYPES.map((t) => [t.code, t]));
const BY_NAME = new Map(FRAME_TYPES.map((t) => [t.name, t]));

/** The type of a frame read from its first bytes, as the driver routes it; null when unknown. */
export function typeOf(bytes: Uint8Array): FrameType | null {
  const code = peekFrameType(bytes);
  return code === undefined ? null : BY_CODE.get(code) ?? null;
}

/** A type by name, case-insensitive, `-` and `_` alike (`ping-req` is `PING_REQ`). */
export function typeByName(name: string): FrameType | undefined {
  return BY_NAME.get(name.toUpperCase().replaceAll("-", "_"));
}

/** Decoding limits at their widest: the corpus is judged, not policed. */
const LIMITS = frameLimitsFor(resolveOptions({}));
const OPTIONS = resolveOptions({});

/** A frame decoded by its owner's decoder, or null if it does not decode. */
export type Decoded = Frame | MemberFrame | LinkFrame;

export function decodeAny(bytes: Uint8Array): Decoded | null {
  const t = typeOf(bytes);
  if (!t) return null;
  try {
    const f = t.layer === "link"
      ? decodeLinkFrame(bytes, OPTIONS.frameBytesMax)
      : t.family === "membership"
      ? decodeMemberFrame(bytes, { frameBytesMax: OPTIONS.frameBytesMax, claimsMax: OPTIONS.claimsPerFrameMax })
      : decodeFrame(bytes, LIMITS);
    return f.type === "unknown" ? null : f;
  } catch {
    return null;
  }
}

/** A form of a frame the corpus must hold at least once. */
export interface Variant {
  /** A type name, or `*` for any frame carrying member claims. */
  type: string;
  name: string;
  has: (f: Decoded) => boolean;
}

const claimsOf = (f: Decoded): ClaimWire[] => ("claims" in f ? f.claims : []);
const anyClaim = (test: (c: ClaimWire) => boolean) => (f: Decoded) => claimsOf(f).some(test);
const kind = (k: number) => (c: ClaimWire) => c.fields.kind === k;
const as = <T>(f: Decoded) => f as unknown as T;

/** Forms worth a place of their own in the corpus; one line per form. */
export const VARIANTS: readonly Variant[] = [
  { type: "DIGEST", name: "rows", has: (f) => as<{ rows: unknown }>(f).rows !== null },
  { type: "DIGEST", name: "summary", has: (f) => as<{ summary: unknown }>(f).summary !== null },
  { type: "DELTA", name: "full", has: (f) => as<{ origins: { full: boolean }[] }>(f).origins.some((o) => o.full) },
  {
    type: "DELTA", name: "partial-with-proofs",
    has: (f) => as<{ origins: { full: boolean; entries: { proof: unknown[] }[] }[] }>(f).origins.some((o) => !o.full && o.entries.some((e) => e.proof.length > 0)),
  },
  { type: "DELTA", name: "rumor", has: (f) => (as<{ flags: number }>(f).flags & DELTA_FLAG.RUMOR) !== 0 },
  { type: "DELTA", name: "answer", has: (f) => as<{ replyTo: number }>(f).replyTo !== 0 },
  { type: "GRAFT", name: "ids", has: (f) => as<{ ids: unknown[] }>(f).ids.length > 0 },
  { type: "SUBSCRIBE", name: "reset", has: (f) => (as<{ flags: number }>(f).flags & 1) !== 0 },
  { type: "SUBSCRIBE", name: "change", has: (f) => as<{ flags: number }>(f).flags === 0 },
  { type: "SCOPED", name: "delta", has: (f) => as<{ frame: Uint8Array }>(f).frame[1] === FRAME.DELTA },
  { type: "SCOPED", name: "gossip", has: (f) => as<{ frame: Uint8Array }>(f).frame[1] === FRAME.GOSSIP },
  { type: "GRAFT", name: "empty", has: (f) => as<{ ids: unknown[] }>(f).ids.length === 0 },
  { type: "SYNC", name: "want", has: (f) => (as<{ flags: number }>(f).flags & SYNC_FLAG.WANT) !== 0 },
  { type: "SHUFFLE", name: "request", has: (f) => as<{ flags: number }>(f).flags === 0 },
  { type: "SHUFFLE", name: "reply", has: (f) => as<{ flags: number }>(f).flags === SHUFFLE_FLAG.REPLY },
  { type: "SHUFFLE", name: "disconnect", has: (f) => (as<{ flags: number }>(f).flags & SHUFFLE_FLAG.DISCONNECT) !== 0 },
  { type: "IDS", name: "sample", has: (f) => as<{ op: number }>(f).op === IDS_OP.SAMPLE },
  { type: "IDS", name: "sample-reply", has: (f) => as<{ op: number }>(f).op === IDS_OP.SAMPLE_REPLY },
  { type: "*", name: "claim:alive+addr", has: anyClaim((c) => c.fields.kind === CLAIM_KIND.ALIVE && c.fields.addr !== null) },
  { type: "*", name: "claim:alive+lag", has: anyClaim((c) => c.fields.kind === CLAIM_KIND.ALIVE && (c.fields.lag ?? 0) > 0) },
  { type: "*", name: "claim:suspect", has: anyClaim(kind(CLAIM_KIND.SUSPECT)) },
  { type: "*", name: "claim:dead", has: anyClaim(kind(CLAIM_KIND.DEAD)) },
  { type: "*", name: "claim:left", has: anyClaim(kind(CLAIM_KIND.LEFT)) },
  { type: "HELLO", name: "credential", has: (f) => as<{ credential: unknown }>(f).credential !== null },
  { type: "HELLO", name: "plain", has: (f) => as<{ credential: unknown }>(f).credential === null },
];

/** The variant names a decoded frame of type `t` has. */
export function variantsOf(t: FrameType, f: Decoded): string[] {
  return VARIANTS.filter((v) => (v.type === t.name || (v.type === "*" && "claims" in f)) && v.has(f)).map((v) => v.name);
}

/**
 * What a corpus lacks: every registered type with no frame, and every variant never seen.
 * Empty when the corpus is complete.
 */
export function missingFromCorpus(frames: readonly { type: FrameType; variants: readonly string[] }[]): string[] {
  const types = new Set(frames.map((f) => f.type.name));
  const missing: string[] = [];
  for (const t of FRAME_TYPES) if (!types.has(t.name)) missing.push(`${t.name} (type ${t.code})`);
  for (const v of VARIANTS) {
    if (!frames.some((f) => (v.type === "*" || v.type === f.type.name) && f.variants.includes(v.name))) {
      missing.push(v.type === "*" ? v.name : `${v.type} ${v.name}`);
    }
  }
  return missing;
}
