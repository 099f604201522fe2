/**
 * Crypto mode `ed25519-memoized`: a verdict on one (key, message, signature) is computed once and
 * shared by every simulated node that checks it. Protocol figures must be those of a run where each
 * node verifies for itself, for the same seed: whole reports are compared, only wall time and the
 * mode's name set aside.
 */
import { describe, expect, it } from "vitest";
import { createSignatureSuite } from "../../src/crypto/ed25519.ts";
import type { SignatureSuite } from "../../src/crypto/types.ts";
import { runBroadcast, runPartition, runSpread, simKeyPair, VerifyMemo, type ScenarioOptions } from "../../src/sim/mod.ts";
import { runDetection } from "../../src/sim/membership-scenarios.ts";

const SEED = Number(process.env.GRAPEVINE_SEED ?? 20261121);

async function withSeed<T>(seed: number, f: (seed: number) => Promise<T>): Promise<T> {
  try {
    return await f(seed);
  } catch (e) {
    throw new Error(`failed with seed ${seed} — replay with GRAPEVINE_SEED=${seed} npx vitest run test/sim/memo.test.ts\n${(e as Error).stack}`);
  }
}

/** A real Ed25519 suite with no cache of its own, counting the checks it runs. */
async function perNode(): Promise<SignatureSuite & { checks: number }> {
  const real = await createSignatureSuite({ subtle: globalThis.crypto.subtle, verifiedCacheMax: 0 });
  const s = {
    backend: real.backend,
    checks: 0,
    sign: real.sign.bind(real),
    verify(k: Uint8Array, m: Uint8Array, sig: Uint8Array) {
      s.checks++;
      return real.verify(k, m, sig);
    },
  };
  return s;
}

function options(seed: number, suite: SignatureSuite, over: Partial<ScenarioOptions> = {}): ScenarioOptions {
  return { nodes: 120, fanout: 3, mode: "pushpull", loss: 0.05, seed, degree: 0, intervalMs: 1000, suite, cryptoName: "x", clock: () => 0, ...over };
}

/** A report without what may differ between crypto modes: wall time and the mode's name. */
function figures<T extends object>(r: T): Omit<T, "wall_ms" | "crypto"> {
  const { wall_ms: _w, crypto: _c, ...rest } = r as T & { wall_ms: unknown; crypto: unknown };
  return rest;
}

describe("crypto mode ed25519-memoized", () => {
  it("spread, broadcast, partition and detection give the same reports as per-node checks, for the same seed", () =>
    withSeed(SEED, async (seed) => {
      const each = await perNode();
      const memo = new VerifyMemo(await createSignatureSuite({ subtle: globalThis.crypto.subtle, verifiedCacheMax: 0 }));
      const runs: [string, (s: SignatureSuite) => Promise<object>][] = [
        ["spread", (s) => runSpread(options(seed, s))],
        ["spread push", (s) => runSpread(options(seed, s, { mode: "push", nodes: 80 }))],
        ["broadcast", (s) => runBroadcast(options(seed, s, { nodes: 60 }), { messages: 20, ratePerSecond: 20, crash: 0.1, payloadBytes: 64 })],
        ["partition", (s) => runPartition(options(seed, s, { nodes: 30, loss: 0 }), 10_000)],
        ["detection", (s) => runDetection({ nodes: 40, seed, degree: 0, loss: 0.02, probeIntervalMs: 1000, lifeguard: true, suite: s, cryptoName: "x", clock: () => 0 }, 0.05)],
      ];
      for (const [name, run] of runs) {
        const before = { each: each.checks, memo: memo.stats.checks };
        const a = await run(each);
        const b = await run(memo);
        expect(figures(b), name).toEqual(figures(a));
        // The same checks were asked for in both modes; the memo ran far fewer of them.
        expect(memo.stats.checks - before.memo, name).toBe(each.checks - before.each);
      }
      expect(memo.stats.verified).toBeLessThan(memo.stats.checks / 5);
    }), 180_000);

  it("keeps both verdicts, compares keys and messages exactly, and shares a check in flight", async () => {
    const memo = new VerifyMemo(await createSignatureSuite({ subtle: globalThis.crypto.subtle, verifiedCacheMax: 0 }), 4);
    const kp = simKeyPair(1, 0);
    const other = simKeyPair(1, 1);
    const msg = new TextEncoder().encode("a signed root");
    const sig = await memo.sign(kp, msg);
    const first = memo.verifyNow(kp.publicKey, msg, sig);
    const again = memo.verifyNow(kp.publicKey, msg, sig);
    expect(first).toBeInstanceOf(Promise);
    expect(again).toBe(first); // one backend call for both
    expect(await first).toBe(true);
    expect(memo.verifyNow(kp.publicKey, msg, sig)).toBe(true);
    // Same signature bytes, another key or another message: checked, and refused.
    expect(await memo.verifyNow(other.publicKey, msg, sig)).toBe(false);
    const tampered = msg.slice();
    tampered[0] ^= 1;
    expect(await memo.verifyNow(kp.publicKey, tampered, sig)).toBe(false);
    expect(memo.verifyNow(kp.publicKey, tampered, sig)).toBe(false); // a failure is remembered too
    expect(memo.verifyNow(kp.publicKey, msg, sig)).toBe(true);
    expect(memo.stats).toEqual({ checks: 7, verified: 3 });
    // A signature of the wrong length never verifies and takes no entry.
    expect(await memo.verify(kp.publicKey, msg, sig.subarray(1))).toBe(false);
    // Bounded: past `max` triples the oldest go (and are checked again when asked).
    for (let i = 0; i < 6; i++) {
      const m = new TextEncoder().encode(`message ${i}`);
      expect(await memo.verify(kp.publicKey, m, await memo.sign(kp, m))).toBe(true);
    }
    const verified = memo.stats.verified;
    expect(await memo.verify(kp.publicKey, msg, sig)).toBe(true);
    expect(memo.stats.verified).toBe(verified + 1);
  });
});
