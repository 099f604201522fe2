import { describe, expect, it } from "vitest";
import { ingestBench } from "../../cli/bench-broadcast.ts";

describe("bench broadcast (small)", () => {
  it("ingest: every message delivered once, duplicates never re-verified, rates measured", async () => {
    const r = await ingestBench(300);
    expect(r).toMatchObject({ messages: 300, duplicates_reverified: 0 });
    expect(r.raw_verify_per_s as number).toBeGreaterThan(0);
    expect(r.ingest_per_s as number).toBeGreaterThan(0);
    expect(r.ratio_ingest_to_raw as number).toBeGreaterThan(0);
  }, 60_000);
});
