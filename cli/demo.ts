/**
 * `grapevine demo`: a live mesh on this machine. It starts a relay on 127.0.0.1 and several peers,
 * each in its own `node` process (`demo/child.ts`), which dial the relay over WebSocket, write their
 * status, find each other through the mesh and link directly. Every peer reports what it holds, and
 * the demo shows the overlay converging: a progress line in the terminal and a dashboard served by
 * the relay at `http://127.0.0.1:PORT/`. Opening the dashboard makes the browser itself a peer.
 *
 * The peers also open documents (`demo/documents.ts`): each is a presence room, where a peer shows
 * up with a cursor that keeps moving, so the relay carries several rooms; the dashboard shows each
 * room's members and its traffic through the relay, and the `/presence` page lets a tab open one.
 *
 * With `json`, it runs headless: it waits for the first convergence, then has every peer update
 * its status at once and waits for that to spread, and resolves with a summary (see
 * {@link DemoSummary}); `durationS` bounds the whole run.
 *
 * @module
 */

import { performance } from "node:perf_hooks";
import { fromHex, toHex } from "../src/bytes.ts";
import { scopeIdOf } from "../src/core/scopes.ts";
import { nodeScript } from "./bundle.ts";
import { type HeadlessPage, openHeadless } from "./demo/browser.ts";
import { MeshView } from "./demo/mesh-view.ts";
import { type ChildMessage, type PeerProcess, serveDemoRelay, spawnPeer, stopPeers } from "./demo/processes.ts";
import { documentOfScope, documentsOfPeer, DOCUMENTS, roomScope } from "./demo/documents.ts";
import { readRoom, type RoomReading, RoomTraffic } from "./demo/room-traffic.ts";
import { demoRoutes } from "./demo/routes.ts";
import { type DemoStatus, statusCounter } from "./demo/status.ts";

/** Options of the demo. */
export interface DemoOptions {
  /** Peer processes. */
  peers: number;
  /** Seconds to run; `undefined`: until Ctrl-C (or, with `json`, until done). */
  durationS?: number;
  /** Headless: no progress line; resolve with the summary once the measurements are done. */
  json: boolean;
  /** Gossip interval of every member, ms. */
  intervalMs: number;
  /** Port of the relay and dashboard (0: a free one). */
  port: number;
  /** Direct links each peer process dials to other peers (0: a star round the relay). */
  links: number;
  /** Without `json`: a random peer updates its status this often, ms (0: never). */
  updateEveryMs?: number;
  /** Called once the relay listens (tests use it to open the dashboard). */
  onListening?: (demo: RunningDemo) => void;
  /** Ends the run when it aborts (as Ctrl-C does). */
  signal?: AbortSignal;
  /** No banner and no progress line (tests). */
  quiet?: boolean;
  /** Also open the dashboard in headless Chromium, so a browser joins as a peer. */
  browser?: boolean;
}

/** What the demo prints at the end (the one JSON line of `--json`). */
export interface DemoSummary {
  peers: number;
  runtimes: string[];
  converged: boolean;
  /** ms from the moment every peer had written its first status to the first full convergence. */
  ms_to_converge: number | null;
  /** ms for a status update written by every peer at once to reach every member (`--json` only). */
  ms_to_spread_update: number | null;
  /** ms from the demo's start (spawning processes included) to the first convergence. */
  ms_from_start: number | null;
  /** With `--browser`: the headless browser that joined, and ms from the page's load to a mesh converged with it. */
  browser: string | null;
  ms_browser_to_converge: number | null;
  members: number;
  links: number;
  direct_links: number;
  crypto: string[];
  interval_ms: number;
  relay: string;
  dashboard: string;
  frames: number;
  bytes: number;
  relay_frames_in: number;
  relay_frames_out: number;
  /** The rooms the relay carried at the end, by document name (or scope id), with their traffic through it. */
  rooms: { name: string; members: number; links: number; messages: number; messages_per_s: number }[];
  wall_ms: number;
}

/** A demo that is running. */
export interface RunningDemo {
  /** The dashboard, `http://127.0.0.1:PORT/`. */
  readonly dashboard: string;
  /** The relay's WebSocket URL. */
  readonly relayUrl: string;
  readonly relayId: string;
  readonly view: MeshView;
  /** ms since the demo started. */
  now(): number;
}

