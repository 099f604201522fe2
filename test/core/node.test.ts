import { describe, expect, it } from "vitest";
import { createMemoryLinkPair, createNode, exportSecretKey, type ChangeEvent, GrapevineError } from "../../mod.ts";
import { keyPair } from "./harness.ts";
import { until } from "../helpers/until.ts";

describe("public node API over in-memory links", () => {
  it("three nodes in a line converge on each other's values; subscribe and changes() see them", async () => {
    const nodes = await Promise.all([0, 1, 2].map((i) => createNode({ network: "t", intervalMs: 50, keyPair: keyPair(i), seed: i })));
    for (let i = 0; i < 2; i++) {
      const [a, b] = createMemoryLinkPair();
      const [ha, hb] = await Promise.all([nodes[i].connect(a), nodes[i + 1].connect(b)]);
      expect(ha.peer).toBe(nodes[i + 1].id);
      expect(hb.peer).toBe(nodes[i].id);
    }
    const seen: ChangeEvent[] = [];
    const off = nodes[2].subscribe((c) => seen.push(c));
    const iter = nodes[0].changes();
    nodes[0].set("status", { text: "online", n: 1 });
    nodes[2].set("cursor", [10, 20]);
    await until(() => nodes[2].get("status", nodes[0].id) !== undefined && nodes[0].get("cursor", nodes[2].id) !== undefined);
    expect(nodes[2].get("status", nodes[0].id)).toEqual({ text: "online", n: 1 });
    expect(nodes[0].get("cursor", nodes[2].id)).toEqual([10, 20]);
    expect(nodes[1].entries(nodes[0].id)).toEqual(new Map([["status", { text: "online", n: 1 }]]));
    expect(seen.some((c) => c.key === "status" && c.origin === nodes[0].id && !c.local)).toBe(true);
    const first = await iter.next();
    expect(first.value).toMatchObject({ key: "status", local: true });
    off();
    nodes[0].delete("status");
    await until(() => nodes[2].get("status", nodes[0].id) === undefined);
    await Promise.all(nodes.map((n) => n.close()));
    expect(() => nodes[0].set("x", 1)).toThrow(GrapevineError);
  });

  it("join(seeds): with no link left, the node asks for one to a seed that says where it listens", async () => {
    const relay = await createNode({ network: "t", intervalMs: 200, probeIntervalMs: 60_000, probeTimeoutMs: 30_000, seedRetryMs: 200, addr: "ws://relay.example/", keyPair: keyPair(7), seed: 7 });
    const tab = await createNode({ network: "t", intervalMs: 200, probeIntervalMs: 60_000, probeTimeoutMs: 30_000, seedRetryMs: 200, keyPair: keyPair(8), seed: 8 });
    const [x, y] = createMemoryLinkPair();
    const [, handle] = await Promise.all([relay.connect(x), tab.connect(y)]);
    await until(() => tab.members().some((m) => m.id === relay.id && m.url === "ws://relay.example/"), 5000, "tab knows where the relay listens");
    tab.join([relay.id]);
    const wants: { peer: string; url: string }[] = [];
    tab.on("want-link", (w) => wants.push(w));
    handle.close("gone");
    // Probes a minute apart: the relay is not suspected yet, so it is the seed that is asked for.
    await until(() => wants.length > 0, 3000, "want-link for the seed");
    expect(wants[0]).toEqual({ peer: relay.id, url: "ws://relay.example/" });
    expect(() => tab.join(["not an id"])).toThrow(TypeError);
    await Promise.all([relay.close({ leave: false }), tab.close({ leave: false })]);
  });

  it("close() says farewell: peers drop the departed node's keys", async () => {
    const a = await createNode({ network: "t", intervalMs: 1000 });
    const b = await createNode({ network: "t", intervalMs: 1000 });
    const [la, lb] = createMemoryLinkPair();
    await Promise.all([a.connect(la), b.connect(lb)]);
    a.set("here", true);
    await until(() => b.get("here", a.id) === true);
    await a.close();
    await until(() => b.get("here", a.id) === undefined);
    await b.close();
  });

  it("a secret key in text form gives the same id; bad options fail fast", async () => {
    const kp = keyPair(7);
    const n = await createNode({ keyPair: exportSecretKey(kp) });
    const m = await createNode({ keyPair: kp });
    expect(n.id).toBe(m.id);
    await n.close();
    await m.close();
    await expect(createNode({ fanout: 0 })).rejects.toThrow(RangeError);
    await expect(createNode({ network: "" })).rejects.toThrow(RangeError);
  });

  it("await using closes the node at the end of the scope", async () => {
    let node;
    {
      await using n = await createNode();
      node = n;
      n.set("k", 1);
    }
    expect(() => node.set("k", 2)).toThrow(/closed/);
  });
});
