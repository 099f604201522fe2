// The torsion-free check of a key seen for the first time: its verdict is shared by every suite in
// the process (a pure function of the key's bytes), and checks of new keys run one at a time, each
// after the injected yield, so many new keys cannot hold the event loop in one go.
import * as nodeCrypto from "node:crypto";
import { describe, expect, it } from "vitest";
import { fromHex } from "../../src/bytes.ts";
import { createSignatureSuite } from "../../src/crypto/ed25519.ts";
import { keyPairFromSeed } from "../../src/crypto/keys.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** `n` key pairs from seeds `tag, i, 0, …`: keys this process has not checked before (a tag per test). */
function keyPairs(tag: number, n: number) {
  return Array.from({ length: n }, (_, i) => {
    const seed = new Uint8Array(32);
    seed[0] = tag;
    seed[1] = i;
    return keyPairFromSeed(seed);
  });
}
/** A mixed-order key (A + T8) and a signature whose cofactorless equation holds: only the torsion check refuses it. */
const MIXED = {
  publicKey: fromHex("9e0d730756feb6e647de770979b279e9c808dfd7399828bade6c7728230e1670"),
  message: fromHex("677261706576696e65206564676520766563746f7273"),
  signature: fromHex("a490a7ac22f3b094b1d4d34bbca6a030d958fbeec7273ab2be40934fd0d999dec0e41e11dc7fbc6c92786fef3a1e7824a0d661bf19e17fca65f15028afb41200"),
};

