// Nodes that left do not stay in digests: the farewell spreads as a rumor, and a node that still
// holds a departed origin — in a digest row it sends, or in old state it offers — is sent the
// farewell, so the departed origin's state is still collected everywhere.
import { describe, expect, it } from "vitest";
import { decodeFrame, FRAME } from "../../src/wire/frames.ts";
import { frameLimitsFor } from "../../src/core/engine.ts";
import { DEFAULT_OPTIONS } from "../../src/core/options.ts";
import { enc, World } from "./harness.ts";

const LIMITS = frameLimitsFor(DEFAULT_OPTIONS);

/** Largest count of digest rows one of `from`'s digests carried since `since`. */
function digestRows(frames: { from: number; bytes: Uint8Array }[]): number {
  let most = 0;
  for (const { bytes } of frames) {
    if (bytes[1] !== FRAME.DIGEST) continue;
    const f = decodeFrame(bytes, LIMITS);
    if (f.type === FRAME.DIGEST && f.rows) most = Math.max(most, f.rows.length);
  }
  return most;
}

describe("departed origins", () => {
  it("leave the digests once their farewell is held, and a node cut off while they left still gets the farewell and drops their keys", async () => {
    const n = 8;
    // Digests of rows (not summaries): what this test reads is which origins a digest lists.
    const w = new World(n, { intervalMs: 500, membership: false, digestRowsBeforeSummaryMax: 64 });
    w.linkAll();
    for (let i = 0; i < n; i++) w.engines[i].set(w.now, "k", enc(`v${i}`));
    await w.settle();
    for (let r = 0; r < 4; r++) await w.round(500);
    const seen: { from: number; bytes: Uint8Array }[] = [];
    const inner = w.filter;
    w.filter = (from, to, bytes) => (seen.push({ from, bytes }), inner(from, to, bytes));
    await w.round(500);
    const rowsBefore = digestRows(seen.splice(0));
    expect(rowsBefore).toBe(n); // every origin, this node's own included
    // Node 7 is cut off; nodes 4, 5 and 6 leave meanwhile.
    w.filter = (from, to, bytes) => from !== 7 && to !== 7 && (seen.push({ from, bytes }), true);
    for (const i of [4, 5, 6]) w.engines[i].leave(w.now);
    await w.settle();
    for (let r = 0; r < 6; r++) await w.round(500);
    seen.splice(0);
    await w.round(500);
    const rowsAfter = digestRows(seen.filter((x) => x.from < 4));
    expect(rowsAfter).toBe(n - 3); // the three that left are in no digest
    for (const i of [4, 5, 6]) expect(w.get(0, i, "k") ?? null).toBeNull();
    expect(w.get(7, 5, "k")).toBe("v5"); // node 7 still holds what it had
    // Node 7 comes back: it learns the farewells and drops the keys of those who left.
    w.filter = inner;
    for (let r = 0; r < 6; r++) await w.round(500);
    for (const i of [4, 5, 6]) expect(w.get(7, i, "k") ?? null, `node 7 still holds ${i}`).toBeNull();
    expect(w.engines[7].store.origins.get(w.engines[5].store.selfId)?.complete).toBe(true);
    expect(w.penalties()).toEqual([]);
  });
});
