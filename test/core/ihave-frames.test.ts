// In a settled tree, lazy announcements (IHAVE) go to `lazyPushMax` lazy links drawn once a round,
// so a round's announcements fill that many frames, not one to nearly every lazy link; the round's
// re-announcement rides in the frame its link gets anyway. Ids per delivery stay about the same.
import { describe, expect, it } from "vitest";
import type { EngineEvent } from "../../src/core/events.ts";
import { FRAME } from "../../src/wire/frames.ts";
import { enc, World } from "./harness.ts";

async function run(w: World, ms: number, step = 25): Promise<void> {
  for (let t = 0; t < ms; t += step) await w.round(step);
}

function delivered(w: World): number {
  return w.events.filter((x: { event: EngineEvent }) => x.event.type === "message").length;
}

describe("lazy announcements in a settled tree", () => {
  it("a round's announcements fill at most lazyPushMax + 1 frames, one a link; every node still gets every message", async () => {
    const n = 12;
    const w = new World(n, { intervalMs: 500, membership: false, lazyPushMax: 3 });
    w.linkAll();
    await w.settle();
    for (let k = 0; k < 4; k++) {
      w.engines[k].publish(w.now, "t", enc(`warm-${k}`));
      await run(w, 500);
    }
    await run(w, 2500); // past the memory of the prunes that formed the tree
    // The links each node's IHAVE frames went to, by the node's round.
    const sent = new Map<string, number[]>();
    let frames = 0;
    w.filter = (from, to, bytes) => {
      if (bytes[1] === FRAME.IHAVE) {
        const key = `node ${from} round ${w.engines[from].stats.rounds}`;
        sent.set(key, [...(sent.get(key) ?? []), to]);
        frames++;
      }
      return true;
    };
    const ids = () => w.engines.reduce((s, e) => s + e.broadcast.stats.ihaveIdsSent, 0);
    const idsBefore = ids();
    const m = 32; // four messages a round, for eight rounds
    for (let k = 0; k < m; k++) {
      w.engines[(k * 5) % n].publish(w.now, "t", enc(`m-${k}`));
      await run(w, 125);
    }
    await run(w, 3000);
    expect(delivered(w)).toBe((4 + m) * n);
    let most = 0;
    for (const [key, links] of sent) {
      expect(new Set(links).size, `${key}: a link got two frames`).toBe(links.length);
      most = Math.max(most, links.length);
    }
    expect(most).toBeLessThanOrEqual(3 + 1);
    // Each of the 11 · 32 deliveries is announced by about lazyPushMax nodes, plus re-announcements.
    const perDelivery = (ids() - idsBefore) / (m * (n - 1));
    expect(perDelivery).toBeGreaterThan(2);
    expect(perDelivery).toBeLessThanOrEqual((4 * n) / (n - 1));
    // Drawn a message at a time, nearly every lazy link got a frame a round: 2.3 frames a delivery here.
    expect(frames / (m * (n - 1))).toBeLessThan(1.5);
  });
});