const NETWORK = "grapevine-demo";
const SAMPLE_MS = 250;

/** Runs the demo; resolves with its summary when it ends (duration, Ctrl-C, or measurements done). */
export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const started = performance.now();
  const now = () => Math.round(performance.now() - started);
  const view = new MeshView({ expectedPeers: o.peers });
  const { served, suite } = await serveDemoRelay({ network: NETWORK, port: o.port, intervalMs: o.intervalMs, peers: o.peers });
  const relay = served.relay;
  const dashboard = `http://127.0.0.1:${served.port}/`;
  const demo: RunningDemo = { dashboard, relayUrl: served.url, relayId: relay.id, view, now };

  const routes = demoRoutes({ network: NETWORK, intervalMs: o.intervalMs, relayUrl: served.url, view, now });
  const relayHandle = relay.handle.bind(relay);
  relay.handle = async (request) => (await routes(request)) ?? relayHandle(request);

  const processes: PeerProcess[] = [];
  // The relay is a member like any other: it writes a status and reports what it holds.
  view.join(now(), { id: relay.id, name: "relay", role: "relay", crypto: suite.backend, pid: process.pid });
  relay.node.subscribe((c) => {
    if (c.key !== "status" || c.local) return;
    const status = c.value as DemoStatus | undefined;
    if (c.deleted) {
      view.saw(relay.id, c.origin, null);
      if (view.has(c.origin) && !processes.some((p) => p.id === c.origin)) view.leave(c.origin); // a tab left
      return;
    }
    if (!view.has(c.origin) && status?.runtime === "browser") view.join(null, { id: c.origin, name: String(status.name).slice(0, 40), role: "browser" });
    view.saw(relay.id, c.origin, statusCounter(status));
  });
  const relayStatus: DemoStatus = { name: "relay", runtime: "relay", mood: "forwarding", n: 1 };
  relay.node.set("status", relayStatus);
  view.wrote(now(), relay.id, 1, { ...relayStatus });

  const onMessage = (p: PeerProcess, m: ChildMessage) => {
    const t = now();
    if (m.ev === "ready" && typeof m.id === "string") {
      p.id = m.id;
      view.join(t, { id: m.id, name: p.name, role: "node", crypto: String(m.crypto), pid: Number(m.pid) });
      return;
    }
    if (p.id === null) return;
    if (m.ev === "wrote") view.wrote(t, p.id, Number(m.n), m.status as Record<string, unknown>);
    else if (m.ev === "saw" && typeof m.origin === "string") view.saw(p.id, m.origin, m.n === null ? null : Number(m.n));
    else if (m.ev === "links" && Array.isArray(m.peers)) view.links(p.id, m.peers as string[]);
    else if (m.ev === "stats") view.stats(p.id, { framesOut: Number(m.framesOut), bytesOut: Number(m.bytesOut), framesIn: Number(m.framesIn), bytesIn: Number(m.bytesIn) });
  };

  let stopping = false;
  const script = await nodeScript("demo/child");
  for (let i = 1; i <= o.peers; i++) {
    const p = spawnPeer(`peer-${i}`, script, [
      "--relay", served.url, "--name", `peer-${i}`, "--network", NETWORK, "--interval", String(o.intervalMs), "--links", String(o.links),
      "--rooms", documentsOfPeer(i).join(","),
    ], onMessage);
    processes.push(p);
    void p.exited.then((code) => {
      if (p.id) view.leave(p.id);
      if (!stopping && !o.json && !o.quiet) process.stderr.write(`\n${p.name} exited (code ${code})\n`);
    });
  }

  if (!o.json && !o.quiet) printBanner(o, dashboard, served.url);
  o.onListening?.(demo);

  // Rooms the relay was asked to carry, by scope id: the ones carried now are read every sample.
  const heard = new Set<string>(DOCUMENTS.map((d) => toHexScope(roomScope(d))));
  relay.node.on("interest", (d) => void (d.wanted && heard.add(d.scope)));
  const traffic = new RoomTraffic();
  const sampleRooms = (t: number) => {
    const readings: RoomReading[] = [];
    for (const hex of heard) {
      const id = fromHex(hex);
      const r = relay.scopes.carries(id) ? readRoom(relay.node, id, hex, documentOfScope(hex) ?? null) : null;
      if (r) readings.push(r);
      else if (!documentOfScope(hex)) heard.delete(hex);
    }
    view.rooms(traffic.sample(t, readings));
  };

  // Sampling: the relay's own links and counters, its rooms, the fraction, the progress line.
  const progress = o.json || o.quiet ? null : new ProgressLine();
  const sampler = setInterval(() => {
    const t = now();
    sampleRooms(t);
    view.links(relay.id, relay.node.peers());
    const s = relay.node.engine.stats;
    view.stats(relay.id, { framesOut: s.framesOut, bytesOut: s.bytesOut, framesIn: s.framesIn, bytesIn: s.bytesIn });
    view.forgetSilentBrowsers(t, 30_000);
    view.sample(t);
    progress?.draw(view, t);
  }, SAMPLE_MS);

  const ended = waitForEnd(o);
  let updater: ReturnType<typeof setInterval> | null = null;
  if (!o.json && (o.updateEveryMs ?? 4_000) > 0) {
    updater = setInterval(() => {
      const live = processes.filter((p) => p.id !== null);
      if (view.convergedAt !== null && live.length) live[Math.floor(Math.random() * live.length)].command("update");
    }, o.updateEveryMs ?? 4_000);
  }

  let headless = null as HeadlessPage | null; // set by openBrowser()
  let browserOpenedAt = 0;
  let msBrowser: number | null = null;
  const openBrowser = async () => {
    headless = await openHeadless(dashboard);
    browserOpenedAt = now(); // the page has loaded: its peer is starting
  };
  const withBrowser = () => view.snapshot(now()).members.some((m) => m.role === "browser" && m.counted) && view.convergedNow(now());

  let msToSpread: number | null = null;
  if (o.json) {
    // Measure: the first convergence; then, with --browser, the browser's joining (opened only
    // now, so that launching it does not slow the first measurement down); then one update
    // written by every peer at once.
    const first = await until(() => view.convergedAt !== null, ended.signal);
    if (first && o.browser) {
      await openBrowser();
      if (await until(withBrowser, ended.signal)) msBrowser = now() - browserOpenedAt;
    }
    if (first && (!o.browser || msBrowser !== null)) {
      const before = processes.map((p) => (p.id ? view.latest(p.id) : 0));
      const at = now();
      for (const p of processes) p.command("update");
      const spread = () => processes.every((p, i) => p.id !== null && view.latest(p.id) > before[i]) && view.convergedNow(now());
      if (await until(spread, ended.signal)) msToSpread = now() - at;
      // Every room the relay carries measured with its cursors flowing (a room joined last may have
      // been sampled only once so far: no rate yet), within the run's time.
      await until(() => traffic.rows.length > 0 && traffic.rows.every((r) => r.messagesPerS > 0), ended.signal);
      await new Promise((r) => setTimeout(r, 300)); // the peers' last counters
    }
  } else {
    if (o.browser) {
      await openBrowser();
      void until(withBrowser, ended.signal).then((ok) => ok && (msBrowser = now() - browserOpenedAt));
    }
    await ended.promise;
  }

  stopping = true;
  ended.cancel();
  await headless?.close();
  clearInterval(sampler);
  if (updater) clearInterval(updater);
  progress?.end();
  const snapshot = view.snapshot(now());
  const roles = new Map(snapshot.members.map((m) => [m.id, m.role]));
  const summary: DemoSummary = {
    peers: o.peers,
    runtimes: [...new Set(snapshot.members.filter((m) => m.role !== "relay").map((m) => (m.role === "browser" ? "browser" : "node")))].sort(),
    converged: view.convergedAt !== null,
    ms_to_converge: view.msToConverge,
    ms_to_spread_update: msToSpread,
    ms_from_start: view.convergedAt,
    browser: headless?.version ?? null,
    ms_browser_to_converge: msBrowser,
    members: snapshot.members.length,
    links: snapshot.edges.length,
    direct_links: snapshot.edges.filter(([a, b]) => roles.get(a) !== "relay" && roles.get(b) !== "relay").length,
    crypto: [...new Set(snapshot.members.map((m) => m.crypto).filter((c): c is string => typeof c === "string"))].sort(),
    interval_ms: o.intervalMs,
    relay: served.url,
    dashboard,
    frames: snapshot.totals.framesOut,
    bytes: snapshot.totals.bytesOut,
    relay_frames_in: relay.counters.framesIn,
    relay_frames_out: relay.counters.framesOut,
    rooms: view.snapshot(now()).rooms.map((r) => ({
      name: r.name ?? r.scope, members: r.members, links: r.links, messages: r.delivered, messages_per_s: r.messagesPerS,
    })),
    wall_ms: 0,
  };
  await stopPeers(processes);
  await served.close();
  summary.wall_ms = now();
  return summary;
}

