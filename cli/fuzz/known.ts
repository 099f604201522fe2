/**
 * Findings already reported and tracked by a failing test, which do not fail a fuzz run: the
 * report still lists every one of them (marked `known`), only the exit code ignores them, so a
 * long run keeps looking for new bugs while the known ones wait for their fix. Each entry names
 * the test that fails until the fix lands (a `.fails` test turns red once it passes): whoever
 * fixes the bug removes the entry with the marker.
 *
 * @module
 */

import type { Failure } from "./targets.ts";

export interface KnownFinding {
  id: string;
  /** What a matching failure looks like (`queue` and `time`: a hang of that reason). */
  kinds: readonly (Failure["kind"] | "queue" | "time")[];
  error: RegExp;
  /** Where it is written down and tracked. */
  tracked: string;
}

export const KNOWN_FINDINGS: readonly KnownFinding[] = [];

/** The known finding a failure is, or null. */
export function knownFinding(f: Failure): KnownFinding | null {
  return KNOWN_FINDINGS.find((k) => k.kinds.includes(f.kind) && k.error.test(f.error)) ?? null;
}

/** The known finding a hang is, or null. */
export function knownHang(reason: "queue" | "time", detail: string): KnownFinding | null {
  return KNOWN_FINDINGS.find((k) => k.kinds.includes(reason) && k.error.test(detail)) ?? null;
}
