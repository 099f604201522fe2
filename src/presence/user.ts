/**
 * Verified users in presence. A member may carry, in its presence entry, a user credential (see
 * `src/runtime/credential.ts`): an authority's signature binding the entry's `user` and display
 * claims to the node key that signed the entry. The entry lives in that node's own signed map, so a
 * credential copied into another node's entry names the wrong key and does not verify.
 *
 * In the presence value the credential is `c: [authority: bstr(32), expiresAtMs: uint,
 * claims: [[key, value]*] (keys strictly ascending), signature: bstr(64)]`; the user is the entry's
 * own `u`. Its size is bounded ({@link CREDENTIAL_WIRE_BYTES_MAX}) and counted inside the presence
 * value cap.
 *
 * {@link UserVerifier} checks credentials with the node's signature suite (one verdict on every
 * runtime), asynchronously, and remembers each verdict (bounded), so an entry whose state changes
 * sixty times a second is verified once. A forged, wrong-key or malformed credential is a verdict,
 * never an exception; expiry is checked at use, against the wall clock.
 *
 * @module
 */

import { concatBytes, toBase64Url } from "../bytes.ts";
import { PROTOCOL_VERSION } from "../core/engine-core.ts";
import { sha256 } from "../crypto/hash.ts";
import { BoundedCache } from "../crypto/lru.ts";
import {
  USER_CLAIM_KEY_BYTES_MAX,
  USER_CLAIMS_BYTES_MAX,
  USER_CLAIMS_MAX,
  type UserCredentialWire,
  userCredentialProblem,
  userSigningBytes,
} from "../runtime/credential.ts";

/** Largest credential in a presence value, in CBOR bytes: keys, signature, expiry, claims and headers. */
export const CREDENTIAL_WIRE_BYTES_MAX = 32 + 64 + 9 + USER_CLAIMS_BYTES_MAX + USER_CLAIMS_MAX * 8 + 16;
/** Verdicts remembered per node. */
const VERDICTS_MAX = 4096;

/** Verifies a signature with the node's suite (never throws). */
export type VerifyFn = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => Promise<boolean>;

/** The presence form of a credential (without the user, which is the entry's `u`). */
export function credentialToPresence(c: UserCredentialWire): unknown[] {
  return [c.authority, c.expiresAtMs, c.claims, c.signature];
}

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

/** A presence value's `c` read back, or null when it is not a well-formed credential for `user`. */
export function credentialFromPresence(value: unknown, user: string): UserCredentialWire | null {
  if (!Array.isArray(value) || value.length !== 4) return null;
  const [authority, expiresAtMs, claims, signature] = value as unknown[];
  if (!(authority instanceof Uint8Array) || authority.length !== 32) return null;
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return null;
  if (typeof expiresAtMs !== "number" || !Number.isSafeInteger(expiresAtMs) || expiresAtMs < 0) return null;
  if (!Array.isArray(claims) || claims.length > USER_CLAIMS_MAX) return null;
  const pairs: [string, string][] = [];
  let bytes = 0;
  for (const pair of claims as unknown[]) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") return null;
    const [k, v] = pair as [string, string];
    const kb = utf8Length(k);
    if (kb < 1 || kb > USER_CLAIM_KEY_BYTES_MAX) return null;
    // One order only, so that one credential has one byte string to verify.
    if (pairs.length > 0 && !(pairs[pairs.length - 1][0] < k)) return null;
    bytes += kb + utf8Length(v);
    pairs.push([k, v]);
  }
  if (bytes > USER_CLAIMS_BYTES_MAX) return null;
  return { authority, user, expiresAtMs, claims: pairs, signature };
}

/**
 * Checks user credentials for one node, remembering verdicts (successes and failures alike) by a
 * hash of everything the verdict depends on.
 */
export class UserVerifier {
  readonly #verify: VerifyFn;
  readonly #network: () => string;
  readonly #verdicts = new BoundedCache<string, Promise<string | null>>(VERDICTS_MAX);

  constructor(verify: VerifyFn, network: () => string) {
    this.#verify = verify;
    this.#network = network;
  }

  /** The verdict on `credential` for the node `member` (32 bytes) under `authority`: null when it holds. */
  check(authority: Uint8Array, member: Uint8Array, credential: UserCredentialWire): Promise<string | null> {
    let id: string;
    try {
      id = toBase64Url(sha256(concatBytes(authority, member, credential.signature, sha256(
        userSigningBytes(this.#network(), PROTOCOL_VERSION, member, credential.user, credential.expiresAtMs, credential.claims),
      ))));
    } catch {
      return Promise.resolve("malformed credential");
    }
    let verdict = this.#verdicts.get(id);
    if (verdict === undefined) {
      verdict = userCredentialProblem(this.#verify, this.#network(), authority, member, credential);
      this.#verdicts.set(id, verdict);
    }
    return verdict;
  }
}
