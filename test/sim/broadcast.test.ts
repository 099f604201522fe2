import { describe, expect, it } from "vitest";
import { runBroadcast } from "../../src/sim/mod.ts";
import { suite } from "../core/harness.ts";

const SEED = Number(process.env.GRAPEVINE_SEED ?? 20261121);

describe("simulator: broadcast", () => {
  for (const [label, loss, crash] of [["stable", 0, 0], ["10 % loss", 0.1, 0], ["20 % crashed", 0, 0.2]] as const) {
    it(`${label}: every live node gets every message, about one payload copy each`, async () => {
      const r = await runBroadcast(
        { nodes: 100, fanout: 3, mode: "pushpull", loss, seed: SEED, degree: 0, intervalMs: 1000, suite: await suite(), cryptoName: "ed25519", clock: () => 0 },
        { messages: 60, ratePerSecond: 20, crash, payloadBytes: 100 },
      ).catch((e) => {
        throw new Error(`seed ${SEED} (GRAPEVINE_SEED=${SEED} npx vitest run test/sim/broadcast.test.ts): ${e}`);
      });
      expect(r.delivered_fraction, `seed ${SEED}`).toBe(1);
      expect(r.penalties).toBe(0);
      if (label === "stable") {
        expect(r.copies_per_node_per_msg).toBeLessThan(1.5);
        // The forming tree announces on every lazy link for a round after each PRUNE, then at most
        // lazyPushMax (5) links per message and one re-announcement: about 6 ids per delivery.
        expect(r.ihave_ids_per_delivery, `seed ${SEED}`).toBeLessThanOrEqual(6.5);
      }
    }, 60_000);
  }
});
