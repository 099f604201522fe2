/**
 * The mempool of the flooding demo: the transactions a node would put in its next block.
 *
 * Rules, applied as the broadcast validator of the `tx` topic, so a transaction is forwarded only
 * if this node would keep it:
 * - a bad signature is `reject` (provably bad: the sender is penalised);
 * - a nonce at or below the account's confirmed nonce, or more than `nonceWindow` ahead, is `ignore`;
 * - the same (account, nonce) again is `ignore` unless its fee is at least 10 % higher
 *   (replace-by-fee);
 * - when full, the lowest-fee transaction is evicted for a higher-fee one, else the new one is `ignore`d.
 * The size is bounded (`capacity`), so a flood cannot grow memory.
 *
 * @module
 */

import { toHex } from "../../src/bytes.ts";
import type { Verdict } from "../../src/core/broadcast.ts";
import type { SignatureSuite } from "../../src/crypto/types.ts";
import { verifyTx, type SignedTx } from "./tx.ts";

/** Mempool settings. */
export interface MempoolOptions {
  capacity: number;
  nonceWindow: number;
}

/** Counters for the dashboard. */
export interface MempoolStats {
  size: number;
  accepted: number;
  replaced: number;
  evicted: number;
  rejected: number;
  ignored: number;
}

/** One node's pending transactions. */
export class Mempool {
  readonly stats: MempoolStats = { size: 0, accepted: 0, replaced: 0, evicted: 0, rejected: 0, ignored: 0 };
  #byKey = new Map<string, SignedTx>(); // account hex + ":" + nonce
  #confirmed = new Map<string, number>(); // account hex → highest confirmed nonce

  constructor(readonly suite: SignatureSuite, readonly options: MempoolOptions = { capacity: 5000, nonceWindow: 64 }) {}

  get size(): number {
    return this.#byKey.size;
  }

  /** Judges and, when accepted, keeps a transaction. */
  async offer(s: SignedTx): Promise<Verdict> {
    if (!(await verifyTx(this.suite, s))) {
      this.stats.rejected++;
      return "reject";
    }
    const account = toHex(s.tx.from);
    const confirmed = this.#confirmed.get(account) ?? -1;
    if (s.tx.nonce <= confirmed || s.tx.nonce > confirmed + this.options.nonceWindow) return this.#ignore();
    const key = `${account}:${s.tx.nonce}`;
    const same = this.#byKey.get(key);
    if (same) {
      if (s.tx.fee * 10 < same.tx.fee * 11) return this.#ignore();
      this.#byKey.set(key, s);
      this.stats.replaced++;
      return "accept";
    }
    if (this.#byKey.size >= this.options.capacity) {
      const [lowKey, low] = this.#lowestFee();
      if (s.tx.fee <= low.tx.fee) return this.#ignore();
      this.#byKey.delete(lowKey);
      this.stats.evicted++;
    }
    this.#byKey.set(key, s);
    this.stats.accepted++;
    this.stats.size = this.#byKey.size;
    return "accept";
  }

  /** Marks an account's transactions up to `nonce` as confirmed (in a block) and drops them. */
  confirm(account: Uint8Array, nonce: number): void {
    const hex = toHex(account);
    this.#confirmed.set(hex, Math.max(nonce, this.#confirmed.get(hex) ?? -1));
    for (const [k, s] of this.#byKey) if (k.startsWith(hex) && s.tx.nonce <= nonce) this.#byKey.delete(k);
    this.stats.size = this.#byKey.size;
  }

  /** Pending transactions, highest fee first. */
  byFee(): SignedTx[] {
    return [...this.#byKey.values()].sort((a, b) => b.tx.fee - a.tx.fee);
  }

  #ignore(): Verdict {
    this.stats.ignored++;
    return "ignore";
  }

  #lowestFee(): [string, SignedTx] {
    let best: [string, SignedTx] | null = null;
    for (const e of this.#byKey) if (!best || e[1].tx.fee < best[1].tx.fee) best = e;
    return best!;
  }
}
