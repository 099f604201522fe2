/**
 * Byte-string helpers shared by every layer: comparison, concatenation and the text forms
 * (hex for vectors and logs, unpadded base64url for node ids). Pure functions, no runtime globals.
 *
 * @module
 */

/** Constant-shape equality of two byte strings (length first, then every byte). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Lexicographic order of byte strings; returns negative, zero or positive. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Concatenates byte strings into one new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Character codes of the hex digits. */
const HEX_CODES = Array.from("0123456789abcdef", (c) => c.charCodeAt(0));
/** Bytes turned into hex per `String.fromCharCode` call (well under any engine's argument limit). */
const HEX_CHUNK = 4096;

/**
 * Lower-case hex of a byte string. Built from character codes, not by appending: appending makes
 * a rope of about one string object per byte, which a Map key keeps alive (about 1.6 KB for a
 * 32-byte node id instead of 80 bytes).
 */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (let start = 0; start < bytes.length; start += HEX_CHUNK) {
    const end = Math.min(bytes.length, start + HEX_CHUNK);
    const codes = new Array<number>(2 * (end - start));
    for (let i = start, k = 0; i < end; i++) {
      codes[k++] = HEX_CODES[bytes[i] >> 4];
      codes[k++] = HEX_CODES[bytes[i] & 15];
    }
    s += String.fromCharCode.apply(null, codes);
  }
  return s;
}

/** Parses hex (either case, even length); throws `TypeError` on anything else. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new TypeError("fromHex: not an even-length hex string");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64URL_INDEX = new Map([...B64URL].map((c, i) => [c, i] as const));

/** Character codes of the base64url digits. */
const B64URL_CODES = Array.from(B64URL, (c) => c.charCodeAt(0));
/** Bytes turned into base64url per `String.fromCharCode` call: a multiple of 3, well under any engine's argument limit. */
const B64URL_CHUNK = 3 * 1024;

/**
 * Unpadded base64url (RFC 4648 §5), the display form of node ids and keys. Built from character
 * codes, not by appending, as {@link toHex} is: a 43-character id appended a digit at a time is a
 * rope of about 160 string objects for as long as it is kept (a link's peer, a cache key).
 */
export function toBase64Url(bytes: Uint8Array): string {
  let s = "";
  for (let start = 0; start < bytes.length; start += B64URL_CHUNK) {
    const end = Math.min(bytes.length, start + B64URL_CHUNK);
    const codes = new Array<number>(Math.ceil(((end - start) * 4) / 3));
    let k = 0;
    let i = start;
    for (; i + 2 < end; i += 3) {
      const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
      codes[k++] = B64URL_CODES[n >> 18];
      codes[k++] = B64URL_CODES[(n >> 12) & 63];
      codes[k++] = B64URL_CODES[(n >> 6) & 63];
      codes[k++] = B64URL_CODES[n & 63];
    }
    const rest = end - i;
    if (rest > 0) {
      const n = (bytes[i] << 16) | (rest === 2 ? bytes[i + 1] << 8 : 0);
      codes[k++] = B64URL_CODES[n >> 18];
      codes[k++] = B64URL_CODES[(n >> 12) & 63];
      if (rest === 2) codes[k++] = B64URL_CODES[(n >> 6) & 63];
    }
    s += String.fromCharCode.apply(null, codes);
  }
  return s;
}

/** Parses unpadded base64url; throws `TypeError` on padding, foreign characters or a bad length. */
export function fromBase64Url(text: string): Uint8Array {
  if (text.length % 4 === 1) throw new TypeError("fromBase64Url: impossible length");
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (const c of text) {
    const v = B64URL_INDEX.get(c);
    if (v === undefined) throw new TypeError(`fromBase64Url: invalid character ${JSON.stringify(c)}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) throw new TypeError("fromBase64Url: non-canonical trailing bits");
  return out;
}
