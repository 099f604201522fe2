/**
 * Waits until `cond` holds, polling every 10 ms, for at most `ms`; resolves with the time it took
 * and throws an error naming `what` when it runs out. Every test that waits on real time uses it.
 */
export async function until(cond: () => boolean | Promise<boolean>, ms = 15_000, what = "condition"): Promise<number> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > ms) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - start;
}
