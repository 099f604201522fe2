/**
 * The pre-decode scanner: one linear walk over the item heads of a CBOR frame that proves the frame
 * lies inside Grapevine's CBOR profile and inside its {@link DecodeLimits} before any value is
 * built: the scanner is the gate, and the builder in `cbor.ts` only reads frames the gate let
 * through (so it never meets a tag, an indefinite length or a length past the frame).
 *
 * Invariants:
 * - the frame length is checked first, before any byte is read;
 * - no recursion and no allocation per item: open arrays and maps live on an explicit stack of
 *   remaining-child counts (module-level typed arrays, reused, at most `depthMax + 1` deep);
 * - a declared length is believed only after it fits in the bytes left, counting one byte for every
 *   child still owed by an open container, so nothing is ever sized by a peer's claim;
 * - an accepted frame is exactly one item with definite lengths; no tags; the only simple values
 *   are false, true and null; floats of any width; integers within ±`Number.MAX_SAFE_INTEGER`;
 *   text is strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF) and does not start with
 *   U+FEFF (some CBOR libraries drop a leading byte-order mark, so peers built on them would
 *   disagree); map keys are text (never `"__proto__"`) or unsigned ints.
 *
 * @module
 */

import { type GrapevineError, remoteError } from "../errors.ts";
import { checkDecodeLimits, type DecodeLimits } from "./limits.ts";

/** What a successful scan counted, for checks that also need the decoded value. */
export interface ScanSummary {
  /** Data items in the frame: every key, value, array element and container, plus the root. */
  readonly items: number;
  /** Key/value pairs declared by all maps in the frame together. */
  readonly mapEntries: number;
}

const SAFE_HIGH_WORD_MAX = 0x1f_ffff; // high 32 bits of Number.MAX_SAFE_INTEGER
const PROTO_KEY = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]; // "__proto__"

// Reused by every scan (scans are synchronous and never re-entered); grown on demand.
let remainingStack = new Float64Array(17);
let isMapStack = new Uint8Array(17);
// The argument of the head last read by readHead: a count, a length or an integer's magnitude.
let headArg = 0;

/**
 * Throws a `GrapevineError` (`source: "remote"`) unless `bytes` is one well-formed item of the
 * profile within `limits`: `WIRE_FRAME_TOO_LARGE` for an oversized frame (checked first),
 * `WIRE_LIMIT` for a bound exceeded, `WIRE_MALFORMED` for anything else. Throws `RangeError` if
 * `limits` itself is invalid.
 *
 * @example
 * ```ts
 * import { scanCbor } from "./scan.ts";
 * import { DEFAULT_DECODE_LIMITS } from "./limits.ts";
 * scanCbor(new Uint8Array([0x82, 0x01, 0x02]), DEFAULT_DECODE_LIMITS); // [1, 2]: ok
 * try {
 *   scanCbor(new Uint8Array([0x9f, 0xff]), DEFAULT_DECODE_LIMITS);
 * } catch (e) {
 *   console.log(e); // GrapevineError WIRE_MALFORMED: indefinite length
 * }
 * ```
 */
export function scanCbor(bytes: Uint8Array, limits: DecodeLimits): void {
  scanCborSummary(bytes, limits);
}

/**
 * {@link scanCbor}, returning what it counted. `decode` uses `mapEntries` to detect duplicate
 * map keys, which a non-allocating scan cannot see.
 *
 * @example
 * ```ts
 * import { scanCborSummary } from "./scan.ts";
 * import { DEFAULT_DECODE_LIMITS } from "./limits.ts";
 * const { items, mapEntries } = scanCborSummary(new Uint8Array([0xa1, 0x61, 0x61, 0x01]), DEFAULT_DECODE_LIMITS);
 * console.log(items, mapEntries); // 3 1
 * ```
 */
export function scanCborSummary(bytes: Uint8Array, limits: DecodeLimits): ScanSummary {
  checkDecodeLimits(limits);
  const end = bytes.length;
  if (end > limits.frameBytesMax) {
    throw remoteError("WIRE_FRAME_TOO_LARGE", `frame of ${end} bytes exceeds frameBytesMax ${limits.frameBytesMax}`);
  }
  reserveStack(Math.min(limits.depthMax, end) + 1);
  const remaining = remainingStack;
  const isMap = isMapStack;
  // Slot 0 is a virtual container holding the one top-level item.
  remaining[0] = 1;
  isMap[0] = 0;
  let top = 0;
  let pos = 0;
  let items = 0;
  let mapEntries = 0;
  let pending = 1; // children still owed by all open containers; each needs at least one byte
  while (top >= 0) {
    if (remaining[top] === 0) {
      top--;
      continue;
    }
    const isKey = isMap[top] === 1 && remaining[top] % 2 === 0;
    remaining[top]--;
    pending--;
    if (++items > limits.itemsMax) throw overLimit(`more than itemsMax ${limits.itemsMax} items`, pos);
    if (pos >= end) throw malformed("truncated frame", pos);
    const start = pos;
    const major = bytes[pos] >> 5;
    pos = readHead(bytes, pos);
    const arg = headArg;
    if (isKey && major !== 0 && major !== 3) throw malformed("map key is not a text string or unsigned integer", start);
    switch (major) {
      case 0:
        if (arg > Number.MAX_SAFE_INTEGER) throw malformed("integer beyond Number.MAX_SAFE_INTEGER", start);
        break;
      case 1:
        if (arg >= Number.MAX_SAFE_INTEGER) throw malformed("integer beyond -Number.MAX_SAFE_INTEGER", start);
        break;
      case 2:
        checkStringLength(arg, limits.bytesLengthMax, "byte string", end - pos - pending, start);
        pos += arg;
        break;
      case 3:
        checkStringLength(arg, limits.textBytesMax, "text string", end - pos - pending, start);
        checkText(bytes, pos, pos + arg, isKey, start);
        pos += arg;
        break;
      case 4:
      case 5: {
        const isMapHead = major === 5;
        if (isMapHead ? arg > limits.mapSizeMax : arg > limits.arrayLengthMax) {
          throw overLimit(isMapHead ? `map of ${arg} pairs exceeds mapSizeMax ${limits.mapSizeMax}` : `array of ${arg} items exceeds arrayLengthMax ${limits.arrayLengthMax}`, start);
        }
        if (top + 1 > limits.depthMax) throw overLimit(`nesting deeper than depthMax ${limits.depthMax}`, start);
        const children = isMapHead ? 2 * arg : arg;
        pending += children;
        if (pending > end - pos) throw malformed("declared length exceeds the bytes remaining", start);
        top++;
        remaining[top] = children;
        isMap[top] = isMapHead ? 1 : 0;
        if (isMapHead) mapEntries += arg;
        break;
      }
      case 6:
        throw malformed("tags are not allowed", start);
      default:
        checkSimple(bytes[start] & 0x1f, start);
    }
  }
  if (pos !== end) throw malformed(`${end - pos} trailing bytes after the top-level item`, pos);
  return { items, mapEntries };
}

