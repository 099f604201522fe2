/**
 * The tx demo's HTTP routes, next to the mesh dashboard's (`demo/routes.ts`) and the relay's own:
 * the tx dashboard at `/tx`, its script at `/demo/tx-app.js` (bundled with esbuild on first
 * request), and `/demo/tx-state`: GET for the snapshot, POST for a browser peer to report its
 * arrivals, links and mempool (and transactions it submitted itself) and get the snapshot back.
 *
 * @module
 */

import { pageScript } from "../bundle.ts";
import { readReport } from "../demo/report.ts";
import { txDashboardHtml } from "../dashboard/tx-page.ts";
import type { PoolReport } from "./flood.ts";
import type { TxView } from "./tx-view.ts";

const REPORT_BYTES_MAX = 524_288;
const ARRIVALS_MAX = 10_000;
const NODE_ID = /^[A-Za-z0-9_-]{43}$/;
const TX_ID = /^[A-Za-z0-9_-]{12}$/;

/** What the routes need from the demo. */
export interface TxRouteHost {
  network: string;
  intervalMs: number;
  relayUrl: string;
  /** The block producer, which the tab's block validator trusts. */
  relayId: string;
  capacity: number;
  nonceWindow: number;
  view: TxView;
  /** The shared clock, ms. */
  now(): number;
}

/** Builds the route handler; `null` means "not a tx path". */
export function txRoutes(host: TxRouteHost): (request: Request) => Promise<Response | null> {
  const buildScript = pageScript("dashboard/tx-app", "the live dashboard");

  return async (request) => {
    const { pathname } = new URL(request.url);
    if ((pathname === "/tx" || pathname === "/tx/") && request.method === "GET") {
      const s = await buildScript();
      return new Response(txDashboardHtml({
        network: host.network, intervalMs: host.intervalMs, relayUrl: host.relayUrl, relayId: host.relayId, capacity: host.capacity,
        nonceWindow: host.nonceWindow, scriptProblem: "problem" in s ? s.problem : null,
      }), { headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } });
    }
    if (pathname === "/demo/tx-app.js" && request.method === "GET") {
      const s = await buildScript();
      if ("problem" in s) return new Response(`console.error(${JSON.stringify(s.problem)});`, { status: 503, headers: { "content-type": "text/javascript" } });
      return new Response(s.code, { headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-store" } });
    }
    if (pathname === "/demo/tx-state") {
      if (request.method === "POST") {
        const problem = await acceptReport(host, request);
        if (problem) return new Response(JSON.stringify({ error: problem }), { status: 400, headers: { "content-type": "application/json" } });
      } else if (request.method !== "GET") return null;
      return new Response(JSON.stringify(host.view.snapshot(host.now())), { headers: { "content-type": "application/json", "cache-control": "no-store" } });
    }
    return null;
  };
}

const count = (v: unknown) => (typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : 0);
const short = (v: unknown) => String(v ?? "?").slice(0, 12);

/** Applies a tab's report to the view; returns what is wrong with it, or null. */
async function acceptReport(host: TxRouteHost, request: Request): Promise<string | null> {
  const r = await readReport(request, REPORT_BYTES_MAX);
  if (typeof r === "string") return r;
  const { id, name, crypto, peers, pool, arrivals, submitted } = r;
  if (typeof id !== "string" || !NODE_ID.test(id)) return "report.id must be a node id";
  if (!Array.isArray(peers) || !Array.isArray(arrivals)) return "report.peers and report.arrivals are required";
  if (arrivals.length > ARRIVALS_MAX) return "too many arrivals in one report";
  const view = host.view;
  const now = host.now();
  view.join(now, { id, name: String(name ?? id.slice(0, 6)).slice(0, 40), role: "browser", crypto: typeof crypto === "string" ? crypto.slice(0, 16) : undefined }, false);
  view.links(id, peers.filter((p): p is string => typeof p === "string" && NODE_ID.test(p)));
  if (pool && typeof pool === "object") {
    const p = pool as Record<string, unknown>;
    const report: PoolReport = {
      size: count(p.size), accepted: count(p.accepted), replaced: count(p.replaced), evicted: count(p.evicted), rejected: count(p.rejected),
      ignored: count(p.ignored), height: count(p.height), capacity: count(p.capacity),
    };
    view.pool(id, report);
  }
  // Transactions typed into the tab: recorded before its own arrivals, so their wave starts there.
  if (Array.isArray(submitted)) {
    for (const s of submitted.slice(0, 100) as Record<string, unknown>[]) {
      if (!s || typeof s.id !== "string" || !TX_ID.test(s.id) || typeof s.at !== "number" || Math.abs(s.at - now) > 60_000) continue;
      view.submitted({
        id: s.id, kind: "valid", entry: id, at: s.at, from: short(s.from), to: short(s.to), amount: count(s.amount), fee: count(s.fee), nonce: count(s.nonce),
      });
      view.verdict(s.id, String(s.verdict ?? "accept").slice(0, 12));
    }
  }
  for (const a of arrivals as unknown[]) {
    if (!Array.isArray(a) || typeof a[0] !== "string" || !TX_ID.test(a[0]) || typeof a[1] !== "number" || !Number.isFinite(a[1])) continue;
    view.arrived(id, a[0], a[1]);
  }
  return null;
}
