/**
 * A browser peer for the presence test (bundled by esbuild, served on 127.0.0.1, driven by
 * browser.test.ts through `window.pv`): a node (the main entry's, or with `lite` one from
 * `grapevine/lite` with no parts) dialed to the relay with the page's WebSocket, one room, and a log
 * of the room's presence events with the time each arrived.
 *
 * `throttle()` makes the page behave like a hidden tab under Chromium's intensive throttling: from
 * then on every timer (setTimeout, setInterval) fires only at the next whole minute. Socket events
 * still arrive at once, as they do in a hidden tab.
 */
import { createNode, dial, type GrapevineNode, type Room } from "../../mod.ts";
import { createNode as createLiteNode } from "../../src/lite/mod.ts";

let node: GrapevineNode;
let room: Room<Record<string, unknown>>;
const log: { type: string; peer: string | null; reason: string | null; state: unknown; at: number }[] = [];

const pv = {
  async start(o: { url: string; network: string; name: string; timeoutMs: number; fast: Record<string, number>; lite?: boolean }): Promise<string> {
    node = await (o.lite ? createLiteNode : createNode)({ network: o.network, ...o.fast });
    dial(node, o.url);
    room = node.room("lobby", { presence: { name: o.name }, timeoutMs: o.timeoutMs, throttleMs: 50 });
    for (const type of ["sync", "join", "update", "leave"] as const) {
      room.presence.on(type, (d) => {
        const entry = d.type === "sync" ? null : d.entry;
        log.push({ type, peer: entry?.peer ?? null, reason: d.type === "leave" ? d.reason : null, state: entry?.state ?? null, at: Date.now() });
      });
    }
    // A closing page says farewell synchronously: its farewells signed ahead (the `left` claim;
    // the room's and the mesh-wide map's farewell roots) go out at once.
    addEventListener("pagehide", () => void node.close());
    return node.id;
  },
  others(): { peer: string; user: string; state: unknown; reach: string }[] {
    return room.presence.others.map((e) => ({ peer: e.peer, user: e.user, state: e.state, reach: e.reach }));
  },
  events(): typeof log {
    return log;
  },
  update(patch: Record<string, unknown>): number {
    room.presence.update(patch);
    return Date.now();
  },
  awareness(): number {
    return node.engine.membership!.awareness;
  },
  throttle(): void {
    const realTimeout = globalThis.setTimeout;
    const nextMinute = () => 60_000 - (Date.now() % 60_000);
    // deno-lint-ignore no-explicit-any
    (globalThis as any).setTimeout = (fn: () => void, ms = 0, ...args: unknown[]) => realTimeout(fn, Math.max(ms, nextMinute()), ...args);
    // deno-lint-ignore no-explicit-any
    (globalThis as any).setInterval = (fn: () => void, ms = 0) => {
      const tick = () => {
        fn();
        realTimeout(tick, Math.max(ms, nextMinute()));
      };
      return realTimeout(tick, Math.max(ms, nextMinute()));
    };
  },
};

(globalThis as unknown as { pv: typeof pv }).pv = pv;
