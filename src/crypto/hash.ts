/**
 * Synchronous SHA-256 over byte strings. Every digest in the library (Merkle trees, cache keys,
 * digest-trie hashes) is SHA-256, done here in a few lines of our own (FIPS 180-4, checked against
 * `node:crypto` at every length around the padding boundaries and on random inputs) so that a page
 * does not load a hash library for it. SHA-512 is `sha512.ts`. Nothing waits on
 * `SubtleCrypto.digest`.
 *
 * @module
 */

/** SHA-256's round constants. */
const K = /* @__PURE__ */ Uint32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
/** SHA-256's initial hash value. */
const H0 = /* @__PURE__ */ Uint32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
/** The message schedule and the last block(s) with their padding: reused, digests being synchronous. */
const W = new Uint32Array(64);
const TAIL = new Uint8Array(128);
const STATE = new Uint32Array(8);

/** Runs the compression function over the 64-byte block of `bytes` at `at`. */
function compress(bytes: Uint8Array, at: number): void {
  for (let i = 0; i < 16; i++, at += 4) W[i] = (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15];
    const w2 = W[i - 2];
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  let a = STATE[0], b = STATE[1], c = STATE[2], d = STATE[3], e = STATE[4], f = STATE[5], g = STATE[6], h = STATE[7];
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  STATE[0] += a; STATE[1] += b; STATE[2] += c; STATE[3] += d; STATE[4] += e; STATE[5] += f; STATE[6] += g; STATE[7] += h;
}

/**
 * SHA-256 of `data` (32 bytes).
 *
 * @example
 * ```ts
 * import { sha256 } from "./hash.ts";
 * import { toHex } from "../bytes.ts";
 * toHex(sha256(new Uint8Array())); // "e3b0c442…52b855"
 * ```
 */
export function sha256(data: Uint8Array): Uint8Array {
  STATE.set(H0);
  const n = data.length;
  const full = n - (n % 64);
  for (let at = 0; at < full; at += 64) compress(data, at);
  // The rest, 0x80, zeros, and the length in bits (big-endian, 64 bits): one block or two.
  const rest = n - full;
  const tail = rest < 56 ? 64 : 128;
  for (let i = 0; i < rest; i++) TAIL[i] = data[full + i];
  TAIL[rest] = 0x80;
  TAIL.fill(0, rest + 1, tail - 8);
  const bits = n * 8;
  const hi = Math.floor(bits / 2 ** 32);
  const lo = bits >>> 0;
  TAIL[tail - 8] = hi >>> 24; TAIL[tail - 7] = hi >>> 16; TAIL[tail - 6] = hi >>> 8; TAIL[tail - 5] = hi;
  TAIL[tail - 4] = lo >>> 24; TAIL[tail - 3] = lo >>> 16; TAIL[tail - 2] = lo >>> 8; TAIL[tail - 1] = lo;
  compress(TAIL, 0);
  if (tail === 128) compress(TAIL, 64);
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const v = STATE[i];
    out[4 * i] = v >>> 24; out[4 * i + 1] = v >>> 16; out[4 * i + 2] = v >>> 8; out[4 * i + 3] = v;
  }
  return out;
}
