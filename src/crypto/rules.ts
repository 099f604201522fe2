/**
 * The pinned Ed25519 rule set, as pure byte checks run before any backend sees a signature:
 * strict RFC 8032 lengths, a canonical scalar `S < L`, canonical encodings of `A` and `R` (`y < p`,
 * and no "negative zero" `x = 0` with the sign bit set), and neither `A` nor `R` one of the eight
 * small-order points. What bytes cannot tell — that `A` lies in the prime-order subgroup and that
 * the cofactorless equation `[S]B = R + [k]A` holds — is left to the key check and the backend.
 *
 * WebCrypto (OpenSSL, BoringSSL, ring) and noble disagree on exactly these edge cases; checking
 * them here first is what gives one verdict on every runtime.
 *
 * @module
 */

import { fromHex } from "../bytes.ts";

/** Bytes in an Ed25519 public key, seed, point encoding or scalar. */
export const ED25519_KEY_BYTES = 32;
/** Bytes in an Ed25519 signature (`R || S`). */
export const ED25519_SIGNATURE_BYTES = 64;

/** The prime-order subgroup order L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
export const ED25519_L_BYTES: Uint8Array = fromHex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");

/**
 * The canonical encodings of the eight points of small order (the torsion subgroup E[8]): the
 * identity, the point of order 2, two of order 4 and four of order 8. Computed once with noble
 * (`[L]P` over several points `P`, see `test/crypto/rules.test.ts`) and frozen here.
 */
export const SMALL_ORDER_ENCODINGS: readonly string[] = Object.freeze([
  "0100000000000000000000000000000000000000000000000000000000000000", // identity (0, 1)
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2 (0, -1)
  "0000000000000000000000000000000000000000000000000000000000000000", // order 4 (sqrt(-1), 0)
  "0000000000000000000000000000000000000000000000000000000000000080", // order 4 (-sqrt(-1), 0)
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", // order 8
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", // order 8
]);

const SMALL_ORDER_BYTES = SMALL_ORDER_ENCODINGS.map(fromHex);

/** Whether the 32-byte little-endian scalar is below L (`S < L`). */
export function isCanonicalScalar(s: Uint8Array): boolean {
  if (s.length !== ED25519_KEY_BYTES) return false;
  for (let i = ED25519_KEY_BYTES - 1; i >= 0; i--) {
    if (s[i] !== ED25519_L_BYTES[i]) return s[i] < ED25519_L_BYTES[i];
  }
  return false; // equal to L
}

/**
 * Whether a 32-byte point encoding is canonical: `y < p = 2^255 - 19`, and not `x = 0` with the
 * sign bit set (only `y = 1` and `y = p - 1` have `x = 0`). Says nothing about the point being on
 * the curve.
 */
export function isCanonicalPointEncoding(b: Uint8Array): boolean {
  if (b.length !== ED25519_KEY_BYTES) return false;
  const sign = b[31] & 0x80;
  const top = b[31] & 0x7f;
  let middleAllOnes = true; // bytes 1..30 all 0xff
  let middleAllZero = true; // bytes 1..30 all 0x00
  for (let i = 1; i < 31; i++) {
    if (b[i] !== 0xff) middleAllOnes = false;
    if (b[i] !== 0x00) middleAllZero = false;
  }
  // y >= p exactly when y = 2^255 - 19 + d for d in 0..18: top 0x7f, middle 0xff, low byte >= 0xed.
  if (top === 0x7f && middleAllOnes && b[0] >= 0xed) return false;
  if (sign !== 0) {
    if (top === 0x00 && middleAllZero && b[0] === 0x01) return false; // y = 1, x = 0
    if (top === 0x7f && middleAllOnes && b[0] === 0xec) return false; // y = p - 1, x = 0
  }
  return true;
}

/** Whether a 32-byte encoding is one of the eight {@link SMALL_ORDER_ENCODINGS}. */
export function isSmallOrderEncoding(b: Uint8Array): boolean {
  return SMALL_ORDER_BYTES.some((s) => s.length === b.length && s.every((v, i) => v === b[i]));
}

/**
 * Every check of the pinned rule set that needs only the bytes: lengths, `S < L`, canonical `A`
 * and `R`, neither of small order. A `true` here still needs the torsion-free key check and the
 * cofactorless equation.
 */
export function passesByteRules(publicKey: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== ED25519_KEY_BYTES || signature.length !== ED25519_SIGNATURE_BYTES) return false;
  const r = signature.subarray(0, ED25519_KEY_BYTES);
  const s = signature.subarray(ED25519_KEY_BYTES);
  return (
    isCanonicalScalar(s) &&
    isCanonicalPointEncoding(publicKey) &&
    isCanonicalPointEncoding(r) &&
    !isSmallOrderEncoding(publicKey) &&
    !isSmallOrderEncoding(r)
  );
}
