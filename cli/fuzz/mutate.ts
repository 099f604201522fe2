/**
 * Seeded mutations of valid frames. Three kinds, stacked one to four deep:
 *
 * - bytes: bit flips, interesting bytes, inserts, deletes, duplicated runs, truncation, trailing
 *   garbage, and two frames spliced together;
 * - CBOR items (found with `cbor-edit.ts`): a length prefix changed (shortest or not), an integer
 *   swapped for a huge, negative or float one, a byte string made longer or shorter, an item nested
 *   deeper, an array's arity changed, items retyped, swapped, repeated or taken from another frame,
 *   and the type number changed to every other type;
 * - fields (`fields.ts`): the tricky numbers aimed where they matter (incarnation 2^53 − 1,
 *   generation + 1, versions, counts, seq, ids, keys), inside signed bodies too, which are then
 *   re-signed with the sending peer's key; and claims forged by that peer about the victim.
 *
 * Every choice comes from the {@link Rng} handed in, so a frame index and a seed give one frame.
 * Each mutation is named (`cbor-int:2^53`, `signed:claim.incarnation=2^53-1+resign`), and the
 * names travel with the frame into the report.
 *
 * @module
 */

import { signingBytes } from "../../src/crypto/context.ts";
import { PROTOCOL_VERSION } from "../../src/core/engine.ts";
import { randomBelow, type Rng } from "../../src/core/random.ts";
import type { KeyPair, SignatureSuite } from "../../src/crypto/types.ts";
import {
  allItems,
  arrayItem,
  bytesItem,
  concat,
  float16Item,
  float64Item,
  head,
  intItem,
  type Item,
  parseItem,
  replaceItem,
  splice,
  textItem,
} from "./cbor-edit.ts";
import type { CorpusFrame } from "./corpus.ts";
import { type FieldKind, FIELDS, type Path, type SignedBody } from "./fields.ts";
import { FRAME_TYPES } from "./registry.ts";

/** What a mutation may draw on besides the frame. */
export interface MutationContext {
  rng: Rng;
  /** Other frames, for splices and grafts. */
  corpus: readonly CorpusFrame[];
  /** Keys of the world's nodes (values for key fields). */
  keys: readonly KeyPair[];
  /** Ids of messages in the corpus (the victim holds many of them). */
  messageIds: readonly Uint8Array[];
  /** The node under test, and its generation. */
  victim: Uint8Array;
  victimGeneration: number;
  /** The peer the frame comes from: the only key a mutation may sign with. */
  sender: KeyPair;
  network: string;
  suite: SignatureSuite;
}

export interface Mutated {
  bytes: Uint8Array;
  /** The mutations applied, in order (`none` for a valid frame replayed as captured). */
  mutations: string[];
}

/** Frames stop growing here: past `frameBytesMax` (1 MiB) every target refuses them by length. */
const GROWTH_MAX = 1_200_000;
const I53 = 2n ** 53n;

type Op = (bytes: Uint8Array, frame: CorpusFrame, ctx: MutationContext) => Promise<{ bytes: Uint8Array; name: string } | null> | { bytes: Uint8Array; name: string } | null;

const below = (ctx: MutationContext, n: number) => (n <= 1 ? 0 : randomBelow(ctx.rng, n));
const pick = <T>(ctx: MutationContext, xs: readonly T[]): T => xs[below(ctx, xs.length)];
const chance = (ctx: MutationContext, p: number) => ctx.rng.nextU32() / 2 ** 32 < p;

function randomBytes(ctx: MutationContext, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let k = 0; k < n; k += 4) {
    const v = ctx.rng.nextU32();
    for (let j = 0; j < 4 && k + j < n; j++) out[k + j] = (v >>> (8 * j)) & 0xff;
  }
  return out;
}

// ------------------------------------------------------------------ values

type Labelled = [label: string, item: Uint8Array];

