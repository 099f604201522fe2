/**
 * Presence in real runtimes: two pages in headless Chromium (Debian's, via playwright-core; never a
 * downloaded browser) and a Node peer in its own process, all in one room through a Node relay
 * (`serveRelay`) on 127.0.0.1:
 *
 * - a join is seen within 2 s; an update within 1 s;
 * - a page that is closed leaves with reason `left` within 2 s (its `pagehide` farewell), a page
 *   from `grapevine/lite` (no membership, so no `left` claim) as well, five closes in five;
 * - the Node peer, killed with SIGKILL (no farewell), leaves with reason `timeout` after the
 *   configured timeout and within a second of it;
 * - a page whose timers run once a minute (Chromium's intensive throttling of hidden tabs,
 *   emulated) is not dropped in 65 s, though the others' timeout is 3 s: it still answers probes
 *   the moment they arrive, so failure detection never suspects it.
 *
 * Every wait is bounded. Without Chromium the tests are skipped, unless GRAPEVINE_REQUIRE_BROWSER=1.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveRelay, type ServedRelay } from "../../relay/node.ts";
import { chromium, launchChromium, required, serveBundledPage, why } from "../runtimes/browser-test.ts";
import { until } from "../helpers/until.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
/** Fast protocol timing, the same on every peer. */
const FAST = { intervalMs: 200, probeIntervalMs: 250, probeTimeoutMs: 120, memberGossipIntervalMs: 50 };
const TIMEOUT_MS = 3000;

type Event = { type: string; peer: string | null; reason: string | null; state: unknown; at: number };

let served: { url: string; close(): Promise<void> } | null = null;
let peerScript = "";
let browser: { context: BrowserContext; close(): Promise<void> } | null = null;
const errors: string[] = [];

beforeAll(async () => {
  if (!chromium) return;
  served = await serveBundledPage(join(ROOT, "test/presence/page.ts"), "presence");
  // The Node peer, bundled next to node_modules so its package imports (ws) resolve.
  const dir = join(ROOT, "node_modules/.cache/grapevine-test");
  mkdirSync(dir, { recursive: true });
  peerScript = join(dir, `presence-peer-${process.pid}.mjs`);
  const peer = await build({
    entryPoints: [join(ROOT, "test/presence/peer.ts")],
    bundle: true, format: "esm", platform: "node", target: "node20", packages: "external", write: false, logLevel: "error",
  });
  writeFileSync(peerScript, peer.outputFiles[0].text);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (peerScript) rmSync(peerScript, { force: true });
  await served?.close();
});

async function openPage(): Promise<Page> {
  const page = await browser!.context.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(served!.url);
  await page.waitForFunction(`typeof globalThis.pv === "object"`, null, { timeout: 20_000 });
  return page;
}

/** Calls `window.pv[name](...args)` in the page. */
function call<T>(page: Page, name: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(([n, a]) => (globalThis as unknown as { pv: Record<string, (...x: unknown[]) => unknown> }).pv[n as string](...(a as unknown[])), [name, args] as const) as Promise<T>;
}

/** Starts the Node peer process; resolves with its id and the process. */
function startPeer(served: ServedRelay, network: string): Promise<{ id: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [peerScript, served.url, network, String(TIMEOUT_MS), JSON.stringify(FAST)], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let buffered = "";
    child.stdout!.on("data", (d: Buffer) => {
      buffered += d.toString();
      const line = buffered.split("\n").find((l) => l.startsWith('{"id"'));
      if (line) resolve({ id: JSON.parse(line).id, child });
    });
    child.once("exit", (code) => reject(new Error(`peer exited with ${code}`)));
  });
}

