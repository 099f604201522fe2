/**
 * Ed25519 signing and verification under one pinned rule set on every runtime (strict RFC 8032:
 * `S < L`, canonical `A` and `R`, no small-order `A` or `R`, torsion-free `A`, cofactorless
 * `[S]B = R + [k]A`). The byte rules (`rules.ts`) and the torsion-free key check run here, before
 * any backend; then the first backend that is given and passes the startup probe does the
 * arithmetic: the runtime's `node:crypto` (`native.ts`: Node, Deno, Bun), WebCrypto, or noble.
 * `native.ts` and noble (`noble.ts`) are loaded with `import()` only when they may be chosen, so a
 * page whose WebCrypto has Ed25519 downloads neither; the synchronous key functions are in
 * `keys.ts`.
 *
 * Bounded LRU caches keep the hot path fast: the backend's prepared verifier per public key
 * (imported `CryptoKey`), prepared signers, and verified signatures. Only successes enter the
 * verified cache, keyed by `SHA-256(publicKey || signature || SHA-256(message))`, so a hit is
 * exactly a triple that verified before.
 *
 * The torsion-free check of a key seen for the first time is the one costly step (a scalar
 * multiplication in JavaScript, `edwards.ts`, about 0.6 ms): its verdict, a pure function of the key's
 * bytes, is shared by every suite in the process, and checks of new keys run one at a time, each
 * when the caller's event loop has time for it (`inTurn`), so a hundred new keys arriving at once
 * do not hold the loop for sixty milliseconds.
 *
 * @module
 */

import { bytesEqual, concatBytes, fromHex, toBase64Url } from "../bytes.ts";
import { localError } from "../errors.ts";
import type { BackendName, Ed25519Backend, PreparedSigner, Verifier } from "./backend.ts";
import { isTorsionFreeKey } from "./edwards.ts";
import { sha256 } from "./hash.ts";
import { BoundedCache } from "./lru.ts";
import { PROBE_SIGNING_VECTOR, probeBackend } from "./probe.ts";
import { ED25519_KEY_BYTES, passesByteRules } from "./rules.ts";
import type { KeyPair, SignatureSuite } from "./types.ts";
import { TurnBound } from "./turns.ts";
import { createWebCryptoBackend, webCryptoPublicKey } from "./webcrypto.ts";
import type { NodeCryptoLike } from "./native.ts";

/** The pure-JavaScript backend's module, loaded the first time it is needed. */
const loadNoble = () => import("./noble.ts");
/** The `node:crypto` backend's module, loaded only when `node:crypto` is given. */
const loadNative = () => import("./native.ts");

/** Default bound of the verified-signature cache, in entries (about 100 bytes each). */
export const VERIFIED_CACHE_MAX_DEFAULT = 65_536;
/** Default bound of the key caches (public keys checked and imported; seeds prepared), in entries. */
export const KEY_CACHE_MAX_DEFAULT = 4_096;

/** Options of {@link createSignatureSuite}. */
export interface SignatureSuiteOptions {
  /** The runtime's `SubtleCrypto` (pass `globalThis.crypto.subtle`); without it, noble is used. */
  subtle?: SubtleCrypto;
  /**
   * The runtime's `node:crypto` module, where it has one (Node, Deno, Bun): its one-shot Ed25519
   * costs less CPU a check than WebCrypto's, but runs on the calling thread (at most
   * {@link SYNC_CHECKS_PER_TURN} back to back). Not given by default.
   */
  nodeCrypto?: NodeCryptoLike;
  /**
   * `"auto"` (default): `nodeCrypto` if given and it passes the startup probe, else WebCrypto if
   * `subtle` is given and passes it, else noble. `"node:crypto"` or `"webcrypto"`: that backend
   * or a `GrapevineError` `CRYPTO_UNAVAILABLE`. `"noble"`: pure JavaScript.
   */
  backend?: BackendName | "auto";
  /**
   * Most verified signatures remembered; default {@link VERIFIED_CACHE_MAX_DEFAULT}. 0 turns the
   * cache off (the simulator does, so that each simulated node verifies for itself).
   */
  verifiedCacheMax?: number;
  /** Most public keys and most signing seeds remembered (each); default {@link KEY_CACHE_MAX_DEFAULT}. */
  keyCacheMax?: number;
  /**
   * Awaited by the `node:crypto` backend after {@link SYNC_CHECKS_PER_TURN} signatures and by the
   * WebCrypto backend after {@link WEBCRYPTO_CALLS_PER_TURN} hand-overs, so the event loop can run
   * in between (the runtime driver passes a macrotask, e.g. `setImmediate`); default: none (a
   * microtask).
   */
  yieldTo?: () => Promise<void>;
  /**
   * Runs the check of a key not seen before (about 0.6 ms of JavaScript on the caller's thread)
   * when the caller's event loop has time for it, resolving with what it returns: the runtime
   * driver runs it as a piece of the thread's time slice, so it counts against a turn's budget like
   * a frame's handling. Default: after `yieldTo`.
   */
  inTurn?: <T>(work: () => T) => Promise<T>;
}

