// The pre-decode scanner: hostile frames are refused fast and with the right code, before cbor-x
// runs; every profile rule and every limit at its boundary; UTF-8 checked against a strict decoder.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromHex } from "../../src/bytes.ts";
import { GrapevineError } from "../../src/errors.ts";
import { decode, encode } from "../../src/wire/cbor.ts";
import { DEFAULT_DECODE_LIMITS, type DecodeLimits } from "../../src/wire/limits.ts";
import { scanCbor, scanCborSummary } from "../../src/wire/scan.ts";

// Replay a failure with the printed seed: FC_SEED=<seed> npx vitest run test/wire/scan.test.ts
const seed = Number(process.env.FC_SEED ?? 0x5ca7);
console.log(`scan.test.ts: fast-check seed ${seed} (replay: FC_SEED=${seed} npx vitest run test/wire/scan.test.ts)`);

const D = DEFAULT_DECODE_LIMITS;

/** The error code `decode` throws for a frame (or "ok"), and how long it took in ms. */
function outcome(bytes: Uint8Array, limits: DecodeLimits = D): { code: string; ms: number } {
  const started = performance.now();
  let code = "ok";
  try {
    decode(bytes, limits);
  } catch (e) {
    if (!(e instanceof GrapevineError)) throw e;
    code = e.code;
  }
  return { code, ms: performance.now() - started };
}
const codeOf = (hexOrBytes: string | Uint8Array, limits: DecodeLimits = D) =>
  outcome(typeof hexOrBytes === "string" ? fromHex(hexOrBytes) : hexOrBytes, limits).code;

function repeat(hex: string, n: number): string {
  return hex.repeat(n);
}

describe("hostile frames", () => {
  it("an array head claiming 2^32 items in a 9-byte frame: refused at once, nothing allocated", () => {
    const frame = fromHex("9b0000000100000000");
    const strict = outcome(frame);
    expect(strict.code).toBe("WIRE_LIMIT");
    expect(strict.ms).toBeLessThan(20);
    // Even with limits that allow the length, the bytes-remaining check refuses it.
    const loose = outcome(frame, { ...D, arrayLengthMax: 2 ** 40, itemsMax: 2 ** 40 });
    expect(loose.code).toBe("WIRE_MALFORMED");
    expect(loose.ms).toBeLessThan(20);
    // Also for nested claims that each fit alone but not together (cbor-x would preallocate each).
    const nested = fromHex("83" + "99ffff".repeat(3));
    expect(codeOf(nested, { ...D, arrayLengthMax: 65535 })).toBe("WIRE_MALFORMED");
  });

  it("map and string heads claiming more than the frame holds", () => {
    const loose = { ...D, mapSizeMax: 2 ** 40, textBytesMax: 2 ** 40, bytesLengthMax: 2 ** 40 };
    expect(codeOf("bb0000000100000000", loose)).toBe("WIRE_MALFORMED");
    expect(codeOf("7b0000000100000000", loose)).toBe("WIRE_MALFORMED");
    expect(codeOf("5b0000000100000000", loose)).toBe("WIRE_MALFORMED");
    expect(codeOf("5bffffffffffffffff", loose)).toBe("WIRE_LIMIT"); // beyond 2^53: over any limit
  });

  it("10,000 nested arrays: WIRE_LIMIT, fast, no recursion", () => {
    const frame = fromHex(repeat("81", 10_000) + "00");
    const r = outcome(frame);
    expect(r.code).toBe("WIRE_LIMIT");
    expect(r.ms).toBeLessThan(50);
    // With a depth limit that allows it, the scan itself still does not recurse.
    expect(() => scanCbor(frame, { ...D, depthMax: 20_000 })).not.toThrow();
  });

  it("a 2 MB frame is WIRE_FRAME_TOO_LARGE before any byte is read", () => {
    const frame = new Uint8Array(2 * 1024 * 1024);
    frame[0] = 0xff; // a break code: malformed, if anyone looked
    expect(codeOf(frame)).toBe("WIRE_FRAME_TOO_LARGE");
    frame[0] = 0x1c; // reserved additional information
    expect(codeOf(frame)).toBe("WIRE_FRAME_TOO_LARGE");
  });

  it("frameBytesMax is inclusive", () => {
    const atLimit = new Uint8Array(D.frameBytesMax);
    atLimit.set([0x5a, 0x00, 0x0f, 0xff, 0xfb]); // byte string of 2^20 - 5 bytes: 1 MiB in all
    expect(codeOf(atLimit)).toBe("ok");
    const over = new Uint8Array(D.frameBytesMax + 1);
    over.set([0x5a, 0x00, 0x0f, 0xff, 0xfc]);
    expect(codeOf(over)).toBe("WIRE_FRAME_TOO_LARGE");
  });

  it("a flood of small items is bounded by itemsMax", () => {
    const loose = { ...D, arrayLengthMax: 0x10000 };
    expect(codeOf(fromHex("99ffff" + "00".repeat(0xffff)), loose)).toBe("ok"); // 65,536 items
    expect(codeOf(fromHex("9a00010000" + "00".repeat(0x10000)), loose)).toBe("WIRE_LIMIT");
  });
});

