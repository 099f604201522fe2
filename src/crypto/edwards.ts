/**
 * The one piece of Ed25519 curve arithmetic every runtime needs before a backend is involved: the
 * key rule "`A` decodes strictly and lies in the prime-order subgroup" (RFC 8032 §5.1.3 decoding
 * with `y < p`, no `x = 0` with the sign bit set, not the identity, and `[L]A` the identity). It is
 * small and on BigInts so that a page whose WebCrypto has Ed25519 never loads the pure-JavaScript
 * Ed25519 (`noble.ts`) at all. A pure function of the key's bytes: the suite caches its verdicts.
 *
 * @module
 */

const P = 2n ** 255n - 19n;
/** 2^255 − 1: the low 255 bits (2^255 ≡ 19 mod p). */
const LOW = 2n ** 255n - 1n;
/** The prime order of the base point's subgroup. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
/** L's base-16 digits, most significant first: `[L]A` by a window of four bits. */
const L_NIBBLES: readonly number[] = [...L.toString(16)].map((c) => parseInt(c, 16));
/** The curve constant −121665/121666 mod p, and twice it. */
const D = 37095705934669439343138083508754565189542113879843219016388785533085940283555n;
const D2 = (2n * D) % P;
/** A square root of −1 mod p. */
const SQRT_M1 = 19681161376707505956807079304988542015446066515923890162744021073123829784752n;
const P2 = 2n * P;

/**
 * `a mod p` for `0 ≤ a < 2^520` (products of two operands below `2^260`): the bits above 255 folded
 * down twice (`2^255 ≡ 19`), then one subtraction — cheaper than a BigInt division.
 */
function red(a: bigint): bigint {
  a = (a & LOW) + 19n * (a >> 255n);
  a = (a & LOW) + 19n * (a >> 255n);
  return a >= P ? a - P : a;
}

const mod = (a: bigint): bigint => {
  const r = a % P;
  return r < 0n ? r + P : r;
};

/** `b^((p − 5) / 8)` = `b^(2^252 − 3)` for `b < p`, by an addition chain (254 squarings, 11 multiplications). */
function powP58(b: bigint): bigint {
  const sq = (x: bigint, n: number): bigint => {
    for (let i = 0; i < n; i++) x = red(x * x);
    return x;
  };
  const b2 = red(b * b);
  const b9 = red(sq(b2, 2) * b);
  const b11 = red(b9 * b2);
  const b5 = red(red(b11 * b11) * b9); // 2^5 − 1
  const b10 = red(sq(b5, 5) * b5);
  const b20 = red(sq(b10, 10) * b10);
  const b40 = red(sq(b20, 20) * b20);
  const b80 = red(sq(b40, 40) * b40);
  const b160 = red(sq(b80, 80) * b80);
  const b240 = red(sq(b160, 80) * b80);
  const b250 = red(sq(b240, 10) * b10);
  return red(sq(b250, 2) * b); // b^(2^252 − 3) = b^((p − 5) / 8)
}

/** Extended coordinates (X : Y : Z : T), x = X/Z, y = Y/Z, xy = T/Z; each below p. */
type Point = readonly [bigint, bigint, bigint, bigint];

const IDENTITY: Point = [0n, 1n, 1n, 0n];

/** P + Q on −x² + y² = 1 + d x² y² (a complete formula: doubling and small-order points included). */
function add([x1, y1, z1, t1]: Point, [x2, y2, z2, t2]: Point): Point {
  const a = red((y1 - x1 + P) * (y2 - x2 + P));
  const b = red((y1 + x1) * (y2 + x2));
  const c = red(red(t1 * D2) * t2);
  const d = red(2n * z1 * z2);
  const e = b - a + P;
  const f = d - c + P;
  const g = d + c;
  const h = b + a;
  return [red(e * f), red(g * h), red(f * g), red(e * h)];
}

/**
 * 2P (a = −1: four squarings and three or four multiplications). `T` is computed only if `withT`:
 * only an addition reads it, so a run of doublings skips it but for the last before an addition.
 */
function double([x1, y1, z1]: Point, withT = true): Point {
  const a = red(x1 * x1);
  const b = red(y1 * y1);
  const c = red(2n * z1 * z1);
  const e = red((x1 + y1) * (x1 + y1)) + P2 - a - b;
  const g = b - a + P;
  const f = g + P2 - c;
  const h = P2 - a - b;
  return [red(e * f), red(g * h), red(f * g), withT ? red(e * h) : 0n];
}

/**
 * The point a 32-byte encoding stands for, decoded strictly (RFC 8032 §5.1.3), or undefined: `y`
 * not below p, no square root for x, or x = 0 with the sign bit set.
 */
function decode(bytes: Uint8Array): Point | undefined {
  if (bytes.length !== 32) return undefined;
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? bytes[i] & 0x7f : bytes[i]);
  const sign = bytes[31] >> 7;
  if (y >= P) return undefined;
  const y2 = red(y * y);
  const u = mod(y2 - 1n);
  const v = red(D * y2 + 1n);
  // x = u v³ (u v⁷)^((p − 5) / 8), then fixed by √−1 or rejected.
  const v3 = red(red(v * v) * v);
  let x = red(red(u * v3) * powP58(red(u * red(red(v3 * v3) * v))));
  const vx2 = red(red(v * x) * x);
  if (vx2 === mod(-u)) x = red(x * SQRT_M1);
  else if (vx2 !== u) return undefined;
  if (x === 0n && sign === 1) return undefined;
  if (Number(x & 1n) !== sign) x = P - x;
  return [x, y, 1n, red(x * y)];
}

function isIdentity([x, y, z]: Point): boolean {
  return x === 0n && y === z;
}

/**
 * Whether `publicKey` passes the key rules: it decodes strictly, is not the identity, and lies in
 * the prime-order subgroup (`[L]A` is the identity, so no small-order or mixed-order key passes).
 * About half a millisecond (252 doublings and some 45 additions): callers cache the verdict per key.
 */
export function isTorsionFreeKey(publicKey: Uint8Array): boolean {
  const a = decode(publicKey);
  if (!a || isIdentity(a)) return false;
  // [0]A … [15]A, then L's digits from the top: four doublings, and the digit's multiple added.
  const table: Point[] = [IDENTITY, a];
  for (let i = 2; i < 16; i++) table.push(add(table[i - 1], a));
  let r = table[L_NIBBLES[0]];
  for (let i = 1; i < L_NIBBLES.length; i++) {
    const digit = L_NIBBLES[i];
    r = double(double(double(double(r, false), false), false), digit !== 0);
    if (digit !== 0) r = add(r, table[digit]);
  }
  return isIdentity(r);
}
