/**
 * The tx dashboard's page script (bundled by `grapevine demo-tx`, served at `/demo/tx-app.js`). The
 * tab joins the mesh as a peer (`peer.ts`) with its own mempool as the `tx` validator
 * (`../tx/flood.ts`), can sign and send transactions from a key of its own, and every 500 ms posts
 * its arrivals and mempool to `/demo/tx-state` and draws the answer: the wave of the latest (or a
 * chosen) transaction, the mempools, the latencies, and the hostile transactions.
 *
 * @module
 */

import { toBase64Url } from "../../src/bytes.ts";
import { createSignatureSuite } from "../../src/crypto/ed25519.ts";
import { generateKeyPair } from "../../src/crypto/keys.ts";
import { attachTx, type TxNode, wallClock } from "../tx/flood.ts";
import { signTx, txToWire } from "../tx/tx.ts";
import type { TxRecordSnapshot, TxSnapshot } from "../tx/tx-view.ts";
import { type BrowserPeer, startBrowserPeer } from "./peer.ts";
import { hostileTable, latencyPlot, latencyTable, poolBars, slowDown, txCaption, txChips, txTable, waveStrip, waveSvg } from "./tx-draw.ts";
import { escapeHtml, shortId } from "./view.ts";

interface PageConfig {
  network: string;
  intervalMs: number;
  relayId: string;
  capacity: number;
  nonceWindow: number;
}

const POLL_MS = 500;
/** In "follow" mode, a new wave is shown this often. */
const ADVANCE_MS = 2_500;
const config = JSON.parse(document.getElementById("config")?.textContent ?? "{}") as PageConfig;
const $ = (id: string) => document.getElementById(id)!;
const random = (n: number) => globalThis.crypto.getRandomValues(new Uint8Array(n));

let peer: BrowserPeer | null = null;
let tx: TxNode | null = null;
let peerProblem: string | null = null;
let signer: { suite: Awaited<ReturnType<typeof createSignatureSuite>>; account: ReturnType<typeof generateKeyPair>; nonce: number } | null = null;
let submitted: Record<string, unknown>[] = [];
/** Ids of the transactions this tab sent (also on `globalThis.grapevine.sent`, for tests). */
const sent: string[] = [];

/** The wave on screen: pinned by a click, or the latest complete one, changed every few seconds. */
let pinned: string | null = null;
let shown: TxRecordSnapshot | null = null;
let shownAt = 0;
let drawnKey = "";

async function start(): Promise<void> {
  try {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    peer = await startBrowserPeer(`${scheme}://${location.host}/`, { network: config.network, intervalMs: config.intervalMs });
    const suite = await createSignatureSuite({ subtle: globalThis.crypto?.subtle });
    tx = attachTx(peer.node, suite, { producer: config.relayId, capacity: config.capacity, nonceWindow: config.nonceWindow });
    signer = { suite, account: generateKeyPair(random), nonce: 0 };
    (globalThis as { grapevine?: unknown }).grapevine = { peer, tx, sent };
    addEventListener("pagehide", () => void peer?.close());
  } catch (e) {
    peerProblem = e instanceof Error ? e.message : String(e);
  }
  void poll();
}

function report(): Record<string, unknown> | null {
  if (!peer || !tx) return null;
  const out = {
    id: peer.node.id, name: `tab-${shortId(peer.node.id).slice(0, 4)}`, crypto: peer.crypto, peers: peer.node.peers(), pool: tx.pool(),
    arrivals: tx.takeArrivals().map(([id, t]) => [id, t]), submitted,
  };
  submitted = [];
  return out;
}

async function poll(): Promise<void> {
  try {
    const body = report();
    const response = await fetch("/demo/tx-state", body
      ? { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } }
      : { cache: "no-store" });
    render((await response.json()) as TxSnapshot);
    $("offline").hidden = true;
  } catch {
    $("offline").hidden = false;
  }
  setTimeout(() => void poll(), POLL_MS);
}