describe("presence in Chromium and Node through a relay", () => {
  it.runIf(!chromium && required)("needs chromium", () => {
    expect.fail(why);
  });

  it.skipIf(!chromium)(`join, update, close, kill and a throttled tab${chromium ? "" : ` — skipped: ${why}`}`, async () => {
    const network = `presence-${process.pid}`;
    const served = await serveRelay({ port: 0, network, ...FAST });
    let peer: ChildProcess | null = null;
    try {
      const a = await openPage();
      const ida = await call<string>(a, "start", { url: served.url, network, name: "ann", timeoutMs: TIMEOUT_MS, fast: FAST });
      await until(async () => (await call<Event[]>(a, "events")).some((e) => e.type === "sync"), 10_000, "page a synced");

      // A join within 2 s.
      const b = await openPage();
      const joinedAt = Date.now();
      const idb = await call<string>(b, "start", { url: served.url, network, name: "bob", timeoutMs: TIMEOUT_MS, fast: FAST });
      const joinMs = await until(async () => (await call<Event[]>(a, "events")).some((e) => e.type === "join" && e.peer === idb), 2000, "a sees b join");
      expect((await call<{ peer: string; state: unknown; reach: string }[]>(a, "others")).find((o) => o.peer === idb)).toMatchObject({ state: { name: "bob" }, reach: "mesh" });

      // An update within 1 s, as an update (not a leave and a join).
      await until(async () => (await call<Event[]>(b, "events")).some((e) => e.type === "sync"), 5000, "page b synced");
      const sent = await call<number>(b, "update", { cursor: 7 });
      const updateMs = await until(async () => (await call<Event[]>(a, "events")).some((e) => e.type === "update" && e.peer === idb), 1000, "a sees b's update");
      expect((await call<Event[]>(a, "events")).filter((e) => e.peer === idb).map((e) => e.type)).toEqual(["join", "update"]);
      void sent;

      // The Node peer joins; both pages see it.
      const started = await startPeer(served, network);
      peer = started.child;
      await until(async () => (await call<Event[]>(a, "events")).some((e) => e.type === "join" && e.peer === started.id), 5000, "a sees the node peer");
      await until(async () => (await call<Event[]>(b, "events")).some((e) => e.type === "join" && e.peer === started.id), 5000, "b sees the node peer");

      // Killed: no farewell. It leaves with reason timeout, after the timeout and soon after it.
      const killedAt = Date.now();
      peer.kill("SIGKILL");
      peer = null;
      await until(async () => (await call<Event[]>(a, "events")).some((e) => e.type === "leave" && e.peer === started.id), TIMEOUT_MS + 5000, "a sees the node peer leave");
      const killLeave = (await call<Event[]>(a, "events")).find((e) => e.type === "leave" && e.peer === started.id)!;
      expect(killLeave.reason).toBe("timeout");
      const killMs = killLeave.at - killedAt;
      expect(killMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(killMs).toBeLessThan(TIMEOUT_MS + 1500);

      // A throttled tab (timers once a minute) stays present for 65 s under a 3 s timeout.
      await call(b, "throttle");
      const throttledAt = Date.now();
      while (Date.now() - throttledAt < 65_000) {
        await new Promise((r) => setTimeout(r, 1000));
        expect((await call<Event[]>(a, "events")).filter((e) => e.peer === idb && e.type === "leave"), "b dropped while throttled").toEqual([]);
      }
      expect((await call<{ peer: string }[]>(a, "others")).map((o) => o.peer)).toContain(idb);
      const throttledAwareness = await call<number>(b, "awareness");

      // Closing the page: it leaves with reason left within 2 s.
      const closedAt = Date.now();
      await b.close();
      await until(async () => (await call<Event[]>(a, "events")).some((e) => e.type === "leave" && e.peer === idb), 2000, "a sees b leave");
      const closeLeave = (await call<Event[]>(a, "events")).find((e) => e.type === "leave" && e.peer === idb)!;
      expect(closeLeave.reason).toBe("left");
      const closeMs = closeLeave.at - closedAt;
      expect(errors).toEqual([]);
      console.log(JSON.stringify({ presence_browser: { join_ms: joinMs, update_ms: updateMs, kill_to_timeout_leave_ms: killMs, timeout_ms: TIMEOUT_MS, close_to_left_ms: closeMs, throttled_tab_awareness: throttledAwareness, a: ida.slice(0, 8) } }));
      await a.close();
    } finally {
      peer?.kill("SIGKILL");
      await served.close();
    }
  }, 180_000);

  it.skipIf(!chromium)(`lite tabs (no membership): a closed one leaves with reason left, five times in a row${chromium ? "" : ` — skipped: ${why}`}`, async () => {
    // A tab without membership has no signed `left` claim: its room's farewell root must be
    // signed ahead, or the page is gone before that signature exists and others wait for the
    // timeout (what happened before: three closes in five in a Vite build; here, the first close).
    const network = `presence-lite-${process.pid}`;
    const served = await serveRelay({ port: 0, network });
    try {
      const a = await openPage();
      await call<string>(a, "start", { url: served.url, network, name: "ann", timeoutMs: TIMEOUT_MS, fast: {}, lite: true });
      // a's first snapshot first: while a room catches up after its link comes up, joins and
      // leaves are folded into that snapshot rather than emitted, so a tab that came and went in
      // that window would give a neither event (under load, a's link can come up after b0's entry
      // reached the relay, and b0's farewell land before a's snapshot: no `leave` ever).
      await until(async () => (await call<Event[]>(a, "events")).some((e) => e.type === "sync"), 10_000, "a's first snapshot");
      const closeMs: number[] = [];
      const present = async (id: string) => (await call<{ peer: string }[]>(a, "others")).some((o) => o.peer === id);
      for (let i = 0; i < 5; i++) {
        const b = await openPage();
        const idb = await call<string>(b, "start", { url: served.url, network, name: `bob${i}`, timeoutMs: TIMEOUT_MS, fast: {}, lite: true });
        await until(() => present(idb), 5000, `a sees b${i}`);
        const closedAt = Date.now();
        await b.close({ runBeforeUnload: true });
        await until(async () => (await call<Event[]>(a, "events")).some((e) => e.type === "leave" && e.peer === idb), TIMEOUT_MS + 3000, `a sees b${i} leave`);
        const leave = (await call<Event[]>(a, "events")).find((e) => e.type === "leave" && e.peer === idb)!;
        expect(leave.reason, `close ${i}`).toBe("left");
        closeMs.push(leave.at - closedAt);
      }
      expect(Math.max(...closeMs)).toBeLessThan(2000);
      expect(errors).toEqual([]);
      console.log(JSON.stringify({ presence_browser_lite: { close_to_left_ms: closeMs } }));
      await a.close();
    } finally {
      await served.close();
    }
  }, 120_000);
});
