/**
 * Drawing the tx dashboard (`/tx`): pure functions from a `/demo/tx-state` snapshot to SVG and HTML
 * strings, like `view.ts` for the mesh dashboard (whose colours, arcs and escaping it reuses).
 *
 * The propagation wave of one transaction is replayed in slow motion: each node lights up after
 * its arrival time multiplied by a slow-down factor (CSS animation delays), so a wave of a few
 * milliseconds takes about a second and a half on screen.
 *
 * @module
 */

import type { TxMemberSnapshot, TxRecordSnapshot, TxSnapshot } from "../tx/tx-view.ts";
import { arc, escapeHtml, ROLE_COLOURS } from "./view.ts";

export const TX_ROLE_COLOURS: Readonly<Record<TxMemberSnapshot["role"], string>> = Object.freeze({ ...ROLE_COLOURS, hostile: "#dc2626" });
const GLYPH: Record<TxMemberSnapshot["role"], string> = { relay: "R", node: "N", browser: "B", hostile: "!" };
/** Screen time a replayed wave should take, ms. */
const REPLAY_MS = 1_500;

const f1 = (v: number) => v.toFixed(1);

/** Slow-down factor for replaying `tx`'s wave in about {@link REPLAY_MS}. */
export function slowDown(tx: TxRecordSnapshot | null): number {
  const last = tx?.arrivals.length ? tx.arrivals[tx.arrivals.length - 1][1] : 0;
  return Math.min(1_000, Math.max(5, Math.round(REPLAY_MS / Math.max(1, last))));
}

/** The relay in the middle, peers and tabs on a circle, the hostile node in a corner. */
function layout(members: TxMemberSnapshot[], w: number, h: number, cx: number, cy: number, r: number): Map<string, [number, number]> {
  const ring = members.filter((m) => m.role === "node" || m.role === "browser");
  const at = new Map<string, [number, number]>();
  ring.forEach((m, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, ring.length);
    at.set(m.id, [cx + r * Math.cos(angle), cy + r * Math.sin(angle)]);
  });
  let corner = 0;
  for (const m of members) {
    if (m.role === "relay") at.set(m.id, [cx, cy]);
    if (m.role === "hostile") at.set(m.id, [w - 42 - 70 * corner++, h - 70]);
  }
  return at;
}

/** Which member a transaction is "at" for the dashboard: its entry's name. */
export function memberName(s: TxSnapshot, id: string): string {
  return s.members.find((m) => m.id === id)?.name ?? id.slice(0, 6);
}