describe("profile rules (WIRE_MALFORMED)", () => {
  const malformed: [string, string][] = [
    ["empty frame", ""],
    ["tag 0 (date string)", "c074323031332d30332d32315432303a30343a30305a"],
    ["tag 2 (bignum)", "c249010000000000000000"],
    ["tag 259 (cbor-x explicit Map)", "d90103a0"],
    ["cbor-x record tag", "d9dfff8301616100"],
    ["tag inside an array", "8201c100"],
    ["indefinite array", "9fff"],
    ["indefinite map", "bfff"],
    ["indefinite text", "7f6161ff"],
    ["break code", "ff"],
    ["reserved 28", "1c"],
    ["reserved 29", "3d"],
    ["reserved 30", "9e"],
    ["undefined", "f7"],
    ["simple 0", "e0"],
    ["simple 19", "f3"],
    ["simple 32 (2-byte form)", "f820"],
    ["trailing bytes", "f6f6"],
    ["two top-level items", "8080"],
    ["truncated 8-byte head", "1b00000000"],
    ["truncated float", "fb3ff0"],
    ["uint 2^53", "1b0020000000000000"],
    ["uint 2^64-1", "1bffffffffffffffff"],
    ["negative -2^53", "3b001fffffffffffff"],
    ["float map key", "a1f93c0001"],
    ["null map key", "a1f601"],
    ["map map key", "a1a00001"],
    ["__proto__ key", "a1695f5f70726f746f5f5f01"],
    ["__proto__ key inside a nested map", "81a1616aa1695f5f70726f746f5f5f01"],
    ["overlong NUL", "62c080"],
    ["overlong 4-byte", "64f08fbfbf"],
    ["surrogate D800", "63eda080"],
    ["surrogate DFFF", "63edbfbf"],
    ["beyond U+10FFFF", "64f4908080"],
    ["F5 lead byte", "64f5808080"],
    ["continuation as lead", "61bf"],
    ["missing continuation", "62c3"],
    ["ASCII where a continuation belongs", "62c341"],
    ["leading BOM", "63efbbbf"],
    ["leading BOM in a key", "a163efbbbf01"],
  ];
  it.each(malformed)("%s", (_name, hex) => {
    expect(codeOf(hex)).toBe("WIRE_MALFORMED");
  });

  const accepted: [string, string][] = [
    ["false", "f4"],
    ["true", "f5"],
    ["null", "f6"],
    ["half float", "f93c00"],
    ["single float", "fa47c35000"],
    ["double float", "fb3ff199999999999a"],
    ["max safe uint", "1b001fffffffffffff"],
    ["min safe negative", "3b001ffffffffffffe"],
    ["uint map key", "a10001"],
    ["__proto__ as a value, not a key", "695f5f70726f746f5f5f"],
    ["__proto_ key (8 chars)", "a1685f5f70726f746f5f01"],
    ["BOM not at the start", "6461efbbbf"],
    ["U+10FFFF", "64f48fbfbf"],
    ["U+FFFF", "63efbfbf"],
    ["U+D7FF", "63ed9fbf"],
    ["U+E000", "63ee8080"],
    ["U+0080", "62c280"],
    ["U+0800", "63e0a080"],
    ["U+10000", "64f0908080"],
  ];
  it.each(accepted)("accepts %s", (_name, hex) => {
    expect(codeOf(hex)).toBe("ok");
  });

  it("of all 256 one-byte simple values, only false, true and null pass", () => {
    const ok: number[] = [];
    for (let v = 0; v < 256; v++) {
      const frame = v < 24 ? new Uint8Array([0xe0 | v]) : new Uint8Array([0xf8, v]);
      if (codeOf(frame) === "ok") ok.push(v);
    }
    expect(ok).toEqual([20, 21, 22]);
  });

  it("every one-byte frame either decodes or is a WIRE_ error", () => {
    for (let b = 0; b < 256; b++) expect(codeOf(new Uint8Array([b]))).toMatch(/^(ok|WIRE_)/);
  });
});

