/**
 * The dashboard's HTML shell and style, served by the demo at `/`. The drawing is done by the page
 * script (`app.ts`, bundled at `/demo/app.js`); without esbuild the page says so and points at the
 * JSON endpoint instead.
 *
 * @module
 */

import { escapeHtml } from "./view.ts";

/** What the page needs to know before it can join. */
export interface PageOptions {
  network: string;
  intervalMs: number;
  relayUrl: string;
  /** Why there is no page script, if there is none. */
  scriptProblem: string | null;
}

/** The dashboard's style sheet (the tx view, `tx-page.ts`, adds to it). */
export const STYLE = `
:root { color-scheme: light; --ink: #0f172a; --muted: #64748b; --line: #e2e8f0; --ok: #15803d; --warn: #b45309; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f1f5f9; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 16px; padding: 14px 24px; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { margin: 0; font-size: 20px; }
header .relay { color: var(--muted); font-family: ui-monospace, monospace; font-size: 12px; }
#chips { display: flex; flex-wrap: wrap; gap: 6px; margin-left: auto; }
.chip { padding: 2px 10px; border-radius: 999px; background: #f1f5f9; border: 1px solid var(--line); font-size: 13px; white-space: nowrap; }
.chip.ok { background: #dcfce7; border-color: #86efac; color: var(--ok); font-weight: 600; }
.chip.warn { background: #fef3c7; border-color: #fcd34d; color: var(--warn); font-weight: 600; }
main { display: grid; grid-template-columns: minmax(360px, 540px) minmax(420px, 1fr); gap: 16px; padding: 16px 24px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px; min-width: 0; }
.card h2 { margin: 0 0 8px; font-size: 13px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
.wide { grid-column: 1 / -1; }
.right { display: flex; flex-direction: column; gap: 16px; min-width: 0; }
#graph svg { width: 100%; height: auto; display: block; }
.edge { stroke: #cbd5e1; stroke-width: 1.5; }
.edge.direct { fill: none; stroke: #86a3c3; stroke-width: 2; }
.ring-bg { fill: none; stroke: #e2e8f0; stroke-width: 4; }
.ring { fill: none; stroke-width: 4; stroke-linecap: round; }
.ring.full { stroke: #22c55e; } .ring.partial { stroke: #f59e0b; }
.halo { fill: #dbeafe; stroke: #93c5fd; stroke-width: 1.5; }
.glyph { fill: #fff; font-size: 13px; font-weight: 700; text-anchor: middle; }
.label { font-size: 12px; font-weight: 600; text-anchor: middle; fill: var(--ink); paint-order: stroke; stroke: #fff; stroke-width: 3px; }
.sub { font-size: 11px; text-anchor: middle; fill: var(--muted); paint-order: stroke; stroke: #fff; stroke-width: 3px; }
.legend { display: flex; gap: 14px; flex-wrap: wrap; color: var(--muted); font-size: 12px; margin-top: 4px; }
.dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 6px; vertical-align: -1px; }
.swatch { display: inline-block; width: 18px; height: 0; border-top: 2px solid; margin-right: 6px; vertical-align: 3px; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
td:nth-child(4) { white-space: normal; }
tr.you td { background: #eff6ff; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.mono, #you-id { font-family: ui-monospace, monospace; font-size: 12px; }
.muted { color: var(--muted); }
.ok { color: var(--ok); font-weight: 600; } .warn { color: var(--warn); font-weight: 600; }
#you { border-left: 4px solid #94a3b8; }
#you[data-you="converged"] { border-left-color: #22c55e; }
#you[data-you="converging"], #you[data-you="joining"] { border-left-color: #f59e0b; }
#you-id { color: var(--muted); word-break: break-all; }
#you-state { margin: 6px 0 8px; font-weight: 600; }
#say { display: flex; gap: 8px; }
#say input { flex: 1; padding: 6px 8px; border: 1px solid var(--line); border-radius: 6px; font: inherit; }
#say button { padding: 6px 12px; border: 0; border-radius: 6px; background: #2563eb; color: #fff; font: inherit; cursor: pointer; }
#plot svg { width: 100%; height: 170px; display: block; }
.grid { stroke: #e2e8f0; stroke-width: 1; }
.axis { fill: var(--muted); font-size: 11px; }
.plot { fill: none; stroke: #16a34a; stroke-width: 2; vector-effect: non-scaling-stroke; }
.area { fill: #dcfce7; opacity: .7; }
#offline { position: fixed; bottom: 16px; right: 16px; padding: 8px 14px; background: #fee2e2; color: #991b1b; border-radius: 8px; }
.note { color: var(--muted); font-size: 12px; margin: 6px 0 0; }
@media (max-width: 980px) { main { grid-template-columns: 1fr; } }
`;

/** The dashboard page. */
export function dashboardHtml(o: PageOptions): string {
  const config = JSON.stringify({ network: o.network, intervalMs: o.intervalMs }).replace(/</g, "\\u003c");
  const script = o.scriptProblem === null
    ? `<script type="module" src="/demo/app.js"></script>`
    : "";
  const problem = o.scriptProblem === null
    ? ""
    : `<div class="card wide"><h2>No live view</h2><p>${escapeHtml(o.scriptProblem)}</p><p>The mesh is running: see <a href="/demo/state">/demo/state</a>, <a href="/healthz">/healthz</a> and <a href="/metrics">/metrics</a>.</p></div>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Grapevine demo</title><style>${STYLE}</style>
<script type="application/json" id="config">${config}</script></head>
<body>
<header><h1>Grapevine · live mesh</h1><span class="relay">network ${escapeHtml(o.network)} · relay ${escapeHtml(o.relayUrl)}</span><div id="chips"></div></header>
<main>
${problem}
<section class="card"><h2>Overlay</h2><div id="graph"></div>
<div class="legend"><span><span class="dot" style="background:#475569"></span>relay</span><span><span class="dot" style="background:#16a34a"></span>Node process</span><span><span class="dot" style="background:#2563eb"></span>browser tab</span><span><span class="swatch" style="border-color:#86a3c3"></span>direct link</span><span><span class="swatch" style="border-color:#cbd5e1"></span>link to the relay</span></div>
<p class="note">The ring round each member fills as it learns the others' newest status: green when it holds them all.</p></section>
<div class="right">
<section class="card" id="you" data-you="starting"><h2>This tab is a peer</h2>
<div id="you-id"></div><div id="you-crypto" class="muted"></div><div id="you-state">Starting…</div>
<form id="say"><input id="say-text" maxlength="80" placeholder="Say something: it spreads to every peer" autocomplete="off"><button>Update status</button></form>
<p class="note">Open this page in more tabs: each one joins the mesh.</p></section>
<section class="card"><h2>Members</h2><div id="members"></div></section>
<section class="card"><h2>Rooms through the relay</h2><div id="rooms"></div>
<p class="note">Each document is a room, a swarm of its own: the relay carries the rooms its clients opened, and a member receives only its rooms' traffic. Open one at <a href="/presence">/presence</a>.</p></section>
</div>
<section class="card wide"><h2>Convergence — share of (holder, owner) pairs where the holder has the owner's newest status</h2><div id="plot"></div></section>
</main>
<div id="offline" hidden>The demo is not answering.</div>
${script}
</body></html>`;
}
