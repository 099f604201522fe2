// Random and mutated frames: decode either returns a value that an independent reference decoder
// agrees with, or throws a WIRE_ GrapevineError raised by our own checks (never by cbor-x, never
// anything else, never a hang). Run once with cbor-x's pure-JS reader (what src/wire imports) and
// once more with the native cbor-extract reader patched in, which must not change any result.
import fc from "fast-check";
import { isNativeAccelerationEnabled } from "cbor-x/encode";
import { beforeAll, describe, expect, it } from "vitest";
import { GrapevineError } from "../../src/errors.ts";
import { decode, encode } from "../../src/wire/cbor.ts";
import { DEFAULT_DECODE_LIMITS } from "../../src/wire/limits.ts";
import { difference } from "../vectors/cbor.check.ts";

// Replay a failure with the printed seed: FC_SEED=<seed> npx vitest run test/wire/fuzz.test.ts
const seed = Number(process.env.FC_SEED ?? 0xf022);
console.log(`fuzz.test.ts: fast-check seed ${seed} (replay: FC_SEED=${seed} npx vitest run test/wire/fuzz.test.ts)`);

/** A deliberately plain CBOR reader for frames decode accepted: recursion, DataView, TextDecoder. */
function reference(bytes: Uint8Array): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let pos = 0;
  const argument = (info: number): number => {
    if (info < 24) return info;
    const size = 1 << (info - 24);
    pos += size;
    if (size === 1) return view.getUint8(pos - 1);
    if (size === 2) return view.getUint16(pos - 2);
    if (size === 4) return view.getUint32(pos - 4);
    return Number(view.getBigUint64(pos - 8));
  };
  const half = (h: number): number => {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) return sign * mant * 2 ** -24;
    if (exp === 31) return mant ? NaN : sign * Infinity;
    return sign * (1 + mant / 1024) * 2 ** (exp - 15);
  };
  const item = (): unknown => {
    const initial = view.getUint8(pos++);
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (major === 7) {
      if (info === 20) return false;
      if (info === 21) return true;
      if (info === 22) return null;
      if (info === 25) return half(argument(info));
      pos += info === 26 ? 4 : 8;
      return info === 26 ? view.getFloat32(pos - 4) : view.getFloat64(pos - 8);
    }
    const n = argument(info);
    switch (major) {
      case 0:
        return n;
      case 1:
        return -1 - n;
      case 2:
        return bytes.slice(pos, (pos += n));
      case 3:
        return utf8.decode(bytes.subarray(pos, (pos += n)));
      case 4:
        return Array.from({ length: n }, item);
      case 5: {
        const map: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          const key = String(item());
          map[key] = item();
        }
        return map;
      }
      default:
        throw new Error(`reference: major type ${major}`);
    }
  };
  return item();
}

function hasNonFinite(v: unknown): boolean {
  if (typeof v === "number") return !Number.isFinite(v);
  if (Array.isArray(v)) return v.some(hasNonFinite);
  if (typeof v === "object" && v !== null && !(v instanceof Uint8Array)) return Object.values(v).some(hasNonFinite);
  return false;
}

/** The property every frame must satisfy; true if the frame decoded. */
function checkFrame(bytes: Uint8Array): boolean {
  let value: unknown;
  try {
    value = decode(bytes);
  } catch (e) {
    if (!(e instanceof GrapevineError) || !e.code.startsWith("WIRE_")) throw e;
    // Our scanner (or duplicate-key check) refused it; cbor-x never had to.
    expect(e.cause).toBeUndefined();
    return false;
  }
  expect(difference(value, reference(bytes), "value")).toBeUndefined();
  if (!hasNonFinite(value)) expect(difference(decode(encode(value)), value, "re-encoded")).toBeUndefined();
  return true;
}

const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string({ unit: "binary", maxLength: 20 }).filter((s) => !s.startsWith("\uFEFF")),
    fc.uint8Array({ maxLength: 20 }),
    fc.constantFrom(true, false, null),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 4 }).filter((k) => k !== "__proto__"), tie("value"), { maxKeys: 5 }),
  ),
}));

/** Heads that make decoders work: every major type with every additional-information width. */
const head = fc
  .tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 31 }), fc.uint8Array({ minLength: 8, maxLength: 8 }))
  .map(([major, info, arg]) => {
    const width = info >= 24 && info <= 27 ? 1 << (info - 24) : 0;
    return Uint8Array.from([(major << 5) | info, ...arg.subarray(0, width)]);
  });

