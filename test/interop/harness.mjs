// The pieces the interop scenarios share (run.mjs: one mesh-wide map; rooms.mjs: two rooms):
// cleanup of everything started, bounded waits, child processes, the three relays in a full mesh
// (Node, Deno, Workers in workerd through miniflare), the orchestrator's HTTP endpoint the peers
// report to and take commands from, the peers' bundles, spawning a peer on any runtime, and the
// one JSON line at the end.
//
// One scenario per process: the state here (the run's deadline, the reports, the stage) is the
// process's. A scenario calls `runScenario(main)`, where `main(result)` fills `result` and throws
// `fail(…)` (or anything) on failure.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { findChromium, launchChromium } from "../runtimes/chromium.mjs";

// The relays log connects and refusals as JSON lines; only warnings and errors here.
process.env.GRAPEVINE_LOG_LEVEL ??= "warn";
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const BIN = (name) => join(ROOT, "node_modules/.bin", name);
export const INTERVAL_MS = 100; // the peers' gossip interval; relays keep their default (1 s)
const argTimeout = process.argv.indexOf("--timeout");
export const TOTAL_MS = argTimeout > 0 ? Number(process.argv[argTimeout + 1]) * 1000 : 180_000;
export const started = performance.now();
export const since = (t) => Math.round(performance.now() - t);

/** The scenario's current step, named in the failure line. */
export const run = { stage: "setup" };

// ── cleanup: everything started is registered here and stopped on every way out ──────────────
const cleanups = [];
let cleaning = null;
function cleanup() {
  cleaning ??= (async () => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await Promise.race([c(), new Promise((r) => setTimeout(r, 5000))]);
      } catch {
        // keep stopping the rest
      }
    }
  })();
  return cleaning;
}
/** Registers a stop function; one registered after cleanup began (a late start) runs at once. */
export function onExit(stop) {
  if (cleaning) void Promise.resolve().then(stop).catch(() => {});
  else cleanups.push(stop);
}
function killChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    const hard = setTimeout(() => child.kill("SIGKILL"), 2000);
    child.once("exit", () => {
      clearTimeout(hard);
      r();
    });
    child.kill("SIGTERM");
  });
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => void cleanup().then(() => process.exit(130)));
}

/** Throws an error the final line reports by its message alone (no stack). */
export function fail(message) {
  const e = new Error(message);
  e.interop = true;
  throw e;
}

/**
 * Polls `cond` every 20 ms; throws after `ms` (and never waits past the run's deadline). `what`
 * names the wait, or is a function that describes the state at the deadline.
 */
