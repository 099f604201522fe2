/**
 * Signature checks shared across simulated nodes: crypto mode `ed25519-memoized`.
 *
 * Whether a signature verifies is a pure function of (public key, message, signature): every node
 * that checks the same triple gets the same verdict. In a simulation thousands of nodes check the
 * same signed root or claim, so one process-wide memo answers all but the first, in a run where
 * every node still asks (the engine queues the job and receives the verdict as an input at the same
 * virtual time as without the memo). Protocol figures are therefore the same as with per-node
 * checks for the same seed (a test compares whole reports), and only wall time changes. Reports
 * name the mode, so a figure never passes for one where each node paid for its own check.
 *
 * Keys are compared exactly (public key, message and signature bytes), not by hash; both verdicts
 * are kept (a failed check is as deterministic as a good one); checks of one triple in flight at
 * once share one backend call. At most `max` triples are kept, oldest dropped first.
 *
 * @module
 */

import { bytesEqual } from "../bytes.ts";
import type { KeyPair, SignatureSuite } from "../crypto/types.ts";

interface Entry {
  publicKey: Uint8Array;
  message: Uint8Array;
  /** The verdict, or the check still running. */
  verdict: boolean | Promise<boolean>;
}

/** Counters of a memo. */
export interface VerifyMemoStats {
  /** Checks asked for. */
  checks: number;
  /** Of those, run by the backend (the rest were answered from the memo). */
  verified: number;
}

const SIGNATURE_BYTES = 64;

/** Default bound, in triples (a few hundred bytes each). */
export const VERIFY_MEMO_MAX_DEFAULT = 1 << 20;

/**
 * A signature suite that signs through `inner` and answers repeated checks of the same triple from
 * memory. `verifyNow` returns the verdict synchronously when it is known, which lets the simulator
 * skip an await per check.
 *
 * @example
 * ```ts
 * const suite = new VerifyMemo(await createSignatureSuite({ subtle: crypto.subtle, verifiedCacheMax: 0 }));
 * await suite.verify(publicKey, message, signature); // checked by the backend
 * suite.verifyNow(publicKey, message, signature);    // true or false at once
 * ```
 */
export class VerifyMemo implements SignatureSuite {
  readonly backend: SignatureSuite["backend"];
  readonly stats: VerifyMemoStats = { checks: 0, verified: 0 };
  readonly #inner: SignatureSuite;
  readonly #max: number;
  /** Signature bytes as a string → entries with that signature (almost always one). */
  readonly #bySignature = new Map<string, Entry[]>();
  #count = 0;

  constructor(inner: SignatureSuite, max = VERIFY_MEMO_MAX_DEFAULT) {
    if (!(Number.isInteger(max) && max >= 1)) throw new RangeError("VerifyMemo: max must be a positive integer");
    this.backend = inner.backend;
    this.#inner = inner;
    this.#max = max;
  }

  sign(keyPair: KeyPair, message: Uint8Array): Promise<Uint8Array> {
    return this.#inner.sign(keyPair, message);
  }

  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    const v = this.verifyNow(publicKey, message, signature);
    return typeof v === "boolean" ? Promise.resolve(v) : v;
  }

  /** The verdict: a boolean when this triple was checked before, else a promise of it. */
  verifyNow(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean | Promise<boolean> {
    this.stats.checks++;
    if (!(publicKey instanceof Uint8Array && message instanceof Uint8Array && signature instanceof Uint8Array)) return false;
    if (signature.length !== SIGNATURE_BYTES) {
      // Never a valid signature; not worth a memo entry keyed by a string of any length.
      this.stats.verified++;
      return this.#inner.verify(publicKey, message, signature);
    }
    const key = String.fromCharCode.apply(null, signature as unknown as number[]);
    let list = this.#bySignature.get(key);
    const hit = list?.find((e) => bytesEqual(e.publicKey, publicKey) && bytesEqual(e.message, message));
    if (hit) return hit.verdict;
    if (!list) {
      if (this.#count >= this.#max) this.#evictOldest();
      this.#bySignature.set(key, (list = []));
    }
    this.stats.verified++;
    // Own copies: the caller may reuse its buffers.
    const entry: Entry = { publicKey: publicKey.slice(), message: message.slice(), verdict: false };
    const running = this.#inner.verify(entry.publicKey, entry.message, signature.slice()).then((ok) => (entry.verdict = ok === true));
    entry.verdict = running;
    list.push(entry);
    this.#count++;
    return running;
  }

  #evictOldest(): void {
    const first = this.#bySignature.keys().next();
    if (first.done) return;
    this.#count -= this.#bySignature.get(first.value)!.length;
    this.#bySignature.delete(first.value);
  }
}
