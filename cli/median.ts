/**
 * The median the benches report: one definition for all of them.
 *
 * @module
 */

/** The median of `xs`: the middle value, the mean of the middle two for an even count, 0 for none. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