/**
 * Verdicts of the key rules (decodable, not small order, torsion-free) by key: a pure function of
 * the key's bytes, so shared by every suite in the process. Bounded like the other key caches.
 */
const KEY_VERDICTS = new BoundedCache<string, boolean>(4 * KEY_CACHE_MAX_DEFAULT);
/** The last key check queued in this thread: checks of new keys run one after another. */
let keyChecks: Promise<unknown> = Promise.resolve();

/**
 * Signatures a synchronous backend (`node:crypto`) makes or checks back to back, over every suite
 * of the thread (which shares one event loop: a process may run many nodes), before the next waits
 * for the suite's `yieldTo`: about 3.5 ms of work on Node, 1.5 ms on Deno.
 */
export const SYNC_CHECKS_PER_TURN = 32;
const SYNC_TURNS = new TurnBound(SYNC_CHECKS_PER_TURN);

/**
 * Signatures handed to WebCrypto back to back, over every suite of the thread, before the next
 * waits for the suite's `yieldTo`. WebCrypto runs the arithmetic off the event loop's thread, but
 * handing it over is not free (the call copies its arguments and queues a job: 15–22 µs on Node
 * 20, measured), and checks come in bursts of hundreds when peers link: unpaced, a burst's
 * hand-overs held the loop for tens of milliseconds. About 1–1.5 ms a turn.
 */
export const WEBCRYPTO_CALLS_PER_TURN = 64;
const WEBCRYPTO_TURNS = new TurnBound(WEBCRYPTO_CALLS_PER_TURN);

/**
 * Creates a {@link SignatureSuite}. With `backend: "auto"` it probes `nodeCrypto`, then `subtle`
 * (a few milliseconds; a source that passed is not probed again in this thread) and falls back to
 * noble if neither has Ed25519 with the pinned verdicts. Throws `RangeError` for an unknown backend
 * or a cache bound below 1, `TypeError` for a `nodeCrypto` without `sign`, `verify`,
 * `createPrivateKey` and `createPublicKey`, and `GrapevineError` (`CRYPTO_UNAVAILABLE`, local) when
 * `"node:crypto"` or `"webcrypto"` is demanded but unusable.
 *
 * @example
 * ```ts
 * import { createSignatureSuite } from "./ed25519.ts";
 * import { keyPairFromSeed } from "./keys.ts";
 * const suite = await createSignatureSuite({ subtle: globalThis.crypto.subtle });
 * const keyPair = keyPairFromSeed(new Uint8Array(32));
 * const message = new TextEncoder().encode("hello");
 * const signature = await suite.sign(keyPair, message);
 * await suite.verify(keyPair.publicKey, message, signature); // true
 * ```
 */
export async function createSignatureSuite(options: SignatureSuiteOptions = {}): Promise<SignatureSuite> {
  const choice = options.backend ?? "auto";
  if (choice !== "auto" && choice !== "node:crypto" && choice !== "webcrypto" && choice !== "noble") {
    throw new RangeError(`createSignatureSuite: unknown backend ${JSON.stringify(choice)}`);
  }
  const verified = new BoundedCache<string, true>(options.verifiedCacheMax ?? VERIFIED_CACHE_MAX_DEFAULT);
  const keyCacheMax = options.keyCacheMax ?? KEY_CACHE_MAX_DEFAULT;
  const keys = new BoundedCache<string, Promise<Verifier | null>>(keyCacheMax);
  const signers = new BoundedCache<string, Promise<PreparedSigner>>(keyCacheMax);
  if (options.yieldTo !== undefined && typeof options.yieldTo !== "function") throw new TypeError("createSignatureSuite: yieldTo must be a function");
  if (options.inTurn !== undefined && typeof options.inTurn !== "function") throw new TypeError("createSignatureSuite: inTurn must be a function");
  const yieldTo = options.yieldTo ?? (() => Promise.resolve());
  const inTurn = options.inTurn ?? (<T>(work: () => T) => yieldTo().then(work));
  const backend = await chooseBackend(choice, options.subtle, options.nodeCrypto, yieldTo);
  return new Ed25519Suite(backend, verified, keys, signers, inTurn);
}

