/**
 * The dashboard page's script (bundled by the demo with esbuild, served at `/demo/app.js`). It
 * makes the tab itself a peer — a node with the browser's WebCrypto, dialed to the relay that
 * served the page — writes the tab's status, and every 500 ms posts what the tab holds to
 * `/demo/state` and draws the answer: the graph, the members, the rooms through the relay, the
 * convergence plot.
 *
 * @module
 */

import type { MeshSnapshot } from "../demo/mesh-view.ts";
import { type DemoStatus, nextMood, statusCounter } from "../demo/status.ts";
import { type BrowserPeer, startBrowserPeer } from "./peer.ts";
import { convergencePlot, escapeHtml, graphSvg, membersTable, roomsTable, shortId, summaryChips } from "./view.ts";

interface PageConfig {
  network: string;
  intervalMs: number;
}

const POLL_MS = 500;
const config = JSON.parse(document.getElementById("config")?.textContent ?? "{}") as PageConfig;
const $ = (id: string) => document.getElementById(id)!;

let peer: BrowserPeer | null = null;
let peerProblem: string | null = null;
let status: DemoStatus | null = null;

async function start(): Promise<void> {
  try {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    peer = await startBrowserPeer(`${scheme}://${location.host}/`, { network: config.network, intervalMs: config.intervalMs });
    (globalThis as { grapevine?: unknown }).grapevine = { peer };
    write("");
    addEventListener("pagehide", () => void peer?.close());
  } catch (e) {
    peerProblem = e instanceof Error ? e.message : String(e);
  }
  void poll();
}

function write(text: string): void {
  if (!peer) return;
  status = { name: `tab-${shortId(peer.node.id).slice(0, 4)}`, runtime: "browser", mood: nextMood(status?.mood), n: (status?.n ?? 0) + 1, text };
  peer.node.set("status", status);
}

/** What this tab holds, for the demo to count. */
function report(): Record<string, unknown> | null {
  if (!peer || !status) return null;
  const node = peer.node;
  const knows: Record<string, number> = {};
  for (const origin of node.origins()) {
    if (origin === node.id) continue;
    const n = statusCounter(node.get("status", origin));
    if (n > 0) knows[origin] = n;
  }
  const s = node.engine.stats;
  return {
    id: node.id, name: status.name, crypto: peer.crypto, n: status.n, status, knows, peers: node.peers(),
    stats: { framesOut: s.framesOut, bytesOut: s.bytesOut, framesIn: s.framesIn, bytesIn: s.bytesIn },
  };
}

async function poll(): Promise<void> {
  try {
    const body = report();
    const response = await fetch("/demo/state", body
      ? { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } }
      : { cache: "no-store" });
    render((await response.json()) as MeshSnapshot);
    $("offline").hidden = true;
  } catch {
    $("offline").hidden = false; // the demo has ended, or is restarting
  }
  setTimeout(() => void poll(), POLL_MS);
}

function render(s: MeshSnapshot): void {
  const self = peer?.node.id ?? null;
  $("chips").innerHTML = summaryChips(s);
  $("graph").innerHTML = graphSvg(s, self);
  $("members").innerHTML = membersTable(s, self);
  $("rooms").innerHTML = roomsTable(s);
  $("plot").innerHTML = convergencePlot(s);
  renderYou(s, self);
}

function renderYou(s: MeshSnapshot, self: string | null): void {
  const you = $("you");
  if (!peer || !self) {
    you.dataset.you = "no-peer";
    $("you-state").innerHTML = `This tab could not join: ${escapeHtml(peerProblem ?? "starting…")}`;
    return;
  }
  const me = s.members.find((m) => m.id === self);
  const counted = s.members.filter((m) => m.counted).length;
  let state: string;
  let text: string;
  if (!peer.dialer.connected) {
    state = "offline";
    text = "Dialing the relay…";
  } else if (!me || !me.counted) {
    state = "joining";
    text = "Linked to the relay; waiting for the mesh to hear of this tab…";
  } else if (s.converged) {
    state = "converged";
    text = `Converged: this tab holds all ${counted} members' newest statuses, and they all hold this tab's.`;
  } else {
    state = "converging";
    text = `Converging: this tab holds ${me.fresh} of ${counted} members' newest statuses.`;
  }
  you.dataset.you = state;
  $("you-id").textContent = self;
  $("you-crypto").textContent = `Ed25519 via ${peer.crypto}`;
  $("you-state").textContent = text;
}

$("say").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = $("say-text") as HTMLInputElement;
  write(input.value.slice(0, 80));
  input.value = "";
});

void start();
