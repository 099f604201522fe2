/**
 * A CBOR item tree with byte offsets, and writers for heads the production encoder never emits
 * (non-shortest widths, integers past 2^53, half floats, NaN), so the fuzzer can edit one item of
 * a frame in place: change a length, swap an integer for a float, wrap an item in arrays.
 *
 * The parser is tolerant where `src/wire` is strict (tags, indefinite lengths and big integers
 * parse) because it also reads frames an earlier mutation already bent; it returns null rather
 * than throwing when the bytes do not hold one complete item. It is never used to judge a frame:
 * that is the decoders' job, and this module only has to find the items to edit.
 *
 * @module
 */

/** One data item of a frame, with where its head and its whole encoding lie. */
export interface Item {
  major: number;
  /** The additional information of the head (low 5 bits of the initial byte). */
  info: number;
  /** The head's argument: a count, a length or an integer's magnitude (bigint past 2^53). */
  arg: number | bigint;
  start: number;
  headEnd: number;
  end: number;
  children: Item[];
  parent: Item | null;
}

const DEPTH_MAX = 64;

/** Parses one item spanning all of `bytes`, or returns null (trailing bytes, truncation, too deep). */
export function parseItem(bytes: Uint8Array): Item | null {
  try {
    const { item, end } = parseAt(bytes, 0, null, 0);
    return end === bytes.length ? item : null;
  } catch {
    return null;
  }
}

function parseAt(bytes: Uint8Array, pos: number, parent: Item | null, depth: number): { item: Item; end: number } {
  if (depth > DEPTH_MAX || pos >= bytes.length) throw new Error("stop");
  const start = pos;
  const major = bytes[pos] >> 5;
  const info = bytes[pos] & 0x1f;
  pos++;
  let arg: number | bigint;
  if (info < 24) arg = info;
  else if (info <= 27) {
    const size = 1 << (info - 24);
    if (pos + size > bytes.length) throw new Error("stop");
    let v = 0n;
    for (let k = 0; k < size; k++) v = (v << 8n) | BigInt(bytes[pos + k]);
    arg = v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    pos += size;
  } else if (info === 31 && (major === 7 || major >= 2)) arg = -1; // indefinite or break
  else throw new Error("stop");
  const item: Item = { major, info, arg, start, headEnd: pos, end: pos, children: [], parent };
  if (major === 2 || major === 3) {
    if (typeof arg !== "number" || arg < 0 || pos + arg > bytes.length) throw new Error("stop");
    pos += arg;
  } else if (major === 4 || major === 5) {
    if (typeof arg !== "number" || arg < 0 || arg > bytes.length) throw new Error("stop");
    const n = major === 5 ? 2 * arg : arg;
    for (let k = 0; k < n; k++) {
      const child = parseAt(bytes, pos, item, depth + 1);
      item.children.push(child.item);
      pos = child.end;
    }
  } else if (major === 6) {
    const child = parseAt(bytes, pos, item, depth + 1);
    item.children.push(child.item);
    pos = child.end;
  } else if (major === 7 && info > 27) throw new Error("stop");
  item.end = pos;
  return { item, end: pos };
}

/** Every item of the tree, depth first (the root first). */
export function allItems(root: Item): Item[] {
  const out: Item[] = [];
  const stack = [root];
  while (stack.length) {
    const it = stack.pop()!;
    out.push(it);
    for (let k = it.children.length - 1; k >= 0; k--) stack.push(it.children[k]);
  }
  return out;
}

/** The item at `path` (array indices from the root), or null. */
export function itemAt(root: Item, path: readonly number[]): Item | null {
  let it: Item | undefined = root;
  for (const k of path) {
    if (!it || it.major !== 4) return null;
    it = it.children[k];
  }
  return it ?? null;
}

/** A head of `major` with argument `arg`, in the shortest form or at a forced width (0 = inline). */
export function head(major: number, arg: number | bigint, width?: 0 | 1 | 2 | 4 | 8): Uint8Array {
  const v = BigInt(arg);
  if (v < 0n) throw new RangeError("head: negative argument");
  const w = width ?? (v < 24n ? 0 : v < 0x100n ? 1 : v < 0x10000n ? 2 : v < 0x1_0000_0000n ? 4 : 8);
  if (w === 0) return Uint8Array.of((major << 5) | Number(v & 0x1fn));
  const out = new Uint8Array(1 + w);
  out[0] = (major << 5) | (24 + Math.log2(w));
  for (let k = 0; k < w; k++) out[w - k] = Number((v >> BigInt(8 * k)) & 0xffn);
  return out;
}

/** An integer item: major 0 or 1, any magnitude up to 2^64 − 1. */
export function intItem(value: number | bigint, width?: 0 | 1 | 2 | 4 | 8): Uint8Array {
  const v = BigInt(value);
  return v >= 0n ? head(0, v, width) : head(1, -1n - v, width);
}

/** A binary64 float item. */
export function float64Item(x: number): Uint8Array {
  const out = new Uint8Array(9);
  out[0] = 0xfb;
  new DataView(out.buffer).setFloat64(1, x);
  return out;
}

/** A binary16 float item from its raw bits (0x7e00 NaN, 0x7c00 +Infinity, 0x8000 −0). */
export function float16Item(bits: number): Uint8Array {
  return Uint8Array.of(0xf9, bits >> 8, bits & 0xff);
}

/** A byte string item. */
export function bytesItem(content: Uint8Array, width?: 0 | 1 | 2 | 4 | 8): Uint8Array {
  return concat(head(2, content.length, width), content);
}

/** A text string item from raw bytes (which need not be valid UTF-8). */
export function textItem(content: Uint8Array): Uint8Array {
  return concat(head(3, content.length), content);
}

/** An array item around already encoded elements. */
export function arrayItem(elements: readonly Uint8Array[]): Uint8Array {
  return concat(head(4, elements.length), ...elements);
}

/** `bytes` with `[start, end)` replaced by `replacement`. */
export function splice(bytes: Uint8Array, start: number, end: number, replacement: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length - (end - start) + replacement.length);
  out.set(bytes.subarray(0, start), 0);
  out.set(replacement, start);
  out.set(bytes.subarray(end), start + replacement.length);
  return out;
}

/**
 * Replaces the encoding of `item` by `replacement` and, when `countDelta` is not 0, also rewrites
 * the head of the array holding it (its element count plus `countDelta`), so the frame stays one
 * well-formed item with one element more or fewer.
 */
export function replaceItem(bytes: Uint8Array, item: Item, replacement: Uint8Array, countDelta = 0): Uint8Array {
  const parent = item.parent;
  if (countDelta === 0 || !parent || parent.major !== 4 || typeof parent.arg !== "number") {
    return splice(bytes, item.start, item.end, replacement);
  }
  const inner = splice(bytes.subarray(0, parent.end), item.start, item.end, replacement);
  const newHead = head(4, Math.max(0, parent.arg + countDelta));
  const rebuilt = splice(inner, parent.start, parent.headEnd, newHead);
  return concat(rebuilt, bytes.subarray(parent.end));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