describe("limits at their boundaries (WIRE_LIMIT)", () => {
  const nestArrays = (n: number) => fromHex("81".repeat(n) + "00");
  it("depthMax", () => {
    expect(codeOf(nestArrays(16))).toBe("ok");
    expect(codeOf(nestArrays(17))).toBe("WIRE_LIMIT");
    expect(codeOf(fromHex("81".repeat(15) + "80"))).toBe("ok"); // an empty array still counts
    expect(codeOf(fromHex("81".repeat(16) + "80"))).toBe("WIRE_LIMIT");
    expect(codeOf(fromHex("81".repeat(15) + "80"), { ...D, depthMax: 15 })).toBe("WIRE_LIMIT");
    expect(codeOf("00", { ...D, depthMax: 0 })).toBe("ok");
    expect(codeOf("80", { ...D, depthMax: 0 })).toBe("WIRE_LIMIT");
  });

  it("itemsMax counts every item, keys included", () => {
    expect(scanCborSummary(fromHex("a2616101616282f6f6"), D)).toEqual({ items: 7, mapEntries: 2 });
    expect(codeOf("a2616101616282f6f6", { ...D, itemsMax: 7 })).toBe("ok");
    expect(codeOf("a2616101616282f6f6", { ...D, itemsMax: 6 })).toBe("WIRE_LIMIT");
  });

  it("arrayLengthMax", () => {
    expect(codeOf(encode(new Array(16_384).fill(0)))).toBe("ok");
    expect(codeOf(encode(new Array(16_385).fill(0)))).toBe("WIRE_LIMIT");
  });

  it("mapSizeMax", () => {
    const map = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 0]));
    expect(codeOf(encode(map(1024)))).toBe("ok");
    expect(codeOf(encode(map(1025)))).toBe("WIRE_LIMIT");
  });

  it("textBytesMax counts UTF-8 bytes", () => {
    expect(codeOf(encode("é".repeat(32_768)))).toBe("ok");
    expect(codeOf(encode("é".repeat(32_768) + "x"))).toBe("WIRE_LIMIT");
  });

  it("bytesLengthMax", () => {
    expect(codeOf(encode(new Uint8Array(100)), { ...D, bytesLengthMax: 100 })).toBe("ok");
    expect(codeOf(encode(new Uint8Array(101)), { ...D, bytesLengthMax: 100 })).toBe("WIRE_LIMIT");
  });

  it("a limit wins over the bytes-remaining check for the same head", () => {
    expect(codeOf("9a00010000")).toBe("WIRE_LIMIT"); // 65,536 items claimed, 0 present
  });
});

describe("UTF-8 validation matches a strict (fatal) decoder", () => {
  const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const strictOk = (bytes: Uint8Array) => {
    try {
      strict.decode(bytes);
      return true;
    } catch {
      return false;
    }
  };
  const scanOk = (content: Uint8Array) => {
    const frame = new Uint8Array(2 + content.length);
    frame.set([0x78, content.length]);
    frame.set(content, 2);
    try {
      scanCbor(frame, D);
      return true;
    } catch (e) {
      if (!(e instanceof GrapevineError) || e.code !== "WIRE_MALFORMED") throw e;
      return false;
    }
  };

  it("every 1- and 2-byte sequence", () => {
    for (let a = 0; a < 256; a++) {
      expect(scanOk(new Uint8Array([a]))).toBe(strictOk(new Uint8Array([a])));
      for (let b = 0; b < 256; b++) {
        const s = new Uint8Array([a, b]);
        if (scanOk(s) !== strictOk(s)) throw new Error(`disagree on ${a.toString(16)} ${b.toString(16)}`);
      }
    }
  });

  it("every 3- and 4-byte lead with every second byte", () => {
    for (let a = 0xe0; a <= 0xff; a++) {
      for (let b = 0; b < 256; b++) {
        for (const tail of [[0x80], [0xbf], [0x41], [0xc0], [0x80, 0x80], [0xbf, 0xbf], [0x80, 0x41]]) {
          const s = new Uint8Array([a, b, ...tail]);
          if (a === 0xef && b === 0xbb && tail[0] === 0xbf) continue; // a leading BOM: refused on purpose
          if (scanOk(s) !== strictOk(s)) throw new Error(`disagree on ${[...s].map((x) => x.toString(16))}`);
        }
      }
    }
  });

  it("random byte strings, and random code points, except a leading U+FEFF", () => {
    const notBom = (s: Uint8Array) => !(s[0] === 0xef && s[1] === 0xbb && s[2] === 0xbf);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }).filter(notBom), (s) => scanOk(s) === strictOk(s)),
      { seed, numRuns: 20_000 },
    );
    const weighted = fc.array(fc.oneof(fc.integer({ min: 0x80, max: 0xbf }), fc.integer({ min: 0xc0, max: 0xff }), fc.integer({ min: 0, max: 0x7f })), { maxLength: 12 });
    fc.assert(
      fc.property(weighted.map((a) => Uint8Array.from(a)).filter(notBom), (s) => scanOk(s) === strictOk(s)),
      { seed, numRuns: 20_000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 30 }).filter((t) => !t.startsWith("\uFEFF")), (t) => scanOk(new TextEncoder().encode(t))),
      { seed, numRuns: 5_000 },
    );
  });
});
