/**
 * The demo's dashboard in headless Chromium (Debian's, via playwright-core; never a downloaded
 * browser): opening the page makes the tab a peer — it dials the relay with the browser's own
 * WebSocket and WebCrypto, writes its status, and the whole mesh, tab included, converges; the
 * page's rooms table lists the documents the peers opened, each with traffic through the relay.
 * Without Chromium the test is skipped, unless GRAPEVINE_REQUIRE_BROWSER=1 (CI), where it fails.
 */
import { describe, expect, it } from "vitest";
import { type DemoSummary, runDemo, type RunningDemo } from "../../cli/demo.ts";
import { chromium, launchChromium, required, why } from "../runtimes/browser-test.ts";

describe("demo dashboard in Chromium", () => {
  it.runIf(!chromium && required)("needs chromium", () => {
    expect.fail(why);
  });

  it.skipIf(!chromium)(`the page makes the browser a peer, and the mesh converges with it${chromium ? "" : ` — skipped: ${why}`}`, async () => {
    const stop = new AbortController();
    let onListening!: (demo: RunningDemo) => void;
    const listening = new Promise<RunningDemo>((resolve) => (onListening = resolve));
    const finished: Promise<DemoSummary> = runDemo({
      peers: 3, port: 0, intervalMs: 150, links: 1, json: false, quiet: true, durationS: 50, signal: stop.signal, onListening,
    });
    const demo = await Promise.race([listening, finished.then(() => Promise.reject(new Error("the demo ended before it listened")))]);
    const browser = await launchChromium();
    const errors: string[] = [];
    try {
      const page = await browser.context.newPage();
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(demo.dashboard);
      await page.waitForSelector('#you[data-you="converged"]', { timeout: 30_000 });
      const tab = await page.evaluate(() => (globalThis as unknown as { grapevine: { peer: { node: { id: string }; crypto: string } } }).grapevine.peer.node.id);
      // The relay's own view: the tab is a member, counted, linked to the relay, and everyone holds its status.
      const s = demo.view.snapshot(demo.now());
      const me = s.members.find((m) => m.id === tab);
      expect(me, JSON.stringify(s.members.map((m) => [m.name, m.role]))).toMatchObject({ role: "browser", counted: true });
      expect(s.members.find((m) => m.role === "relay")?.peers).toContain(tab);
      expect(s.members.filter((m) => m.counted).length).toBe(5); // relay, 3 processes, the tab
      expect(await page.locator("#graph svg .member").count()).toBe(5);
      // The peers keep writing (status, cursors), so the mesh's chip is "converging" for a moment
      // after each write: it must show "converged" again, not at the instant this line runs.
      // (The wait is the check: it throws if the chip never says so within 30 s.)
      await page.waitForFunction(() => /converged/.test(document.querySelector("#chips")?.textContent ?? ""), undefined, { timeout: 30_000 });
      // Rooms through the relay: the peers' documents (peers 1-3: doc-1, doc-2, doc-3 + doc-4), one
      // member each, every one with cursor messages a second through the relay.
      await page.waitForFunction(() => {
        const rows = Array.from(document.querySelectorAll("#rooms tr[data-room]"));
        return rows.length === 4 && rows.every((r) => Number(r.querySelector(".msgs")?.textContent) > 0);
      }, null, { timeout: 15_000 });
      const rooms = await page.$$eval("#rooms tr[data-room]", (rows) => rows.map((r) => [r.getAttribute("data-room"), r.children[1].textContent]));
      expect(rooms).toEqual([["doc-1", "1"], ["doc-2", "1"], ["doc-3", "1"], ["doc-4", "1"]]);
      const relayRooms = demo.view.snapshot(demo.now()).rooms;
      expect(relayRooms.map((r) => r.name)).toEqual(["doc-1", "doc-2", "doc-3", "doc-4"]);
      for (const r of relayRooms) expect(r.delivered, JSON.stringify(r)).toBeGreaterThan(0);
    } finally {
      await browser.close();
      stop.abort();
    }
    const summary = await finished;
    expect(summary.converged).toBe(true);
    expect(summary.runtimes).toEqual(["browser", "node"]);
    expect(errors).toEqual([]);
  }, 60_000);

  it.skipIf(!chromium)(`--json --browser: the headless run includes a browser peer${chromium ? "" : ` — skipped: ${why}`}`, async () => {
    const summary = await runDemo({ peers: 3, port: 0, intervalMs: 150, links: 1, json: true, browser: true, durationS: 50 });
    expect(summary).toMatchObject({ runtimes: ["browser", "node"], converged: true, members: 5 });
    expect(summary.browser).toMatch(/^chromium /);
    expect(summary.ms_browser_to_converge).toBeGreaterThanOrEqual(0);
    expect(summary.ms_to_spread_update).toBeGreaterThanOrEqual(0);
  }, 60_000);
});