export async function until(cond, ms, what) {
  const end = Math.min(performance.now() + ms, started + TOTAL_MS);
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (performance.now() > end) {
      fail(`${typeof what === "function" ? what() : what}: not within ${ms} ms${performance.now() > started + TOTAL_MS ? " (run deadline)" : ""}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ── child processes ────────────────────────────────────────────────────────────────────────────
const children = new Set();
// Last resort: whatever way this process ends, no child outlives it.
process.on("exit", () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

export function spawnLogged(name, command, args, env = {}) {
  if (cleaning) fail(`not starting ${name}: the run is ending`);
  const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1", ...env } });
  let output = "";
  const onData = (chunk) => {
    output += chunk.toString();
    if (output.length > 20_000) output = output.slice(-10_000);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  children.add(child);
  onExit(() => killChild(child));
  return { child, output: () => output, name };
}

/** Starts a relay process and reads `relay ID listening on URL` from it. */
async function startRelay(name, command, args) {
  const t = performance.now();
  const p = spawnLogged(`${name} relay`, command, args);
  const exited = new Promise((r) => p.child.once("exit", (code, signal) => r(`${code ?? signal}`)));
  const m = await Promise.race([
    until(() => /relay (\S+) listening on (ws:\/\/\S+)/.exec(p.output()), 60_000, `${name} relay start`),
    exited.then((code) => fail(`${name} relay exited (${code}) before listening:\n${p.output()}`)),
  ]);
  return { id: m[1], url: m[2], process: p, started_ms: since(t) };
}

/** A relay's /healthz, or null when it does not answer within 2 s. */
export async function health(url) {
  try {
    const r = await fetch(new URL("healthz", url.replace(/^ws/, "http")), { signal: AbortSignal.timeout(2000) });
    return await r.json();
  } catch {
    return null;
  }
}

// ── the orchestrator's HTTP endpoint: peers' reports, commands, and the browser page ────────────
/** name → { at, report }: the last report of each peer, timestamped on arrival. */
export const reports = new Map();
/** name → ms since spawn of the first report with connected: true. */
export const firstLinked = new Map();
const spawnedAt = new Map();
const queues = new Map(); // name → commands not yet taken
const waiting = new Map(); // name → response of a pending long poll
/** Errors peers reported, or exits of peer processes: any one fails the waits below. */
export const peerErrors = [];
let browserJs = "";

/** Queues a command for the peer `name` (handed over on its next long poll). */
export function send(name, cmd) {
  const res = waiting.get(name);
  if (res) {
    waiting.delete(name);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(cmd));
  } else {
    if (!queues.has(name)) queues.set(name, []);
    queues.get(name).push(cmd);
  }
}

const control = createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  if (req.method === "POST" && url.pathname === "/report") {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      res.writeHead(204).end();
      let r;
      try {
        r = JSON.parse(body);
      } catch {
        return;
      }
      if (r.error) return void peerErrors.push(`${r.name}: ${r.error}`);
      reports.set(r.name, { at: performance.now(), report: r });
      if (r.connected && !firstLinked.has(r.name)) firstLinked.set(r.name, since(spawnedAt.get(r.name)));
    });
  } else if (url.pathname === "/cmd") {
    const name = url.searchParams.get("name");
    const queued = queues.get(name)?.shift();
    if (queued) return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(queued));
    waiting.get(name)?.writeHead(200, { "content-type": "application/json" }).end('{"op":"none"}');
    waiting.set(name, res);
    const timer = setTimeout(() => {
      if (waiting.get(name) === res) {
        waiting.delete(name);
        res.writeHead(200, { "content-type": "application/json" }).end('{"op":"none"}');
      }
    }, 10_000);
    res.on("close", () => clearTimeout(timer));
  } else if (url.pathname === "/peer.js") {
    res.writeHead(200, { "content-type": "text/javascript" }).end(browserJs);
  } else if (url.pathname === "/") {
    res.writeHead(200, { "content-type": "text/html" }).end('<!doctype html><meta charset="utf-8"><title>interop peer</title><script type="module" src="/peer.js"></script>');
  } else res.writeHead(404).end();
});

/** Throws if a peer reported an error or exited. */
export function checkPeers() {
  if (peerErrors.length) fail(`peer error: ${peerErrors.join("; ")}`);
}

// ── setup: preconditions, bundles, the control endpoint ────────────────────────────────────────
/**
 * Checks dist/ and the tools, builds the peers' and the worker's bundles, starts the control
 * endpoint. Returns `{ chromiumPath, controlUrl, nodePeerPath, workerScript }`.
 */
export async function setUp(result) {
  run.stage = "preconditions";
  if (!existsSync(join(ROOT, "dist/cli/grapevine.js")) || !existsSync(join(ROOT, "dist/relay/node.js"))) {
    fail("dist/ is missing: run npm run build (the Node relay runs as `grapevine relay` from dist/)");
  }
  for (const tool of ["deno", "bun"]) if (!existsSync(BIN(tool))) fail(`node_modules/.bin/${tool} is missing: npm install`);
  const chromiumPath = findChromium();
  if (!chromiumPath && process.env.GRAPEVINE_REQUIRE_BROWSER === "1") fail("chromium not found (apt-get install -y chromium) and GRAPEVINE_REQUIRE_BROWSER=1");
  if (!chromiumPath) result.peers.chromium = { skipped: "chromium not found (apt-get install -y chromium)" };

  run.stage = "bundles";
  const { nodePeerPath, workerScript } = await bundles();
  await new Promise((r) => control.listen(0, "127.0.0.1", r));
  onExit(() => new Promise((r) => {
    for (const res of waiting.values()) res.destroy();
    control.closeAllConnections();
    control.close(() => r());
  }));
  const controlUrl = `http://127.0.0.1:${control.address().port}/`;
  return { chromiumPath, controlUrl, nodePeerPath, workerScript };
}

async function bundles() {
  const common = { bundle: true, format: "esm", write: false, logLevel: "error" };
  const [nodePeer, browserPeer, worker] = await Promise.all([
    build({ ...common, entryPoints: [join(ROOT, "test/interop/peer-node.ts")], platform: "node", target: "node20", packages: "external" }),
    build({ ...common, entryPoints: [join(ROOT, "test/interop/peer-browser.ts")], platform: "browser", target: "es2022" }),
    build({ ...common, entryPoints: [join(ROOT, "relay/workers.ts")], platform: "neutral", mainFields: ["module", "main"], conditions: ["worker", "browser"] }),
  ]);
  // Next to node_modules, so that the bundle's bare imports (ws, cbor-x, @noble/*) resolve. One
  // file per process: two scenarios may run at once.
  const dir = join(ROOT, "node_modules/.cache/grapevine");
  mkdirSync(dir, { recursive: true });
  const nodePeerPath = join(dir, `interop-peer-node.${process.pid}.mjs`);
  writeFileSync(`${nodePeerPath}.tmp`, nodePeer.outputFiles[0].contents);
  renameSync(`${nodePeerPath}.tmp`, nodePeerPath);
  onExit(async () => (await import("node:fs/promises")).rm(nodePeerPath, { force: true }));
  browserJs = browserPeer.outputFiles[0].text;
  return { nodePeerPath, workerScript: worker.outputFiles[0].text };
}

// ── the relays ─────────────────────────────────────────────────────────────────────────────────
/**
 * Starts the three relays of `network`: Node (`grapevine relay` from dist/), Deno (dials Node),
 * Workers (dials both once it has a client: see `waitWorkersMesh`). Records them in
 * `result.relays`; returns `{ node, deno, workers }`, each `{ id, url, process?, started_ms }`.
 */
export async function startRelays(network, workerScript, result) {
  run.stage = "relays";
  const nodeRelay = await startRelay("node", process.execPath, [join(ROOT, "bin/grapevine.js"), "relay", "--port", "0", "--network", network]);
  const denoRelay = await startRelay("deno", BIN("deno"), ["run", "-A", "relay/deno.ts", "--port", "0", "--network", network, "--peer", nodeRelay.url]);
  const tw = performance.now();
  const { Miniflare } = await import("miniflare");
  const mf = new Miniflare({
    modules: true,
    script: workerScript,
    compatibilityDate: "2025-09-01",
    durableObjects: { RELAY: { className: "RelayObject", useSQLite: true } },
    bindings: { GRAPEVINE_NETWORK: network, GRAPEVINE_PEERS: `${nodeRelay.url} ${denoRelay.url}`, GRAPEVINE_LOG_LEVEL: process.env.GRAPEVINE_LOG_LEVEL },
    host: "127.0.0.1",
    port: 0,
  });
  onExit(() => mf.dispose());
  const workersUrl = (await mf.ready).href.replace(/^http/, "ws");
  // The object runs its relay (and dials its peers) while clients are connected: it learns its id
  // from /healthz now, and joins the relay mesh once the first peer links to it.
  const workersHealth = await until(() => health(workersUrl), 30_000, "workers relay /healthz");
  const relays = { node: nodeRelay, deno: denoRelay, workers: { id: workersHealth.id, url: workersUrl, started_ms: since(tw) } };
  for (const [name, r] of Object.entries(relays)) result.relays[name] = { id: r.id, url: r.url, started_ms: r.started_ms };
  result.relays.workers.note = "workerd via miniflare; while it has clients, the Durable Object dials the Node and Deno relays (GRAPEVINE_PEERS)";

  run.stage = "relay mesh";
  const tm = performance.now();
  await until(async () => {
    const [n, d] = await Promise.all([health(nodeRelay.url), health(denoRelay.url)]);
    return n?.links >= 1 && d?.peers.every((p) => p.connected) && d.links >= 1;
  }, 30_000, "the Deno relay linked to the Node relay");
  result.relay_mesh_ms = since(tm);
  relays.meshStarted = tm;
  return relays;
}

/** Waits until the Workers relay (which has clients by now) is linked to the other two. */
export async function waitWorkersMesh(relays, result) {
  await until(async () => {
    const w = await health(relays.workers.url);
    return w?.peers.length === 2 && w.peers.every((p) => p.connected);
  }, 30_000, "the Workers relay linked to the Node and Deno relays");
  result.workers_mesh_ms = since(relays.meshStarted);
}

/** The relay's name (node, deno, workers) for a relay id. */
export function relayName(relays, id) {
  return ["node", "deno", "workers"].find((k) => relays[k].id === id) ?? id;
}

// ── the peers ──────────────────────────────────────────────────────────────────────────────────
/**
 * Starts the peer `name` on `runtime` (node, deno, bun, chromium) with `config` (a PeerConfig,
 * see peer.ts). A process that exits before the scenario is done is a peer error.
 */
export async function spawnPeer(setup, name, runtime, config) {
  const json = JSON.stringify(config);
  spawnedAt.set(name, performance.now());
  let p;
  if (runtime === "node") p = spawnLogged(`${name} peer`, process.execPath, [setup.nodePeerPath, json]);
  else if (runtime === "deno") p = spawnLogged(`${name} peer`, BIN("deno"), ["run", "-A", "test/interop/peer-cli.ts", json]);
  else if (runtime === "bun") p = spawnLogged(`${name} peer`, BIN("bun"), ["test/interop/peer-cli.ts", json]);
  else if (runtime === "chromium") {
    setup.browser ??= await launchChromium().then((b) => (onExit(() => b.close()), b));
    const page = await setup.browser.context.newPage();
    page.on("pageerror", (e) => peerErrors.push(`${name} page error: ${e.message}`));
    await page.goto(`${setup.controlUrl}?config=${encodeURIComponent(json)}`);
    return;
  } else throw new TypeError(`unknown runtime ${runtime}`);
  p.child.once("exit", (code, signal) => {
    if (run.stage !== "done") peerErrors.push(`${name} peer exited (${code ?? signal}):\n${p.output().slice(-2000)}`);
  });
}

/** Waits until every peer of `names` has reported a link. */
export async function waitLinked(names) {
  await until(() => {
    checkPeers();
    return names.every((n) => reports.get(n)?.report.connected);
  }, 60_000, () => `peers linked (have: ${names.filter((n) => reports.get(n)?.report.connected).join(", ") || "none"})`);
}

/**
 * Waits until every peer of `orphans` reports a link to a relay other than `killed` made after
 * `t`; returns name → { to, ms }.
 */
export async function waitRelinked(relays, killed, orphans, t) {
  const relinked = {};
  await until(() => {
    for (const name of orphans) {
      const r = reports.get(name);
      if (relinked[name] || !r.report.connected || r.report.relay === relays[killed].id || r.at < t) continue;
      relinked[name] = { to: relayName(relays, r.report.relay), ms: Math.round(r.at - t) };
    }
    checkPeers();
    return orphans.every((n) => relinked[n]);
  }, 30_000, () => `peers of the killed relay linked again (have: ${Object.keys(relinked).join(", ") || "none"})`);
  return relinked;
}

// ── the run ────────────────────────────────────────────────────────────────────────────────────
/**
 * Runs `main(result)` within the run's deadline, stops everything, prints `result` as one JSON
 * line (with `ok`, `total_ms`, and on failure `stage` and `error`) and exits 0 or 1.
 */
export function runScenario(main, result) {
  let finished = false;
  const finish = async (error) => {
    if (finished) return;
    finished = true;
    const failedStage = run.stage;
    run.stage = "done";
    await cleanup();
    result.total_ms = since(started);
    if (error) {
      result.ok = false;
      result.stage = failedStage;
      result.error = error.interop ? error.message : String(error?.stack ?? error);
      console.error(`interop FAILED during "${failedStage}": ${result.error}`);
    }
    console.log(JSON.stringify(result));
    process.exit(result.ok ? 0 : 1);
  };
  const timer = setTimeout(() => {
    const e = new Error(`run deadline of ${TOTAL_MS} ms passed during ${run.stage}`);
    e.interop = true;
    finish(e);
  }, TOTAL_MS + 5000);
  timer.unref();
  main(result).then(() => {
    run.stage = "done";
    result.ok = true;
    return finish();
  }, (e) => finish(e));
}
