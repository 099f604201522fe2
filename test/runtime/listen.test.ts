// A node does not keep a process alive by itself, but a loop waiting on one of its iterators does:
// while `next()` waits, one timer (shared by every waiting iterator of the thread) holds the event
// loop open, and once nothing waits — the change came, the loop broke, the node closed — it is
// cleared. That the process really stays up and then exits is checked from the installed package
// (README's quick start, `test/pack/pack.test.ts`).
import { describe, expect, it } from "vitest";
import { createMemoryLinkPair, createNode } from "../../mod.ts";
import { waitingIterators } from "../../src/runtime/listen.ts";
import { keyPair } from "../core/harness.ts";

const node = (i: number) => createNode({ network: "t", intervalMs: 50, keyPair: keyPair(i), seed: i, membership: false });

describe("iterators keep the process alive while they wait", () => {
  it("one timer while changes() and subscribe() loops wait, none once the change came, the loop broke or the node closed", async () => {
    const [a, b] = await Promise.all([node(1), node(2)]);
    const [la, lb] = createMemoryLinkPair();
    await Promise.all([a.connect(la), b.connect(lb)]);
    expect(waitingIterators()).toEqual({ count: 0, holdsLoop: false });
    const changes = b.changes();
    const first = changes.next(); // waits: nothing has changed yet
    await Promise.resolve();
    expect(waitingIterators()).toEqual({ count: 1, holdsLoop: true });
    const topic = b.subscribe("news");
    const firstMessage = topic.next();
    await Promise.resolve();
    expect(waitingIterators()).toEqual({ count: 2, holdsLoop: true });
    a.set("status", "online");
    expect((await first).value).toMatchObject({ key: "status", value: "online" });
    expect(waitingIterators()).toEqual({ count: 1, holdsLoop: true });
    await topic.return!(); // the loop breaks
    expect((await firstMessage).done).toBe(true);
    expect(waitingIterators()).toEqual({ count: 0, holdsLoop: false });
    // Waiting again, then the node closes: the loop ends and the timer goes.
    const second = changes.next();
    await Promise.resolve();
    expect(waitingIterators()).toEqual({ count: 1, holdsLoop: true });
    await b.close();
    expect((await second).done).toBe(true);
    expect(waitingIterators()).toEqual({ count: 0, holdsLoop: false });
    await a.close();
  });
});
