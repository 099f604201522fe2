import * as nodeCrypto from "node:crypto";
import { describe, expect, it } from "vitest";
import { toHex } from "../../src/bytes.ts";
import { GrapevineError } from "../../src/errors.ts";
import { createSignatureSuite, keyPairFromSeedAsync, SYNC_CHECKS_PER_TURN, WEBCRYPTO_CALLS_PER_TURN } from "../../src/crypto/ed25519.ts";
import { generateKeyPair, keyPairFromSeed } from "../../src/crypto/keys.ts";
import type { SignatureSuite } from "../../src/crypto/types.ts";

const subtle = globalThis.crypto.subtle;
const seed = (n: number) => new Uint8Array(32).fill(n);
const text = (s: string) => new TextEncoder().encode(s);

/** Wraps the real SubtleCrypto and counts the calls that reach it. */
function countingSubtle(overrides: Partial<Record<"verify" | "importKey", (...args: never[]) => unknown>> = {}) {
  const counts = { importRaw: 0, importPkcs8: 0, verify: 0, sign: 0 };
  const wrapped = {
    importKey(format: string, ...rest: unknown[]) {
      if (format === "raw") counts.importRaw++;
      else counts.importPkcs8++;
      if (overrides.importKey) return overrides.importKey();
      return (subtle.importKey as (...a: unknown[]) => unknown)(format, ...rest);
    },
    verify(...args: unknown[]) {
      counts.verify++;
      if (overrides.verify) return overrides.verify();
      return (subtle.verify as (...a: unknown[]) => unknown)(...args);
    },
    sign(...args: unknown[]) {
      counts.sign++;
      return (subtle.sign as (...a: unknown[]) => unknown)(...args);
    },
    exportKey(...args: unknown[]) {
      return (subtle.exportKey as (...a: unknown[]) => unknown)(...args);
    },
  };
  const reset = () => Object.assign(counts, { importRaw: 0, importPkcs8: 0, verify: 0, sign: 0 });
  return { subtle: wrapped as unknown as SubtleCrypto, counts, reset };
}

const backends: [string, () => Promise<SignatureSuite>][] = [
  ["node:crypto", () => createSignatureSuite({ backend: "node:crypto", nodeCrypto })],
  ["webcrypto", () => createSignatureSuite({ subtle, backend: "webcrypto" })],
  ["noble", () => createSignatureSuite({ backend: "noble" })],
];

describe.each(backends)("suite on %s", (name, make) => {
  it("reports its backend", async () => {
    expect((await make()).backend).toBe(name);
  });

  it("round-trips sign and verify, and rejects tampering", async () => {
    const suite = await make();
    for (let i = 1; i <= 5; i++) {
      const kp = keyPairFromSeed(seed(i));
      const message = text(`message ${i}`.repeat(i * 10));
      const signature = await suite.sign(kp, message);
      expect(signature).toHaveLength(64);
      expect(await suite.verify(kp.publicKey, message, signature)).toBe(true);
      expect(await suite.verify(kp.publicKey, message, signature)).toBe(true); // cached path
      expect(await suite.verify(kp.publicKey, text("other"), signature)).toBe(false);
      expect(await suite.verify(keyPairFromSeed(seed(i + 100)).publicKey, message, signature)).toBe(false);
      const flipped = signature.slice();
      flipped[40] ^= 4;
      expect(await suite.verify(kp.publicKey, message, flipped)).toBe(false);
    }
  });

  it("signs deterministically, the same bytes as the other backend", async () => {
    const suite = await make();
    const other = await createSignatureSuite({ backend: name === "noble" ? "node:crypto" : "noble", subtle, nodeCrypto });
    const kp = keyPairFromSeed(seed(3));
    expect(toHex(await suite.sign(kp, text("x")))).toBe(toHex(await other.sign(kp, text("x"))));
  });

  it("throws TypeError for bad sign arguments", async () => {
    const suite = await make();
    const kp = keyPairFromSeed(seed(1));
    await expect(suite.sign({ publicKey: kp.publicKey, secretKey: new Uint8Array(31) }, text("m"))).rejects.toThrow(TypeError);
    await expect(suite.sign({ publicKey: new Uint8Array(33), secretKey: kp.secretKey }, text("m"))).rejects.toThrow(TypeError);
    await expect(suite.sign(kp, "m" as unknown as Uint8Array)).rejects.toThrow(TypeError);
    await expect(suite.sign(null as unknown as typeof kp, text("m"))).rejects.toThrow(TypeError);
    // A public key that does not belong to the seed would yield signatures nobody can check.
    await expect(suite.sign({ publicKey: keyPairFromSeed(seed(2)).publicKey, secretKey: kp.secretKey }, text("m"))).rejects.toThrow(TypeError);
  });

  it("never throws from verify, whatever it is given", async () => {
    const suite = await make();
    const kp = keyPairFromSeed(seed(1));
    const sig = await suite.sign(kp, text("m"));
    const junk: unknown[] = [undefined, null, "str", 1, {}, [], new Uint8Array(0), new Uint8Array(100), new Uint16Array(32)];
    for (const j of junk) {
      expect(await suite.verify(j as Uint8Array, text("m"), sig)).toBe(false);
      expect(await suite.verify(kp.publicKey, j as Uint8Array, sig)).toBe(false);
      expect(await suite.verify(kp.publicKey, text("m"), j as Uint8Array)).toBe(false);
    }
  });

  it("checks its own copies: writes after the call do not change the verdict", async () => {
    const suite = await make();
    const kp = keyPairFromSeed(seed(4));
    const message = text("copy me");
    const signature = await suite.sign(kp, message);
    const pending = suite.verify(kp.publicKey, message, signature);
    message[0] ^= 1;
    expect(await pending).toBe(true);
    signature[0] ^= 1;
    message[0] ^= 1;
    expect(await suite.verify(kp.publicKey, message, signature)).toBe(false);
  });
});

