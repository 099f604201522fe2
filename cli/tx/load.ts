/**
 * The flooding demo's accounts, load generator and block producer's bookkeeping.
 *
 * The generator holds the accounts' Ed25519 keys and signs transfers between them, each account's
 * nonces in order. It never runs ahead of what the mesh will take: an account is used only while
 * its next nonce is within half the nonce window of the nonce confirmed by a block that every node
 * has had time to apply. It also makes the hostile transactions of the demo:
 * - forged: `from` is a real account, the signature is another key's (a bad signature);
 * - stale: correctly signed, but with a nonce a block already confirmed.
 *
 * {@link BlockProducer} decides what the next block confirms: per account, the longest run of
 * consecutive nonces after the confirmed one that sit in the producer's mempool and have been there
 * for at least `lagMs`, so that every node has them before they are confirmed (a node that received
 * a transaction after its block would call it stale).
 *
 * @module
 */

import { toHex } from "../../src/bytes.ts";
import { generateKeyPair } from "../../src/crypto/keys.ts";
import type { KeyPair, SignatureSuite } from "../../src/crypto/types.ts";
import { encode } from "../../src/wire/cbor.ts";
import type { Block } from "./flood.ts";
import type { Mempool } from "./mempool.ts";
import { type SignedTx, signTx } from "./tx.ts";

/** What kind of transaction the generator made. */
export type TxKind = "valid" | "forged" | "stale";

interface Account {
  key: KeyPair;
  hex: string;
  /** Next nonce to sign. */
  next: number;
  /** Nonces whose transaction the mesh did not take (its entry node ignored it): signed again first. */
  retry: number[];
  /** When a block last confirmed more of its nonces (or it was created). */
  progressAt: number;
  confirmed: number;
}

/** A confirmation the generator may rely on: nonce per account, and when its block was published. */
interface Confirmed {
  at: number;
  nonces: Map<string, number>;
}

/** An account whose confirmed nonce has not moved for this long while it has more signed has its next one signed again. */
const STUCK_MS = 8_000;

const random = (n: number) => globalThis.crypto.getRandomValues(new Uint8Array(n));

/** Signs the demo's transactions. */
export class LoadGenerator {
  readonly accounts: Account[];
  #suite: SignatureSuite;
  #window: number;
  #settleMs: number;
  #rng: () => number;
  /** Blocks published, newest last (the last few only). */
  #blocks: Confirmed[] = [];
  #mallory = generateKeyPair(random);
  #startedAt: number | undefined;

  /**
   * @param accounts how many accounts to make
   * @param nonceWindow the mempools' nonce window
   * @param settleMs how long after its publication a block counts as applied everywhere
   */
  constructor(suite: SignatureSuite, o: { accounts: number; nonceWindow: number; settleMs: number; rng?: () => number }) {
    this.#suite = suite;
    this.#window = o.nonceWindow;
    this.#settleMs = o.settleMs;
    this.#rng = o.rng ?? Math.random;
    this.accounts = Array.from({ length: o.accounts }, () => {
      const key = generateKeyPair(random);
      return { key, hex: toHex(key.publicKey), next: 0, retry: [] as number[], progressAt: 0, confirmed: -1 };
    });
  }

