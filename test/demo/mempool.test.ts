import { describe, expect, it } from "vitest";
import { Mempool } from "../../cli/tx/mempool.ts";
import { signTx, txFromWire, txToWire } from "../../cli/tx/tx.ts";
import { keyPair, suite } from "../core/harness.ts";

describe("tx demo: transactions and mempool", () => {
  it("signed transactions round-trip the wire; a tampered one is rejected", async () => {
    const s = await suite();
    const alice = keyPair(1);
    const bob = keyPair(2);
    const t = await signTx(s, alice, { to: bob.publicKey, amount: 5, nonce: 0, fee: 10 });
    const back = txFromWire(txToWire(t));
    expect(back.tx).toEqual(t.tx);
    const pool = new Mempool(s, { capacity: 10, nonceWindow: 4 });
    expect(await pool.offer(back)).toBe("accept");
    const forged = { ...back, body: back.body.slice() };
    forged.body[forged.body.length - 1] ^= 1; // change the fee byte: the signature no longer matches
    expect(await pool.offer(forged)).toBe("reject");
    expect(() => txFromWire(new Uint8Array([0x82, 0x01]))).toThrow(/WIRE_/);
  });

  it("nonce order, replace-by-fee and fee eviction keep the pool bounded", async () => {
    const s = await suite();
    const a = keyPair(3);
    const to = keyPair(4).publicKey;
    const pool = new Mempool(s, { capacity: 3, nonceWindow: 4 });
    expect(await pool.offer(await signTx(s, a, { to, amount: 1, nonce: 9, fee: 5 }))).toBe("ignore"); // too far ahead
    expect(await pool.offer(await signTx(s, a, { to, amount: 1, nonce: 0, fee: 5 }))).toBe("accept");
    expect(await pool.offer(await signTx(s, a, { to, amount: 1, nonce: 0, fee: 5 }))).toBe("ignore"); // same fee
    expect(await pool.offer(await signTx(s, a, { to, amount: 1, nonce: 0, fee: 6 }))).toBe("accept"); // +20 %
    expect(await pool.offer(await signTx(s, a, { to, amount: 1, nonce: 1, fee: 2 }))).toBe("accept");
    expect(await pool.offer(await signTx(s, a, { to, amount: 1, nonce: 2, fee: 3 }))).toBe("accept");
    expect(pool.size).toBe(3);
    expect(await pool.offer(await signTx(s, a, { to, amount: 1, nonce: 3, fee: 1 }))).toBe("ignore"); // full, lowest fee
    expect(await pool.offer(await signTx(s, a, { to, amount: 1, nonce: 3, fee: 9 }))).toBe("accept"); // evicts fee 2
    expect(pool.size).toBe(3);
    expect(pool.byFee().map((t) => t.tx.fee)).toEqual([9, 6, 3]);
    pool.confirm(a.publicKey, 2);
    expect(pool.size).toBe(1);
    expect(await pool.offer(await signTx(s, a, { to, amount: 1, nonce: 1, fee: 50 }))).toBe("ignore"); // confirmed
  });
});
