/**
 * `grapevine/react` in headless Chromium (Debian's, via playwright-core), under StrictMode with
 * React's development build, against a Node relay and a Node peer in this process:
 *
 * - mounting opens the room twice (StrictMode's mount, unmount, mount), yet the page writes its
 *   presence key once and never deletes it, and the peer sees one join and no leave;
 * - the hooks show the peer (`useOthers`, `useUsers`), an idle room renders nothing more, a typed
 *   name reaches the peer as an update (`usePresence`), cursors go both ways (`useBroadcast`);
 * - selectors (`useOthers` with `shallow`, `useOther`): a component re-renders only when what it
 *   picked changed (a color change does not re-render the names, a rename not the color);
 * - `useNode` under StrictMode closes the first mount's node and keeps the second, which the peer
 *   sees join once and leave on unmount;
 * - unmounting leaves (reason `left`) and mounting again joins.
 *
 * Every wait is bounded. Without Chromium the test is skipped, unless GRAPEVINE_REQUIRE_BROWSER=1.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { createNode, dial, type PresenceEvent } from "../../mod.ts";
import { serveRelay } from "../../relay/node.ts";
import { nodeWebSocket } from "../../src/transport/ws-node.ts";
import { chromium, launchChromium, required, serveBundledPage, why } from "../runtimes/browser-test.ts";
import type { Me } from "../../cli/presence/react-app.ts";
import { until } from "../helpers/until.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const FAST = { intervalMs: 200, probeIntervalMs: 250, probeTimeoutMs: 120, memberGossipIntervalMs: 50 };

function rv<T>(page: Page, name: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(([n, a]) => (globalThis as unknown as { rv: Record<string, (...x: unknown[]) => unknown> }).rv[n as string](...(a as unknown[])), [name, args] as const) as Promise<T>;
}

describe("grapevine/react in Chromium under StrictMode", () => {
  it.runIf(!chromium && required)("needs chromium", () => {
    expect.fail(why);
  });

  it.skipIf(!chromium)(`mount without a spurious leave, hooks, unmount and remount${chromium ? "" : ` — skipped: ${why}`}`, async () => {
    const network = `react-${process.pid}`;
    const room = "react-test";
    const relay = await serveRelay({ port: 0, network, ...FAST });
    const served = await serveBundledPage(join(ROOT, "test/react/page.ts"), "react", { define: { "process.env.NODE_ENV": '"development"' } });
    const peer = await createNode({ network, ...FAST });
    const dialer = dial(peer, relay.url, { WebSocket: nodeWebSocket });
    const browser = await launchChromium();
    const errors: string[] = [];
    try {
      const watch = peer.room<Me>(room, { presence: { name: "watcher", color: "#000000" } });
      const events: { at: number; e: PresenceEvent<Me> }[] = [];
      for (const type of ["sync", "join", "update", "leave"] as const) watch.presence.on(type, (e) => events.push({ at: Date.now(), e }));
      const cursors: { peer: string; x: number }[] = [];
      watch.subscribe<{ x: number; y: number }>("cursor", (m) => cursors.push({ peer: m.peer, x: m.payload.x }));
      await until(() => events.some(({ e }) => e.type === "sync"), 10_000, "peer synced");

      const page = await browser.context.newPage();
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("console", (m) => void (m.type() === "error" && errors.push(m.text())));
      await page.goto(served.url);
      await page.waitForFunction(`typeof globalThis.rv === "object"`, null, { timeout: 20_000 });
      const id = await rv<string>(page, "start", { url: relay.url, network, room, name: "reacty", fast: FAST });
      const ofPage = () => events.filter(({ e }) => e.type !== "sync" && e.entry.peer === id).map(({ e }) => e);
      const ofAll = () => events.map(({ e }) => e).filter((e) => e.type !== "sync");

      // StrictMode opened the room twice; the peer sees one join, and no leave even a while later.
      await until(() => ofPage().some((e) => e.type === "join"), 10_000, "peer sees the page join");
      expect(await rv<number>(page, "opens")).toBe(2);
      expect(await rv<{ set: number; deleted: number }>(page, "writes")).toEqual({ set: 1, deleted: 0 }); // one member throughout
      await page.waitForFunction(() => document.querySelectorAll("#avatars .avatar").length === 2, null, { timeout: 10_000 });
      expect(await page.textContent("#status")).toBe("2 tabs here");
      await new Promise((r) => setTimeout(r, 1500));
      expect(ofPage().map((e) => e.type)).toEqual(["join"]);

      // An idle room renders nothing: the snapshots keep their identity.
      const before = await rv<number>(page, "renders");
      await new Promise((r) => setTimeout(r, 1000));
      expect(await rv<number>(page, "renders")).toBe(before);

      // usePresence: a typed name reaches the peer as an update.
      await page.fill("#name", "renamed");
      await until(() => ofPage().some((e) => e.type === "update" && e.entry.state.name === "renamed"), 5000, "peer sees the new name");
      expect(ofPage().some((e) => e.type === "leave")).toBe(false);

      // useBroadcast, both ways: the peer's cursor is drawn; the page's pointer reaches the peer.
      watch.broadcast("cursor", { x: 0.5, y: 0.5 });
      await page.waitForSelector(`#board .cursor[data-peer="${peer.id}"]`, { timeout: 5000 });
      await page.mouse.move(100, 200);
      await page.mouse.move(300, 250, { steps: 5 });
      await until(() => cursors.some((c) => c.peer === id), 5000, "peer receives the page's cursor");

      // Selectors: a component re-renders only when what it picked changed.
      await rv(page, "mountProbe", peer.id);
      const probe = () => rv<{ all: number; names: number; color: number; seen: { names: string[]; color: string | null } }>(page, "probe");
      await until(async () => (await probe()).seen.color === "#000000", 5000, "probe sees the peer");
      await new Promise((r) => setTimeout(r, 300));
      const p0 = await probe();
      expect(p0.seen.names).toEqual(["watcher"]);
      watch.presence.update({ color: "#ff0000" });
      await until(async () => (await probe()).seen.color === "#ff0000", 5000, "probe sees the new color");
      await new Promise((r) => setTimeout(r, 300));
      const p1 = await probe();
      expect(p1.all).toBeGreaterThan(p0.all); // every change re-renders the plain hook
      expect(p1.names).toBe(p0.names); // the names did not change
      watch.presence.update({ name: "watcher2" });
      await until(async () => (await probe()).seen.names[0] === "watcher2", 5000, "probe sees the new name");
      await new Promise((r) => setTimeout(r, 300));
      const p2 = await probe();
      expect(p2.names).toBeGreaterThan(p1.names);
      expect(p2.color).toBe(p1.color); // the color did not change
      await rv(page, "unmountProbe");

      // useNode under StrictMode: the first mount's node is closed once it exists, the second
      // kept; the peer sees one member of its own node, which leaves on unmount.
      await rv(page, "mountOwnNode", { url: relay.url, network, room, fast: FAST });
      await until(async () => (await rv<{ id: string; closed: boolean }[]>(page, "made")).some((m) => !m.closed && ofAll().some((e) => e.type === "join" && e.entry.peer === m.id)), 10_000, "the peer sees the own node join");
      await new Promise((r) => setTimeout(r, 500));
      const made = await rv<{ id: string; closed: boolean }[]>(page, "made");
      expect(made.length).toBe(2); // StrictMode ran the effect twice
      expect(made.map((m) => m.closed)).toEqual([true, false]);
      expect(ofAll().filter((e) => e.type === "join" && made.some((m) => m.id === e.entry.peer)).map((e) => e.type === "join" && e.entry.peer)).toEqual([made[1].id]);
      await rv(page, "unmountOwnNode");
      await until(async () => (await rv<{ closed: boolean }[]>(page, "made"))[1].closed, 5000, "the own node closes on unmount");
      await until(() => ofAll().some((e) => e.type === "leave" && e.entry.peer === made[1].id), 5000, "the peer sees the own node leave");

      // Unmounting leaves (reason left); mounting again joins.
      const unmountedAt = Date.now();
      await rv(page, "unmount");
      await until(() => ofPage().some((e) => e.type === "leave"), 3000, "peer sees the unmount as a leave");
      const leave = ofPage().find((e) => e.type === "leave")!;
      expect(leave).toMatchObject({ type: "leave", reason: "left" });
      const leaveMs = events.find(({ e }) => e === leave)!.at - unmountedAt;
      expect((await rv<{ deleted: number }>(page, "writes")).deleted).toBe(1);
      await rv(page, "mount");
      await until(() => ofPage().filter((e) => e.type === "join").length === 2, 5000, "peer sees the remount join");
      await page.waitForFunction(() => document.querySelectorAll("#avatars .avatar").length === 2, null, { timeout: 10_000 });
      expect(ofPage().map((e) => e.type)).toEqual(["join", "update", "leave", "join"]);
      expect(errors).toEqual([]);
      console.log(JSON.stringify({ react_strictmode: { opens_on_mount: 2, unmount_to_leave_ms: leaveMs } }));
    } finally {
      await browser.close();
      dialer.close();
      await peer.close({ leave: false });
      await served.close();
      await relay.close();
    }
  }, 90_000);
});