/** Reads the head at `pos`, leaves its argument in `headArg` and returns the offset after it. */
function readHead(bytes: Uint8Array, pos: number): number {
  const info = bytes[pos] & 0x1f;
  pos++;
  if (info < 24) {
    headArg = info;
    return pos;
  }
  if (info === 31) throw malformed("indefinite lengths and break codes are not allowed", pos - 1);
  if (info > 27) throw malformed(`reserved additional information ${info}`, pos - 1);
  const size = 1 << (info - 24);
  if (pos + size > bytes.length) throw malformed("truncated head", pos - 1);
  if (size === 1) headArg = bytes[pos];
  else if (size === 2) headArg = (bytes[pos] << 8) | bytes[pos + 1];
  else if (size === 4) headArg = readUint32(bytes, pos);
  else {
    const high = readUint32(bytes, pos);
    // Beyond 2^53 the value is unusable as a count or an integer; Infinity fails every check.
    headArg = high > SAFE_HIGH_WORD_MAX ? Infinity : high * 0x1_0000_0000 + readUint32(bytes, pos + 4);
  }
  return pos + size;
}

function readUint32(bytes: Uint8Array, pos: number): number {
  return bytes[pos] * 0x100_0000 + ((bytes[pos + 1] << 16) | (bytes[pos + 2] << 8) | bytes[pos + 3]);
}

function checkStringLength(length: number, max: number, kind: string, available: number, at: number): void {
  if (length > max) throw overLimit(`${kind} of ${length} bytes exceeds its limit ${max}`, at);
  if (length > available) throw malformed(`${kind} of ${length} bytes exceeds the bytes remaining`, at);
}

/** Strict UTF-8 (RFC 3629 table), no leading U+FEFF, and no `"__proto__"` map key. */
function checkText(bytes: Uint8Array, from: number, to: number, isKey: boolean, at: number): void {
  if (to - from >= 3 && bytes[from] === 0xef && bytes[from + 1] === 0xbb && bytes[from + 2] === 0xbf) {
    throw malformed("text starts with U+FEFF", at);
  }
  if (isKey && isProtoKey(bytes, from, to)) {
    throw malformed('map key "__proto__" is not allowed', at);
  }
  let i = from;
  while (i < to) {
    const lead = bytes[i];
    if (lead < 0x80) {
      i++;
      continue;
    }
    let follow: number;
    let low = 0x80; // bounds of the first continuation byte, which rule out overlongs,
    let high = 0xbf; // surrogates (ED A0..BF) and code points past U+10FFFF
    if (lead >= 0xc2 && lead <= 0xdf) follow = 1;
    else if (lead >= 0xe0 && lead <= 0xef) {
      follow = 2;
      if (lead === 0xe0) low = 0xa0;
      else if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      follow = 3;
      if (lead === 0xf0) low = 0x90;
      else if (lead === 0xf4) high = 0x8f;
    } else throw malformed("invalid UTF-8 in text string", at);
    if (i + follow >= to || bytes[i + 1] < low || bytes[i + 1] > high) throw malformed("invalid UTF-8 in text string", at);
    for (let k = 2; k <= follow; k++) {
      if ((bytes[i + k] & 0xc0) !== 0x80) throw malformed("invalid UTF-8 in text string", at);
    }
    i += follow + 1;
  }
}

function isProtoKey(bytes: Uint8Array, from: number, to: number): boolean {
  if (to - from !== PROTO_KEY.length) return false;
  for (let i = 0; i < PROTO_KEY.length; i++) if (bytes[from + i] !== PROTO_KEY[i]) return false;
  return true;
}

/** Major type 7: false (20), true (21), null (22) and floats (25–27); nothing else. */
function checkSimple(info: number, at: number): void {
  if (info === 20 || info === 21 || info === 22 || info === 25 || info === 26 || info === 27) return;
  throw malformed(info === 23 ? "undefined is not allowed" : `simple value ${info} is not allowed`, at);
}

function reserveStack(size: number): void {
  if (remainingStack.length >= size) return;
  remainingStack = new Float64Array(size);
  isMapStack = new Uint8Array(size);
}

function malformed(what: string, at: number): GrapevineError {
  return remoteError("WIRE_MALFORMED", `${what} (at byte ${at})`);
}

function overLimit(what: string, at: number): GrapevineError {
  return remoteError("WIRE_LIMIT", `${what} (at byte ${at})`);
}