describe("key checks", () => {
  for (const backend of ["node:crypto", "webcrypto", "noble"] as const) {
    it(`a mixed-order key is refused by a first suite and by a second one that reuses the verdict (${backend})`, async () => {
      const a = await createSignatureSuite({ backend, subtle: globalThis.crypto.subtle, nodeCrypto });
      const b = await createSignatureSuite({ backend, subtle: globalThis.crypto.subtle, nodeCrypto });
      expect(await a.verify(MIXED.publicKey, MIXED.message, MIXED.signature)).toBe(false);
      expect(await b.verify(MIXED.publicKey, MIXED.message, MIXED.signature)).toBe(false);
      // An honest key checked by one suite verifies in another, through the shared verdict.
      const kp = keyPairFromSeed(new Uint8Array(32).fill(backend === "noble" ? 41 : 42));
      const sig = await a.sign(kp, enc("hi"));
      expect(await a.verify(kp.publicKey, enc("hi"), sig)).toBe(true);
      expect(await b.verify(kp.publicKey, enc("hi"), sig)).toBe(true);
      expect(await b.verify(kp.publicKey, enc("ho"), sig)).toBe(false);
    });
  }

  it("new keys are checked one at a time, each after a yield; keys already checked need none", async () => {
    const order: string[] = [];
    let releases: (() => void)[] = [];
    // WebCrypto: its checks are asynchronous, so the only yields are the key checks' (a synchronous
    // backend also yields once per turn of checks, tested in ed25519.test.ts).
    const suite = await createSignatureSuite({
      subtle: globalThis.crypto.subtle,
      backend: "webcrypto",
      yieldTo: () => new Promise<void>((r) => {
        order.push("yield");
        releases.push(r);
      }),
    });
    const signer = await createSignatureSuite({ subtle: globalThis.crypto.subtle });
    const pairs = keyPairs(0xc0, 5);
    const sigs = await Promise.all(pairs.map((kp) => signer.sign(kp, enc("m"))));
    const verdicts = pairs.map((kp, i) => suite.verify(kp.publicKey, enc("m"), sigs[i]).then((ok) => (order.push(`done ${i}`), ok)));
    // Nothing is checked until the first yield returns; then one key per yield.
    for (let k = 0; k < 5; k++) {
      while (releases.length === 0) await new Promise((r) => setTimeout(r, 1));
      expect(releases.length).toBe(1);
      const release = releases[0];
      releases = [];
      release();
    }
    expect(await Promise.all(verdicts)).toEqual([true, true, true, true, true]);
    expect(order.filter((x) => x === "yield").length).toBe(5);
    // The same keys again (a new suite: its own verifier cache, the process's verdicts): no yield.
    const again = await createSignatureSuite({ subtle: globalThis.crypto.subtle, backend: "webcrypto", yieldTo: () => (order.push("yield"), Promise.resolve()) });
    for (const [i, kp] of pairs.entries()) expect(await again.verify(kp.publicKey, enc("m"), sigs[i])).toBe(true);
    expect(order.filter((x) => x === "yield").length).toBe(5);
  });

  it("checks of new keys are one at a time over every suite of the thread (two nodes in one process), once per key", async () => {
    let releases: (() => void)[] = [];
    const yieldTo = () => new Promise<void>((r) => releases.push(r));
    const a = await createSignatureSuite({ subtle: globalThis.crypto.subtle, backend: "webcrypto", yieldTo });
    const b = await createSignatureSuite({ subtle: globalThis.crypto.subtle, backend: "webcrypto", yieldTo });
    const signer = await createSignatureSuite({ subtle: globalThis.crypto.subtle, backend: "webcrypto" });
    const pairs = keyPairs(0xd0, 4);
    const sigs = await Promise.all(pairs.map((kp) => signer.sign(kp, enc("m"))));
    // a checks keys 0–2, b keys 1–3: keys 1 and 2 are asked for by both.
    const verdicts = [
      ...[0, 1, 2].map((i) => a.verify(pairs[i].publicKey, enc("m"), sigs[i])),
      ...[1, 2, 3].map((i) => b.verify(pairs[i].publicKey, enc("m"), sigs[i])),
    ];
    let steps = 0;
    let settled = false;
    void Promise.all(verdicts).then(() => (settled = true));
    while (!settled && steps < 20) {
      await new Promise((r) => setTimeout(r, 2));
      expect(releases.length).toBeLessThanOrEqual(1); // never two checks waiting at once
      const r = releases.shift();
      if (r) {
        steps++;
        r();
      }
    }
    expect(await Promise.all(verdicts)).toEqual([true, true, true, true, true, true]);
    expect(steps).toBe(4); // one yield per key: the second request of a key finds its verdict made
  });

  it("a suite given inTurn runs each new key's check through it, one at a time; a key with a verdict needs none", async () => {
    let held: (() => void)[] = [];
    let calls = 0;
    // Held until released, as the thread's slice holds work once it is spent.
    const inTurn = <T>(work: () => T) => {
      calls++;
      return new Promise<T>((resolve, reject) => held.push(() => {
        try {
          resolve(work());
        } catch (e) {
          reject(e);
        }
      }));
    };
    const suite = await createSignatureSuite({ subtle: globalThis.crypto.subtle, backend: "webcrypto", inTurn });
    const signer = await createSignatureSuite({ subtle: globalThis.crypto.subtle, backend: "webcrypto" });
    const pairs = keyPairs(0xe0, 3);
    const sigs = await Promise.all(pairs.map((kp) => signer.sign(kp, enc("m"))));
    let done = 0;
    const verdicts = pairs.map((kp, i) => suite.verify(kp.publicKey, enc("m"), sigs[i]).then((ok) => (done++, ok)));
    for (let k = 0; k < 3; k++) {
      while (held.length === 0) await new Promise((r) => setTimeout(r, 1));
      expect(held.length).toBe(1); // never two checks waiting at once
      expect(done).toBeLessThanOrEqual(k); // no key is through before its own check ran
      const release = held[0];
      held = [];
      release();
    }
    expect(await Promise.all(verdicts)).toEqual([true, true, true]);
    expect(calls).toBe(3);
    // The same keys again in another suite: their verdicts are the thread's, no check runs.
    const other = await createSignatureSuite({ subtle: globalThis.crypto.subtle, backend: "webcrypto", inTurn });
    for (const [i, kp] of pairs.entries()) expect(await other.verify(kp.publicKey, enc("m"), sigs[i])).toBe(true);
    expect(calls).toBe(3);
  });
});
