/**
 * A stress run, skipped unless GRAPEVINE_STRESS=1 (it takes minutes): tabs in headless Chromium,
 * each CPU-throttled ×6 (a loaded machine), join a room through a Node relay and are closed one
 * after another; a Node peer records how each one leaves. A closed tab must leave — with reason
 * `left` when its farewell gets through, else `timeout` after the room's timeout — and the run
 * prints how many farewells were lost and what failure detection thought of those tabs when they
 * closed.
 *
 * What it showed (2 cores shared, load average 12–14; runs of 15, 25, 20 and 25 tabs): 1, 1, 1 and
 * 3 farewells lost, every other tab leaving with `left` within 0.9 s, every lost one with `timeout`
 * within the bound. Of the lost tabs whose view was recorded, four were held suspect or dead at
 * incarnation 0 by the relay when they closed, one alive: failure detection had suspected a slow
 * tab. A suspected node refutes with a new incarnation, which makes its pre-signed farewell stale,
 * so leaving must sign one again, asynchronously, and a closing page is gone before that
 * signature exists (a tab held dead has lost its link to the relay as well).
 *
 * Run: GRAPEVINE_STRESS=1 npx vitest run test/presence/farewell-stress.test.ts
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createNode, dial, type PresenceEvent } from "../../mod.ts";
import { serveRelay } from "../../relay/node.ts";
import { nodeWebSocket } from "../../src/transport/ws-node.ts";
import { chromium, launchChromium, serveBundledPage } from "../runtimes/browser-test.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const FAST = { intervalMs: 200, probeIntervalMs: 250, probeTimeoutMs: 120, memberGossipIntervalMs: 50 };
const TABS = Number(process.env.GRAPEVINE_STRESS_TABS ?? 20);
const TIMEOUT_MS = 3000;
/** A lost farewell: the room's timeout after suspicion, which itself takes a few probe periods. */
const LEAVE_BOUND_MS = TIMEOUT_MS + 7000;

describe("farewells of closing tabs under load", () => {
  it.runIf(process.env.GRAPEVINE_STRESS === "1" && !!chromium)(`${TABS} throttled tabs closed: each leaves, left or timeout within ${LEAVE_BOUND_MS} ms`, async () => {
    const network = `farewell-${process.pid}`;
    const relay = await serveRelay({ port: 0, network, ...FAST });
    const served = await serveBundledPage(join(ROOT, "test/presence/page.ts"), "farewell");
    const peer = await createNode({ network, ...FAST });
    const dialer = dial(peer, relay.url, { WebSocket: nodeWebSocket });
    const watch = peer.room("lobby", { presence: { name: "watcher" }, timeoutMs: TIMEOUT_MS });
    const events: { at: number; e: PresenceEvent }[] = [];
    for (const t of ["join", "leave"] as const) watch.presence.on(t, (e) => events.push({ at: Date.now(), e }));
    const browser = await launchChromium();
    const results: { ms: number; reason: string; heldAtClose: string }[] = [];
    try {
      for (let i = 0; i < TABS; i++) {
        const page = await browser.context.newPage();
        const cdp = await browser.context.newCDPSession(page);
        await cdp.send("Emulation.setCPUThrottlingRate", { rate: 6 });
        await page.goto(served.url);
        await page.waitForFunction(`typeof globalThis.pv === "object"`, null, { timeout: 20_000 });
        const id = await page.evaluate((o) => (globalThis as unknown as { pv: { start(x: unknown): Promise<string> } }).pv.start(o), {
          url: relay.url, network, name: `tab-${i}`, timeoutMs: TIMEOUT_MS, fast: FAST,
        });
        const joined = Date.now();
        while (!events.some(({ e }) => e.type === "join" && e.entry.peer === id)) {
          if (Date.now() - joined > 15_000) throw new Error(`tab ${i} never joined`);
          await new Promise((r) => setTimeout(r, 20));
        }
        await new Promise((r) => setTimeout(r, 300 + ((i * 211) % 700)));
        const member = relay.relay.node.members().find((m) => m.id === id);
        const heldAtClose = `${member?.state} at incarnation ${member?.incarnation}`;
        const closed = Date.now();
        await page.close();
        let leave;
        while (!(leave = events.find(({ e }) => e.type === "leave" && e.entry.peer === id))) {
          if (Date.now() - closed > LEAVE_BOUND_MS) throw new Error(`tab ${i} did not leave within ${LEAVE_BOUND_MS} ms`);
          await new Promise((r) => setTimeout(r, 20));
        }
        results.push({ ms: leave.at - closed, reason: leave.e.type === "leave" ? leave.e.reason : "?", heldAtClose });
      }
    } finally {
      await browser.close();
      dialer.close();
      await peer.close({ leave: false });
      await served.close();
      await relay.close();
    }
    const lost = results.filter((r) => r.reason !== "left");
    console.log(JSON.stringify({ farewell_stress: { tabs: TABS, lost: lost.length, lost_held_at_close: lost.map((r) => r.heldAtClose), left_ms_max: Math.max(...results.filter((r) => r.reason === "left").map((r) => r.ms)) } }));
    for (const r of results) expect(["left", "timeout"]).toContain(r.reason);
  }, 900_000);
});
