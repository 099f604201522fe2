/**
 * The relay's log: one JSON object per line, `{"ts":…,"level":…,"event":…, …fields}`, written to a
 * sink the adapter chooses (stderr on Node, Deno and Bun; the console on Workers, whose log
 * pipeline reads JSON). Events are named in snake case and carry only what the relay decided or
 * observed (addresses, node ids, reasons); nothing a peer sends is copied into a line unbounded.
 *
 * Bounds: a level filters lines before they are built; each event name may write at most
 * {@link LOG_LINES_PER_SECOND} lines a second (burst twice that), so a flood of refused
 * connections cannot flood the log; what was left out is counted in the event's next line
 * (`suppressed`).
 *
 * @module
 */

import { TokenBucket } from "./limits.ts";

/** Levels, least severe first; `silent` writes nothing. */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Lines one event name may write per second (sustained). */
export const LOG_LINES_PER_SECOND = 20;
/** Event names tracked for rate limiting; the relay uses a fixed set far smaller than this. */
const EVENTS_MAX = 256;

/** A logger; `fields` must be small, JSON-encodable values. */
export interface RelayLog {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

/** A logger that writes nothing. */
export const SILENT_LOG: RelayLog = Object.freeze({ debug() {}, info() {}, warn() {}, error() {} });

/**
 * A JSON-lines logger writing to `sink` at `level` and above.
 *
 * @example
 * ```ts
 * const log = jsonLog((line) => console.error(line), "info");
 * log.warn("refused", { reason: "per_ip", ip: "203.0.113.9" });
 * // {"ts":"2026-12-04T19:00:00.000Z","level":"warn","event":"refused","reason":"per_ip","ip":"203.0.113.9"}
 * ```
 */
export function jsonLog(sink: (line: string) => void, level: LogLevel, clock: { wallMs(): number; monotonicMs(): number } = defaultClock): RelayLog {
  const floor = LOG_LEVELS.indexOf(level);
  if (floor === -1) throw new RangeError(`log level must be one of ${LOG_LEVELS.join(", ")}`);
  const budgets = new Map<string, { bucket: TokenBucket; suppressed: number }>();
  const write = (lvl: Exclude<LogLevel, "silent">, event: string, fields?: Record<string, unknown>) => {
    if (LOG_LEVELS.indexOf(lvl) < floor) return;
    const now = clock.monotonicMs();
    let budget = budgets.get(event);
    if (!budget) {
      if (budgets.size >= EVENTS_MAX) budgets.clear();
      budget = { bucket: new TokenBucket(LOG_LINES_PER_SECOND, 2 * LOG_LINES_PER_SECOND, now), suppressed: 0 };
      budgets.set(event, budget);
    }
    if (!budget.bucket.take(now)) {
      budget.suppressed++;
      return;
    }
    const record: Record<string, unknown> = { ts: new Date(clock.wallMs()).toISOString(), level: lvl, event, ...fields };
    if (budget.suppressed > 0) {
      record.suppressed = budget.suppressed;
      budget.suppressed = 0;
    }
    sink(JSON.stringify(record));
  };
  return {
    debug: (event, fields) => write("debug", event, fields),
    info: (event, fields) => write("info", event, fields),
    warn: (event, fields) => write("warn", event, fields),
    error: (event, fields) => write("error", event, fields),
  };
}

const defaultClock = { wallMs: () => Date.now(), monotonicMs: () => performance.now() };