/** Integers and not-quite-integers that break arithmetic: each with its name in reports. */
function trickyNumbers(cur: number | bigint | null): Labelled[] {
  const c = typeof cur === "bigint" ? cur : BigInt(cur ?? 0);
  const out: Labelled[] = [
    ["0", intItem(0)], ["1", intItem(1)], ["255", intItem(255)], ["256", intItem(256)], ["2^16", intItem(65_536)],
    ["2^32-1", intItem(0xffff_ffff)], ["2^32", intItem(0x1_0000_0000)], ["2^53-2", intItem(I53 - 2n)], ["2^53-1", intItem(I53 - 1n)],
    ["2^53", intItem(I53)], ["2^64-1", intItem(2n ** 64n - 1n)], ["-1", intItem(-1)], ["-2^53", intItem(-I53)], ["-2^64", head(1, 2n ** 64n - 1n)],
    ["1.5", float64Item(1.5)], ["1.0f", float64Item(1)], ["2^53-1f", float64Item(2 ** 53 - 1)], ["NaN", float16Item(0x7e00)],
    ["Infinity", float16Item(0x7c00)], ["-0.0", float16Item(0x8000)], ["null", Uint8Array.of(0xf6)],
  ];
  if (c > 0n) out.push(["cur-1", intItem(c - 1n)]);
  if (c < 2n ** 64n - 1n) out.push(["cur+1", intItem(c + 1n)]);
  out.push(["cur*2", intItem(c * 2n < 2n ** 64n ? c * 2n : 2n ** 64n - 1n)]);
  return out;
}

function text(n: number, ch = 0x61): Uint8Array {
  return new Uint8Array(n).fill(ch);
}

