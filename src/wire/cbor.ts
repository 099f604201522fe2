/**
 * The CBOR codec: {@link encode} and {@link decode} over one module-level `cbor-x` `Encoder` whose
 * options are pinned here and nowhere else (no process-wide `setSizeLimits`).
 *
 * Data model, the same both ways: `null`, booleans, finite numbers, strings, `Uint8Array`, plain
 * arrays and plain string-keyed objects. Nothing else encodes (`TypeError`), so `encode` never
 * writes a frame that `decode` would refuse.
 *
 * Encoding profile, byte-identical on every runtime (the vectors in `test/vectors/cbor.json` pin it):
 * - integers within ±`Number.MAX_SAFE_INTEGER` as major type 0/1 with the shortest head (cbor-x
 *   alone writes integers past 32 bits as floats, so those go in as `bigint`); `-0` is the integer 0;
 * - every other number as a binary64 float (`fb`): cbor-x has no lossless shortest-float mode;
 * - byte strings as plain major type 2 (never tag 64), text as UTF-8, all lengths in shortest heads;
 * - map keys in RFC 8949 §4.2.1 order (shorter encoding first, then bytewise), so the key
 *   insertion order of an object never changes its bytes;
 * - no tags, no indefinite lengths, no `undefined`; text is well-formed and never starts with U+FEFF.
 *
 * Decoding: {@link scanCborSummary} proves the frame is inside the profile and the limits, then
 * cbor-x builds the value, then duplicate map keys are refused. Byte strings come out as fresh plain
 * `Uint8Array` copies (never views into the frame, never Node `Buffer`s); maps come out as plain
 * objects, with unsigned-int keys turned into their decimal strings.
 *
 * cbor-x is imported through its `cbor-x/encode` entry, which on every runtime is the pure
 * JavaScript build. The main entry, on Node, Deno and Bun, loads the optional native `cbor-extract`
 * addon; built from source it calls V8 directly, which kills Deno (undefined symbol) and Bun
 * (segfault) on the first frame holding several strings: a remote crash. Should another module load
 * the addon anyway (it patches the shared decoder), results stay the same: the scanner admits only
 * text on which cbor-x's native and JavaScript string readers agree.
 *
 * @module
 */

import { Encoder } from "cbor-x/encode";
import { remoteError } from "../errors.ts";
import { DEFAULT_DECODE_LIMITS, type DecodeLimits } from "./limits.ts";
import { scanCborSummary } from "./scan.ts";
import { utf8ByteLength } from "./shape.ts";

/** Every option that affects the bytes written or the values read, pinned. */
const CBOR_X_OPTIONS = {
  useRecords: false, // plain maps, never cbor-x record tags (0xd9dfxx)
  mapsAsObjects: true, // decode maps to objects
  variableMapSize: true, // shortest map heads for objects
  useTag259ForMaps: false, // encode Map values (our sorted maps) as plain major type 5
  tagUint8Array: false, // byte strings as major type 2; on Node cbor-x would otherwise add tag 64
  structuredClone: false, // no shared-reference tags 28/29
  pack: false, // no packed-string tags 51/6
  bundleStrings: false, // no string-bundle tags
  useFloat32: 0, // FLOAT32_OPTIONS.NEVER: floats stay binary64, never rounded to binary32
  alwaysUseFloat: false, // integers stay integers
  largeBigIntToFloat: false, // (our bigints always fit in 64 bits)
  useSelfDescribedHeader: false, // no tag 55799 prefix
  useToJSON: false, // never call user toJSON
  useTimestamp32: false,
  sequential: false,
  int64AsNumber: true, // 8-byte integer heads decode to number, not bigint (the scanner bounds them)
  copyBuffers: true, // byte strings are copies, not views keeping the whole frame alive
};

const codec = new Encoder(CBOR_X_OPTIONS);

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
  const encoded: Uint8Array = codec.encode(prepare(value, 0));
  // A copy: cbor-x returns a view of its own reused buffer (a Node Buffer where one exists).
  return new Uint8Array(encoded);
}