/** The graph with `tx`'s wave: nodes light up in arrival order, slowed down by `slow`. */
export function waveSvg(s: TxSnapshot, tx: TxRecordSnapshot | null, self: string | null, slow: number): string {
  const w = 520;
  const h = 450;
  const [cx, cy] = [w / 2, 205];
  const at = layout(s.members, w, h, cx, cy, 160);
  const roles = new Map(s.members.map((m) => [m.id, m.role]));
  const arrivals = new Map(tx?.arrivals ?? []);
  const hostileTx = tx !== null && tx.kind !== "valid";
  const parts: string[] = [`<svg viewBox="0 0 ${w} ${h}" role="img" aria-label="a transaction's propagation">`];
  const isDirect = ([a, b]: [string, string]) => roles.get(a) !== "relay" && roles.get(b) !== "relay";
  for (const edge of [...s.edges.filter((e) => !isDirect(e)), ...s.edges.filter(isDirect)]) {
    const pa = at.get(edge[0]);
    const pb = at.get(edge[1]);
    if (!pa || !pb) continue;
    const bad = roles.get(edge[0]) === "hostile" || roles.get(edge[1]) === "hostile";
    if (isDirect(edge)) parts.push(`<path d="${arc(pa, pb, [cx, cy])}" class="edge direct"/>`);
    else parts.push(`<line x1="${f1(pa[0])}" y1="${f1(pa[1])}" x2="${f1(pb[0])}" y2="${f1(pb[1])}" class="edge${bad ? " hostile" : ""}"/>`);
  }
  for (const m of s.members) {
    const p = at.get(m.id);
    if (!p) continue;
    const [x, y] = [f1(p[0]), f1(p[1])];
    const a = arrivals.get(m.id);
    const entry = tx?.entry === m.id;
    const you = m.id === self;
    const delay = a === undefined ? 0 : Math.round(a * slow);
    const style = `style="animation-delay:${delay}ms"`;
    parts.push(`<g class="member${you ? " you" : ""}" data-id="${escapeHtml(m.id)}"><title>${escapeHtml(`${m.name} (${m.role}) ${m.id}`)}</title>`);
    if (you) parts.push(`<circle cx="${x}" cy="${y}" r="33" class="halo"/>`);
    const colour = TX_ROLE_COLOURS[m.role];
    if (a !== undefined) parts.push(`<circle cx="${x}" cy="${y}" r="22" class="ripple" stroke="${colour}" ${style}/>`);
    if (entry) parts.push(`<circle cx="${x}" cy="${y}" r="27" class="entry${hostileTx ? " bad" : ""}"/>`);
    // With a transaction shown, nodes are grey until it reaches them; the hostile node stays red.
    parts.push(`<circle cx="${x}" cy="${y}" r="21" fill="${!tx || m.role === "hostile" ? colour : "#cbd5e1"}"/>`);
    if (tx && a !== undefined && m.role !== "hostile") parts.push(`<circle cx="${x}" cy="${y}" r="21" fill="${colour}" class="lit" ${style}/>`);
    parts.push(`<text x="${x}" y="${f1(p[1] + 4)}" class="glyph">${GLYPH[m.role]}</text>`);
    parts.push(`<text x="${x}" y="${f1(p[1] + 42)}" class="label">${escapeHtml(you ? `${m.name} (you)` : m.name)}</text>`);
    let sub = "";
    if (tx && entry && hostileTx) sub = tx.verdict === null ? "sent…" : tx.verdict === "accept" ? "accepted?!" : `✗ ${tx.verdict}ed`;
    else if (tx && a !== undefined) sub = entry ? "entry" : `+${a < 10 ? a.toFixed(1) : Math.round(a)} ms`;
    else if (tx && m.role === "hostile" && tx.kind === "pushed" && tx.entry === m.id) sub = "pushed";
    else if (tx && hostileTx && tx.kind === "pushed" && m.role === "relay") sub = tx.verdict === "reject" ? "✗ rejected" : "";
    else if (tx && !hostileTx && m.counted) sub = "…";
    if (sub) parts.push(`<text x="${x}" y="${f1(p[1] + 55)}" class="sub${sub.startsWith("✗") ? " bad" : ""}${a !== undefined ? " lit" : ""}" ${a !== undefined ? style : ""}>${escapeHtml(sub)}</text>`);
    parts.push("</g>");
  }
  parts.push("</svg>");
  return parts.join("");
}

