/**
 * The tx dashboard's HTML shell, served by `grapevine demo-tx` at `/tx`: the mesh dashboard's style
 * plus the wave, mempool and latency pieces. The page script is `tx-app.ts` (`/demo/tx-app.js`).
 *
 * @module
 */

import { STYLE } from "./page.ts";
import { escapeHtml } from "./view.ts";

/** What the page needs to know before it can join. */
export interface TxPageOptions {
  network: string;
  intervalMs: number;
  relayUrl: string;
  /** The block producer's id: the tab's block validator trusts it alone. */
  relayId: string;
  capacity: number;
  nonceWindow: number;
  scriptProblem: string | null;
}

const TX_STYLE = `
main.tx { grid-template-columns: minmax(360px, 560px) minmax(420px, 1fr); }
header a { font-size: 13px; }
.edge.hostile { stroke: #fca5a5; stroke-dasharray: 5 4; }
.entry { fill: none; stroke: #0f172a; stroke-width: 3; }
.entry.bad { stroke: #dc2626; }
.lit { animation: lit .3s ease-out both; }
.ripple { fill: none; stroke-width: 3; opacity: 0; animation: ripple .9s ease-out forwards; }
.sub.bad, .bad { fill: #b91c1c; color: #b91c1c; font-weight: 600; }
@keyframes lit { from { opacity: 0; } to { opacity: 1; } }
@keyframes ripple { from { r: 21px; opacity: .9; } to { r: 44px; opacity: 0; } }
.member .lit, .tick { opacity: 0; }
.tick { animation: lit .3s ease-out both; }
.tick-label { font-size: 10px; fill: var(--muted); }
#strip svg { width: 100%; height: auto; display: block; margin-top: 4px; }
#caption { font-size: 13px; margin: 6px 0 0; min-height: 38px; }
#follow { margin-left: 8px; padding: 2px 10px; border: 1px solid var(--line); border-radius: 6px; background: #fff; font: inherit; font-size: 12px; cursor: pointer; }
#follow[hidden] { display: none; }
tr.pick { cursor: pointer; } tr.pick:hover td { background: #f8fafc; } tr.sel td { background: #fef9c3; }
td.bar { width: 40%; min-width: 120px; }
.bar-bg { height: 10px; border-radius: 5px; background: #f1f5f9; overflow: hidden; }
.bar-fill { height: 100%; background: #60a5fa; transition: width .4s; }
.bar-fill.full { background: #f59e0b; }
#lat svg { width: 100%; height: 190px; display: block; }
.lat { fill: none; stroke-width: 2; vector-effect: non-scaling-stroke; }
.lat.p50 { stroke: #16a34a; } .lat.p99 { stroke: #f59e0b; } .lat.all99 { stroke: #dc2626; }
#send { display: flex; gap: 8px; align-items: center; margin-top: 8px; }
#send button { padding: 6px 12px; border: 0; border-radius: 6px; background: #2563eb; color: #fff; font: inherit; cursor: pointer; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
@media (max-width: 1100px) { .cols { grid-template-columns: 1fr; } }
`;

/** The tx dashboard page. */
export function txDashboardHtml(o: TxPageOptions): string {
  const config = JSON.stringify({ network: o.network, intervalMs: o.intervalMs, relayId: o.relayId, capacity: o.capacity, nonceWindow: o.nonceWindow }).replace(/</g, "\\u003c");
  const script = o.scriptProblem === null ? `<script type="module" src="/demo/tx-app.js"></script>` : "";
  const problem = o.scriptProblem === null
    ? ""
    : `<div class="card wide"><h2>No live view</h2><p>${escapeHtml(o.scriptProblem)}</p><p>The demo is running: see <a href="/demo/tx-state">/demo/tx-state</a>.</p></div>`;
  const swatch = (c: string, t: string) => `<span><span class="dot" style="background:${c}"></span>${t}</span>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Grapevine · transaction flooding</title><style>${STYLE}${TX_STYLE}</style>
<script type="application/json" id="config">${config}</script></head>
<body>
<header><h1>Grapevine · transaction flooding</h1><span class="relay">network ${escapeHtml(o.network)} · relay ${escapeHtml(o.relayUrl)} · <a href="/">mesh view</a></span><div id="chips"></div></header>
<main class="tx">
${problem}
<section class="card"><h2>Propagation wave<button id="follow" hidden>follow the latest</button></h2><div id="graph"></div><div id="strip"></div>
<p id="caption"></p>
<div class="legend">${swatch("#475569", "relay (block producer)")}${swatch("#16a34a", "Node process")}${swatch("#2563eb", "browser tab")}${swatch("#dc2626", "hostile node")}${swatch("#cbd5e1", "not reached yet")}</div>
<p class="note">Each transaction is submitted through one node (ringed) and floods the mesh; nodes light up in the order it reached them, slowed down so the wave is visible. Click a transaction below to replay it.</p></section>
<div class="right">
<section class="card" id="you" data-you="starting"><h2>This tab is a peer</h2>
<div id="you-id"></div><div id="you-crypto" class="muted"></div><div id="you-state">Starting…</div>
<form id="send"><button>Send a transaction from this tab</button><span class="muted" id="sent"></span></form>
<p class="note">The tab checks every transaction with its own mempool before taking it; its own transactions are signed by a key made in this tab.</p></section>
<section class="card"><h2>Mempools</h2><div id="pools"></div>
<p class="note">Blocks from the relay confirm each account's nonces every second, and every mempool drops what they confirm. A full pool evicts its lowest fee for a higher one.</p></section>
<section class="card"><h2>Latency</h2><div id="lat-table"></div></section>
</div>
<section class="card wide"><h2>Latency per second — <span style="color:#16a34a">p50</span> and <span style="color:#f59e0b">p99</span> to each node, <span style="color:#dc2626">p99 to all nodes</span></h2><div id="lat"></div></section>
<div class="wide cols">
<section class="card"><h2>Recent transactions</h2><div id="txs"></div></section>
<section class="card"><h2>Hostile transactions — stopped at the first hop</h2><div id="hostile"></div></section>
</div>
</main>
<div id="offline" hidden>The demo is not answering.</div>
${script}
</body></html>`;
}