/**
 * Decodes one frame under `limits` (default {@link DEFAULT_DECODE_LIMITS}). Throws a remote
 * `GrapevineError`: `WIRE_FRAME_TOO_LARGE`, `WIRE_LIMIT` or `WIRE_MALFORMED` (also for duplicate
 * map keys, `1` and `"1"` included). Throws `TypeError` if `bytes` is not a `Uint8Array`. The
 * result is typed `unknown`: check its shape with the helpers in `shape.ts`.
 *
 * @example
 * ```ts
 * import { decode } from "./cbor.ts";
 * import { fromHex } from "../bytes.ts";
 * console.log(decode(fromHex("a2616141ff6162820120"))); // { a: Uint8Array [255], b: [1, -1] }
 * ```
 */
export function decode(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): unknown {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("decode: expected a Uint8Array");
  const { mapEntries } = scanCborSummary(bytes, limits);
  // A fresh plain view: cbor-x caches a DataView on its source object, and its slices of a Node
  // Buffer would be Buffers.
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let value: unknown;
  let entries = 0;
  try {
    value = codec.decode(view);
    if (mapEntries > 0) entries = countMapEntries(value);
  } catch (e) {
    throw remoteError("WIRE_MALFORMED", `cbor-x rejected the frame: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  // Fewer keys than pairs declared means a later key overwrote an earlier one.
  if (entries !== mapEntries) throw remoteError("WIRE_MALFORMED", "duplicate map key");
  return value;
}

function prepare(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case "boolean":
      return value;
    case "number":
      return prepareNumber(value);
    case "string":
      return checkText(value);
    case "object":
      if (value === null || value instanceof Uint8Array) return value;
      if (depth >= ENCODE_DEPTH_MAX) throw new RangeError(`encode: nesting deeper than ${ENCODE_DEPTH_MAX}, or a cycle`);
      return Array.isArray(value) ? prepareArray(value, depth + 1) : prepareMap(value, depth + 1);
    default:
      throw new TypeError(`encode: ${typeof value} is not encodable`);
  }
}

function prepareNumber(n: number): number | bigint {
  if (!Number.isFinite(n)) throw new TypeError(`encode: ${n} is not encodable; numbers must be finite`);
  // cbor-x writes integers beyond 32 bits as binary64 floats; as bigints they get 8-byte int heads.
  if (Number.isSafeInteger(n) && (n > 0xffff_ffff || n < -0x1_0000_0000)) return BigInt(n);
  return n;
}

function checkText(text: string): string {
  if (text.charCodeAt(0) === 0xfeff) throw new TypeError("encode: text must not start with U+FEFF");
  if (LONE_SURROGATE.test(text)) throw new TypeError("encode: text holds a lone surrogate, which UTF-8 cannot carry");
  return text;
}

function prepareArray(array: unknown[], depth: number): unknown[] {
  if (Object.getPrototypeOf(array) !== Array.prototype) throw new TypeError("encode: only plain arrays are encodable");
  const out = new Array<unknown>(array.length);
  for (let i = 0; i < array.length; i++) out[i] = prepare(array[i], depth);
  return out;
}

// A fresh Map in canonical key order: cbor-x writes a Map's entries in iteration order, while an
// object would put integer-like keys first whatever the order.
function prepareMap(object: object, depth: number): Map<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(object);
  if ((proto !== Object.prototype && proto !== null) || Object.getOwnPropertySymbols(object).length > 0) {
    throw new TypeError(`encode: ${Object.prototype.toString.call(object)} is not encodable; use plain objects, arrays and Uint8Array`);
  }
  const keys = Object.keys(object).sort(compareKeys);
  const out = new Map<string, unknown>();
  for (const key of keys) {
    if (key === "__proto__") throw new TypeError('encode: the key "__proto__" is not encodable');
    out.set(checkText(key), prepare((object as Record<string, unknown>)[key], depth));
  }
  return out;
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

function countMapEntries(value: unknown): number {
  if (typeof value !== "object" || value === null || value instanceof Uint8Array) return 0;
  let n = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) n += countMapEntries(value[i]);
    return n;
  }
  const keys = Object.keys(value);
  n = keys.length;
  for (let i = 0; i < keys.length; i++) n += countMapEntries((value as Record<string, unknown>)[keys[i]]);
  return n;
}
