// A relay marks the rumors it pushes to its clients `SERVED`; a client skips its round exchange with
// a peer that pushed it such a rumor since the round last picked it, at most `SERVED_SKIPS_MAX`
// rounds in a row. What the pushes left out still comes within that many rounds more; peers that
// push only their own changes (a mesh of writing nodes) keep their full rounds.
import { describe, expect, it } from "vitest";
import { frameLimitsFor } from "../../src/core/limits.ts";
import { SERVED_SKIPS_MAX } from "../../src/core/sync-link.ts";
import { decodeFrame, DELTA_FLAG, DIGEST_FLAG, FRAME } from "../../src/wire/frames.ts";
import { AT_ONCE_SPACING_MS } from "../../src/core/hot-origins.ts";
import { enc, World } from "./harness.ts";

const OPTIONS = { intervalMs: 1000, membership: false };

/** A relay (0) serving clients 1–5, and linked to node 6 as a peer. */
async function relay(): Promise<World> {
  const w = new World(7, OPTIONS, 5);
  w.now = 1;
  for (const c of [1, 2, 3, 4, 5]) w.link(0, c, c);
  w.link(0, 6);
  await w.settleDue();
  await w.round();
  return w;
}

type Tap = (from: number, to: number, frame: ReturnType<typeof decodeFrame>, bytes: Uint8Array) => boolean;

/** Routes every frame through `tap` decoded (a false return drops it). */
function tapFrames(w: World, tap: Tap): void {
  const limits = frameLimitsFor(w.engines[0].options);
  w.filter = (from, to, bytes) => tap(from, to, decodeFrame(bytes, limits), bytes);
}

/** A digest that opens a round's exchange (push-pull, the whole trie) rather than answering one. */
function opensExchange(f: ReturnType<typeof decodeFrame>): boolean {
  return f.type === FRAME.DIGEST && f.scope.depth === 0 && (f.flags & DIGEST_FLAG.OFFER) !== 0 && (f.flags & DIGEST_FLAG.EXACT) === 0;
}

/** Writers 2–5 each write key `s<step>` and the relay's pushes go out; then a round passes. */
async function step(w: World, s: number): Promise<void> {
  for (const i of [2, 3, 4, 5]) w.engines[i].set(w.now, `s${s}`, enc(`v${s}`));
  await w.settleDue();
  await w.round();
}

describe("a client served by a relay", () => {
  it("gets the relay's pushes marked SERVED; the relay's peer gets them unmarked", async () => {
    const w = await relay();
    const flags = new Map<number, number[]>();
    tapFrames(w, (from, to, f) => {
      if (from === 0 && f.type === FRAME.DELTA && (f.flags & DELTA_FLAG.RUMOR) !== 0) flags.set(to, [...(flags.get(to) ?? []), f.flags]);
      return true;
    });
    w.engines[2].set(w.now, "status", enc("here"));
    w.engines[6].set(w.now, "status", enc("there"));
    await w.settleDue();
    for (const c of [1, 3, 4, 5]) {
      expect(flags.get(c), `client ${c}`).toBeDefined();
      for (const f of flags.get(c)!) expect(f, `client ${c}`).toBe(DELTA_FLAG.RUMOR | DELTA_FLAG.SERVED);
    }
    // The peer gets the client's change (the relay speaks for it), not as a client.
    expect(flags.get(6)).toEqual([DELTA_FLAG.RUMOR]);
    for (const c of [1, 3, 4, 5]) expect(w.get(c, 6, "status")).toBe("there");
  });

  it("while the relay keeps pushing, opens an exchange with it one round in SERVED_SKIPS_MAX + 1; unmarked pushes, every round", async () => {
    const opened = async (marked: boolean): Promise<number> => {
      const w = await relay();
      let n = 0;
      tapFrames(w, (from, to, f, bytes) => {
        if (from === 1 && to === 0 && opensExchange(f)) n++;
        // A relay that does not mark its pushes (flags are the frame's third byte: [array, 2, flags, …]).
        if (!marked && from === 0 && f.type === FRAME.DELTA && f.flags === (DELTA_FLAG.RUMOR | DELTA_FLAG.SERVED)) bytes[2] = DELTA_FLAG.RUMOR;
        return true;
      });
      for (let s = 1; s <= 12; s++) await step(w, s);
      for (let s = 1; s <= 12; s++) for (const i of [2, 3, 4, 5]) expect(w.get(1, i, `s${s}`), `s${s} of ${i}`).toBe(`v${s}`);
      return n;
    };
    expect(await opened(true)).toBe(12 / (SERVED_SKIPS_MAX + 1));
    expect(await opened(false)).toBe(12);
  });

  it("gets what a push left out within SERVED_SKIPS_MAX + 1 rounds, by its own exchange, while pushes keep coming", async () => {
    const w = await relay();
    let dropNext = false;
    let dropped = 0;
    tapFrames(w, (from, to, f) => {
      if (from !== 0 || to !== 1) return true;
      // The relay's own round exchanges with the client are not what brings it here.
      if (opensExchange(f)) return false;
      if (dropNext && f.type === FRAME.DELTA && (f.flags & DELTA_FLAG.RUMOR) !== 0) {
        dropNext = false;
        dropped++;
        return false;
      }
      return true;
    });
    let arrived = 0;
    for (let s = 1; s <= 12 && arrived === 0; s++) {
      // Step 3's push of the writers' changes is lost; a push of the relay's peer's change right
      // after it arrives (marked), as pushes do while a room is busy.
      dropNext = s === 3;
      for (const i of [2, 3, 4, 5]) w.engines[i].set(w.now, `s${s}`, enc(`v${s}`));
      await w.settleDue();
      w.now += AT_ONCE_SPACING_MS;
      w.engines[6].set(w.now, `s${s}`, enc(`v${s}`));
      await w.settleDue();
      expect(w.get(1, 6, `s${s}`), `step ${s}`).toBe(`v${s}`);
      await w.round();
      if (s >= 3 && [2, 3, 4, 5].every((i) => w.get(1, i, "s3") === "v3")) arrived = s;
    }
    expect(dropped).toBe(1);
    expect(arrived, "the step whose round brought step 3's changes").toBeGreaterThan(3);
    expect(arrived).toBeLessThanOrEqual(3 + SERVED_SKIPS_MAX);
  });

  it("a mesh of writing peers (no relay, no clients) keeps an exchange every round with each peer it picks", async () => {
    const w = new World(3, OPTIONS, 6);
    w.now = 1;
    w.linkAll();
    await w.settleDue();
    await w.round();
    let opened = 0;
    tapFrames(w, (from, _to, f) => {
      if (from === 1 && opensExchange(f)) opened++;
      return true;
    });
    for (let s = 1; s <= 8; s++) {
      for (const i of [0, 1, 2]) w.engines[i].set(w.now, `s${s}`, enc(`v${s}`));
      await w.settleDue();
      await w.round();
    }
    // Fanout 3 over two links: both peers each round.
    expect(opened).toBe(16);
  });
});