/** A value for a field of `kind` whose current item is `cur`. */
function valueFor(ctx: MutationContext, kind: FieldKind, cur: Item | null, bytes: Uint8Array): Labelled {
  const curArg = cur && (cur.major === 0 || cur.major === 1) ? cur.arg : null;
  const curLen = cur && (cur.major === 2 || cur.major === 3) ? Number(cur.arg) : 32;
  const key = (): Labelled => {
    const who = below(ctx, 6);
    if (who === 0) return ["victim-key", bytesItem(ctx.victim)];
    if (who === 1) return ["sender-key", bytesItem(ctx.sender.publicKey)];
    if (who === 2) return ["other-key", bytesItem(pick(ctx, ctx.keys).publicKey)];
    if (who === 3) return ["zero-key", bytesItem(new Uint8Array(32))];
    if (who === 4) return [pick(ctx, ["31-bytes", "33-bytes"]), bytesItem(randomBytes(ctx, chance(ctx, 0.5) ? 31 : 33))];
    return ["random-key", bytesItem(randomBytes(ctx, 32))];
  };
  switch (kind) {
    case "uint":
      return pick(ctx, trickyNumbers(curArg));
    case "seq":
      return chance(ctx, 0.4) ? pick(ctx, [["2^32-1", intItem(0xffff_ffff)], ["2^32", intItem(0x1_0000_0000)], ["cur+1", intItem(BigInt(curArg ?? 0) + 1n)]] as Labelled[]) : pick(ctx, trickyNumbers(curArg));
    case "generation":
      return chance(ctx, 0.4) ? ["generation+1", intItem(BigInt(curArg ?? 0) + 1n)] : pick(ctx, trickyNumbers(curArg));
    case "incarnation":
      return chance(ctx, 0.4) ? pick(ctx, [["2^53-1", intItem(I53 - 1n)], ["2^53-2", intItem(I53 - 2n)]] as Labelled[]) : pick(ctx, trickyNumbers(curArg));
    case "flags": {
      const v = pick(ctx, [0, 1, 2, 3, 4, 5, 6, 7, 0xff, 0x100, 0xffff, 0x1_0000]);
      return [`flags=${v}`, intItem(v)];
    }
    case "kind": {
      const v = pick(ctx, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255, 256, 0xffff_ffff]);
      return [`kind=${v}`, intItem(v)];
    }
    case "lag": {
      const v = pick(ctx, [0, 1, 100, 29_999, 30_000, 30_001, 0xffff_ffff]);
      return [`lag=${v}`, intItem(v)];
    }
    case "depth": {
      const v = pick(ctx, [0, 1, 2, 3, 4, 5, 255]);
      return [`depth=${v}`, intItem(v)];
    }
    case "index": {
      const v = pick(ctx, [0, 15, 16, 255, 256, 4095, 4096, 65_535, 65_536, 0xffff_ffff]);
      return [`index=${v}`, intItem(v)];
    }
    case "key":
      return chance(ctx, 0.1) ? pick(ctx, trickyNumbers(null)) : key();
    case "id":
      return chance(ctx, 0.6) && ctx.messageIds.length ? ["known-id", bytesItem(pick(ctx, ctx.messageIds))] : key();
    case "nullable-key":
      return chance(ctx, 0.3) ? ["null", Uint8Array.of(0xf6)] : key();
    case "hash": {
      const n = pick(ctx, [curLen, curLen, curLen - 1, curLen + 1, 0]);
      const zero = chance(ctx, 0.3);
      return [`${zero ? "zero" : "random"}-hash-${n}`, bytesItem(zero ? new Uint8Array(Math.max(0, n)) : randomBytes(ctx, Math.max(0, n)))];
    }
    case "signature": {
      const which = below(ctx, 4);
      if (which === 0) return ["zero-signature", bytesItem(new Uint8Array(64))];
      if (which === 1) return ["random-signature", bytesItem(randomBytes(ctx, 64))];
      if (which === 2 && cur && cur.major === 2) {
        const s = bytes.slice(cur.headEnd, cur.end);
        if (s.length) s[below(ctx, s.length)] ^= 1 << below(ctx, 8);
        return ["signature-bit", bytesItem(s)];
      }
      const n = pick(ctx, [63, 65, 0, 128]);
      return [`signature-${n}`, bytesItem(randomBytes(ctx, n))];
    }
    case "bytes": {
      const n = pick(ctx, [0, 1, curLen - 1, curLen + 1, curLen * 2, 257, 401, 16_385, 65_537]);
      return [`bytes-${n}`, bytesItem(randomBytes(ctx, Math.max(0, n)))];
    }
    case "text": {
      const which = below(ctx, 8);
      if (which === 0) return ["text-empty", textItem(new Uint8Array(0))];
      if (which === 1) return ["text-255", textItem(text(255))];
      if (which === 2) return ["text-257", textItem(text(257))];
      if (which === 3) return ["text-bad-utf8", textItem(Uint8Array.of(0x61, 0xc3, 0x28, 0xed, 0xa0, 0x80))];
      if (which === 4) return ["text-bom", textItem(Uint8Array.of(0xef, 0xbb, 0xbf, 0x61))];
      if (which === 5) return ["text-__proto__", textItem(new TextEncoder().encode("__proto__"))];
      if (which === 6) return ["text-4097", textItem(text(4097, 0x7a))];
      return ["bytes-for-text", bytesItem(text(8))];
    }
    case "bool":
      return pick(ctx, [["true", Uint8Array.of(0xf5)], ["false", Uint8Array.of(0xf4)], ["0", intItem(0)], ["1", intItem(1)], ["null", Uint8Array.of(0xf6)]] as Labelled[]);
  }
}

/** Every item at `path` (each `"*"` one random element); the last index may be one past the end. */
function resolve(ctx: MutationContext, root: Item, path: Path): { item: Item | null; parent: Item; index: number } | null {
  let it: Item = root;
  for (let k = 0; k < path.length; k++) {
    if (it.major !== 4) return null;
    const step = path[k];
    const index = step === "*" ? below(ctx, it.children.length) : step;
    if (step === "*" && it.children.length === 0) return null;
    if (k === path.length - 1) {
      if (index > it.children.length) return null;
      return { item: it.children[index] ?? null, parent: it, index };
    }
    const next = it.children[index];
    if (!next) return null;
    it = next;
  }
  return null;
}