function toHexScope(name: string): string {
  return toHex(scopeIdOf(name));
}

/** The end of the run: `durationS` elapsed, or Ctrl-C. */
export function waitForEnd(o: Pick<DemoOptions, "durationS" | "json" | "signal">): { promise: Promise<void>; signal: AbortSignal; cancel(): void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  const seconds = o.durationS ?? (o.json ? 20 : undefined);
  const timer = seconds === undefined ? null : setTimeout(stop, seconds * 1000);
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  if (o.signal?.aborted) stop();
  o.signal?.addEventListener("abort", stop, { once: true });
  const promise = new Promise<void>((resolve) => controller.signal.addEventListener("abort", () => resolve(), { once: true }));
  return {
    promise,
    signal: controller.signal,
    cancel() {
      if (timer) clearTimeout(timer);
      process.removeListener("SIGINT", stop);
      process.removeListener("SIGTERM", stop);
      o.signal?.removeEventListener("abort", stop);
    },
  };
}

/** Resolves true once `condition()` holds (checked every 20 ms), false if `signal` aborts first. */
export async function until(condition: () => boolean, signal: AbortSignal): Promise<boolean> {
  while (!signal.aborted) {
    if (condition()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

function printBanner(o: DemoOptions, dashboard: string, relayUrl: string): void {
  const until = o.durationS === undefined ? "Ctrl-C to stop" : `runs for ${o.durationS} s (Ctrl-C stops it sooner)`;
  process.stdout.write([
    `grapevine demo — a relay and ${o.peers} peer processes on this machine, gossiping every ${o.intervalMs} ms`,
    `  dashboard  ${dashboard}   ← open it: your browser joins the mesh as a peer`,
    `  presence   ${new URL("/presence", dashboard).href}   ← open it in several tabs: avatars and live cursors`,
    `  relay      ${relayUrl}   (also /healthz, /metrics, /demo/state)`,
    `  ${until}`,
    "",
  ].join("\n"));
}

/**
 * The terminal's progress line: redrawn in place on a TTY; elsewhere (a log file) printed only when
 * the membership, the links or the first convergence change.
 */
class ProgressLine {
  #tty = process.stdout.isTTY === true;
  #lastKey = "";

  draw(view: MeshView, t: number): void {
    const s = view.snapshot(t);
    const f = s.pairs === 0 ? 0 : s.fresh / s.pairs;
    const width = 24;
    const full = Math.floor(f * width);
    const conv = s.converged ? "converged " : "converging";
    const first = s.msToConverge === null ? "" : ` · first convergence ${s.msToConverge} ms`;
    const line = `  [${"#".repeat(full)}${".".repeat(width - full)}] ${String(Math.floor(f * 100)).padStart(3)}% ${conv} · ${s.members.length} members · ${s.edges.length} links${first} · ${s.totals.framesOut} frames`;
    if (this.#tty) {
      process.stdout.write(`\r${line}\x1b[K`);
      return;
    }
    const key = `${s.members.length} ${s.edges.length} ${s.msToConverge !== null}`;
    if (key === this.#lastKey) return;
    this.#lastKey = key;
    process.stdout.write(`${line}\n`);
  }

  end(): void {
    if (this.#tty) process.stdout.write("\n");
  }
}
