/**
 * Seeded randomness for the sans-I/O core. The engine never draws entropy itself: it is handed an
 * {@link Rng}. `seededRng` gives a reproducible stream (xoshiro128** seeded through splitmix32), so
 * one seed reproduces a whole simulation; the runtime driver seeds it from the platform CSPRNG.
 * Sampling is unbiased: integers by rejection, subsets by a partial Fisher–Yates shuffle.
 *
 * @module
 */

/** A source of uniformly distributed 32-bit unsigned integers. */
export interface Rng {
  nextU32(): number;
}

function splitmix32(state: number): [number, number] {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [state, (z ^ (z >>> 16)) >>> 0];
}

/**
 * A reproducible generator (xoshiro128**). Any integer seed is accepted; equal seeds give equal
 * streams on every runtime.
 *
 * @example
 * ```ts
 * const a = seededRng(42), b = seededRng(42);
 * console.assert(a.nextU32() === b.nextU32());
 * ```
 */
export function seededRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) throw new TypeError("seededRng: seed must be a safe integer");
  let st = (seed >>> 0) ^ Math.floor(seed / 2 ** 32);
  // The state as four int32 locals (the same bits as a Uint32Array, which would cost an
  // ArrayBuffer per generator: a simulation holds two per node).
  let s0: number, s1: number, s2: number, s3: number;
  [st, s0] = splitmix32(st);
  [st, s1] = splitmix32(st);
  [st, s2] = splitmix32(st);
  [st, s3] = splitmix32(st);
  s0 |= 0;
  s1 |= 0;
  s2 |= 0;
  s3 |= 0;
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
  return {
    nextU32(): number {
      const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = rotl(s3, 11);
      return result;
    },
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Derives an independent child seed, so one root seed can feed many generators. */
export function deriveSeed(rootSeed: number, index: number): number {
  let [st, a] = splitmix32((rootSeed ^ Math.imul(index + 1, 0x27d4eb2d)) | 0);
  [st, a] = splitmix32(st ^ a);
  const [, b] = splitmix32(st);
  return a * 0x200000 + (b & 0x1fffff); // 53 bits
}

/** A uniform integer in `[0, n)`, by rejection sampling (no modulo bias). `n` ≤ 2^32. */
export function randomBelow(rng: Rng, n: number): number {
  if (!(n > 0 && n <= 2 ** 32 && Number.isInteger(n))) throw new RangeError(`randomBelow: bad bound ${n}`);
  const limit = 2 ** 32 - (2 ** 32 % n);
  for (;;) {
    const x = rng.nextU32();
    if (x < limit) return x % n;
  }
}

/** A uniform float in `[0, 1)` with 32 bits of precision. */
export function randomUnit(rng: Rng): number {
  return rng.nextU32() / 2 ** 32;
}

/**
 * Picks `k` distinct items uniformly (partial Fisher–Yates). Copies `items`; `k` is clamped to the
 * length. O(length) copy, O(k) swaps.
 */
export function sample<T>(rng: Rng, items: readonly T[], k: number): T[] {
  return sampleInPlace(rng, items.slice(), k);
}

/** {@link sample} on an array the caller gives up: shuffled in place and cut to the `k` picked. */
export function sampleInPlace<T>(rng: Rng, a: T[], k: number): T[] {
  const m = Math.min(k, a.length);
  for (let i = 0; i < m; i++) {
    const j = i + randomBelow(rng, a.length - i);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  a.length = m;
  return a;
}

/**
 * Picks `k` distinct items with probability proportional to their weights (Efraimidis–Spirakis:
 * the k largest keys u^(1/w)). Items with weight ≤ 0 are never picked.
 */
export function weightedSample<T>(rng: Rng, items: readonly T[], weight: (item: T) => number, k: number): T[] {
  const keyed: { item: T; key: number }[] = [];
  for (const item of items) {
    const w = weight(item);
    if (w > 0) keyed.push({ item, key: Math.log(randomUnit(rng) || 2 ** -33) / w });
  }
  keyed.sort((x, y) => y.key - x.key);
  return keyed.slice(0, k).map((x) => x.item);
}