/** The transaction to show: the pinned one, else the newest complete one (a new one every few seconds). */
function choose(s: TxSnapshot): TxRecordSnapshot | null {
  const find = (id: string) => s.recent.find((t) => t.id === id) ?? s.hostile.find((t) => t.id === id) ?? null;
  if (pinned) return find(pinned) ?? (shown?.id === pinned ? shown : null);
  const fresh = shown ? find(shown.id) : null;
  if (fresh && Date.now() - shownAt < ADVANCE_MS) return fresh;
  const next = s.recent.find((t) => t.toAllMs !== null) ?? s.recent.find((t) => s.t - t.t > 1_000) ?? fresh;
  if (next && next.id !== shown?.id) shownAt = Date.now();
  return next;
}

function render(s: TxSnapshot): void {
  const self = peer?.node.id ?? null;
  shown = choose(s);
  const slow = slowDown(shown);
  $("chips").innerHTML = txChips(s);
  // Redrawn only when the picture changes, so that the replay animation runs once.
  const key = `${shown?.id} ${shown?.arrivals.length} ${shown?.verdict} ${s.members.map((m) => m.id).join()} ${s.edges.length}`;
  if (key !== drawnKey) {
    drawnKey = key;
    $("graph").innerHTML = waveSvg(s, shown, self, slow);
    $("strip").innerHTML = waveStrip(s, shown, slow);
  }
  $("caption").innerHTML = txCaption(s, shown, slow, pinned !== null);
  $("follow").hidden = pinned === null;
  $("pools").innerHTML = poolBars(s, self);
  $("lat-table").innerHTML = latencyTable(s);
  $("lat").innerHTML = latencyPlot(s);
  $("txs").innerHTML = txTable(s, shown?.id ?? null);
  $("hostile").innerHTML = hostileTable(s, shown?.id ?? null);
  renderYou(s, self);
}

function renderYou(s: TxSnapshot, self: string | null): void {
  const you = $("you");
  if (!peer || !tx || !self) {
    you.dataset.you = "no-peer";
    $("you-state").innerHTML = `This tab could not join: ${escapeHtml(peerProblem ?? "starting…")}`;
    return;
  }
  const me = s.members.find((m) => m.id === self);
  const pool = tx.pool();
  you.dataset.you = peer.dialer.connected && me ? "converged" : "joining";
  $("you-id").textContent = self;
  $("you-crypto").textContent = `Ed25519 via ${peer.crypto}`;
  $("you-state").textContent = peer.dialer.connected
    ? `Linked to the relay: ${me?.got ?? 0} transactions received, ${pool.size} pending in this tab's mempool (${pool.rejected} rejected, ${pool.ignored} ignored), block #${pool.height}.`
    : "Dialing the relay…";
}

async function send(): Promise<void> {
  if (!tx || !signer) return;
  const to = generateKeyPair(random).publicKey;
  const s = await signTx(signer.suite, signer.account, { to, amount: 1 + Math.floor(Math.random() * 100), fee: 1 + Math.floor(Math.random() * 100), nonce: signer.nonce });
  const at = wallClock();
  const { verdict } = await tx.submit(txToWire(s));
  if (verdict === "accept") signer.nonce++;
  submitted.push({ id: s.id, at, from: `tab ${toBase64Url(signer.account.publicKey).slice(0, 4)}`, to: toBase64Url(to).slice(0, 4), amount: s.tx.amount, fee: s.tx.fee, nonce: s.tx.nonce, verdict });
  sent.push(s.id);
  $("sent").textContent = `${sent.length} sent; the last one ${verdict === "accept" ? "is spreading" : `was ${verdict}ed by this tab`}`;
  pinned = s.id;
}

$("send").addEventListener("submit", (e) => {
  e.preventDefault();
  void send();
});
for (const id of ["txs", "hostile"]) {
  $(id).addEventListener("click", (e) => {
    const row = (e.target as Element).closest("tr[data-id]");
    if (row) pinned = (row as HTMLElement).dataset.id ?? null;
  });
}
$("follow").addEventListener("click", () => {
  pinned = null;
  shownAt = 0;
});

void start();
