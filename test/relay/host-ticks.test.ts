/**
 * What the Workers relay relies on in the driver: with `onWake`, a node sets no timer for its
 * rounds and tells the host when it wants to run instead; nothing is gossiped on rounds until the
 * host calls `tick()`. And `adopt()`: a node started afresh takes over a link whose peer another
 * instance authenticated on the same transport, without a handshake, and gossip resumes over it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryLinkPair, createNode, type GrapevineNode, type Link } from "../../mod.ts";
import { until } from "./helpers.ts";

const nodes: GrapevineNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close({ leave: false });
});

async function node(options: Parameters<typeof createNode>[0] = {}): Promise<GrapevineNode> {
  const n = await createNode({ network: "ticks", intervalMs: 100, membership: false, ...options });
  nodes.push(n);
  return n;
}

/** A link whose far end can be handed over: frames go to whichever holder was set last. */
class Handover implements Link {
  onmessage: ((bytes: Uint8Array) => void) | null = null;
  onclose: ((reason: string) => void) | null = null;
  constructor(readonly inner: Link, public live = true) {}
  get bufferedAmount() {
    return this.inner.bufferedAmount;
  }
  send(bytes: Uint8Array) {
    if (this.live) this.inner.send(bytes); // a holder that went away says nothing more
  }
  close(reason?: string) {
    if (this.live) this.inner.close(reason);
  }
}

describe("host-driven ticks (onWake)", () => {
  it("announces its wake-ups and runs rounds only when the host ticks", async () => {
    const wakes: number[] = [];
    const a = await node({ onWake: (ms) => wakes.push(ms) });
    const b = await node({ onWake: () => {} }); // never ticked: it runs no round of its own
    expect(wakes.length).toBeGreaterThan(0);
    expect(wakes.at(-1)).toBeGreaterThanOrEqual(0);
    expect(wakes.at(-1)).toBeLessThanOrEqual(100);
    a.set("before", 1);
    const [la, lb] = createMemoryLinkPair();
    await Promise.all([a.connect(la), b.connect(lb)]);
    // The exchange a new link starts with runs without a tick; a write made while it is still under
    // way may go with it, so the write below waits for it to end.
    await until(() => b.get("before", a.id) === 1, 5000, "the link's first exchange");
    await new Promise((r) => setTimeout(r, 100));
    a.set("k", "v1");
    await new Promise((r) => setTimeout(r, 400)); // four of a's rounds would have run on timers
    expect(b.get("k", a.id)).toBeUndefined();
    const announced = wakes.length;
    a.tick();
    expect(wakes.length).toBeGreaterThan(announced); // each tick announces the next wake-up
    await until(() => b.get("k", a.id) === "v1", 5000, "a's write spread by the tick");
  });

  it("refuses an onWake that is not a function", async () => {
    await expect(createNode({ onWake: 5 as unknown as () => void })).rejects.toThrow(TypeError);
  });
});

describe("adopt", () => {
  it("a fresh node takes over an authenticated link without a handshake, and gossip resumes", async () => {
    const keyPair = (await import("../../mod.ts")).generateKeyPair((n) => crypto.getRandomValues(new Uint8Array(n)));
    const a = await node();
    const first = await node({ keyPair });
    const [la, lb] = createMemoryLinkPair();
    const held = new Handover(lb);
    lb.onmessage = (bytes) => held.onmessage?.(bytes);
    lb.onclose = (reason) => held.onclose?.(reason);
    const handles = await Promise.all([a.connect(la), first.connect(held)]);
    const linkDown: string[] = [];
    void handles[0].closed.then((r) => linkDown.push(r));

    // The first instance goes away without a word; a second one, same key, holds the transport.
    held.live = false;
    const second = await node({ keyPair });
    const resumed = new Handover(lb);
    lb.onmessage = (bytes) => resumed.onmessage?.(bytes);
    lb.onclose = (reason) => resumed.onclose?.(reason);
    const handle = second.adopt(resumed, a.id);
    expect(handle.peer).toBe(a.id);
    expect(second.peers()).toEqual([a.id]);

    a.set("from", "a");
    second.set("from", "second");
    await until(() => second.get("from", a.id) === "a" && a.get("from", second.id) === "second", 5000, "state both ways over the adopted link");
    expect(linkDown).toEqual([]); // a never saw its link go down
    expect(() => second.adopt(new Handover(createMemoryLinkPair()[0]), "not an id")).toThrow(TypeError);
  });
});
