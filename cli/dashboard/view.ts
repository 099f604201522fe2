/**
 * Drawing the demo's dashboard: pure functions from a `/demo/state` snapshot to SVG and HTML
 * strings (no framework, no DOM access), so the page script stays a thin loop around them.
 * Every piece of text that came from the mesh is escaped.
 *
 * @module
 */

import type { MemberSnapshot, MeshSnapshot } from "../demo/mesh-view.ts";

/** Colours of the three kinds of member (also used by the page's legend). */
export const ROLE_COLOURS: Readonly<Record<MemberSnapshot["role"], string>> = Object.freeze({
  relay: "#475569",
  node: "#16a34a",
  browser: "#2563eb",
});

/** Escapes text for HTML and SVG. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** First characters of a node id, as the page shows it. */
export function shortId(id: string): string {
  return id.slice(0, 6);
}

function countedTotal(s: MeshSnapshot): number {
  return s.members.filter((m) => m.counted).length;
}

/** Places the relay in the middle and everyone else on a circle, in a stable order. */
function layout(members: MemberSnapshot[], cx: number, cy: number, r: number): Map<string, [number, number]> {
  const order = { relay: 0, node: 1, browser: 2 };
  const ring = members.filter((m) => m.role !== "relay").sort((a, b) => order[a.role] - order[b.role] || a.name.localeCompare(b.name, "en", { numeric: true }));
  const at = new Map<string, [number, number]>();
  for (const m of members) if (m.role === "relay") at.set(m.id, [cx, cy]);
  ring.forEach((m, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, ring.length);
    at.set(m.id, [cx + r * Math.cos(angle), cy + r * Math.sin(angle)]);
  });
  return at;
}

/** An SVG quadratic curve from `a` to `b`, bowed away from `centre` by a fifth of its length. */
export function arc(a: [number, number], b: [number, number], centre: [number, number]): string {
  const [mx, my] = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
  const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
  const length = Math.hypot(dx, dy) || 1;
  let [nx, ny] = [-dy / length, dx / length];
  // Away from the centre; a chord through the centre bows to a fixed side.
  if (nx * (mx - centre[0]) + ny * (my - centre[1]) < 0) [nx, ny] = [-nx, -ny];
  const bow = length * 0.2;
  const f = (v: number) => v.toFixed(1);
  return `M${f(a[0])},${f(a[1])} Q${f(mx + nx * bow)},${f(my + ny * bow)} ${f(b[0])},${f(b[1])}`;
}

