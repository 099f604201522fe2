/**
 * Credentials an authority (any Ed25519 key the application trusts, typically held by its server)
 * signs for a node key. Both are plain JSON-friendly objects, so they can be handed out through
 * configuration files or an HTTP endpoint.
 *
 * - A **membership credential** (`issueCredential`) admits a node: a node configured with
 *   `admission.authority` admits a peer only if its HELLO carries one, unexpired, for the very key
 *   the peer proves it holds.
 * - A **user credential** (`issueUserCredential`) binds a user id and optional display claims (a
 *   name, an avatar URL) to a node key, so that a room can show a user every peer has verified.
 *   It is signed in its own context (kind 6, `user`) over
 *   `[member: bstr(32), user: tstr, expiresAtMs: uint, claims: [[key: tstr, value: tstr]*]]` with
 *   the claims in ascending key order: one credential has one byte string, so whoever checks it
 *   rebuilds the very bytes that were signed.
 *
 * @module
 */

import { fromBase64Url, toBase64Url } from "../bytes.ts";
import { PROTOCOL_VERSION } from "../core/engine-core.ts";
import { signingBytes } from "../crypto/context.ts";
import { createSignatureSuite, keyPairFromSeedAsync } from "../crypto/ed25519.ts";
import { nodeIdFromText, nodeIdToText, seedOfSecretKey } from "../crypto/identity.ts";
import type { KeyPair, SignatureSuite } from "../crypto/types.ts";
import { encode } from "../wire/cbor.ts";
import { type CredentialWire, memberSigningBytes } from "../wire/link-frames.ts";

/**
 * A credential as the application holds it: every field text or a number, so JSON carries it.
 *
 * @example
 * ```ts
 * const credential: Credential = JSON.parse(await Deno.readTextFile("member.json"));
 * const node = await createNode({ network: "lobby", keyPair: secret, credential });
 * ```
 */
export interface Credential {
  /** Node id of the member it admits. */
  member: string;
  /** Node id of the authority key that signed it. */
  authority: string;
  /** The end of its validity, in milliseconds since the Unix epoch (wall clock). */
  expiresAtMs: number;
  /** The authority's Ed25519 signature, base64url. */
  signature: string;
}

/** An authority's key pair, given as one or in `exportSecretKey`'s text form. */
function authorityOf(authorityKeyPair: KeyPair | string, caller: string): Promise<KeyPair> | KeyPair {
  return typeof authorityKeyPair === "string" ? keyPairFromSeedAsync(seedOfSecretKey(authorityKeyPair, caller), globalThis.crypto?.subtle) : authorityKeyPair;
}

/**
 * Signs a credential admitting `memberPublicKey` to `network` until `expiresAtMs`. The authority's
 * key pair may be given in its text form (`gvsk1.…`); the member as a node id or as key bytes.
 * `suite` defaults to a WebCrypto suite. Throws `TypeError`/`RangeError` on malformed arguments.
 *
 * @example
 * ```ts
 * import { createNode, issueCredential, generateKeyPair } from "grapevine";
 * const authority = generateKeyPair((n) => crypto.getRandomValues(new Uint8Array(n)));
 * const member = generateKeyPair((n) => crypto.getRandomValues(new Uint8Array(n)));
 * const credential = await issueCredential(authority, member.publicKey, Date.now() + 86_400_000, "lobby");
 * const node = await createNode({ network: "lobby", keyPair: member, credential });
 * ```
 */
export async function issueCredential(
  authorityKeyPair: KeyPair | string,
  memberPublicKey: Uint8Array | string,
  expiresAtMs: number,
  network: string,
  suite?: SignatureSuite,
): Promise<Credential> {
  const authority = await authorityOf(authorityKeyPair, "issueCredential");
  const member = typeof memberPublicKey === "string" ? nodeIdFromText(memberPublicKey) : memberPublicKey;
  if (!Number.isSafeInteger(expiresAtMs) || expiresAtMs < 0) throw new RangeError("issueCredential: expiresAtMs must be a non-negative integer (ms since the epoch)");
  const s = suite ?? (await createSignatureSuite({ subtle: globalThis.crypto?.subtle }));
  const signature = await s.sign(authority, memberSigningBytes(network, PROTOCOL_VERSION, member, expiresAtMs));
  return { member: nodeIdToText(member), authority: nodeIdToText(authority.publicKey), expiresAtMs, signature: toBase64Url(signature) };
}

/** The wire form of a credential; throws `TypeError` on malformed text. */
export function credentialToWire(c: Credential): CredentialWire {
  const signature = fromBase64Url(c.signature);
  if (signature.length !== 64) throw new TypeError("credential.signature must encode 64 bytes");
  if (!Number.isSafeInteger(c.expiresAtMs) || c.expiresAtMs < 0) throw new TypeError("credential.expiresAtMs must be a non-negative integer");
  return { authority: nodeIdFromText(c.authority), expiresAtMs: c.expiresAtMs, signature };
}

