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
/** The prime order of the base point's subgroup, and its highest bit. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const L_TOP_BIT = BigInt(L.toString(2).length - 1);
/** The curve constant −121665/121666 mod p, and twice it. */
const D = 37095705934669439343138083508754565189542113879843219016388785533085940283555n;
const D2 = (2n * D) % P;
/** A square root of −1 mod p. */
const SQRT_M1 = 19681161376707505956807079304988542015446066515923890162744021073123829784752n;

const mod = (a: bigint): bigint => {
  const r = a % P;
  return r < 0n ? r + P : r;
};

function pow(base: bigint, exponent: bigint): bigint {
  let r = 1n;
  let b = mod(base);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % P;
    b = (b * b) % P;
  }
  return r;
}

/** Extended coordinates (X : Y : Z : T), x = X/Z, y = Y/Z, xy = T/Z. */
type Point = readonly [bigint, bigint, bigint, bigint];

const IDENTITY: Point = [0n, 1n, 1n, 0n];

/** P + Q on −x² + y² = 1 + d x² y² (a complete formula: doubling and small-order points included). */
function add([x1, y1, z1, t1]: Point, [x2, y2, z2, t2]: Point): Point {
  const a = ((y1 - x1) * (y2 - x2)) % P;
  const b = ((y1 + x1) * (y2 + x2)) % P;
  const c = (((t1 * D2) % P) * t2) % P;
  const d = (2n * z1 * z2) % P;
  const e = b - a;
  const f = d - c;
  const g = d + c;
  const h = b + a;
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
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
  const y2 = (y * y) % P;
  const u = mod(y2 - 1n);
  const v = mod(D * y2 + 1n);
  // x = u v³ (u v⁷)^((p − 5) / 8), then fixed by √−1 or rejected.
  const v3 = (v * v * v) % P;
  let x = (((u * v3) % P) * pow(u * ((v3 * v3 * v) % P), (P - 5n) / 8n)) % P;
  const vx2 = (v * x * x) % P;
  if (vx2 === mod(-u)) x = (x * SQRT_M1) % P;
  else if (vx2 !== u) return undefined;
  if (x === 0n && sign === 1) return undefined;
  if (Number(x & 1n) !== sign) x = P - x;
  return [x, y, 1n, (x * y) % P];
}

function isIdentity([x, y, z]: Point): boolean {
  return x % P === 0n && mod(y - z) === 0n;
}

/**
 * Whether `publicKey` passes the key rules: it decodes strictly, is not the identity, and lies in
 * the prime-order subgroup (`[L]A` is the identity, so no small-order or mixed-order key passes).
 * About a millisecond: callers cache the verdict per key.
 */
export function isTorsionFreeKey(publicKey: Uint8Array): boolean {
  const a = decode(publicKey);
  if (!a || isIdentity(a)) return false;
  let r = IDENTITY;
  for (let i = L_TOP_BIT; i >= 0n; i--) {
    r = add(r, r);
    if ((L >> i) & 1n) r = add(r, a);
  }
  return isIdentity(r);
}