/** Puts `value` at a resolved place: replaces the item, or appends it when the place is one past the end. */
function put(bytes: Uint8Array, at: { item: Item | null; parent: Item }, value: Uint8Array): Uint8Array {
  if (at.item) return replaceItem(bytes, at.item, value);
  const p = at.parent;
  const grown = splice(bytes, p.end, p.end, value);
  return splice(grown, p.start, p.headEnd, head(4, Number(p.arg) + 1));
}

// ------------------------------------------------------------------ byte mutations

const INTERESTING = [0x00, 0xff, 0x7f, 0x80, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f, 0x40, 0x5f, 0x60, 0x7b, 0x9b, 0x9f, 0xbf, 0xc0, 0xd8, 0xf4, 0xf5, 0xf6, 0xf7, 0xf9, 0xfb, 0xff];

const bitflip: Op = (b, _f, ctx) => {
  if (!b.length) return null;
  const out = b.slice();
  const n = 1 + below(ctx, 4);
  for (let k = 0; k < n; k++) out[below(ctx, out.length)] ^= 1 << below(ctx, 8);
  return { bytes: out, name: `bitflip:${n}` };
};

const byteSet: Op = (b, _f, ctx) => {
  if (!b.length) return null;
  const out = b.slice();
  const at = below(ctx, out.length);
  out[at] = chance(ctx, 0.7) ? pick(ctx, INTERESTING) : below(ctx, 256);
  return { bytes: out, name: `byte-set:${at}=0x${out[at].toString(16)}` };
};

const byteInsert: Op = (b, _f, ctx) => {
  const n = 1 + below(ctx, 8);
  const at = below(ctx, b.length + 1);
  return { bytes: splice(b, at, at, randomBytes(ctx, n)), name: `byte-insert:${at}+${n}` };
};

const byteDelete: Op = (b, _f, ctx) => {
  if (b.length < 2) return null;
  const at = below(ctx, b.length);
  const n = 1 + below(ctx, Math.min(8, b.length - at));
  return { bytes: splice(b, at, at + n, new Uint8Array(0)), name: `byte-delete:${at}-${n}` };
};

const byteDuplicate: Op = (b, _f, ctx) => {
  if (!b.length) return null;
  const at = below(ctx, b.length);
  const len = 1 + below(ctx, Math.min(32, b.length - at));
  const times = pick(ctx, [1, 2, 4, 16, 64]);
  const run = b.subarray(at, at + len);
  const copies = concat(...Array.from({ length: times }, () => run));
  return { bytes: splice(b, at, at, copies), name: `byte-duplicate:${at}:${len}x${times}` };
};

const truncate: Op = (b, _f, ctx) => {
  if (!b.length) return null;
  const at = below(ctx, b.length);
  return { bytes: b.slice(0, at), name: `truncate:${at}` };
};

const append: Op = (b, _f, ctx) => {
  if (chance(ctx, 0.5)) {
    const n = 1 + below(ctx, 16);
    return { bytes: concat(b, randomBytes(ctx, n)), name: `append:${n}` };
  }
  const other = pick(ctx, ctx.corpus);
  return { bytes: concat(b, other.bytes), name: `append:${other.type.name}` };
};

const spliceFrames: Op = (b, _f, ctx) => {
  const other = pick(ctx, ctx.corpus);
  const at = below(ctx, b.length + 1);
  const from = below(ctx, other.bytes.length + 1);
  return { bytes: concat(b.subarray(0, at), other.bytes.subarray(from)), name: `splice:${at}|${other.type.name}@${from}` };
};

// ------------------------------------------------------------------ CBOR item mutations

