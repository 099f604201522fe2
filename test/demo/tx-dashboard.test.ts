/**
 * The tx demo's dashboard (`/tx`) in headless Chromium (Debian's, via playwright-core; never a
 * downloaded browser): the tab joins the mesh with its own mempool, draws the wave of a
 * transaction, the mempools and the latencies, lists the hostile transactions stopped at their
 * first hop, and a transaction sent from the tab reaches every node. A screenshot is written to
 * `$GRAPEVINE_SCREENSHOT_DIR` (default: the system's temporary directory) and checked to be a
 * real page. Without Chromium the test is skipped, unless GRAPEVINE_REQUIRE_BROWSER=1 (CI).
 */
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type DemoTxSummary, runDemoTx, type RunningDemoTx } from "../../cli/demo-tx.ts";
import { until } from "../relay/helpers.ts";
import { chromium, launchChromium, required, why } from "../runtimes/browser-test.ts";

const SCREENSHOT = join(process.env.GRAPEVINE_SCREENSHOT_DIR ?? tmpdir(), "grapevine-tx-dashboard.png");

describe("tx dashboard in Chromium", () => {
  it.runIf(!chromium && required)("needs chromium", () => {
    expect.fail(why);
  });

  it.skipIf(!chromium)(`the tab is a peer with a mempool; waves, mempools, latencies and hostile transactions are drawn${chromium ? "" : ` — skipped: ${why}`}`, async () => {
    const stop = new AbortController();
    let onListening!: (demo: RunningDemoTx) => void;
    const listening = new Promise<RunningDemoTx>((resolve) => (onListening = resolve));
    const finished: Promise<DemoTxSummary> = runDemoTx({
      peers: 3, port: 0, intervalMs: 150, links: 1, rate: 20, capacity: 1000, json: false, quiet: true, durationS: 55, signal: stop.signal, onListening,
    });
    const early = finished.then(() => Promise.reject(new Error("the demo ended too early")));
    const demo = await Promise.race([listening, early]);
    const browser = await launchChromium();
    const errors: string[] = [];
    try {
      await Promise.race([demo.loading, early]);
      const page = await browser.context.newPage();
      await page.setViewportSize({ width: 1400, height: 1500 });
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(demo.dashboard);
      await page.waitForSelector('#you[data-you="converged"]', { timeout: 20_000 });
      const tab = await page.evaluate(() => (globalThis as unknown as { grapevine: { peer: { node: { id: string } } } }).grapevine.peer.node.id);
      const snap = () => demo.view.snapshot(performance.timeOrigin + performance.now());
      // The relay's view: the tab is a member with a mempool, and receives the flood.
      await until(() => (snap().members.find((m) => m.id === tab)?.got ?? 0) > 5, 20_000, "the tab receives transactions");
      expect(snap().members.find((m) => m.id === tab)).toMatchObject({ role: "browser", counted: false, pool: { capacity: 1000 } });

      // A transaction sent from the tab reaches the relay and the three peer processes.
      await page.click("#send button");
      const sentId = await page.waitForFunction(() => (globalThis as unknown as { grapevine: { sent: string[] } }).grapevine.sent[0]).then((h) => h.jsonValue() as Promise<string>);
      await until(() => {
        const t = demo.view.find(sentId);
        return t !== null && t.entry === tab && t.expected === 4 && t.reached === 4;
      }, 15_000, "the tab's transaction reaches every node");
      // It is pinned: after its replay, every node it reached (the tab too) is lit.
      await page.waitForTimeout(2_500);
      expect(await page.locator("#graph svg circle.lit").count()).toBe(5);
      expect(await page.textContent("#caption")).toMatch(/submitted through tab-.*all 4 nodes in/);

      // Hostile transactions: the first forged one comes 5 s into the load, rejected by its first hop.
      await page.waitForSelector("#hostile tr.pick", { timeout: 15_000 });
      expect(await page.textContent("#hostile")).toMatch(/forged signature.*rejected by peer-\d/);
      expect(snap().totals.hostileDeliveries).toBe(0);

      expect(await page.locator("#graph svg .member").count()).toBe(6); // relay, 3 processes, the tab, the hostile node
      expect(await page.locator("#pools tbody tr").count()).toBe(5); // every mempool but the hostile node's
      expect(await page.textContent("#chips")).toMatch(/delivered/);
      expect(await page.locator("#lat svg polyline").count()).toBeGreaterThan(0);
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      const png = readFileSync(SCREENSHOT);
      expect(png.subarray(1, 4).toString()).toBe("PNG");
      // Width from the IHDR chunk: the 1400-px viewport, or a pixel more when some content overflows
      // it by a rounding (a full-page screenshot takes the page's scroll width; CI saw 1,401 once).
      expect(png.readUInt32BE(16)).toBeGreaterThanOrEqual(1400);
      expect(png.readUInt32BE(16)).toBeLessThanOrEqual(1404);
      expect(png.length).toBeGreaterThan(50_000); // a drawn page, not a blank one
      console.log(`tx dashboard screenshot: ${SCREENSHOT}`);
    } finally {
      await browser.close();
      stop.abort();
    }
    const summary = await finished;
    expect(summary.converged).toBe(true);
    expect(summary.hostile.deliveries).toBe(0);
    expect(errors).toEqual([]);
  }, 60_000);
});