async function chooseBackend(
  choice: BackendName | "auto", subtle: SubtleCrypto | undefined, nodeCrypto: NodeCryptoLike | undefined, yieldTo: () => Promise<void>,
): Promise<Ed25519Backend> {
  if (choice === "noble") return (await loadNoble()).nobleBackend;
  if (choice === "node:crypto" || choice === "auto") {
    const native = nodeCrypto !== undefined ? (await loadNative()).createNodeCryptoBackend(nodeCrypto, () => SYNC_TURNS.place(yieldTo)) : undefined;
    if (native !== undefined && (await probedOnce(nodeCrypto!, native))) return native;
    if (choice === "node:crypto") throw localError("CRYPTO_UNAVAILABLE", "node:crypto Ed25519 was not given or failed the startup probe");
  }
  if (subtle === undefined || subtle === null) {
    if (choice === "webcrypto") throw localError("CRYPTO_UNAVAILABLE", "backend \"webcrypto\" requested without a SubtleCrypto");
    return (await loadNoble()).nobleBackend;
  }
  const webCrypto = createWebCryptoBackend(subtle, () => WEBCRYPTO_TURNS.place(yieldTo));
  if (await probedOnce(subtle, webCrypto)) return webCrypto;
  if (choice === "webcrypto") throw localError("CRYPTO_UNAVAILABLE", "WebCrypto Ed25519 is missing or failed the startup probe");
  return (await loadNoble()).nobleBackend;
}

/**
 * Sources of Ed25519 (a `SubtleCrypto`, a `node:crypto` module) that passed the probe: the same
 * source gives the same verdicts, so a thread probes a good one once, however many nodes it runs
 * (the probe is about 6 ms of work, most of it the key rule on five vectors). A failure is not
 * kept: the next suite probes again, so one failure (a transient error) does not leave every later
 * node of the thread on the pure-JavaScript backend.
 */
const PASSED = new WeakMap<object, Promise<boolean>>();

function probedOnce(source: object, backend: Ed25519Backend): Promise<boolean> {
  const known = PASSED.get(source);
  if (known !== undefined) return known;
  const ok = probeBackend(backend);
  PASSED.set(source, ok); // shared by suites created meanwhile
  void ok.then((passed) => {
    if (!passed && PASSED.get(source) === ok) PASSED.delete(source);
  });
  return ok;
}

class Ed25519Suite implements SignatureSuite {
  readonly backend: BackendName;
  readonly #impl: Ed25519Backend;
  readonly #verified: BoundedCache<string, true>;
  /** Public key (base64url) → the backend's verifier, or `null` if the key breaks the rules. */
  readonly #keys: BoundedCache<string, Promise<Verifier | null>>;
  /** SHA-256 of the seed (never the seed itself) → its public key and prepared signer. */
  readonly #signers: BoundedCache<string, Promise<PreparedSigner>>;
  readonly #inTurn: <T>(work: () => T) => Promise<T>;

  constructor(
    impl: Ed25519Backend,
    verified: BoundedCache<string, true>,
    keys: BoundedCache<string, Promise<Verifier | null>>,
    signers: BoundedCache<string, Promise<PreparedSigner>>,
    inTurn: <T>(work: () => T) => Promise<T>,
  ) {
    this.backend = impl.name;
    this.#impl = impl;
    this.#verified = verified;
    this.#keys = keys;
    this.#signers = signers;
    this.#inTurn = inTurn;
  }

  async sign(keyPair: KeyPair, message: Uint8Array): Promise<Uint8Array> {
    assertBytes(keyPair?.secretKey, ED25519_KEY_BYTES, "sign: keyPair.secretKey");
    assertBytes(keyPair.publicKey, ED25519_KEY_BYTES, "sign: keyPair.publicKey");
    if (!(message instanceof Uint8Array)) throw new TypeError("sign: message must be a Uint8Array");
    const ownMessage = message.slice();
    const signer = await this.#signerFor(keyPair.secretKey);
    if (!bytesEqual(signer.publicKey, keyPair.publicKey)) {
      throw new TypeError("sign: keyPair.publicKey is not the public key of keyPair.secretKey");
    }
    return signer.sign(ownMessage);
  }