/** The overlay as an SVG graph: members as discs, links as lines, a ring for how much each holds. */
export function graphSvg(s: MeshSnapshot, self: string | null): string {
  const w = 520;
  const h = 450;
  const [cx, cy] = [w / 2, 212];
  const at = layout(s.members, cx, cy, 165);
  const roles = new Map(s.members.map((m) => [m.id, m.role]));
  const total = countedTotal(s);
  const parts: string[] = [`<svg viewBox="0 0 ${w} ${h}" role="img" aria-label="links between members">`];
  // Links to the relay are spokes; direct links are drawn as arcs bowed away from the middle, so
  // that a link between opposite members does not run through the relay.
  const isDirect = ([a, b]: [string, string]) => roles.get(a) !== "relay" && roles.get(b) !== "relay";
  for (const edge of [...s.edges.filter((e) => !isDirect(e)), ...s.edges.filter(isDirect)]) {
    const pa = at.get(edge[0]);
    const pb = at.get(edge[1]);
    if (!pa || !pb) continue;
    if (!isDirect(edge)) {
      parts.push(`<line x1="${pa[0].toFixed(1)}" y1="${pa[1].toFixed(1)}" x2="${pb[0].toFixed(1)}" y2="${pb[1].toFixed(1)}" class="edge"/>`);
      continue;
    }
    parts.push(`<path d="${arc(pa, pb, [cx, cy])}" class="edge direct"/>`);
  }
  const circumference = 2 * Math.PI * 27;
  for (const m of s.members) {
    const p = at.get(m.id);
    if (!p) continue;
    const [x, y] = [p[0].toFixed(1), p[1].toFixed(1)];
    const share = total === 0 || !m.counted ? 0 : m.fresh / total;
    const full = m.counted && m.fresh === total && total > 0;
    const you = m.id === self;
    parts.push(`<g class="member${you ? " you" : ""}"><title>${escapeHtml(`${m.name} (${m.role}) ${m.id}`)}</title>`);
    if (you) parts.push(`<circle cx="${x}" cy="${y}" r="34" class="halo"/>`);
    parts.push(`<circle cx="${x}" cy="${y}" r="27" class="ring-bg"/>`);
    parts.push(
      `<circle cx="${x}" cy="${y}" r="27" class="ring ${full ? "full" : "partial"}" stroke-dasharray="${(share * circumference).toFixed(1)} ${circumference.toFixed(1)}" transform="rotate(-90 ${x} ${y})"/>`,
    );
    parts.push(`<circle cx="${x}" cy="${y}" r="21" fill="${ROLE_COLOURS[m.role]}"/>`);
    parts.push(`<text x="${x}" y="${(p[1] + 4).toFixed(1)}" class="glyph">${m.role === "relay" ? "R" : m.role === "browser" ? "B" : "N"}</text>`);
    parts.push(`<text x="${x}" y="${(p[1] + 44).toFixed(1)}" class="label">${escapeHtml(you ? `${m.name} (you)` : m.name)}</text>`);
    const mood = typeof m.status?.mood === "string" ? m.status.mood : "";
    if (mood) parts.push(`<text x="${x}" y="${(p[1] + 57).toFixed(1)}" class="sub">${escapeHtml(mood)}</text>`);
    parts.push("</g>");
  }
  parts.push("</svg>");
  return parts.join("");
}

