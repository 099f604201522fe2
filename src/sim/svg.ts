/**
 * A dependency-free SVG line plot of the informed fraction per round, for `grapevine sim --svg`.
 *
 * @module
 */

/** One plotted series. */
export interface Series {
  label: string;
  values: number[];
}

const W = 640;
const H = 360;
const PAD = 48;
const COLORS = ["#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280"];

function esc(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!);
}

/** Renders the series (values in [0, 1], one per round) as an SVG document. */
export function plotInformed(title: string, series: Series[]): string {
  const rounds = Math.max(1, ...series.map((s) => s.values.length - 1));
  const x = (r: number) => PAD + (r / rounds) * (W - 2 * PAD);
  const y = (v: number) => H - PAD - v * (H - 2 * PAD);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<line x1="${PAD}" y1="${H - PAD}" x2="${W - PAD}" y2="${H - PAD}" stroke="black"/>`,
    `<line x1="${PAD}" y1="${PAD}" x2="${PAD}" y2="${H - PAD}" stroke="black"/>`,
    `<text x="${W / 2}" y="${H - 10}" text-anchor="middle">round</text>`,
    `<text x="14" y="${H / 2}" text-anchor="middle" transform="rotate(-90 14 ${H / 2})">informed fraction</text>`,
  ];
  for (let r = 0; r <= rounds; r++) {
    parts.push(`<text x="${x(r)}" y="${H - PAD + 16}" text-anchor="middle">${r}</text>`);
  }
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<line x1="${PAD}" y1="${y(v)}" x2="${W - PAD}" y2="${y(v)}" stroke="#ddd"/>`);
    parts.push(`<text x="${PAD - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`);
  }
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.values.map((v, r) => `${x(r).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts}"/>`);
    for (const [r, v] of s.values.entries()) parts.push(`<circle cx="${x(r).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${color}"/>`);
    parts.push(`<text x="${W - PAD - 4}" y="${PAD + 16 * (i + 1)}" text-anchor="end" fill="${color}">${esc(s.label)}</text>`);
  });
  parts.push(`</svg>`);
  return parts.join("\n");
}