/**
 * Why a peer's credential does not admit it, or `null` when it does: it must be signed by
 * `authority`, for `member` in `network`, and not expired at `nowMs` (wall clock).
 */
export async function credentialProblem(
  suite: SignatureSuite,
  network: string,
  authority: Uint8Array,
  member: Uint8Array,
  credential: CredentialWire | null,
  nowMs: number,
): Promise<string | null> {
  if (!credential) return "no credential";
  if (nodeIdToText(credential.authority) !== nodeIdToText(authority)) return "credential from another authority";
  if (credential.expiresAtMs <= nowMs) return "credential expired";
  const ok = await suite.verify(authority, memberSigningBytes(network, PROTOCOL_VERSION, member, credential.expiresAtMs), credential.signature);
  return ok ? null : "credential does not verify";
}

// ------------------------------------------------------------------ user credentials

/** Longest user id, in UTF-8 bytes (the presence `user` key has the same bound). */
export const USER_ID_BYTES_MAX = 256;
/** Most display claims in one user credential. */
export const USER_CLAIMS_MAX = 8;
/** Longest claim key, in UTF-8 bytes. */
export const USER_CLAIM_KEY_BYTES_MAX = 32;
/** Most UTF-8 bytes of all claim keys and values together. */
export const USER_CLAIMS_BYTES_MAX = 512;

/**
 * A user credential as the application holds it: JSON carries it from the server that issued it
 * to the tab that presents it (`room(id, { credential })`).
 *
 * @example
 * ```ts
 * const credential: UserCredential = await (await fetch("/presence-credential", { method: "POST", body: node.id })).json();
 * const room = node.room("doc-42", { credential, authority: credential.authority });
 * ```
 */
export interface UserCredential {
  /** Node id of the authority key that signed it. */
  authority: string;
  /** Node id of the node (tab) it was issued to; it verifies for no other. */
  member: string;
  /** The user id the authority vouches for. */
  user: string;
  /** Display claims the authority vouches for too (a name, an avatar URL); keys in ascending order. */
  claims: Record<string, string>;
  /** The end of its validity, in milliseconds since the Unix epoch (wall clock). */
  expiresAtMs: number;
  /** The authority's Ed25519 signature, base64url. */
  signature: string;
}

/** What {@link issueUserCredential} binds to a node key. */
export interface UserCredentialRequest {
  /** Mesh name (the nodes' `network` option): a credential verifies in this network only. */
  network: string;
  /** The node to bind: its id (as the tab reports `node.id`) or its 32-byte public key. */
  member: string | Uint8Array;
  /** The application's user id: 1..256 UTF-8 bytes. */
  user: string;
  /** Display claims: at most 8, keys 1..32 bytes, 512 bytes of keys and values in all. */
  claims?: Record<string, string>;
  /** The end of its validity, ms since the epoch. */
  expiresAtMs: number;
}

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

/**
 * `claims` as checked, sorted `[key, value]` pairs. Throws `TypeError`/`RangeError` when they are
 * not string pairs within the bounds.
 */
export function userClaimPairs(claims: Readonly<Record<string, string>> | undefined): [string, string][] {
  if (claims === undefined) return [];
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) throw new TypeError("claims must be an object of strings");
  const pairs = Object.entries(claims).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (pairs.length > USER_CLAIMS_MAX) throw new RangeError(`at most ${USER_CLAIMS_MAX} claims`);
  let bytes = 0;
  for (const [k, v] of pairs) {
    if (typeof v !== "string") throw new TypeError(`claim ${JSON.stringify(k)} must be a string`);
    const kb = utf8Length(k);
    if (kb < 1 || kb > USER_CLAIM_KEY_BYTES_MAX) throw new RangeError(`claim keys must be 1..${USER_CLAIM_KEY_BYTES_MAX} UTF-8 bytes`);
    bytes += kb + utf8Length(v);
  }
  if (bytes > USER_CLAIMS_BYTES_MAX) throw new RangeError(`claims take ${bytes} bytes, more than ${USER_CLAIMS_BYTES_MAX}`);
  return pairs;
}

function checkUser(user: unknown): string {
  if (typeof user !== "string") throw new TypeError("user must be a string");
  const n = utf8Length(user);
  if (n < 1 || n > USER_ID_BYTES_MAX) throw new RangeError(`user must be 1..${USER_ID_BYTES_MAX} UTF-8 bytes`);
  return user;
}

function checkExpiry(expiresAtMs: unknown, what: string): number {
  if (typeof expiresAtMs !== "number" || !Number.isSafeInteger(expiresAtMs) || expiresAtMs < 0) {
    throw new RangeError(`${what}: expiresAtMs must be a non-negative integer (ms since the epoch)`);
  }
  return expiresAtMs;
}

