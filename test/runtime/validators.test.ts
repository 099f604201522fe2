// A topic's validator as the application gives it: its verdict decides delivery; one that throws,
// or never answers, drops the message quietly (the peer not blamed), and a message waiting on a
// validator that never answers waits only until it expires.
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryLinkPair, createNode, type GrapevineNode } from "../../mod.ts";
import { keyPair } from "../core/harness.ts";
import { until } from "../helpers/until.ts";

const nodes: GrapevineNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close({ leave: false });
});

async function pair(): Promise<[GrapevineNode, GrapevineNode]> {
  // Messages live 400 ms, and clocks may differ by 100 ms: a message expires here 500 ms after it was sent.
  const options = { network: "val", intervalMs: 50, messageTtlMs: 400, clockSkewMs: 100 };
  const a = await createNode({ ...options, keyPair: keyPair(41), seed: 41 });
  const b = await createNode({ ...options, keyPair: keyPair(42), seed: 42 });
  nodes.push(a, b);
  const [la, lb] = createMemoryLinkPair();
  await Promise.all([a.connect(la), b.connect(lb)]);
  return [a, b];
}

describe("validators", () => {
  it("a validator that never answers holds a message only until it expires: idle() resolves, nothing is delivered, nobody is blamed", async () => {
    const [a, b] = await pair();
    const got: unknown[] = [];
    a.subscribe("t", () => {});
    b.subscribe("t", (m) => got.push(m.payload));
    // Both in the topic's swarm: a first message comes through.
    for (let k = 0; !got.includes("first"); k++) {
      if (k > 100) throw new Error("the topic's swarm did not form");
      a.publish("t", "first");
      await new Promise((r) => setTimeout(r, 50));
    }
    let asked = 0;
    b.validate("t", () => {
      asked++;
      return new Promise(() => {}); // never settles
    });
    const publishedAt = Date.now();
    a.publish("t", "held");
    await until(() => asked === 1, 5000, "the validator asked");
    await b.idle(); // returned only once the message expired (it never would have before)
    // It expires 400 ms after it was sent, plus 100 ms of allowed skew: not sooner, however slow the machine.
    expect(Date.now() - publishedAt).toBeGreaterThanOrEqual(490);
    expect(got.filter((p) => p !== "first")).toEqual([]);
    // The topic is not stuck: with an answering validator, the next message comes through.
    b.validate("t", () => "accept");
    a.publish("t", "through");
    await until(() => got.includes("through"), 5000, "the next message");
    expect(a.peers()).toHaveLength(1); // no penalty closed the link
  });
});
