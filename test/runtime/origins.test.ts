// `node.origins()` and a scope's `origins()`: the text ids of the nodes with state, this node once it
// has written; an origin's id is spelled out once and kept with its record, so the answers must
// follow the store as it changes (new origins, one that leaves).
import { describe, expect, it } from "vitest";
import { createMemoryLinkPair, createNode, type GrapevineNode } from "../../mod.ts";
import { keyPair } from "../core/harness.ts";
import { until } from "../helpers/until.ts";

const node = (i: number) => createNode({ network: "t", intervalMs: 50, keyPair: keyPair(i), seed: i, membership: false });

async function link(a: GrapevineNode, b: GrapevineNode): Promise<void> {
  const [la, lb] = createMemoryLinkPair();
  await Promise.all([a.connect(la), b.connect(lb)]);
}

describe("origins()", () => {
  it("lists the nodes with state, follows new origins and one that leaves, on the node and in a scope", async () => {
    const [a, b, c] = await Promise.all([node(1), node(2), node(3)]);
    try {
      await link(a, b);
      await link(b, c);
      b.set("k", "b");
      c.set("k", "c");
      const room = (x: GrapevineNode) => x.scope("room");
      room(c).set("here", true);
      room(b);
      await until(() => b.origins().length === 2 && b.scope("room").origins().length === 1);
      expect(b.origins().sort()).toEqual([b.id, c.id].sort());
      expect(b.scope("room").origins()).toEqual([c.id]);
      // A new origin, in the store and in the scope; asked again, the same answer.
      a.set("k", "a");
      room(a).set("here", true);
      await until(() => b.origins().length === 3 && b.scope("room").origins().length === 2);
      expect(b.origins().sort()).toEqual([a.id, b.id, c.id].sort());
      expect(b.origins().sort()).toEqual(b.origins().sort());
      expect(b.scope("room").origins().sort()).toEqual([a.id, c.id].sort());
      // One leaves: its state is collected, and it is no longer listed.
      await c.close();
      await until(() => b.origins().length === 2 && b.scope("room").origins().length === 1);
      expect(b.origins().sort()).toEqual([a.id, b.id].sort());
      expect(b.scope("room").origins()).toEqual([a.id]);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });
});