  async verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    try {
      if (!(publicKey instanceof Uint8Array) || !(message instanceof Uint8Array) || !(signature instanceof Uint8Array)) return false;
      if (!passesByteRules(publicKey, signature)) return false;
      // Own copies: nothing the caller does while we await can change what is checked or cached.
      const key = publicKey.slice();
      const sig = signature.slice();
      const msg = message.slice();
      // The cache key binds key, signature and message; not computed at all when the cache is off.
      const id = this.#verified.max > 0 ? toBase64Url(sha256(concatBytes(key, sig, sha256(msg)))) : null;
      if (id !== null && this.#verified.get(id)) return true;
      const verifier = await this.#verifierFor(key);
      if (verifier === null) return false;
      const ok = (await verifier(msg, sig)) === true;
      if (ok && id !== null) this.#verified.set(id, true);
      return ok;
    } catch {
      return false;
    }
  }

  #verifierFor(publicKey: Uint8Array): Promise<Verifier | null> {
    const id = toBase64Url(publicKey);
    let entry = this.#keys.get(id);
    if (entry === undefined) {
      const known = KEY_VERDICTS.get(id);
      if (known === false) entry = Promise.resolve(null);
      else if (known === true) entry = this.#prepare(publicKey);
      else {
        // A key never checked in this process: one at a time over every suite of the thread (a
        // process may run many nodes), each when the event loop has time for it, so many new keys
        // at once cannot hold the loop; a key another suite checked meanwhile is not checked again,
        // nor waited for. The chain holds the checks only, not the backend's key imports after them.
        const verdict = keyChecks.then(() => KEY_VERDICTS.get(id) ?? this.#inTurn(() => {
          const ok = KEY_VERDICTS.get(id) ?? isTorsionFreeKey(publicKey);
          KEY_VERDICTS.set(id, ok);
          return ok;
        }));
        keyChecks = verdict.catch(() => false);
        entry = verdict.then((ok) => (ok ? this.#prepare(publicKey) : null)).catch(() => null);
      }
      this.#keys.set(id, entry);
    }
    return entry;
  }

  /** The backend's verifier for a key that passed the key rules. */
  #prepare(publicKey: Uint8Array): Promise<Verifier | null> {
    return this.#impl.verifier(publicKey).catch(() => null);
  }

  #signerFor(seed: Uint8Array): Promise<PreparedSigner> {
    const id = toBase64Url(sha256(seed));
    let entry = this.#signers.get(id);
    if (entry === undefined) {
      entry = this.#impl.signer(seed.slice());
      entry.catch(() => this.#signers.delete(id));
      this.#signers.set(id, entry);
    }
    return entry;
  }
}

/** Per `SubtleCrypto`: whether it derives RFC 8032 TEST 1's public key from its seed (checked once). */
const DERIVES = new WeakMap<SubtleCrypto, Promise<boolean>>();

function derivesRight(subtle: SubtleCrypto): Promise<boolean> {
  let ok = DERIVES.get(subtle);
  if (ok === undefined) {
    const v = PROBE_SIGNING_VECTOR;
    ok = webCryptoPublicKey(subtle, fromHex(v.secretKey)).then((k) => bytesEqual(k, fromHex(v.publicKey)), () => false);
    DERIVES.set(subtle, ok);
  }
  return ok;
}

/**
 * The key pair of a 32-byte RFC 8032 seed, derived by WebCrypto where `subtle` has Ed25519 (and
 * derives RFC 8032's TEST 1 key right), else by noble, loaded only then. The same pair as
 * `keyPairFromSeed` (`keys.ts`), without the pure-JavaScript Ed25519 in a page that does not need
 * it. The seed is copied. Rejects with `TypeError` unless `seed` is a 32-byte `Uint8Array`.
 *
 * @example
 * ```ts
 * import { keyPairFromSeedAsync } from "./ed25519.ts";
 * const { publicKey } = await keyPairFromSeedAsync(new Uint8Array(32).fill(7), globalThis.crypto.subtle);
 * publicKey.length; // 32
 * ```
 */
export async function keyPairFromSeedAsync(seed: Uint8Array, subtle?: SubtleCrypto): Promise<KeyPair> {
  assertBytes(seed, ED25519_KEY_BYTES, "keyPairFromSeedAsync: seed");
  const secretKey = seed.slice();
  let publicKey: Uint8Array | undefined;
  if (subtle && (await derivesRight(subtle))) publicKey = await webCryptoPublicKey(subtle, secretKey).catch(() => undefined);
  publicKey ??= (await loadNoble()).noblePublicKey(secretKey);
  return Object.freeze({ publicKey, secretKey });
}

/** Throws `TypeError` unless `value` is a `length`-byte `Uint8Array`. */
export function assertBytes(value: unknown, length: number, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length) throw new TypeError(`${what} must be a ${length}-byte Uint8Array`);
}
