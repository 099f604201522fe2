/**
 * The status value every demo member writes under the key `status`: a name, its runtime, a mood
 * and `n`, a counter that grows with every write, so anyone can tell which write a holder has.
 * Shared by the peer processes, the relay and the browser peer.
 *
 * @module
 */

/** What a member writes under `status`. */
export interface DemoStatus {
  name: string;
  runtime: "node" | "browser" | "relay";
  mood: string;
  /** 1 for the first write, then one more per update. */
  n: number;
  /** Free text a browser user typed, if any. */
  text?: string;
}

/** Moods peers cycle through, so an update is visible on the dashboard. */
export const MOODS = ["curious", "busy", "idle", "chatty", "sleepy", "focused"] as const;

/** A mood other than `current`, chosen with `random` (in [0, 1)). */
export function nextMood(current: string | undefined, random: () => number = Math.random): string {
  const others = MOODS.filter((m) => m !== current);
  return others[Math.floor(random() * others.length)];
}

/** The counter `n` of a status value, or 0 if the value is not a status. */
export function statusCounter(value: unknown): number {
  const n = (value as { n?: unknown } | null | undefined)?.n;
  return typeof n === "number" && Number.isSafeInteger(n) && n > 0 ? n : 0;
}