/** The wave on a time axis: one mark per node at its arrival (same slow-motion delays). */
export function waveStrip(s: TxSnapshot, tx: TxRecordSnapshot | null, slow: number): string {
  const w = 520;
  const h = 74;
  const [left, right] = [14, 14];
  if (!tx || tx.kind !== "valid" || tx.arrivals.length === 0) {
    return `<svg viewBox="0 0 ${w} ${h}"><text x="${w / 2}" y="${h / 2}" class="axis" text-anchor="middle">${tx ? "stopped at its first hop: no wave" : "waiting for a transaction…"}</text></svg>`;
  }
  const last = Math.max(tx.toAllMs ?? 0, tx.arrivals[tx.arrivals.length - 1][1], 1);
  const span = niceCeil(last);
  const x = (ms: number) => left + (ms / span) * (w - left - right);
  const parts = [`<svg viewBox="0 0 ${w} ${h}" role="img" aria-label="arrival times">`];
  parts.push(`<line x1="${left}" x2="${w - right}" y1="34" y2="34" class="grid"/>`);
  for (let i = 0; i <= 4; i++) {
    const ms = (span * i) / 4;
    parts.push(`<text x="${f1(x(ms))}" y="${h - 6}" class="axis" text-anchor="${i === 0 ? "start" : i === 4 ? "end" : "middle"}">${ms < 10 && ms > 0 ? ms.toFixed(1) : Math.round(ms)} ms</text>`);
  }
  const names = new Map(s.members.map((m) => [m.id, m]));
  tx.arrivals.forEach(([id, ms], i) => {
    const m = names.get(id);
    const colour = m ? TX_ROLE_COLOURS[m.role] : "#94a3b8";
    const px = f1(x(ms));
    parts.push(`<g class="tick" style="animation-delay:${Math.round(ms * slow)}ms"><circle cx="${px}" cy="34" r="6" fill="${colour}"/>`
      + `<text x="${px}" y="${i % 2 ? 52 : 22}" class="tick-label" text-anchor="middle">${escapeHtml(m?.name ?? id.slice(0, 6))}</text></g>`);
  });
  parts.push("</svg>");
  return parts.join("");
}

/** The smallest of 1, 2, 2.5, 5 × 10^k at or above `v`. */
export function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function ms(v: number | null): string {
  return v === null ? "—" : v < 10 ? v.toFixed(1) : String(Math.round(v));
}

/** The headline chips: load, delivery, latency, blocks, hostile transactions stopped. */
export function txChips(s: TxSnapshot): string {
  const t = s.totals;
  const nowRate = s.history.length ? s.history[s.history.length - 1][5] : 0;
  const delivered = t.settledExpected ? (100 * t.settledDelivered) / t.settledExpected : 0;
  const hostile = t.forged + t.stale + t.pushed;
  const full = t.settledExpected > 0 && t.settledDelivered === t.settledExpected;
  return `<span class="chip"><b>${nowRate}</b> tx/s (target ${s.rate})</span>`
    + `<span class="chip"><b>${t.submitted}</b> txs</span>`
    + `<span class="chip ${full ? "ok" : delivered >= 99 ? "" : "warn"}" title="tx × node deliveries over those expected, transactions older than 5 s">delivered <b>${delivered.toFixed(2)}%</b></span>`
    + `<span class="chip" title="submission → each other node, last ${s.latency.windowMs / 1000} s">to a node p50 <b>${ms(s.latency.node.p50)}</b> · p99 <b>${ms(s.latency.node.p99)}</b> ms</span>`
    + `<span class="chip" title="submission → every node, last ${s.latency.windowMs / 1000} s">to all p50 <b>${ms(s.latency.all.p50)}</b> · p99 <b>${ms(s.latency.all.p99)}</b> ms</span>`
    + `<span class="chip">block <b>#${t.height}</b></span>`
    + `<span class="chip ${t.hostileDeliveries ? "warn" : hostile ? "ok" : ""}" title="forged and stale transactions stopped at their first hop">hostile stopped <b>${t.stoppedFirstHop}/${hostile}</b></span>`;
}

/** Latency percentiles: the live window, as a small table. */
export function latencyTable(s: TxSnapshot): string {
  const row = (label: string, p: TxSnapshot["latency"]["node"]) => `<tr><td>${label}</td><td class="num">${ms(p.p50)}</td><td class="num">${ms(p.p90)}</td><td class="num">${ms(p.p99)}</td><td class="num muted">${p.n}</td></tr>`;
  return `<table><thead><tr><th>ms, last ${s.latency.windowMs / 1000} s</th><th class="num">p50</th><th class="num">p90</th><th class="num">p99</th><th class="num">samples</th></tr></thead><tbody>`
    + row("submission → each node", s.latency.node) + row("submission → all nodes", s.latency.all) + "</tbody></table>";
}