function items(b: Uint8Array, test: (it: Item) => boolean = () => true): { root: Item; list: Item[] } | null {
  const root = parseItem(b);
  if (!root) return null;
  const list = allItems(root).filter(test);
  return list.length ? { root, list } : null;
}

const LENGTHS: readonly (number | bigint)[] = [0, 1, 23, 24, 255, 256, 65_535, 65_536, 0xffff_ffff, 0x1_0000_0000, I53 - 1n, 2n ** 64n - 1n];

const cborLength: Op = (b, _f, ctx) => {
  const found = items(b, (it) => it.major >= 2 && it.major <= 5);
  if (!found) return null;
  const it = pick(ctx, found.list);
  const cur = BigInt(it.arg);
  const choices = [cur + 1n, cur > 0n ? cur - 1n : 0n, ...LENGTHS];
  const v = pick(ctx, choices);
  const width = chance(ctx, 0.25) ? pick(ctx, [1, 2, 4, 8] as const) : undefined;
  if (width && v >= 2n ** BigInt(8 * width)) return null;
  return { bytes: splice(b, it.start, it.headEnd, head(it.major, v, width)), name: `cbor-length:m${it.major}=${v}${width ? `/w${width}` : ""}` };
};

const cborInt: Op = (b, _f, ctx) => {
  const found = items(b, (it) => it.major === 0 || it.major === 1);
  if (!found) return null;
  const it = pick(ctx, found.list);
  const [label, value] = pick(ctx, trickyNumbers(it.major === 0 ? it.arg : null));
  return { bytes: replaceItem(b, it, value), name: `cbor-int:${label}` };
};

const cborBytes: Op = (b, _f, ctx) => {
  const found = items(b, (it) => it.major === 2);
  if (!found) return null;
  const it = pick(ctx, found.list);
  const len = Number(it.arg);
  const n = pick(ctx, [len + 1, len * 2 + 1, len > 0 ? len - 1 : 0, 0, 33, 65, 257, 401, 4097, 16_385, 65_537]);
  if (b.length + n > GROWTH_MAX) return null;
  const content = chance(ctx, 0.5) ? randomBytes(ctx, n) : new Uint8Array(n).fill(b[it.headEnd] ?? 0);
  return { bytes: replaceItem(b, it, bytesItem(content)), name: `cbor-bytes:${len}->${n}` };
};

const cborNest: Op = (b, _f, ctx) => {
  const found = items(b);
  if (!found) return null;
  const it = pick(ctx, found.list);
  const depth = pick(ctx, [1, 2, 4, 8, 16, 32]);
  const opened = new Uint8Array(depth).fill(0x81);
  return { bytes: replaceItem(b, it, concat(opened, b.subarray(it.start, it.end))), name: `cbor-nest:${depth}` };
};

const cborArityDrop: Op = (b, _f, ctx) => {
  const found = items(b, (it) => it.parent !== null && it.parent.major === 4);
  if (!found) return null;
  const it = pick(ctx, found.list);
  return { bytes: replaceItem(b, it, new Uint8Array(0), -1), name: `cbor-arity-drop:${it.parent!.children.indexOf(it)}/${it.parent!.children.length}` };
};

const SMALL_ITEMS: Labelled[] = [
  ["null", Uint8Array.of(0xf6)], ["0", intItem(0)], ["true", Uint8Array.of(0xf5)], ["h''", bytesItem(new Uint8Array(0))],
  ['""', textItem(new Uint8Array(0))], ["[]", Uint8Array.of(0x80)], ["{}", Uint8Array.of(0xa0)], ["h32", bytesItem(new Uint8Array(32))],
  ["{a:1}", Uint8Array.of(0xa1, 0x61, 0x61, 0x01)], ["1.5", float64Item(1.5)], ["2^53-1", intItem(I53 - 1n)],
];

