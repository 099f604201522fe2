// The driver's job runner: results come back at most RESULTS_PER_TURN a turn of the event loop,
// over every node of the thread, so a burst of finished checks cannot hold the loop.
import { describe, expect, it } from "vitest";
import { resolveOptions } from "../../src/core/options.ts";
import type { JobResult } from "../../src/core/events.ts";
import type { SignatureSuite } from "../../src/crypto/types.ts";
import { Jobs, RESULTS_PER_TURN } from "../../src/runtime/jobs.ts";
import { keyPair } from "../core/harness.ts";

/** A suite whose checks all finish at once (as a thread pool's burst does). */
const instant: SignatureSuite = {
  backend: "webcrypto",
  sign: () => Promise.resolve(new Uint8Array(64)),
  verify: () => Promise.resolve(true),
};

describe("Jobs", () => {
  it(`hands back at most ${RESULTS_PER_TURN} results a turn, over every runner of the thread, in order`, async () => {
    const options = resolveOptions({ network: "jobs" });
    const done: [number, number, JobResult][] = [];
    const runners = [0, 1].map((r) => new Jobs(instant, keyPair(r), options, (id, result) => done.push([r, id, result])));
    const total = 3 * RESULTS_PER_TURN + 5;
    for (let id = 0; id < total; id++) {
      runners[id % 2].run({ kind: "verify", id, publicKey: new Uint8Array(32), message: new Uint8Array(1), signature: new Uint8Array(64) });
    }
    const perTurn: number[] = [];
    while (done.length < total && perTurn.length < 20) {
      const before = done.length;
      await new Promise((r) => setImmediate(r)); // one turn of the event loop
      perTurn.push(done.length - before);
    }
    expect(done.length).toBe(total);
    expect(Math.max(...perTurn)).toBe(RESULTS_PER_TURN);
    expect(perTurn.filter((n) => n > 0).length).toBeGreaterThanOrEqual(4);
    expect(done.map(([, id]) => id)).toEqual([...Array(total).keys()]); // first finished, first handed back
    expect(done.every(([r, id, result]) => r === id % 2 && result === true)).toBe(true);
    await Promise.all(runners.map((j) => j.idle()));
  });
});