/** Every member's mempool: a bar of its size against the capacity, and its counters. */
export function poolBars(s: TxSnapshot, self: string | null): string {
  const rows = s.members.filter((m) => m.pool).map((m) => {
    const p = m.pool!;
    const share = p.capacity ? Math.min(1, p.size / p.capacity) : 0;
    return `<tr class="${m.id === self ? "you" : ""}"><td><span class="dot" style="background:${TX_ROLE_COLOURS[m.role]}"></span>${escapeHtml(m.name)}</td>`
      + `<td class="bar"><div class="bar-bg"><div class="bar-fill${share > 0.9 ? " full" : ""}" style="width:${(share * 100).toFixed(1)}%"></div></div></td>`
      + `<td class="num">${p.size}</td><td class="num">${m.got}</td><td class="num">${p.accepted}</td><td class="num ${p.rejected ? "warn" : ""}">${p.rejected}</td>`
      + `<td class="num">${p.ignored}</td><td class="num">${p.evicted}</td><td class="num">#${p.height}</td>`
      + `<td class="num">${ms(m.latency.p50)}</td><td class="num">${ms(m.latency.p99)}</td></tr>`;
  });
  const cap = s.members.find((m) => m.pool)?.pool?.capacity ?? 0;
  return `<table class="pools"><thead><tr><th>node</th><th>pending (capacity ${cap})</th><th class="num">size</th><th class="num" title="valid transactions received">got</th><th class="num">accepted</th>`
    + `<th class="num" title="bad signature or malformed: the sender is penalised">rejected</th><th class="num" title="stale or duplicate nonce, too far ahead, or outbid in a full pool">ignored</th>`
    + `<th class="num" title="dropped for a higher fee">evicted</th><th class="num">block</th>`
    + `<th class="num" title="submission → this node, ms, last ${s.latency.windowMs / 1000} s">p50</th><th class="num" title="submission → this node, ms, last ${s.latency.windowMs / 1000} s">p99</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** The newest valid transactions; a row selects its wave. */
export function txTable(s: TxSnapshot, selected: string | null): string {
  const rows = s.recent.map((t) => {
    const done = t.expected > 0 && t.reached === t.expected;
    return `<tr class="pick${t.id === selected ? " sel" : ""}" data-id="${escapeHtml(t.id)}"><td class="mono">${escapeHtml(t.id.slice(0, 8))}</td>`
      + `<td>${escapeHtml(t.from)} → ${escapeHtml(t.to)}</td><td class="num">${t.amount}</td><td class="num">${t.fee}</td><td class="num">${t.nonce}</td>`
      + `<td>${escapeHtml(memberName(s, t.entry))}</td><td class="num ${done ? "ok" : "warn"}">${t.reached}/${t.expected}</td><td class="num">${ms(t.toAllMs)}</td></tr>`;
  });
  return `<table><thead><tr><th>tx</th><th>from → to</th><th class="num">amount</th><th class="num">fee</th><th class="num">nonce</th><th>entry</th>`
    + `<th class="num">reached</th><th class="num">to all, ms</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

const KIND_TEXT: Record<TxRecordSnapshot["kind"], string> = {
  valid: "valid",
  forged: "forged signature",
  stale: "stale nonce",
  pushed: "forged, pushed unchecked",
};

/** The hostile transactions: who stopped each, and that it reached no other node. */
export function hostileTable(s: TxSnapshot, selected: string | null): string {
  if (s.hostile.length === 0) return `<p class="muted">None yet: a forged and a stale transaction go out every 15 s, and the hostile node pushes a forged one every 30 s.</p>`;
  const rows = s.hostile.map((t) => {
    const firstHop = t.kind === "pushed" ? s.members.find((m) => m.role === "relay")?.name ?? "relay" : memberName(s, t.entry);
    const stopped = t.verdict === null ? "…" : t.verdict === "accept" ? "accepted" : `${t.verdict}ed by ${firstHop}`;
    const reached = t.arrivals.length;
    return `<tr class="pick${t.id === selected ? " sel" : ""}" data-id="${escapeHtml(t.id)}"><td class="mono">${escapeHtml(t.id.slice(0, 8))}</td><td class="bad">${KIND_TEXT[t.kind]}</td>`
      + `<td>${escapeHtml(t.from)} → ${escapeHtml(t.to)} <span class="muted">nonce ${t.nonce}</span></td><td>${escapeHtml(memberName(s, t.entry))}</td>`
      + `<td class="${t.verdict && t.verdict !== "accept" ? "ok" : "warn"}">${escapeHtml(stopped)}</td><td class="num ${reached ? "warn" : "ok"}">${reached}</td></tr>`;
  });
  return `<table><thead><tr><th>tx</th><th>kind</th><th>claims</th><th>sent to</th><th>first hop</th><th class="num" title="nodes that delivered it">reached</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** Latency percentiles per second over the last `windowMs`, as an SVG line plot. */
export function latencyPlot(s: TxSnapshot, windowMs = 60_000): string {
  const w = 1200;
  const h = 190;
  const [left, right, top, bottom] = [52, 12, 12, 26];
  const points = s.history.filter(([t]) => t >= s.t - windowMs);
  let max = 1;
  for (const p of points) for (const v of [p[3], p[4]]) if (v !== null) max = Math.max(max, v);
  const span = niceCeil(max * 1.1);
  const x = (t: number) => left + ((t - (s.t - windowMs)) / windowMs) * (w - left - right);
  const y = (v: number) => top + (1 - v / span) * (h - top - bottom);
  const parts = [`<svg viewBox="0 0 ${w} ${h}" preserveAspectRatio="none" role="img" aria-label="latency over time">`];
  for (const v of [0, span / 2, span]) {
    parts.push(`<line x1="${left}" x2="${w - right}" y1="${f1(y(v))}" y2="${f1(y(v))}" class="grid"/>`);
    parts.push(`<text x="${left - 6}" y="${f1(y(v) + 4)}" class="axis" text-anchor="end">${v} ms</text>`);
  }
  for (let sAgo = 0; sAgo <= windowMs / 1000; sAgo += 10) {
    parts.push(`<text x="${f1(x(s.t - sAgo * 1000))}" y="${h - 8}" class="axis" text-anchor="middle">${sAgo === 0 ? "now" : `−${sAgo} s`}</text>`);
  }
  const series: [number, string][] = [[1, "p50"], [3, "p99"], [4, "all99"]];
  for (const [i, cls] of series) {
    const line = points.filter((p) => p[i] !== null).map((p) => `${f1(x(p[0]))},${f1(y(p[i] as number))}`).join(" ");
    if (line) parts.push(`<polyline class="lat ${cls}" points="${line}"/>`);
  }
  parts.push("</svg>");
  return parts.join("");
}

/** A one-line description of the selected transaction. */
export function txCaption(s: TxSnapshot, tx: TxRecordSnapshot | null, slow: number, pinned: boolean): string {
  if (!tx) return "Waiting for the first transaction…";
  const who = memberName(s, tx.entry);
  const head = `<span class="mono">${escapeHtml(tx.id.slice(0, 8))}</span> ${escapeHtml(tx.from)} → ${escapeHtml(tx.to)}, amount ${tx.amount}, fee ${tx.fee}, nonce ${tx.nonce}`;
  if (tx.kind !== "valid") {
    return `${head} — <span class="bad">${KIND_TEXT[tx.kind]}</span>, sent to ${escapeHtml(who)}: ${tx.verdict ? `${escapeHtml(tx.verdict)}ed at the first hop` : "…"}, reached ${tx.arrivals.length} nodes.`;
  }
  const all = tx.toAllMs === null ? `${tx.reached}/${tx.expected} nodes so far` : `all ${tx.expected} nodes in <b>${ms(tx.toAllMs)} ms</b>`;
  return `${head} — submitted through ${escapeHtml(who)}, ${all}. Replayed at 1/${slow} speed${pinned ? " (pinned: click “follow” to resume)" : ""}.`;
}