const cborArityAdd: Op = (b, _f, ctx) => {
  const found = items(b, (it) => it.major === 4);
  if (!found) return null;
  const arr = pick(ctx, found.list);
  const [label, value] = pick(ctx, SMALL_ITEMS);
  const at = arr.children.length ? arr.children[below(ctx, arr.children.length + 1)] : undefined;
  const pos = at ? at.start : arr.end;
  const grown = splice(b, pos, pos, value);
  return { bytes: splice(grown, arr.start, arr.headEnd, head(4, Number(arr.arg) + 1)), name: `cbor-arity-add:${label}` };
};

const cborRetype: Op = (b, _f, ctx) => {
  const found = items(b);
  if (!found) return null;
  const it = pick(ctx, found.list);
  const [label, value] = pick(ctx, SMALL_ITEMS);
  return { bytes: replaceItem(b, it, value), name: `cbor-retype:m${it.major}->${label}` };
};

const cborSwap: Op = (b, _f, ctx) => {
  const found = items(b, (it) => it.major === 4 && it.children.length >= 2);
  if (!found) return null;
  const arr = pick(ctx, found.list);
  const i = below(ctx, arr.children.length);
  let j = below(ctx, arr.children.length - 1);
  if (j >= i) j++;
  const [x, y] = i < j ? [arr.children[i], arr.children[j]] : [arr.children[j], arr.children[i]];
  const out = concat(b.subarray(0, x.start), b.subarray(y.start, y.end), b.subarray(x.end, y.start), b.subarray(x.start, x.end), b.subarray(y.end));
  return { bytes: out, name: `cbor-swap:${i}<->${j}` };
};

const cborRepeat: Op = (b, _f, ctx) => {
  const found = items(b, (it) => it.parent !== null && it.parent.major === 4);
  if (!found) return null;
  const it = pick(ctx, found.list);
  const times = pick(ctx, [1, 2, 16, 255, 300, 1100]);
  const one = b.subarray(it.start, it.end);
  if (b.length + one.length * times > GROWTH_MAX) return null;
  const copies = concat(...Array.from({ length: times + 1 }, () => one));
  return { bytes: replaceItem(b, it, copies, times), name: `cbor-repeat:x${times + 1}` };
};

const cborGraft: Op = (b, _f, ctx) => {
  const found = items(b);
  const other = pick(ctx, ctx.corpus);
  const donor = items(other.bytes);
  if (!found || !donor) return null;
  const it = pick(ctx, found.list);
  const d = pick(ctx, donor.list);
  return { bytes: replaceItem(b, it, other.bytes.subarray(d.start, d.end)), name: `cbor-graft:${other.type.name}.m${d.major}` };
};

const cborNoncanonical: Op = (b, _f, ctx) => {
  const found = items(b, (it) => it.major <= 5 && it.info < 27);
  if (!found) return null;
  const it = pick(ctx, found.list);
  const width = pick(ctx, [1, 2, 4, 8] as const);
  if (BigInt(it.arg) >= 2n ** BigInt(8 * width)) return null;
  return { bytes: splice(b, it.start, it.headEnd, head(it.major, it.arg, width)), name: `cbor-noncanonical:w${width}` };
};

const OTHER_CODES = [0, 15, 20, 31, 32, 255, 65_536];

const typeByte: Op = (b, _f, ctx) => {
  const root = parseItem(b);
  const first = root && root.major === 4 ? root.children[0] : null;
  if (!first) return null;
  const codes = [...FRAME_TYPES.map((t) => t.code), ...OTHER_CODES];
  const code = pick(ctx, codes);
  return { bytes: replaceItem(b, first, intItem(code)), name: `type:${FRAME_TYPES.find((t) => t.code === code)?.name ?? code}` };
};

// ------------------------------------------------------------------ field mutations

