/**
 * The CBOR codec: {@link encode} and {@link decode}, our own (no CBOR library: a browser tab pays
 * only for the subset the protocol uses).
 *
 * Data model, the same both ways: `null`, booleans, finite numbers, strings, `Uint8Array`, plain
 * arrays and plain string-keyed objects. Nothing else encodes (`TypeError`), so `encode` never
 * writes a frame that `decode` would refuse.
 *
 * Encoding profile, byte-identical on every runtime (the vectors in `test/vectors/cbor.json` pin it):
 * - integers within ±`Number.MAX_SAFE_INTEGER` as major type 0/1 with the shortest head; `-0` is
 *   the integer 0;
 * - every other number as a binary64 float (`fb`);
 * - byte strings as plain major type 2, text as UTF-8, all lengths in shortest heads;
 * - map keys in RFC 8949 §4.2.1 order (shorter encoding first, then bytewise), so the key
 *   insertion order of an object never changes its bytes;
 * - no tags, no indefinite lengths, no `undefined`; text is well-formed and never starts with U+FEFF.
 *
 * Decoding: {@link scanCbor} proves the frame is inside the profile and the limits (so the
 * builder below never meets a tag, an indefinite length, a bad length or bad UTF-8), then the value
 * is built and duplicate map keys are refused. Byte strings come out as fresh plain `Uint8Array`
 * copies (never views into the frame); maps come out as plain objects, with unsigned-int keys
 * turned into their decimal strings; floats of any width are read.
 *
 * @module
 */

import { GrapevineError, remoteError } from "../errors.ts";
import { DEFAULT_DECODE_LIMITS, type DecodeLimits } from "./limits.ts";
import { scanCbor } from "./scan.ts";
import { utf8ByteLength } from "./shape.ts";

/** Deeper than this, `encode` assumes a cycle. Far above any frame a peer would accept. */
const ENCODE_DEPTH_MAX = 512;
const LONE_SURROGATE = /\p{Cs}/u; // with the u flag a valid surrogate pair is one code point

/**
 * Encodes a value of the data model to canonical CBOR (see the module doc). Returns a new plain
 * `Uint8Array` that later calls never overwrite. Throws `TypeError` for anything outside the data
 * model (undefined, bigint, NaN, ±Infinity, Map, Date, class instances, typed arrays other than
 * `Uint8Array`, sparse arrays, `"__proto__"` keys, lone surrogates, text starting with U+FEFF) and
 * `RangeError` for nesting deeper than 512 (or a cycle).
 *
 * @example
 * ```ts
 * import { encode } from "./cbor.ts";
 * import { toHex } from "../bytes.ts";
 * console.log(toHex(encode({ b: [1, -1], a: new Uint8Array([0xff]) }))); // a2616141ff6162820120
 * ```
 */
export function encode(value: unknown): Uint8Array {
  return written((w) => w.value(value, 0));
}

/**
 * The CBOR array whose items are `items`, each one whole item already encoded (as {@link encode}
 * returns it): the same bytes as encoding the array of their values, for a caller that puts one
 * item in many arrays and encodes it once. The items are copied as they are, not checked.
 */
export function encodeArray(items: readonly Uint8Array[]): Uint8Array {
  return written((w) => w.items(items));
}

/** What `write` writes, as a fresh copy. */
function written(write: (w: Writer) => void): Uint8Array {
  // One writer, its buffer kept from call to call: a node encodes frames all the time, most of them
  // a few dozen bytes, and a fresh buffer for each was a good part of the garbage collector's work.
  const w = spare ?? new Writer();
  spare = null;
  try {
    write(w);
    return w.done();
  } finally {
    w.reset();
    spare = w;
  }
}

/** The writer `encode` reuses (null while it is in use). */
let spare: Writer | null = null;

/**
 * Decodes one frame under `limits` (default {@link DEFAULT_DECODE_LIMITS}). Throws a remote
 * `GrapevineError`: `WIRE_FRAME_TOO_LARGE`, `WIRE_LIMIT` or `WIRE_MALFORMED` (also for duplicate
 * map keys, `1` and `"1"` included). Throws `TypeError` if `bytes` is not a `Uint8Array`. The
 * result is typed `unknown`: check its shape with the helpers in `shape.ts`. Byte strings are copies,
 * or with `borrow` views of `bytes` (for a record whose bytes the caller keeps as long as what it
 * decodes from them: no buffer of their own).
 *
 * @example
 * ```ts
 * import { decode } from "./cbor.ts";
 * import { fromHex } from "../bytes.ts";
 * console.log(decode(fromHex("a2616141ff6162820120"))); // { a: Uint8Array [255], b: [1, -1] }
 * ```
 */
export function decode(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_DECODE_LIMITS, borrow = false): unknown {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("decode: expected a Uint8Array");
  scanCbor(bytes, limits);
  try {
    return new Reader(bytes, borrow).item();
  } catch (e) {
    if (e instanceof GrapevineError) throw e;
    // Only nesting past what this runtime's stack holds, under limits looser than any default.
    throw remoteError("WIRE_MALFORMED", `frame could not be read: ${e instanceof Error ? e.message : String(e)}`, e);
  }
}

