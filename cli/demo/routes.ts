/**
 * The demo's HTTP routes, served next to the relay's own (`/healthz`, `/metrics`) on the same
 * port: the dashboard page at `/`, its script at `/demo/app.js` (bundled with esbuild on first
 * request), the presence example at `/presence` (script `/presence/app.js`) and its React version at
 * `/presence/react` (script `/presence/react.js`), and `/demo/state`: GET for the snapshot, POST for a browser peer to report what it
 * holds and get the snapshot back. Web-standard `Request`/`Response` only.
 *
 * @module
 */

import { pageScript } from "../bundle.ts";
import { readReport } from "./report.ts";
import { dashboardHtml } from "../dashboard/page.ts";
import { presenceHtml, reactPresenceHtml } from "../presence/page.ts";
import type { MeshSnapshot, MeshView } from "./mesh-view.ts";

/** A browser's report is small: its view of each member is one number. */
const REPORT_BYTES_MAX = 262_144;
const NODE_ID = /^[A-Za-z0-9_-]{43}$/;

/** What the routes need from the demo. */
export interface RouteHost {
  network: string;
  intervalMs: number;
  relayUrl: string;
  view: MeshView;
  /** ms since the demo started. */
  now(): number;
}

/** Builds the route handler; `null` means "not a demo path". */
export function demoRoutes(host: RouteHost): (request: Request) => Promise<Response | null> {
  const buildScript = pageScript("dashboard/app", "the live dashboard");
  const buildPresence = pageScript("presence/app", "the presence example");
  const buildReact = pageScript("presence/react-main", "the React presence example");

  return async (request) => {
    const { pathname } = new URL(request.url);
    if (pathname === "/" && request.method === "GET") {
      const s = await buildScript();
      return new Response(dashboardHtml({
        network: host.network, intervalMs: host.intervalMs, relayUrl: host.relayUrl, scriptProblem: "problem" in s ? s.problem : null,
      }), { headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } });
    }
    if (pathname === "/demo/app.js" && request.method === "GET") {
      const s = await buildScript();
      if ("problem" in s) return new Response(`console.error(${JSON.stringify(s.problem)});`, { status: 503, headers: { "content-type": "text/javascript" } });
      return new Response(s.code, { headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-store" } });
    }
    if (pathname === "/demo/state") {
      if (request.method === "POST") {
        const problem = await acceptReport(host, request);
        if (problem) return new Response(JSON.stringify({ error: problem }), { status: 400, headers: { "content-type": "application/json" } });
      } else if (request.method !== "GET") return null;
      return json(host.view.snapshot(host.now()));
    }
    if (pathname === "/presence" && request.method === "GET") {
      return new Response(presenceHtml({ network: host.network, intervalMs: host.intervalMs }), { headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } });
    }
    if (pathname === "/presence/react" && request.method === "GET") {
      return new Response(reactPresenceHtml({ network: host.network, intervalMs: host.intervalMs }), { headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } });
    }
    if ((pathname === "/presence/app.js" || pathname === "/presence/react.js") && request.method === "GET") {
      const s = await (pathname === "/presence/app.js" ? buildPresence : buildReact)();
      if ("problem" in s) return new Response(`console.error(${JSON.stringify(s.problem)});`, { status: 503, headers: { "content-type": "text/javascript" } });
      return new Response(s.code, { headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-store" } });
    }
    if (pathname === "/favicon.ico") return new Response(null, { status: 204 });
    return null;
  };
}

function json(snapshot: MeshSnapshot): Response {
  return new Response(JSON.stringify(snapshot), { headers: { "content-type": "application/json", "cache-control": "no-store" } });
}

/** Applies a browser's report to the view; returns what is wrong with it, or null. */
async function acceptReport(host: RouteHost, request: Request): Promise<string | null> {
  const r = await readReport(request, REPORT_BYTES_MAX);
  if (typeof r === "string") return r;
  const { id, name, crypto, n, status, knows, peers, stats } = r;
  if (typeof id !== "string" || !NODE_ID.test(id)) return "report.id must be a node id";
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) return "report.n must be a counter";
  if (!knows || typeof knows !== "object" || !Array.isArray(peers)) return "report.knows and report.peers are required";
  const now = host.now();
  const view = host.view;
  view.join(now, { id, name: String(name ?? id.slice(0, 6)).slice(0, 40), role: "browser", crypto: typeof crypto === "string" ? crypto.slice(0, 16) : undefined });
  view.wrote(now, id, n, status && typeof status === "object" ? (status as Record<string, unknown>) : null);
  view.sawAll(id, knows as Record<string, number>);
  view.links(id, peers.filter((p): p is string => typeof p === "string" && NODE_ID.test(p)));
  const st = (stats ?? {}) as Record<string, unknown>;
  const counter = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : 0);
  view.stats(id, { framesOut: counter(st.framesOut), bytesOut: counter(st.bytesOut), framesIn: counter(st.framesIn), bytesIn: counter(st.bytesIn) });
  return null;
}