describe("backend choice", () => {
  it("auto uses node:crypto when given, else WebCrypto when given a good SubtleCrypto, else noble", async () => {
    expect((await createSignatureSuite({ subtle, nodeCrypto })).backend).toBe("node:crypto");
    expect((await createSignatureSuite({ nodeCrypto })).backend).toBe("node:crypto");
    expect((await createSignatureSuite({ subtle })).backend).toBe("webcrypto");
    expect((await createSignatureSuite()).backend).toBe("noble");
    expect((await createSignatureSuite({ subtle, nodeCrypto, backend: "noble" })).backend).toBe("noble");
    expect((await createSignatureSuite({ subtle, nodeCrypto, backend: "webcrypto" })).backend).toBe("webcrypto");
    const err = await createSignatureSuite({ subtle, backend: "node:crypto" }).catch((e: unknown) => e);
    expect((err as GrapevineError).code).toBe("CRYPTO_UNAVAILABLE");
  });

  it("a node:crypto with a wrong verdict fails the start-up probe (auto falls back); one without the functions is a TypeError", async () => {
    const lenient = { ...nodeCrypto, verify: () => true };
    expect((await createSignatureSuite({ subtle, nodeCrypto: lenient })).backend).toBe("webcrypto");
    await expect(createSignatureSuite({ nodeCrypto: lenient, backend: "node:crypto" })).rejects.toThrow(GrapevineError);
    const partial = { sign: nodeCrypto.sign } as unknown as typeof nodeCrypto;
    await expect(createSignatureSuite({ subtle, nodeCrypto: partial })).rejects.toThrow(TypeError);
    await expect(createSignatureSuite({ subtle, nodeCrypto: 5 as unknown as typeof nodeCrypto })).rejects.toThrow(TypeError);
  });

  it("demanding webcrypto without SubtleCrypto is CRYPTO_UNAVAILABLE", async () => {
    const err = await createSignatureSuite({ backend: "webcrypto" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrapevineError);
    expect((err as GrapevineError).code).toBe("CRYPTO_UNAVAILABLE");
    expect((err as GrapevineError).source).toBe("local");
  });

  it("falls back to noble when the probe catches a lenient verifier", async () => {
    const lenient = countingSubtle({ verify: () => Promise.resolve(true) });
    expect((await createSignatureSuite({ subtle: lenient.subtle })).backend).toBe("noble");
    await expect(createSignatureSuite({ subtle: lenient.subtle, backend: "webcrypto" })).rejects.toThrow(GrapevineError);
  });

  it("falls back to noble when WebCrypto lacks Ed25519", async () => {
    const missing = countingSubtle({ importKey: () => Promise.reject(new DOMException("Unrecognized name", "NotSupportedError")) });
    expect((await createSignatureSuite({ subtle: missing.subtle })).backend).toBe("noble");
  });

  it("probes a good source of Ed25519 once per thread: a second suite on the same SubtleCrypto or node:crypto starts without a call; a failed one is probed again", async () => {
    const counted = countingSubtle();
    const first = await createSignatureSuite({ subtle: counted.subtle });
    expect(first.backend).toBe("webcrypto");
    const firstProbeVerifies = counted.counts.verify;
    expect(firstProbeVerifies).toBeGreaterThan(0); // the probe ran
    counted.reset();
    const second = await createSignatureSuite({ subtle: counted.subtle });
    expect(second.backend).toBe("webcrypto");
    expect(counted.counts).toEqual({ importRaw: 0, importPkcs8: 0, verify: 0, sign: 0 });
    // It works all the same. A failure is not kept: a source that failed is probed again (and a
    // lenient one fails again, so it falls back to noble every time).
    const kp = keyPairFromSeed(seed(4));
    const sig = await second.sign(kp, text("once"));
    expect(await second.verify(kp.publicKey, text("once"), sig)).toBe(true);
    expect(await second.verify(kp.publicKey, text("twice"), sig)).toBe(false);
    const lenient = countingSubtle({ verify: () => Promise.resolve(true) });
    expect((await createSignatureSuite({ subtle: lenient.subtle })).backend).toBe("noble");
    lenient.reset();
    expect((await createSignatureSuite({ subtle: lenient.subtle })).backend).toBe("noble");
    expect(lenient.counts.verify).toBeGreaterThan(0);
    // Suites created at once on a new source share its one probe.
    const together = countingSubtle();
    const suites = await Promise.all([0, 1, 2].map(() => createSignatureSuite({ subtle: together.subtle })));
    expect(suites.map((s) => s.backend)).toEqual(["webcrypto", "webcrypto", "webcrypto"]);
    const oneProbe = together.counts.verify;
    together.reset();
    await createSignatureSuite({ subtle: together.subtle });
    expect(together.counts.verify).toBe(0);
    expect(oneProbe).toBe(firstProbeVerifies); // one probe for the three
    // node:crypto: a wrapper that counts checks, probed by the first suite only.
    let checks = 0;
    const counting = { ...nodeCrypto, verify: (...a: Parameters<typeof nodeCrypto.verify>) => (checks++, nodeCrypto.verify(...a)) } as typeof nodeCrypto;
    expect((await createSignatureSuite({ nodeCrypto: counting })).backend).toBe("node:crypto");
    expect(checks).toBeGreaterThan(0);
    checks = 0;
    expect((await createSignatureSuite({ nodeCrypto: counting })).backend).toBe("node:crypto");
    expect(checks).toBe(0);
  });

  it("rejects unknown backends and bad cache bounds", async () => {
    await expect(createSignatureSuite({ backend: "openssl" as "noble" })).rejects.toThrow(RangeError);
    await expect(createSignatureSuite({ verifiedCacheMax: -1 })).rejects.toThrow(RangeError);
    await expect(createSignatureSuite({ keyCacheMax: -1 })).rejects.toThrow(RangeError);
  });
});

/**
 * A `yieldTo` whose waits are held until released: `releaseAll` lets every pending one go,
 * `releasing(p)` awaits `p` while releasing every wait meanwhile (a suite's start-up probe signs
 * and checks too), `settle` lets the event loop run 5 ms.
 */
function heldTurns() {
  const releases: (() => void)[] = [];
  const settle = () => new Promise((r) => setTimeout(r, 5));
  const releaseAll = () => {
    for (const r of releases.splice(0)) r();
  };
  const releasing = async <T>(p: Promise<T>): Promise<T> => {
    let done = false;
    void p.finally(() => (done = true));
    while (!done) {
      releaseAll();
      await settle();
    }
    return p;
  };
  return { releases, yieldTo: () => new Promise<void>((r) => releases.push(r)), settle, releaseAll, releasing };
}

describe("a synchronous backend (node:crypto)", () => {
  it(`signs and checks at most ${SYNC_CHECKS_PER_TURN} signatures back to back, then waits for a turn (yieldTo)`, async () => {
    const { releases, yieldTo, settle, releaseAll, releasing } = heldTurns();
    const suite = await releasing(createSignatureSuite({ backend: "node:crypto", nodeCrypto, yieldTo }));
    const other = await releasing(createSignatureSuite({ backend: "node:crypto", nodeCrypto, verifiedCacheMax: 1, yieldTo }));
    /** What finishes between releases of the wait, until `total` have: each run at most the bound. */
    const bursts = async (count: () => number, total: number): Promise<number[]> => {
      const sizes: number[] = [];
      for (let t = 0; t < 20 && count() < total; t++) {
        const before = count();
        await settle();
        sizes.push(count() - before);
        if (count() < total) expect(releases.length).toBe(1); // the wait, pending until released
        releaseAll();
      }
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(total);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(SYNC_CHECKS_PER_TURN);
      expect(sizes.length).toBeGreaterThanOrEqual(Math.ceil(total / SYNC_CHECKS_PER_TURN));
      return sizes;
    };
    const kp = keyPairFromSeed(seed(21));
    // The key's first check (one yield) and a first signature, out of the way.
    await releasing(suite.sign(kp, text("warm")).then((sig) => suite.verify(kp.publicKey, text("warm"), sig)));
    const messages = Array.from({ length: 100 }, (_, i) => text(`turn ${i}`));
    let signed = 0;
    const signing = messages.map((m) => suite.sign(kp, m).then((sig) => (signed++, sig)));
    await bursts(() => signed, messages.length);
    const sigs = await Promise.all(signing);
    let checked = 0;
    const checking = messages.map((m, i) => suite.verify(kp.publicKey, m, sigs[i]).then((ok) => (checked++, ok)));
    await bursts(() => checked, messages.length);
    expect((await Promise.all(checking)).every((ok) => ok)).toBe(true);
    // A cache hit costs nothing: the same checks again all finish without a wait.
    releaseAll();
    let again = 0;
    const hits = messages.map((m, i) => suite.verify(kp.publicKey, m, sigs[i]).then((ok) => (again++, ok)));
    await settle();
    expect(again).toBe(messages.length);
    expect((await Promise.all(hits)).every((ok) => ok)).toBe(true);
    // The count is the thread's, not the suite's: two suites (two nodes of one process) share it.
    const fresh = Array.from({ length: 20 }, (_, i) => text(`shared ${i}`));
    let freshSigned = 0;
    const freshSigning = Promise.all(fresh.map((m) => other.sign(kp, m).then((sig) => (freshSigned++, sig))));
    await bursts(() => freshSigned, fresh.length);
    const freshSigs = await freshSigning;
    let both = 0;
    const checks = [suite, other].flatMap((x) => fresh.map((m, i) => x.verify(kp.publicKey, m, freshSigs[i]).then((ok) => (both++, ok))));
    const sizes = await bursts(() => both, checks.length);
    expect(sizes.length).toBeGreaterThanOrEqual(2); // 40 checks: more than one suite's worth at once
    expect((await Promise.all(checks)).every((ok) => ok)).toBe(true);
    releaseAll();
  });
});

describe("WebCrypto hand-overs", () => {
  it(`at most ${WEBCRYPTO_CALLS_PER_TURN} a turn, key imports counted: a second node meeting keys the thread already checked imports them paced`, async () => {
    const { yieldTo, settle, releaseAll, releasing } = heldTurns();
    const first = await releasing(createSignatureSuite({ subtle, backend: "webcrypto", yieldTo }));
    const spy = countingSubtle();
    const second = await releasing(createSignatureSuite({ subtle: spy.subtle, backend: "webcrypto", yieldTo }));
    const keys = Array.from({ length: 150 }, (_, i) => keyPairFromSeed(seed(100 + i)));
    const m = text("first contact");
    const sigs = await releasing(Promise.all(keys.map((kp) => first.sign(kp, m))));
    expect(await releasing(Promise.all(keys.map((kp, i) => first.verify(kp.publicKey, m, sigs[i]))))).toEqual(keys.map(() => true));
    // Every key's verdict is the thread's now: the second suite checks none again, so nothing but
    // the pace stands between its 150 imports and 150 checks and WebCrypto.
    releaseAll();
    await settle();
    spy.reset();
    let done = 0;
    const checks = keys.map((kp, i) => second.verify(kp.publicKey, m, sigs[i]).then((ok) => (done++, ok)));
    const handed: number[] = [];
    let seen = 0; // hand-overs counted so far (none before the checks started)
    for (let t = 0; t < 50 && done < keys.length; t++) {
      await settle();
      const now = spy.counts.importRaw + spy.counts.verify;
      handed.push(now - seen);
      seen = now;
      releaseAll();
    }
    expect(await Promise.all(checks)).toEqual(keys.map(() => true));
    expect(spy.counts.importRaw).toBe(keys.length);
    expect(Math.max(...handed)).toBeLessThanOrEqual(WEBCRYPTO_CALLS_PER_TURN);
    expect(handed.filter((x) => x > 0).length).toBeGreaterThanOrEqual(Math.ceil((2 * keys.length) / WEBCRYPTO_CALLS_PER_TURN));
  });
});

describe("caches", () => {
  it("a verified-cache hit skips the backend; failures are not cached", async () => {
    const spy = countingSubtle();
    const suite = await createSignatureSuite({ subtle: spy.subtle, backend: "webcrypto" });
    expect(suite.backend).toBe("webcrypto");
    const kp = keyPairFromSeed(seed(5));
    const message = text("cached");
    const signature = await suite.sign(kp, message);
    spy.reset();
    for (let i = 0; i < 5; i++) expect(await suite.verify(kp.publicKey, message, signature)).toBe(true);
    expect(spy.counts.verify).toBe(1);
    expect(spy.counts.importRaw).toBe(1);
    for (let i = 0; i < 3; i++) expect(await suite.verify(kp.publicKey, text("not it"), signature)).toBe(false);
    expect(spy.counts.verify).toBe(4);
    expect(spy.counts.importRaw).toBe(1);
  });

  it("rule-breaking signatures never reach the backend", async () => {
    const spy = countingSubtle();
    const suite = await createSignatureSuite({ subtle: spy.subtle, backend: "webcrypto" });
    const kp = keyPairFromSeed(seed(6));
    const signature = await suite.sign(kp, text("m"));
    spy.reset();
    const highS = signature.slice();
    highS[63] |= 0xf0;
    expect(await suite.verify(kp.publicKey, text("m"), highS)).toBe(false);
    const identityR = signature.slice();
    identityR.set(Uint8Array.of(1, ...new Uint8Array(31)), 0);
    expect(await suite.verify(kp.publicKey, text("m"), identityR)).toBe(false);
    expect(spy.counts).toEqual({ importRaw: 0, importPkcs8: 0, verify: 0, sign: 0 });
  });

  it("imported signing keys are cached", async () => {
    const spy = countingSubtle();
    const suite = await createSignatureSuite({ subtle: spy.subtle, backend: "webcrypto" });
    spy.reset();
    const kp = keyPairFromSeed(seed(7));
    for (let i = 0; i < 4; i++) await suite.sign(kp, text(`m${i}`));
    // Prepared once: imported to derive its public key (extractable, then dropped) and to sign.
    expect(spy.counts.importPkcs8).toBe(2);
    expect(spy.counts.sign).toBe(4);
  });

  it("the verified cache stays bounded", async () => {
    const spy = countingSubtle();
    const suite = await createSignatureSuite({ subtle: spy.subtle, backend: "webcrypto", verifiedCacheMax: 2 });
    const kp = keyPairFromSeed(seed(8));
    const messages = [text("a"), text("b"), text("c")];
    const sigs = await Promise.all(messages.map((m) => suite.sign(kp, m)));
    spy.reset();
    for (let i = 0; i < 3; i++) expect(await suite.verify(kp.publicKey, messages[i], sigs[i])).toBe(true);
    expect(spy.counts.verify).toBe(3);
    expect(await suite.verify(kp.publicKey, messages[2], sigs[2])).toBe(true); // still cached
    expect(spy.counts.verify).toBe(3);
    expect(await suite.verify(kp.publicKey, messages[0], sigs[0])).toBe(true); // evicted: backend again
    expect(spy.counts.verify).toBe(4);
  });

  it("the key caches stay bounded", async () => {
    const spy = countingSubtle();
    const suite = await createSignatureSuite({ subtle: spy.subtle, backend: "webcrypto", keyCacheMax: 2, verifiedCacheMax: 1 });
    const kps = [1, 2, 3].map((i) => keyPairFromSeed(seed(20 + i)));
    const sigs = await Promise.all(kps.map((kp) => suite.sign(kp, text("k"))));
    spy.reset();
    for (let i = 0; i < 3; i++) expect(await suite.verify(kps[i].publicKey, text("k"), sigs[i])).toBe(true);
    expect(spy.counts.importRaw).toBe(3);
    await suite.verify(kps[2].publicKey, text("k"), sigs[2]);
    await suite.verify(kps[1].publicKey, text("k"), sigs[1]);
    expect(spy.counts.importRaw).toBe(3); // both still held
    await suite.verify(kps[0].publicKey, text("k"), sigs[0]);
    expect(spy.counts.importRaw).toBe(4); // evicted earlier, imported again
    await suite.sign(kps[0], text("s"));
    await suite.sign(kps[1], text("s"));
    // The signer cache was bounded too: kps[0], kps[1] prepared again (two imports each: see above).
    expect(spy.counts.importPkcs8).toBe(4);
  });
});

describe("key pairs", () => {
  it("keyPairFromSeed derives the RFC 8032 public key and copies the seed", () => {
    const s = Uint8Array.from(Buffer.from("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "hex"));
    const kp = keyPairFromSeed(s);
    expect(toHex(kp.publicKey)).toBe("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
    s.fill(0);
    expect(toHex(kp.secretKey)).toBe("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
    for (const bad of [new Uint8Array(31), new Uint8Array(64), "x", null, [1, 2, 3]]) {
      expect(() => keyPairFromSeed(bad as Uint8Array)).toThrow(TypeError);
    }
  });

  it("generateKeyPair draws 32 bytes from the injected source", () => {
    const asked: number[] = [];
    const kp = generateKeyPair((n) => {
      asked.push(n);
      return seed(42);
    });
    expect(asked).toEqual([32]);
    expect(toHex(kp.publicKey)).toBe(toHex(keyPairFromSeed(seed(42)).publicKey));
    expect(() => generateKeyPair(() => new Uint8Array(16))).toThrow(TypeError);
    expect(() => generateKeyPair("random" as unknown as () => Uint8Array)).toThrow(TypeError);
  });
});

describe("keyPairFromSeedAsync", () => {
  it("derives keyPairFromSeed's pair through WebCrypto, and through noble where WebCrypto lacks Ed25519 or derives wrong", async () => {
    const lacking = { importKey: () => Promise.reject(new DOMException("no Ed25519", "NotSupportedError")) } as unknown as SubtleCrypto;
    // A WebCrypto that derives a wrong key for every seed (RFC 8032's TEST 1 included): not trusted.
    const lying = {
      importKey: (...a: unknown[]) => (subtle.importKey as (...x: unknown[]) => unknown)(...a),
      exportKey: async (...a: unknown[]) => ({ ...(await (subtle.exportKey as (...x: unknown[]) => Promise<JsonWebKey>)(...a)), x: "A".repeat(43) }),
    } as unknown as SubtleCrypto;
    const exports = { n: 0 };
    const counting = {
      importKey: (...a: unknown[]) => (subtle.importKey as (...x: unknown[]) => unknown)(...a),
      exportKey: (...a: unknown[]) => {
        exports.n++;
        return (subtle.exportKey as (...x: unknown[]) => unknown)(...a);
      },
    } as unknown as SubtleCrypto;
    for (const i of [1, 2, 77, 255]) {
      const expected = keyPairFromSeed(seed(i));
      for (const s of [subtle, counting, lacking, lying, undefined]) {
        const kp = await keyPairFromSeedAsync(seed(i), s);
        expect(toHex(kp.publicKey)).toBe(toHex(expected.publicKey));
        expect(toHex(kp.secretKey)).toBe(toHex(seed(i)));
      }
    }
    // The counting WebCrypto did the work: TEST 1 once, then one export per seed.
    expect(exports.n).toBe(1 + 4);
    await expect(keyPairFromSeedAsync(new Uint8Array(31), subtle)).rejects.toThrow(TypeError);
  });

  it("a WebCrypto that signs and verifies right but derives a wrong public key fails the start-up probe", async () => {
    const derivingWrong = {
      importKey: pass("importKey"),
      sign: pass("sign"),
      verify: pass("verify"),
      exportKey: async (...a: unknown[]) => ({ ...(await (subtle.exportKey as (...x: unknown[]) => Promise<JsonWebKey>)(...a)), x: "A".repeat(43) }),
    } as unknown as SubtleCrypto;
    expect((await createSignatureSuite({ subtle: derivingWrong })).backend).toBe("noble");
    await expect(createSignatureSuite({ subtle: derivingWrong, backend: "webcrypto" })).rejects.toThrow(GrapevineError);
    // The same object with the real export passes.
    const honest = { ...derivingWrong, exportKey: pass("exportKey") } as unknown as SubtleCrypto;
    expect((await createSignatureSuite({ subtle: honest, backend: "webcrypto" })).backend).toBe("webcrypto");
  });
});

/** `subtle`'s own method `name`, as a plain function of a stand-in object. */
function pass(name: "importKey" | "sign" | "verify" | "exportKey") {
  return (...a: unknown[]) => (subtle[name] as (...x: unknown[]) => unknown).apply(subtle, a);
}
