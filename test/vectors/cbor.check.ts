/**
 * Checks the frozen CBOR vectors in `cbor.json` against `src/wire/cbor.ts`: `encode(value)` gives
 * exactly `hex`, `decode(hex)` deep-equals `value`, and rejected frames throw the listed
 * `GrapevineError` code. Web-standard APIs only, so Node (vitest), Deno and Bun run the same file
 * through `all.ts`; a mismatch is listed, never thrown.
 *
 * JSON conventions (also written in the file): `{"$bytes": hex}` is a byte string,
 * `{"$float": "NaN" | "Infinity" | "-Infinity"}` is that number, JSON `-0` is `-0`; `direction`
 * is `"both"` (default), `"encode"` or `"decode"`; `error` marks a frame `decode` must refuse.
 *
 * @module
 */

import data from "./cbor.json" with { type: "json" };
import { bytesEqual, fromHex, toHex } from "../../src/bytes.ts";
import { GrapevineError } from "../../src/errors.ts";
import { decode, encode } from "../../src/wire/cbor.ts";

/** One entry of `cbor.json`. */
export interface CborVector {
  description: string;
  hex: string;
  value?: unknown;
  direction?: "both" | "encode" | "decode";
  error?: string;
}

/** The vectors, as parsed from `cbor.json`. */
export const cborVectors: readonly CborVector[] = (data as unknown as { vectors: CborVector[] }).vectors;

/** Runs every vector; returns how many ran and one line per mismatch. */
export async function run(): Promise<{ total: number; failures: string[] }> {
  const failures: string[] = [];
  for (const vector of cborVectors) {
    try {
      const problem = check(vector);
      if (problem !== undefined) failures.push(`${vector.description}: ${problem}`);
    } catch (e) {
      failures.push(`${vector.description}: threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    }
  }
  return { total: cborVectors.length, failures };
}

function check(vector: CborVector): string | undefined {
  const bytes = fromHex(vector.hex);
  if (vector.error !== undefined) {
    try {
      decode(bytes);
    } catch (e) {
      if (e instanceof GrapevineError && e.code === vector.error) return undefined;
      return `expected ${vector.error}, got ${e instanceof Error ? e.message : String(e)}`;
    }
    return `expected ${vector.error}, but it decoded`;
  }
  const value = fromJson(vector.value);
  const direction = vector.direction ?? "both";
  if (direction !== "decode") {
    const hex = toHex(encode(value));
    if (hex !== vector.hex) return `encode gave ${hex}`;
  }
  if (direction !== "encode") {
    const decoded = decode(bytes);
    const where = difference(decoded, value, "value");
    if (where !== undefined) return `decode differs at ${where}`;
  }
  return undefined;
}

/** The value a JSON vector stands for (see the conventions above). */
export function fromJson(json: unknown): unknown {
  if (Array.isArray(json)) return json.map(fromJson);
  if (typeof json !== "object" || json === null) return json;
  const keys = Object.keys(json);
  const record = json as Record<string, unknown>;
  if (keys.length === 1 && keys[0] === "$bytes") return fromHex(record.$bytes as string);
  if (keys.length === 1 && keys[0] === "$float") return Number(record.$float);
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = fromJson(record[key]);
  return out;
}

/**
 * Where `actual` differs from `expected`, or undefined. Strict where runtimes could drift: numbers
 * by `Object.is`, byte strings must be plain `Uint8Array` (not a `Buffer`), maps plain objects.
 */
export function difference(actual: unknown, expected: unknown, path: string): string | undefined {
  if (expected instanceof Uint8Array) {
    if (!(actual instanceof Uint8Array) || Object.getPrototypeOf(actual) !== Uint8Array.prototype) return `${path} (not a plain Uint8Array)`;
    return bytesEqual(actual, expected) ? undefined : `${path} (${toHex(actual)})`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return `${path} (array length)`;
    for (let i = 0; i < expected.length; i++) {
      const d = difference(actual[i], expected[i], `${path}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (typeof expected === "object" && expected !== null) {
    if (typeof actual !== "object" || actual === null || Array.isArray(actual) || actual instanceof Uint8Array) return `${path} (not a map)`;
    const proto: unknown = Object.getPrototypeOf(actual);
    if (proto !== Object.prototype && proto !== null) return `${path} (not a plain object)`;
    const a = Object.keys(actual).sort();
    const e = Object.keys(expected).sort();
    if (a.join("\u0000") !== e.join("\u0000")) return `${path} (keys ${JSON.stringify(a)})`;
    for (const key of e) {
      const d = difference((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], `${path}.${key}`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  return Object.is(actual, expected) ? undefined : `${path} (${String(actual)})`;
}
