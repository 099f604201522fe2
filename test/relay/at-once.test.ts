/**
 * A relay serves its tabs: a change one tab makes reaches the others as soon as the relay has it,
 * not at a later gossip round. Here the relay (`serveRelay`, real WebSockets on 127.0.0.1) and every
 * tab run rounds ten minutes apart, so a join, an update and a farewell seen within seconds came
 * by the at-once path: the tab's own change pushed to the relay, the relay's push to its clients.
 * Tabs of both kinds: two from `grapevine/lite` (no membership) and one full node.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryLinkPair, createNode, dial, type GrapevineNode, type PresenceEvent, type Room } from "../../mod.ts";
import { serveRelay, type ServedRelay } from "../../relay/node.ts";
import { createNode as createLiteNode } from "../../src/lite/mod.ts";
import { nodeWebSocket } from "../../src/transport/ws-node.ts";
import { until } from "./helpers.ts";

const SLOW_ROUNDS = { intervalMs: 600_000 };
/** Far below a round (ten minutes), well above a loaded machine's hop through a relay. */
const SEEN_WITHIN_MS = 10_000;

const open: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

type State = { name: string; status?: string };

async function tab(relay: ServedRelay, network: string, name: string, lite: boolean): Promise<{ node: GrapevineNode; room: Room<State>; events: PresenceEvent<State>[] }> {
  const node = await (lite ? createLiteNode : createNode)({ network, ...SLOW_ROUNDS });
  open.push({ close: () => node.close() });
  dial(node, relay.url, { WebSocket: nodeWebSocket });
  const room = node.room<State>("doc", { presence: { name } });
  const events: PresenceEvent<State>[] = [];
  for (const type of ["sync", "join", "update", "leave"] as const) room.presence.on(type, (e) => events.push(e));
  return { node, room, events };
}

describe("a relay pushes what it takes in to its tabs at once", () => {
  it("join, update and farewell cross the relay within seconds while rounds are ten minutes apart", async () => {
    const network = `at-once-${process.pid}`;
    const relay = await serveRelay({ port: 0, network, ...SLOW_ROUNDS });
    open.push(relay);
    const a = await tab(relay, network, "ann", true);
    const b = await tab(relay, network, "bob", true);
    const c = await tab(relay, network, "cy", false);
    const names = (t: typeof a) => t.room.presence.others.map((o) => o.state.name).sort();
    await until(() => names(a).join() === "bob,cy" && names(b).join() === "ann,cy" && names(c).join() === "ann,bob", SEEN_WITHIN_MS, "everyone sees everyone");
    // Each room's first snapshot (`sync`): until then joins, updates and leaves fold into it.
    await until(() => [a, b, c].every((t) => t.events.some((e) => e.type === "sync")), SEEN_WITHIN_MS, "every room synced");

    const updatedAt = Date.now();
    a.room.presence.update({ status: "typing" });
    const status = (t: typeof a) => t.room.presence.others.find((o) => o.peer === a.node.id)?.state.status;
    await until(() => status(b) === "typing" && status(c) === "typing", SEEN_WITHIN_MS, "b and c see a's update");
    const updateMs = Date.now() - updatedAt;

    const closedAt = Date.now();
    await a.node.close();
    const left = (t: typeof a) => t.events.find((e) => e.type === "leave" && e.entry.peer === a.node.id);
    await until(() => !!left(b) && !!left(c), SEEN_WITHIN_MS, "b and c see a leave");
    for (const t of [b, c]) {
      const e = left(t)!;
      expect(e.type === "leave" ? e.reason : e.type).toBe("left");
    }
    const leaveMs = Date.now() - closedAt;
    console.log(JSON.stringify({ relay_at_once: { interval_ms: SLOW_ROUNDS.intervalMs, update_ms: updateMs, farewell_ms: leaveMs } }));
  }, 60_000);

  it("connect and adopt refuse a client flag that is not a boolean", async () => {
    const node = await createNode({ network: "at-once-flag" });
    open.push({ close: () => node.close() });
    const [a] = createMemoryLinkPair();
    await expect(node.connect(a, { client: "yes" as unknown as boolean })).rejects.toThrow(TypeError);
    expect(() => node.adopt(a, node.id, { client: 1 as unknown as boolean })).toThrow("adopt: client must be a boolean");
  });
});