  /** A block was published at `at` (ms, any clock the caller keeps using). */
  published(at: number, b: Block): void {
    const nonces = new Map(b.confirms.map(([a, n]) => [toHex(a), n]));
    this.#blocks.push({ at, nonces });
    if (this.#blocks.length > 8) this.#blocks.shift();
    for (const a of this.accounts) {
      const n = nonces.get(a.hex) ?? -1;
      if (n > a.confirmed) [a.confirmed, a.progressAt] = [n, at];
    }
  }

  /** The newest confirmation published at least `settleMs` before `now`. */
  #settled(now: number): Map<string, number> {
    for (let i = this.#blocks.length - 1; i >= 0; i--) if (now - this.#blocks[i].at >= this.#settleMs) return this.#blocks[i].nonces;
    return new Map();
  }

  #pick<T>(list: T[]): T {
    return list[Math.floor(this.#rng() * list.length)];
  }

  /** Amount, fee and recipient of a random transfer from `a`. */
  #terms(a: Account): { to: Uint8Array; amount: number; fee: number } {
    let to = this.#pick(this.accounts);
    if (to === a && this.accounts.length > 1) to = this.accounts[(this.accounts.indexOf(a) + 1) % this.accounts.length];
    return { to: to.key.publicKey, amount: 1 + Math.floor(this.#rng() * 1000), fee: 1 + Math.floor(this.#rng() * 100) + (a.retry.length ? 200 : 0) }; // a re-signed nonce outbids (replace-by-fee) any copy still held
  }

  /** A valid transaction from a random account that has room in the nonce window, or null if none has. */
  async valid(now: number): Promise<SignedTx | null> {
    const settled = this.#settled(now);
    for (const a of this.accounts) {
      // Stuck: its next nonce to confirm never reached the producer (some pool was full). Sign it again.
      if (a.next > a.confirmed + 1 && now - Math.max(a.progressAt, this.#startedAt ??= now) > STUCK_MS && !a.retry.includes(a.confirmed + 1)) {
        a.retry.push(a.confirmed + 1);
        a.progressAt = now;
      }
    }
    const room = this.accounts.filter((a) => a.retry.length > 0 || a.next <= (settled.get(a.hex) ?? -1) + Math.floor(this.#window / 2));
    if (room.length === 0) return null;
    const a = this.#pick(room);
    const terms = this.#terms(a);
    const nonce = a.retry.length ? a.retry.shift()! : a.next++;
    return signTx(this.#suite, a.key, { ...terms, nonce });
  }

  /**
   * The entry node did not take a valid transaction (its pool was full of higher fees): its nonce
   * is signed again later, or the account's later nonces could never be confirmed.
   */
  notTaken(s: SignedTx): void {
    const a = this.accounts.find((x) => x.hex === toHex(s.tx.from));
    if (a && !a.retry.includes(s.tx.nonce)) a.retry.push(s.tx.nonce);
  }

  /** A transaction whose `from` is a real account but whose signature is another key's. */
  async forged(): Promise<SignedTx> {
    const victim = this.#pick(this.accounts);
    const t = await signTx(this.#suite, this.#mallory, { ...this.#terms(victim), nonce: victim.next });
    // Same terms, `from` rewritten to the victim: the signature (over mallory's body) no longer matches.
    const tx = { ...t.tx, from: victim.key.publicKey };
    return { ...t, tx, body: encode([tx.from, tx.to, tx.amount, tx.nonce, tx.fee]) };
  }

  /** A correctly signed transaction with a nonce already confirmed everywhere, or null if no block has settled yet. */
  async stale(now: number): Promise<SignedTx | null> {
    const settled = this.#settled(now);
    const done = this.accounts.filter((a) => (settled.get(a.hex) ?? -1) >= 0);
    if (done.length === 0) return null;
    const a = this.#pick(done);
    const nonce = Math.floor(this.#rng() * ((settled.get(a.hex) ?? 0) + 1));
    return signTx(this.#suite, a.key, { ...this.#terms(a), nonce });
  }
}

/** Chooses what each block confirms from the producer's mempool. */
export class BlockProducer {
  height = 0;
  /** account hex → [account, confirmed nonce]. */
  #confirmed = new Map<string, [Uint8Array, number]>();
  /** tx id → when it reached the producer. */
  #arrivedAt = new Map<string, number>();

  constructor(readonly lagMs: number) {}

  /** A transaction reached the producer at `t`. */
  arrived(id: string, t: number): void {
    this.#arrivedAt.set(id, t);
  }

  /**
   * The next block, or null if nothing new can be confirmed. Every block lists every account's
   * confirmed nonce, so a node that misses a block loses nothing once it gets a later one.
   */
  next(pool: Mempool, now: number): Block | null {
    const byAccount = new Map<string, Map<number, string>>();
    for (const s of pool.byFee()) {
      const hex = toHex(s.tx.from);
      if (!this.#confirmed.has(hex)) this.#confirmed.set(hex, [s.tx.from, -1]);
      let m = byAccount.get(hex);
      if (!m) byAccount.set(hex, (m = new Map()));
      m.set(s.tx.nonce, s.id);
    }
    let advanced = false;
    for (const [hex, nonces] of byAccount) {
      const entry = this.#confirmed.get(hex)!;
      let n = entry[1];
      for (;;) {
        const id = nonces.get(n + 1);
        const at = id === undefined ? undefined : this.#arrivedAt.get(id);
        if (at === undefined || now - at < this.lagMs) break;
        n++;
        this.#arrivedAt.delete(id!);
      }
      if (n > entry[1]) {
        entry[1] = n;
        advanced = true;
      }
    }
    // Arrival times of transactions that left the pool some other way (evicted, replaced) go too.
    if (this.#arrivedAt.size > 4 * Math.max(1_000, pool.size)) {
      const live = new Set(pool.byFee().map((s) => s.id));
      for (const id of this.#arrivedAt.keys()) if (!live.has(id)) this.#arrivedAt.delete(id);
    }
    if (!advanced) return null;
    this.height++;
    return { height: this.height, confirms: [...this.#confirmed.values()].filter(([, n]) => n >= 0).map(([a, n]) => [a, n]) };
  }
}