type Mutation = { kind: "flip"; at: number; bit: number } | { kind: "truncate"; at: number } | { kind: "splice"; at: number; head: Uint8Array } | { kind: "drop"; at: number };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("splice" as const), at: fc.nat(), head }),
  fc.record({ kind: fc.constant("drop" as const), at: fc.nat() }),
);

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  const at = bytes.length === 0 ? 0 : m.at % (bytes.length + (m.kind === "splice" ? 1 : 0));
  switch (m.kind) {
    case "flip": {
      const out = bytes.slice();
      if (out.length > 0) out[at] ^= 1 << m.bit;
      return out;
    }
    case "truncate":
      return bytes.slice(0, at);
    case "drop":
      return Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + 1)]);
    case "splice":
      return Uint8Array.from([...bytes.subarray(0, at), ...m.head, ...bytes.subarray(at)]);
  }
}

function properties(label: string, enabled: () => boolean = () => true): void {
  it(`${label}: random bytes (0–512)`, (ctx) => {
    if (!enabled()) ctx.skip();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        checkFrame(bytes);
      }),
      { seed, numRuns: 20_000 },
    );
  });

  it(`${label}: random sequences of heads and bytes`, (ctx) => {
    if (!enabled()) ctx.skip();
    const chunk = fc.oneof(head, fc.uint8Array({ maxLength: 4 }), value.map(encode));
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 12 }), (chunks) => {
        checkFrame(Uint8Array.from(chunks.flatMap((c) => [...c])));
      }),
      { seed, numRuns: 10_000 },
    );
  });

  it(`${label}: mutated valid encodings (flips, truncations, drops, spliced heads)`, (ctx) => {
    if (!enabled()) ctx.skip();
    let decoded = 0;
    fc.assert(
      fc.property(value, fc.array(mutation, { minLength: 1, maxLength: 4 }), (x, ms) => {
        if (checkFrame(ms.reduce(mutate, encode(x)))) decoded++;
      }),
      { seed, numRuns: 10_000 },
    );
    expect(decoded).toBeGreaterThan(500); // the differential check is not vacuous
  });

  it(`${label}: valid encodings decode to what the reference reads`, (ctx) => {
    if (!enabled()) ctx.skip();
    fc.assert(fc.property(value, (x) => checkFrame(encode(x))), { seed, numRuns: 3_000 }); // true: all decode
  });

  it(`${label}: long strings (the readers that differ past 64 bytes)`, (ctx) => {
    if (!enabled()) ctx.skip();
    const long = fc.string({ unit: "binary", minLength: 20, maxLength: 200 }).filter((s) => !s.startsWith("\uFEFF"));
    fc.assert(
      fc.property(fc.array(long, { maxLength: 6 }), fc.array(mutation, { maxLength: 2 }), (strings, ms) => {
        checkFrame(ms.reduce(mutate, encode(strings)));
      }),
      { seed, numRuns: 2_000 },
    );
  });
}

describe("fuzz, cbor-x pure-JS reader", () => {
  it("src/wire never loads cbor-x's native addon", () => {
    expect(isNativeAccelerationEnabled).toBe(false);
  });
  properties("JS reader");
  it("limits that allow huge lengths still refuse heads the frame cannot hold", () => {
    const loose = { ...DEFAULT_DECODE_LIMITS, arrayLengthMax: 2 ** 40, mapSizeMax: 2 ** 40, textBytesMax: 2 ** 40, bytesLengthMax: 2 ** 40 };
    fc.assert(
      fc.property(fc.constantFrom(0x5b, 0x7b, 0x9b, 0xbb), fc.uint8Array({ maxLength: 64 }), (initial, rest) => {
        const frame = Uint8Array.from([initial, 0, 0, 0, 1, 0, 0, 0, 0, ...rest]); // claims 2^32
        expect(() => decode(frame, loose)).toThrow(GrapevineError);
      }),
      { seed, numRuns: 500 },
    );
  });
});

describe("fuzz, cbor-x native reader patched in", () => {
  // Importing cbor-x's main entry installs the native string extractor into the decoder module that
  // src/wire shares (a live binding flips). Skipped where the addon was not built.
  beforeAll(async () => {
    await import("cbor-x");
  });
  it("the native reader is in use, where the addon exists", (ctx) => {
    if (!isNativeAccelerationEnabled) ctx.skip();
    expect(isNativeAccelerationEnabled).toBe(true);
  });
  properties("native reader", () => isNativeAccelerationEnabled);
});