/**
 * The argument of the head at `pos` in bytes that `decode` accepted, and where its content starts
 * (for a text or byte string, its bytes): a caller that keeps the encoded bytes finds a part in them.
 */
export function headAt(bytes: Uint8Array, pos: number): { arg: number; next: number } {
  const info = bytes[pos] & 31;
  if (info < 24) return { arg: info, next: pos + 1 };
  const len = 1 << (info - 24);
  let arg = 0;
  for (let i = 1; i <= len; i++) arg = arg * 256 + bytes[pos + i];
  return { arg, next: pos + 1 + len };
}

// ---------------------------------------------------------------------------- writing

const textEncoder = new TextEncoder();

class Writer {
  #buf = new Uint8Array(256);
  #view = new DataView(this.#buf.buffer);
  #pos = 0;

  /** A copy of what was written. */
  done(): Uint8Array {
    return this.#buf.slice(0, this.#pos);
  }

  /** Empties the writer for the next value; a buffer grown past 64 KiB is let go. */
  reset(): void {
    this.#pos = 0;
    if (this.#buf.length > 65_536) {
      this.#buf = new Uint8Array(256);
      this.#view = new DataView(this.#buf.buffer);
    }
  }

  #room(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const grown = new Uint8Array(Math.max(this.#buf.length * 2, this.#pos + n));
    grown.set(this.#buf.subarray(0, this.#pos));
    this.#buf = grown;
    this.#view = new DataView(grown.buffer);
  }

  /** A head: major type and argument (< 2^53), in the shortest form. */
  #head(major: number, n: number): void {
    this.#room(9);
    const m = major << 5;
    const b = this.#buf;
    if (n < 24) b[this.#pos++] = m | n;
    else if (n < 0x100) {
      b[this.#pos++] = m | 24;
      b[this.#pos++] = n;
    } else if (n < 0x10000) {
      b[this.#pos++] = m | 25;
      this.#view.setUint16(this.#pos, n);
      this.#pos += 2;
    } else if (n < 0x1_0000_0000) {
      b[this.#pos++] = m | 26;
      this.#view.setUint32(this.#pos, n);
      this.#pos += 4;
    } else {
      b[this.#pos++] = m | 27;
      this.#view.setUint32(this.#pos, Math.floor(n / 0x1_0000_0000));
      this.#view.setUint32(this.#pos + 4, n >>> 0);
      this.#pos += 8;
    }
  }

  /** An array of items already encoded. */
  items(items: readonly Uint8Array[]): void {
    this.#head(4, items.length);
    for (const item of items) {
      this.#room(item.length);
      this.#buf.set(item, this.#pos);
      this.#pos += item.length;
    }
  }

  value(value: unknown, depth: number): void {
    switch (typeof value) {
      case "boolean":
        this.#room(1);
        this.#buf[this.#pos++] = value ? 0xf5 : 0xf4;
        return;
      case "number":
        return this.#number(value);
      case "string":
        return this.#text(value);
      case "object":
        if (value === null) {
          this.#room(1);
          this.#buf[this.#pos++] = 0xf6;
          return;
        }
        if (value instanceof Uint8Array) {
          this.#head(2, value.length);
          this.#room(value.length);
          this.#buf.set(value, this.#pos);
          this.#pos += value.length;
          return;
        }
        if (depth >= ENCODE_DEPTH_MAX) throw new RangeError(`encode: nesting deeper than ${ENCODE_DEPTH_MAX}, or a cycle`);
        if (Array.isArray(value)) return this.#array(value, depth + 1);
        return this.#map(value, depth + 1);
      default:
        throw new TypeError(`encode: ${typeof value} is not encodable`);
    }
  }

  #number(n: number): void {
    if (!Number.isFinite(n)) throw new TypeError(`encode: ${n} is not encodable; numbers must be finite`);
    if (Number.isSafeInteger(n)) {
      if (n >= 0) this.#head(0, n); // -0 too
      else this.#head(1, -1 - n);
      return;
    }
    this.#room(9);
    this.#buf[this.#pos++] = 0xfb;
    this.#view.setFloat64(this.#pos, n);
    this.#pos += 8;
  }

  #text(text: string): void {
    checkText(text);
    const length = utf8ByteLength(text);
    this.#head(3, length);
    this.#room(length);
    if (length === text.length) {
      // ASCII: one byte per unit
      const b = this.#buf;
      for (let i = 0, p = this.#pos; i < length; i++) b[p + i] = text.charCodeAt(i);
    } else textEncoder.encodeInto(text, this.#buf.subarray(this.#pos, this.#pos + length));
    this.#pos += length;
  }

  #array(array: unknown[], depth: number): void {
    if (Object.getPrototypeOf(array) !== Array.prototype) throw new TypeError("encode: only plain arrays are encodable");
    for (let i = 0; i < array.length; i++) if (!(i in array)) throw new TypeError("encode: sparse arrays are not encodable");
    this.#head(4, array.length);
    for (let i = 0; i < array.length; i++) this.value(array[i], depth);
  }

  #map(object: object, depth: number): void {
    const proto: unknown = Object.getPrototypeOf(object);
    if ((proto !== Object.prototype && proto !== null) || Object.getOwnPropertySymbols(object).length > 0) {
      throw new TypeError(`encode: ${Object.prototype.toString.call(object)} is not encodable; use plain objects, arrays and Uint8Array`);
    }
    const keys = Object.keys(object).sort(compareKeys);
    this.#head(5, keys.length);
    for (const key of keys) {
      if (key === "__proto__") throw new TypeError('encode: the key "__proto__" is not encodable');
      this.#text(key);
      this.value((object as Record<string, unknown>)[key], depth);
    }
  }
}

function checkText(text: string): void {
  if (text.charCodeAt(0) === 0xfeff) throw new TypeError("encode: text must not start with U+FEFF");
  if (LONE_SURROGATE.test(text)) throw new TypeError("encode: text holds a lone surrogate, which UTF-8 cannot carry");
}

/** RFC 8949 §4.2.1 order of text keys: shorter UTF-8 first, then bytewise (= code point order). */
function compareKeys(a: string, b: string): number {
  const byLength = utf8ByteLength(a) - utf8ByteLength(b);
  if (byLength !== 0) return byLength;
  for (let i = 0; i < a.length && i < b.length; ) {
    const ca = a.codePointAt(i) as number;
    const cb = b.codePointAt(i) as number;
    if (ca !== cb) return ca - cb;
    i += ca > 0xffff ? 2 : 1;
  }
  return 0;
}

// ---------------------------------------------------------------------------- reading

const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Builds the value of a frame the scanner accepted (well-formed, in the profile, within limits). */
class Reader {
  #b: Uint8Array;
  #pos = 0;
  #borrow: boolean;

  constructor(bytes: Uint8Array, borrow: boolean) {
    // Plain, so slices are plain copies (a Node Buffer's would be Buffer views); a frame is read
    // many times a second, so a plain array is used as it is, and no DataView is made for it
    // (heads are read byte by byte, floats through a view made when one is met).
    this.#b = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#borrow = borrow;
  }

  /** The argument of a head whose low bits are `info` (< 28: the scanner refused the rest). */
  #arg(info: number): number {
    if (info < 24) return info;
    const b = this.#b;
    const p = this.#pos;
    switch (info) {
      case 24:
        this.#pos += 1;
        return b[p];
      case 25:
        this.#pos += 2;
        return (b[p] << 8) | b[p + 1];
      case 26:
        this.#pos += 4;
        return b[p] * 0x100_0000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
      default:
        this.#pos += 8;
        return (b[p] * 0x100_0000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3])) * 0x1_0000_0000 +
          b[p + 4] * 0x100_0000 + ((b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]);
    }
  }