/**
 * The exact bytes an authority signs for a user credential (context kind 6, `user`). `claims` must
 * already be in ascending key order (as {@link userClaimPairs} returns them); throws `TypeError`/
 * `RangeError` on malformed arguments.
 *
 * @example
 * ```ts
 * const toSign = userSigningBytes("docs", 1, memberKey, "u-42", Date.UTC(2030, 0, 1), [["name", "Ada"]]);
 * ```
 */
export function userSigningBytes(
  network: string,
  protocolVersion: number,
  member: Uint8Array,
  user: string,
  expiresAtMs: number,
  claims: readonly (readonly [string, string])[],
): Uint8Array {
  if (!(member instanceof Uint8Array) || member.length !== 32) throw new TypeError("member must be a 32-byte public key");
  return signingBytes("user", network, protocolVersion, encode([member, checkUser(user), checkExpiry(expiresAtMs, "userSigningBytes"), claims]));
}

/**
 * Signs a user credential: the authority (its key pair, or its secret key in text form `gvsk1.…`)
 * vouches that the node `member` is used by `user`, with the display `claims`, until `expiresAtMs`,
 * in `network`. Runs wherever WebCrypto (or noble) runs: a Node, Deno, Bun or Workers server.
 * Throws `TypeError`/`RangeError` on malformed arguments.
 *
 * @example
 * ```ts
 * import { issueUserCredential } from "grapevine";
 * // On the server, once the request's session is known:
 * const credential = await issueUserCredential(process.env.PRESENCE_AUTHORITY_KEY!, {
 *   network: "docs", member: nodeIdFromTheTab, user: session.userId,
 *   claims: { name: session.displayName }, expiresAtMs: Date.now() + 3_600_000,
 * });
 * ```
 */
export async function issueUserCredential(
  authorityKeyPair: KeyPair | string,
  request: UserCredentialRequest,
  suite?: SignatureSuite,
): Promise<UserCredential> {
  const authority = await authorityOf(authorityKeyPair, "issueUserCredential");
  if (typeof request !== "object" || request === null) throw new TypeError("issueUserCredential: request must be an object");
  const member = typeof request.member === "string" ? nodeIdFromText(request.member) : request.member;
  const claims = userClaimPairs(request.claims);
  const s = suite ?? (await createSignatureSuite({ subtle: globalThis.crypto?.subtle }));
  const toSign = userSigningBytes(request.network, PROTOCOL_VERSION, member, request.user, checkExpiry(request.expiresAtMs, "issueUserCredential"), claims);
  const signature = await s.sign(authority, toSign);
  return {
    authority: nodeIdToText(authority.publicKey),
    member: nodeIdToText(member),
    user: request.user,
    claims: Object.fromEntries(claims),
    expiresAtMs: request.expiresAtMs,
    signature: toBase64Url(signature),
  };
}

/** A user credential in the form presence carries and checks. */
export interface UserCredentialWire {
  authority: Uint8Array;
  user: string;
  expiresAtMs: number;
  /** Sorted by key. */
  claims: [string, string][];
  signature: Uint8Array;
}

/**
 * The checked wire form of a credential an application presents for the node `memberId`. Throws
 * `TypeError`/`RangeError` when it is malformed, issued for another node, or already expired at
 * `nowMs` (local misuse; whether the signature holds is for {@link userCredentialProblem}).
 */
export function userCredentialToWire(c: UserCredential, memberId: string, nowMs: number): UserCredentialWire {
  if (typeof c !== "object" || c === null) throw new TypeError("credential must be a user credential object");
  if (c.member !== memberId) throw new TypeError("credential was issued for another node (its member is not this node's id)");
  const signature = typeof c.signature === "string" ? fromBase64Url(c.signature) : null;
  if (!signature || signature.length !== 64) throw new TypeError("credential.signature must encode 64 bytes");
  const expiresAtMs = checkExpiry(c.expiresAtMs, "credential");
  if (expiresAtMs <= nowMs) throw new RangeError("credential has expired");
  return { authority: nodeIdFromText(c.authority), user: checkUser(c.user), expiresAtMs, claims: userClaimPairs(c.claims), signature };
}

/**
 * Why a user credential does not bind `user` to `member` under `authority` in `network`, or `null`
 * when its signature holds. Expiry is the caller's to check (it changes with time; this verdict
 * does not). Never throws: malformed input is a problem like any other.
 */
export async function userCredentialProblem(
  verify: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => Promise<boolean>,
  network: string,
  authority: Uint8Array,
  member: Uint8Array,
  credential: UserCredentialWire,
): Promise<string | null> {
  try {
    if (nodeIdToText(credential.authority) !== nodeIdToText(authority)) return "credential from another authority";
    const toSign = userSigningBytes(network, PROTOCOL_VERSION, member, credential.user, credential.expiresAtMs, credential.claims);
    return (await verify(authority, toSign, credential.signature)) ? null : "credential does not verify";
  } catch (e) {
    return `malformed credential: ${e instanceof Error ? e.message : String(e)}`;
  }
}
