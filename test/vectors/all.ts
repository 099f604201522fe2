/**
 * Every frozen-vector checker, in one table, so the same vectors run on Node (vitest), Deno and Bun
 * (test/runtimes/*) and, later, in browsers. Each checker module exports
 * `run(...): Promise<{ total, failures }>`; it never throws for a mismatch, it lists it.
 *
 * Adding a checker is one line in `CHECKERS`. Modules load lazily, so one checker that fails to
 * load fails its own test and not the others.
 *
 * @module
 */

/** What one checker reports: how many vectors it ran and a line per mismatch. */
export interface CheckResult {
  total: number;
  failures: string[];
}

interface Checker {
  /** True if the checker takes a `SubtleCrypto` (or `undefined`, meaning "no WebCrypto"). */
  readonly subtle: boolean;
  readonly run: (subtle: SubtleCrypto | undefined) => Promise<CheckResult>;
}

const CHECKERS = {
  ed25519: { subtle: true, run: async (subtle) => (await import("./ed25519.check.ts")).run(subtle) },
  cbor: { subtle: false, run: async () => (await import("./cbor.check.ts")).run() },
  frames: { subtle: true, run: async (subtle) => (await import("./frames.check.ts")).run(subtle) },
  "link-frames": { subtle: true, run: async (subtle) => (await import("./link-frames.check.ts")).run(subtle) },
} satisfies Record<string, Checker>;

/** The name of a vector checker. */
export type CheckerName = keyof typeof CHECKERS;

/** Names of all checkers, in table order. */
export const checkerNames: readonly CheckerName[] = Object.keys(CHECKERS) as CheckerName[];

/** Whether a checker exercises WebCrypto, so wrappers also run it without (the @noble path). */
export function usesSubtle(name: CheckerName): boolean {
  return CHECKERS[name].subtle;
}

/** Runs one checker. `subtle` is ignored by checkers that do not use WebCrypto. */
export function runChecker(name: CheckerName, subtle: SubtleCrypto | undefined): Promise<CheckResult> {
  return CHECKERS[name].run(subtle);
}

/** Runs every checker in turn; a checker that throws is reported as a single failure. */
export async function runAll(subtle: SubtleCrypto | undefined): Promise<Record<CheckerName, CheckResult>> {
  const results = {} as Record<CheckerName, CheckResult>;
  for (const name of checkerNames) {
    try {
      results[name] = await runChecker(name, subtle);
    } catch (error) {
      results[name] = { total: 0, failures: [`${name}: checker threw: ${describe(error)}`] };
    }
  }
  return results;
}

/**
 * Turns a result into an error message for a test runner, or undefined if it passed. A checker
 * that ran no vectors fails too: an empty vector file must not pass silently.
 */
export function failureMessage(name: string, result: CheckResult): string | undefined {
  if (result.failures.length > 0) {
    const shown = result.failures.slice(0, 50);
    const more = result.failures.length - shown.length;
    return [
      `${name}: ${result.failures.length} of ${result.total} vectors failed`,
      ...shown.map((line) => `  ${line}`),
      ...(more > 0 ? [`  … and ${more} more`] : []),
    ].join("\n");
  }
  if (result.total === 0) return `${name}: no vectors ran`;
  return undefined;
}

/** One test for a runtime's runner: a title and a body that throws with the failures listed. */
export interface VectorCase {
  title: string;
  check: () => Promise<void>;
}

/**
 * The tests each runtime wrapper registers: every checker once with the runtime's own
 * `crypto.subtle`, and WebCrypto-aware checkers once more without it (the @noble fallback).
 */
export function vectorCases(subtle: SubtleCrypto | undefined): VectorCase[] {
  const cases: VectorCase[] = [];
  for (const name of checkerNames) {
    const variants: Array<[string, SubtleCrypto | undefined]> = usesSubtle(name)
      ? [[`${name} (WebCrypto)`, subtle], [`${name} (no WebCrypto)`, undefined]]
      : [[name, subtle]];
    for (const [title, variant] of variants) {
      cases.push({
        title: `vectors: ${title}`,
        check: async () => {
          const message = failureMessage(title, await runChecker(name, variant));
          if (message !== undefined) throw new Error(message);
        },
      });
    }
  }
  return cases;
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
}