  item(): unknown {
    const h = this.#b[this.#pos++];
    const major = h >> 5;
    const info = h & 31;
    switch (major) {
      case 0:
        return this.#arg(info);
      case 1:
        return -1 - this.#arg(info);
      case 2: {
        const n = this.#arg(info);
        const out = this.#borrow ? this.#b.subarray(this.#pos, this.#pos + n) : this.#b.slice(this.#pos, this.#pos + n);
        this.#pos += n;
        return out;
      }
      case 3:
        return this.#text(this.#arg(info));
      case 4: {
        const n = this.#arg(info);
        const out = new Array<unknown>(n);
        for (let i = 0; i < n; i++) out[i] = this.item();
        return out;
      }
      case 5: {
        const n = this.#arg(info);
        const out: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          const kh = this.#b[this.#pos++];
          // Keys are text or unsigned ints (the scanner's rule); an int key is its decimal string.
          const key = kh >> 5 === 3 ? this.#text(this.#arg(kh & 31)) : String(this.#arg(kh & 31));
          if (Object.hasOwn(out, key)) throw remoteError("WIRE_MALFORMED", "duplicate map key");
          out[key] = this.item();
        }
        return out;
      }
      default:
        return this.#simple(info);
    }
  }

  #simple(info: number): unknown {
    const b = this.#b;
    const p = this.#pos;
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 25:
        this.#pos += 2;
        return halfToNumber((b[p] << 8) | b[p + 1]);
      case 26:
        this.#pos += 4;
        return new DataView(b.buffer, b.byteOffset + p, 4).getFloat32(0);
      case 27:
        this.#pos += 8;
        return new DataView(b.buffer, b.byteOffset + p, 8).getFloat64(0);
      default:
        throw remoteError("WIRE_MALFORMED", `simple value ${info} outside the profile`);
    }
  }

  #text(n: number): string {
    const b = this.#b;
    const p = this.#pos;
    this.#pos += n;
    if (n < 64) {
      let s = "";
      for (let i = p; i < p + n; i++) {
        const c = b[i];
        if (c >= 0x80) return textDecoder.decode(b.subarray(p, p + n));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return textDecoder.decode(b.subarray(p, p + n));
  }
}

/** An IEEE 754 binary16 value. */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
