// Two nodes that run with one key (two tabs sharing a stored key) are one origin to the mesh: the
// newer generation's state wins and the older node is hidden. The older node is told, once, by a
// `key-in-use` event: a state signed with its own key under a newer generation reached it. The
// newer one is not told (an older generation's state is what a reload leaves behind), and nodes
// with keys of their own never are.
import { afterEach, describe, expect, it } from "vitest";
import { type GrapevineNode, type NodeEventMap } from "../../mod.ts";
import { createNode as createLiteNode } from "../../src/lite/mod.ts";
import { createNode } from "../../mod.ts";
import { CarriedScopes } from "../../relay/carry.ts";
import { SILENT_LOG } from "../../relay/log.ts";
import { keyPair } from "../core/harness.ts";
import { until } from "../relay/helpers.ts";
import { FAST_TIMING, link } from "./helpers.ts";

const nodes: GrapevineNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close({ leave: false });
});

describe("a key in use by two nodes", () => {
  it("tells the older node, once, and no one else", async () => {
    const relay = await createNode({ ...FAST_TIMING, network: "kiu", keyPair: keyPair(0), seed: 1 });
    nodes.push(relay);
    new CarriedScopes(relay, () => false, SILENT_LOG);
    const older = await createLiteNode({ ...FAST_TIMING, network: "kiu", keyPair: keyPair(1), seed: 2, generation: 1_000 });
    const newer = await createLiteNode({ ...FAST_TIMING, network: "kiu", keyPair: keyPair(1), seed: 3, generation: 2_000 });
    const watcher = await createLiteNode({ ...FAST_TIMING, network: "kiu", keyPair: keyPair(2), seed: 4 });
    nodes.push(older, newer, watcher);
    const told = new Map<GrapevineNode, NodeEventMap["key-in-use"][]>();
    for (const n of [relay, older, newer, watcher]) {
      const log: NodeEventMap["key-in-use"][] = [];
      told.set(n, log);
      n.on("key-in-use", (d) => log.push(d));
    }
    for (const n of [older, newer, watcher]) await link(relay, n);
    const rooms = [older, newer, watcher].map((n, i) => n.room<{ name: string }>("doc", { presence: { name: ["older", "newer", "watcher"][i] } }));
    older.set("k", "from the older");
    newer.set("k", "from the newer");
    await until(() => told.get(older)!.length > 0, 5000, "the older node is told");
    await new Promise((r) => setTimeout(r, 500)); // more of the newer's state arrives: still told once
    expect(told.get(older)).toEqual([{ generation: 2_000, ours: 1_000 }]);
    for (const n of [relay, newer, watcher]) expect(told.get(n)).toEqual([]);
    // What the others see: one member under that key, the newer one's state.
    await until(() => watcher.get("k", older.id) === "from the newer", 5000, "the watcher holds the newer state");
    await until(() => rooms[2].presence.others.length === 1, 5000, "one member under the shared key");
    expect(rooms[2].presence.others.map((o) => o.state.name)).toEqual(["newer"]);
  });
});