const field: Op = (b, frame, ctx) => {
  const spec = FIELDS[frame.type.name];
  const root = parseItem(b);
  if (!spec || !spec.fields.length || !root) return null;
  const f = pick(ctx, spec.fields);
  const at = resolve(ctx, root, f.path);
  if (!at) return null;
  const [label, value] = valueFor(ctx, f.kind, at.item, b);
  return { bytes: put(b, at, value), name: `field:${f.name}=${label}` };
};

async function sign(ctx: MutationContext, s: SignedBody, body: Uint8Array): Promise<Uint8Array> {
  return ctx.suite.sign(ctx.sender, signingBytes(s.context, ctx.network, PROTOCOL_VERSION, body));
}

/** Replaces the body at `bodyItem` and its signature (re-signed with the sender's key). */
async function putSigned(ctx: MutationContext, s: SignedBody, b: Uint8Array, bodyItem: Item, body: Uint8Array): Promise<Uint8Array | null> {
  const parentStart = bodyItem.parent!.start;
  const replaced = replaceItem(b, bodyItem, bytesItem(body));
  const root = parseItem(replaced);
  if (!root) return null;
  // The body's array starts where it did: only bytes after the body's head moved.
  const parent = allItems(root).find((it) => it.start === parentStart && it.major === 4);
  const sig = parent?.children[s.signatureIndex];
  if (!sig) return replaced;
  return replaceItem(replaced, sig, bytesItem(await sign(ctx, s, body)));
}

/** A field inside a signed body changed; re-signed with the sender's key when `resign` (sometimes after making the sender its signer). */
const signedField: Op = async (b, frame, ctx) => {
  const specs = FIELDS[frame.type.name]?.signed;
  const root = parseItem(b);
  if (!specs?.length || !root) return null;
  const s = pick(ctx, specs);
  const at = resolve(ctx, root, s.path);
  if (!at?.item || at.item.major !== 2) return null;
  let body: Uint8Array = b.slice(at.item.headEnd, at.item.end);
  let inner = parseItem(body);
  if (!inner || inner.major !== 4) return null;
  const parts: string[] = [];
  const resign = chance(ctx, 0.7);
  if (resign && chance(ctx, 0.5)) {
    // Make the sender the signer, so the re-signed body verifies: the peer speaks for itself.
    const kind = inner.children[0];
    const signerAt = s.signer([kind && kind.major === 0 ? Number(kind.arg) : 0]);
    const spot = resolve(ctx, inner, [signerAt]);
    if (spot) {
      body = put(body, spot, bytesItem(ctx.sender.publicKey));
      inner = parseItem(body);
      parts.push("signer=sender");
      if (!inner) return null;
    }
  }
  const f = pick(ctx, s.fields);
  const spot = resolve(ctx, inner, f.path);
  if (!spot) return null;
  const [label, value] = valueFor(ctx, f.kind, spot.item, body);
  body = put(body, spot, value);
  parts.push(`${f.name}=${label}`);
  const out = resign ? await putSigned(ctx, s, b, at.item, body) : replaceItem(b, at.item, bytesItem(body));
  if (!out) return null;
  return { bytes: out, name: `signed:${s.name}.${parts.join(",")}${resign ? "+resign" : ""}` };
};

const CLAIM_SPEC = () => FIELDS.CLAIMS.signed![0];

/**
 * A claim the sending peer may sign: its own alive or farewell at any rank, or an accusation of
 * the victim or of another member at any rank (incarnation 2^53 − 1 included), put in place of
 * one of the frame's claims.
 */