function kib(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

function count(n: number): string {
  return n < 10_000 ? String(n) : `${(n / 1000).toFixed(1)}k`;
}

/** The members table. */
export function membersTable(s: MeshSnapshot, self: string | null): string {
  const total = countedTotal(s);
  const order = { relay: 0, node: 1, browser: 2 };
  const rows = [...s.members].sort((a, b) => order[a.role] - order[b.role] || a.name.localeCompare(b.name, "en", { numeric: true })).map((m) => {
    const mood = typeof m.status?.mood === "string" ? m.status.mood : "—";
    const text = typeof m.status?.text === "string" && m.status.text ? ` “${m.status.text}”` : "";
    const holds = m.counted ? `${m.fresh}/${total}` : "—";
    const full = m.counted && m.fresh === total;
    return `<tr class="${m.id === self ? "you" : ""}">`
      + `<td><span class="dot" style="background:${ROLE_COLOURS[m.role]}"></span>${escapeHtml(m.name)}${m.id === self ? " <em>(you)</em>" : ""}</td>`
      + `<td class="mono">${escapeHtml(shortId(m.id))}</td>`
      + `<td>${escapeHtml(m.role)}${m.crypto ? ` · ${escapeHtml(m.crypto)}` : ""}</td>`
      + `<td>${escapeHtml(mood)} <span class="muted">#${m.n}</span>${escapeHtml(text)}</td>`
      + `<td class="num">${m.peers.length}</td>`
      + `<td class="num ${full ? "ok" : "warn"}">${holds}</td>`
      + `<td class="num">${count(m.stats.framesOut)}</td>`
      + `<td class="num">${kib(m.stats.bytesOut)}</td>`
      + "</tr>";
  });
  return "<table><thead><tr><th>member</th><th>id</th><th>runtime</th><th>status</th><th class=num>links</th>"
    + "<th class=num title=\"newest statuses held\">holds</th><th class=num>frames out</th><th class=num>sent</th></tr></thead>"
    + `<tbody>${rows.join("")}</tbody></table>`;
}

/** The rooms the relay carries: members, links, and messages a second through it. */
export function roomsTable(s: MeshSnapshot): string {
  if (s.rooms.length === 0) return `<p class="muted">The relay carries no room yet.</p>`;
  const rows = s.rooms.map((r) =>
    `<tr data-room="${escapeHtml(r.name ?? r.scope)}">`
    + `<td>${r.name === null ? `<span class="mono muted">${escapeHtml(r.scope.slice(0, 12))}…</span>` : `<a href="/presence?doc=${encodeURIComponent(r.name)}">${escapeHtml(r.name)}</a>`}</td>`
    + `<td class="num">${r.members}</td>`
    + `<td class="num">${r.links}</td>`
    + `<td class="num msgs">${r.messagesPerS.toFixed(1)}</td>`
    + `<td class="num">${r.payloadsPerS.toFixed(1)}</td>`
    + `<td class="num">${count(r.delivered)}</td>`
    + "</tr>"
  );
  return "<table><thead><tr><th>room</th><th class=num title=\"nodes with presence in the room, as the relay holds it\">members</th>"
    + "<th class=num title=\"links over which the relay exchanges the room\">links</th><th class=num>messages/s</th>"
    + "<th class=num title=\"copies received, duplicates included\">copies in/s</th><th class=num>messages</th></tr></thead>"
    + `<tbody>${rows.join("")}</tbody></table>`;
}

/** The headline chips: members, links, convergence, traffic. */
export function summaryChips(s: MeshSnapshot): string {
  const conv = s.converged
    ? `<span class="chip ok">converged</span>`
    : `<span class="chip warn">converging… ${s.pairs ? Math.round((100 * s.fresh) / s.pairs) : 0}%</span>`;
  const first = s.msToConverge === null ? "" : `<span class="chip">first convergence in <b>${s.msToConverge} ms</b></span>`;
  return conv + first
    + `<span class="chip"><b>${s.members.length}</b> members</span>`
    + `<span class="chip"><b>${s.edges.length}</b> links</span>`
    + `<span class="chip"><b>${count(s.totals.framesOut)}</b> frames · <b>${kib(s.totals.bytesOut)}</b> sent</span>`;
}

/** The fraction of fresh (holder, owner) pairs over the last `windowMs`, as an SVG line plot. */
export function convergencePlot(s: MeshSnapshot, windowMs = 60_000): string {
  const w = 1200;
  const h = 170;
  const left = 46;
  const right = 12;
  const top = 12;
  const bottom = 26;
  const x = (t: number) => left + ((t - (s.t - windowMs)) / windowMs) * (w - left - right);
  const y = (f: number) => top + (1 - f) * (h - top - bottom);
  const parts = [`<svg viewBox="0 0 ${w} ${h}" preserveAspectRatio="none" role="img" aria-label="convergence over time">`];
  for (const f of [0, 0.5, 1]) {
    parts.push(`<line x1="${left}" x2="${w - right}" y1="${y(f)}" y2="${y(f)}" class="grid"/>`);
    parts.push(`<text x="${left - 6}" y="${y(f) + 4}" class="axis" text-anchor="end">${f * 100}%</text>`);
  }
  for (let sAgo = 0; sAgo <= windowMs / 1000; sAgo += 10) {
    const tx = x(s.t - sAgo * 1000);
    parts.push(`<text x="${tx}" y="${h - 8}" class="axis" text-anchor="middle">${sAgo === 0 ? "now" : `−${sAgo} s`}</text>`);
  }
  const points = s.history.filter(([t]) => t >= s.t - windowMs);
  if (points.length > 1) {
    const line = points.map(([t, f]) => `${x(t).toFixed(1)},${y(f).toFixed(1)}`).join(" ");
    const first = points[0];
    const last = points[points.length - 1];
    parts.push(`<polygon class="area" points="${x(first[0]).toFixed(1)},${y(0)} ${line} ${x(last[0]).toFixed(1)},${y(0)}"/>`);
    parts.push(`<polyline class="plot" points="${line}"/>`);
  }
  parts.push("</svg>");
  return parts.join("");
}
