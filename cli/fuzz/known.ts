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

export const KNOWN_FINDINGS: readonly KnownFinding[] = [
  {
    // A peer signs a suspicion of the victim at incarnation 2^53 − 1; the victim refutes at 2^53,
    // which no peer decodes, so it can never outrank the accusation (src/core/membership.ts).
    id: "refutation-beyond-2^53",
    kinds: ["bad-state"],
    error: /claim\.incarnation: expected an integer in 0\.\.9007199254740991/,
    tracked: "test/adversarial/fuzz-findings.test.ts",
  },
  {
    // A GRAFT naming one id many times is answered with one copy per mention, not deduplicated
    // nor charged to any budget (src/core/broadcast.ts): 300 mentions of the victim's 60 KB
    // message are 10 KB in and 18 MB out. Matched by its answer: hundreds of GOSSIPs to one frame.
    id: "graft-not-deduplicated",
    kinds: ["queue", "time"],
    error: /\(sent \d{3,} GOSSIP\)/,
    tracked: "test/adversarial/fuzz-findings.test.ts",
  },
];

/** The known finding a failure is, or null. */
export function knownFinding(f: Failure): KnownFinding | null {
  return KNOWN_FINDINGS.find((k) => k.kinds.includes(f.kind) && k.error.test(f.error)) ?? null;
}

/** The known finding a hang is, or null. */
export function knownHang(reason: "queue" | "time", detail: string): KnownFinding | null {
  return KNOWN_FINDINGS.find((k) => k.kinds.includes(reason) && k.error.test(detail)) ?? null;
}