const forgeClaim: Op = async (b, frame, ctx) => {
  const specs = FIELDS[frame.type.name]?.signed?.filter((s) => s.name === "claim");
  const root = parseItem(b);
  if (!specs?.length || !root) return null;
  const listPath = specs[0].path.slice(0, -2);
  const list = resolve(ctx, root, listPath);
  if (!list?.item || list.item.major !== 4) return null;
  const self = ctx.sender.publicKey;
  const whom = below(ctx, 4);
  const gen = pick(ctx, [["g1", 1n], ["g2", 2n], ["g2^53-1", I53 - 1n], [`g${ctx.victimGeneration}`, BigInt(ctx.victimGeneration)]] as [string, bigint][]);
  const inc = pick(ctx, [["i0", 0n], ["i1", 1n], ["i7", 7n], ["i2^53-2", I53 - 2n], ["i2^53-1", I53 - 1n]] as [string, bigint][]);
  let kind: number;
  let member: Uint8Array;
  let claimer: Uint8Array | null = null;
  let label: string;
  if (whom === 0) [kind, member, label] = [pick(ctx, [1, 4]), self, "self"];
  else {
    kind = pick(ctx, [2, 3]);
    member = whom === 1 ? pick(ctx, ctx.keys).publicKey : ctx.victim;
    claimer = self;
    label = whom === 1 ? "other" : "victim";
    if (whom === 3) [gen[0], gen[1]] = [`g${ctx.victimGeneration}`, BigInt(ctx.victimGeneration)]; // the victim's own generation: it must refute
  }
  const elements = [intItem(kind), bytesItem(member), intItem(gen[1]), intItem(inc[1]), claimer ? bytesItem(claimer) : Uint8Array.of(0xf6), Uint8Array.of(0xf6)];
  if (kind === 1 && chance(ctx, 0.3)) elements.push(intItem(pick(ctx, [1, 30_000])));
  const body = arrayItem(elements);
  const claim = arrayItem([bytesItem(body), bytesItem(await sign(ctx, CLAIM_SPEC(), body))]);
  const name = `forge-claim:k${kind}:${label}:${gen[0]}:${inc[0]}`;
  const children = list.item.children;
  if (children.length && chance(ctx, 0.7)) return { bytes: replaceItem(b, children[below(ctx, children.length)], claim), name };
  const pos = list.item.end;
  const grown = splice(b, pos, pos, claim);
  return { bytes: splice(grown, list.item.start, list.item.headEnd, head(4, children.length + 1)), name };
};

// ------------------------------------------------------------------ the mix

const OPS: readonly [weight: number, op: Op][] = [
  [4, bitflip], [3, byteSet], [2, byteInsert], [2, byteDelete], [2, byteDuplicate], [3, truncate], [1, append], [2, spliceFrames],
  [4, cborLength], [5, cborInt], [3, cborBytes], [2, cborNest], [3, cborArityDrop], [3, cborArityAdd], [3, cborRetype], [2, cborSwap],
  [3, cborRepeat], [2, cborGraft], [1, cborNoncanonical], [3, typeByte],
  [12, field], [10, signedField], [6, forgeClaim],
];
const TOTAL = OPS.reduce((s, [w]) => s + w, 0);

function pickOp(ctx: MutationContext): Op {
  let r = below(ctx, TOTAL);
  for (const [w, op] of OPS) {
    if (r < w) return op;
    r -= w;
  }
  return OPS[0][1];
}

/** Mutates a corpus frame: 3 % are replayed as captured, the rest take one to four mutations. */
export async function mutate(frame: CorpusFrame, ctx: MutationContext): Promise<Mutated> {
  if (chance(ctx, 0.03)) return { bytes: frame.bytes, mutations: ["none"] };
  const r = ctx.rng.nextU32() / 2 ** 32;
  const n = r < 0.6 ? 1 : r < 0.85 ? 2 : r < 0.95 ? 3 : 4;
  let bytes: Uint8Array = frame.bytes;
  const mutations: string[] = [];
  for (let k = 0; k < n; k++) {
    for (let attempt = 0; attempt < 8; attempt++) {
      const out = await pickOp(ctx)(bytes, frame, ctx);
      if (!out || out.bytes.length > GROWTH_MAX) continue;
      bytes = out.bytes;
      mutations.push(out.name);
      break;
    }
  }
  if (!mutations.length) return { bytes: frame.bytes, mutations: ["none"] };
  return { bytes, mutations };
}

