/**
 * Membership credentials: the optional admission by certificate. An authority (any Ed25519 key the
 * network agrees on) signs a member's public key and an expiry; a node configured with
 * `admission.authority` admits a peer only if its HELLO carries such a credential, unexpired, for
 * the very key the peer proves it holds. Credentials are plain JSON-friendly objects, so they can
 * be handed out through configuration files or an HTTP endpoint.
 *
 * @module
 */

import { fromBase64Url, toBase64Url } from "../bytes.ts";
import { PROTOCOL_VERSION } from "../core/engine.ts";
import { createSignatureSuite } from "../crypto/ed25519.ts";
import { importSecretKey, nodeIdFromText, nodeIdToText } from "../crypto/identity.ts";
import type { KeyPair, SignatureSuite } from "../crypto/types.ts";
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
  const authority = typeof authorityKeyPair === "string" ? importSecretKey(authorityKeyPair) : authorityKeyPair;
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
