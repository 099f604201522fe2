/**
 * Shape checks for decoded frames. `decode` returns `unknown`; these helpers narrow it one field at
 * a time and throw `remoteError("WIRE_SHAPE", "<path>: <what>")`, naming the exact place a peer's
 * frame went wrong. Invariants: nothing is coerced (`"1"` is not `1`), maps are read through own
 * properties only (never the prototype chain), and no helper allocates from the checked value.
 *
 * @example
 * ```ts
 * import { asArray, asBytes, asMap, asUint, field } from "./shape.ts";
 * const frame = asArray([1, { id: new Uint8Array(32) }], "ping", 2, 2);
 * const seq = asUint(frame[0], "ping[0]", 0xffff_ffff);
 * const id = asBytes(field(asMap(frame[1], "ping[1]"), "id", "ping[1]"), "ping[1].id", 32);
 * ```
 *
 * @module
 */

import { type GrapevineError, remoteError } from "../errors.ts";

function shapeError(path: string, what: string): GrapevineError {
  return remoteError("WIRE_SHAPE", `${path}: ${what}`);
}

/**
 * An array with `minLen` to `maxLen` elements (extra trailing elements are for the caller to allow).
 * @example asArray(decoded, "frame", 2, 8)
 */
export function asArray(v: unknown, path: string, minLen = 0, maxLen = Number.MAX_SAFE_INTEGER): unknown[] {
  if (!Array.isArray(v)) throw shapeError(path, "expected an array");
  if (v.length < minLen || v.length > maxLen) throw shapeError(path, `expected ${minLen}..${maxLen} elements, got ${v.length}`);
  return v;
}

/**
 * An unsigned integer no greater than `max`.
 * @example asUint(frame[0], "frame[0]", 255)
 */
export function asUint(v: unknown, path: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0 || (v as number) > max) throw shapeError(path, `expected an integer in 0..${max}`);
  return v as number;
}

/**
 * A safe integer in `min..max`.
 * @example asInt(frame[3], "frame[3]", -1, 1)
 */
export function asInt(v: unknown, path: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) throw shapeError(path, `expected an integer in ${min}..${max}`);
  return v as number;
}

/**
 * A finite number (integer or float).
 * @example asNumber(frame[2], "frame[2]")
 */
export function asNumber(v: unknown, path: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw shapeError(path, "expected a finite number");
  return v;
}

/**
 * A boolean.
 * @example asBool(frame[4], "frame[4]")
 */
export function asBool(v: unknown, path: string): boolean {
  if (typeof v !== "boolean") throw shapeError(path, "expected a boolean");
  return v;
}

/**
 * A text string of at most `maxBytes` UTF-8 bytes.
 * @example asText(frame[1], "frame[1]", 64)
 */
export function asText(v: unknown, path: string, maxBytes: number): string {
  if (typeof v !== "string") throw shapeError(path, "expected a text string");
  if (utf8ByteLength(v) > maxBytes) throw shapeError(path, `text longer than ${maxBytes} bytes`);
  return v;
}

/**
 * A byte string, of exactly `exactLen` bytes and/or at most `maxLen` bytes when given.
 * @example asBytes(frame[1], "frame[1]", 32)
 */
export function asBytes(v: unknown, path: string, exactLen?: number, maxLen?: number): Uint8Array {
  if (!(v instanceof Uint8Array)) throw shapeError(path, "expected a byte string");
  if (exactLen !== undefined && v.length !== exactLen) throw shapeError(path, `expected ${exactLen} bytes, got ${v.length}`);
  if (maxLen !== undefined && v.length > maxLen) throw shapeError(path, `expected at most ${maxLen} bytes, got ${v.length}`);
  return v;
}

/**
 * `null`, or a byte string as {@link asBytes} checks it.
 * @example asBytesOrNull(frame[5], "frame[5]", 64)
 */
export function asBytesOrNull(v: unknown, path: string, exactLen?: number, maxLen?: number): Uint8Array | null {
  return v === null ? null : asBytes(v, path, exactLen, maxLen);
}

/**
 * A map (a decoded CBOR map is a plain object; arrays and byte strings are not maps).
 * @example const m = asMap(frame[1], "frame[1]")
 */
export function asMap(v: unknown, path: string): Readonly<Record<string, unknown>> {
  if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Uint8Array) throw shapeError(path, "expected a map");
  return v as Record<string, unknown>;
}

/**
 * A required key of a map, read as an own property only.
 * @example field(m, "id", "frame[1]")
 */
export function field(map: Readonly<Record<string, unknown>>, key: string, path: string): unknown {
  if (!Object.hasOwn(map, key)) throw shapeError(path, `missing key ${JSON.stringify(key)}`);
  return map[key];
}

/**
 * An optional key of a map: its value, or `undefined` when absent (never an inherited property).
 * @example optionalField(m, "ttl")
 */
export function optionalField(map: Readonly<Record<string, unknown>>, key: string): unknown {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

/**
 * The UTF-8 length of a string in bytes, without encoding it (a lone surrogate counts 3, as U+FFFD).
 * @example utf8ByteLength("é€😀") // 2 + 3 + 4 = 9
 */
export function utf8ByteLength(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if ((c & 0xfc00) === 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // the pair: 2 units, 4 bytes
      i++;
    } else n += 2;
  }
  return n;
}
