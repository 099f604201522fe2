/**
 * The relay's JSON log lines: one object per line with a timestamp, level and event; lines below
 * the level are not written; each event is held to a rate, and what was left out is counted in its
 * next line.
 */
import { describe, expect, it } from "vitest";
import { jsonLog, LOG_LINES_PER_SECOND } from "../../relay/log.ts";

function recorder(level: Parameters<typeof jsonLog>[1]) {
  const lines: Record<string, unknown>[] = [];
  let t = 0;
  const log = jsonLog((line) => lines.push(JSON.parse(line)), level, { wallMs: () => Date.UTC(2026, 11, 4) + t, monotonicMs: () => t });
  return { log, lines, advance: (ms: number) => (t += ms) };
}

describe("jsonLog", () => {
  it("writes one JSON object per line at the level and above", () => {
    const { log, lines } = recorder("info");
    log.debug("link_up", { peer: "p" });
    log.info("link_up", { peer: "p", ip: "203.0.113.9" });
    log.warn("refused", { reason: "per_ip" });
    log.error("boom");
    expect(lines).toEqual([
      { ts: "2026-12-04T00:00:00.000Z", level: "info", event: "link_up", peer: "p", ip: "203.0.113.9" },
      { ts: "2026-12-04T00:00:00.000Z", level: "warn", event: "refused", reason: "per_ip" },
      { ts: "2026-12-04T00:00:00.000Z", level: "error", event: "boom" },
    ]);
    const silent = recorder("silent");
    silent.log.error("boom");
    expect(silent.lines).toEqual([]);
    expect(() => jsonLog(() => {}, "loud" as never)).toThrow(RangeError);
  });

  it("holds each event to its rate and counts what it left out", () => {
    const { log, lines, advance } = recorder("debug");
    for (let i = 0; i < 1000; i++) log.warn("refused", { i });
    log.info("link_up");
    expect(lines.filter((l) => l.event === "refused")).toHaveLength(2 * LOG_LINES_PER_SECOND);
    expect(lines.filter((l) => l.event === "link_up")).toHaveLength(1); // other events keep their own budget
    advance(1000);
    log.warn("refused", { i: 1000 });
    expect(lines.at(-1)).toMatchObject({ event: "refused", i: 1000, suppressed: 1000 - 2 * LOG_LINES_PER_SECOND });
  });
});
