#!/usr/bin/env node
// Interop across runtimes, over real WebSockets on loopback (`npm run test:interop`):
//
//   relays   Node (`grapevine relay`, from dist/), Deno (`deno run -A relay/deno.ts`), and the
//            Workers adapter in workerd through miniflare; Deno dials Node, Workers dials both,
//            so the three relays form a full mesh.
//   peers    Node 20 (ws), Deno and Bun (their global WebSocket), headless Chromium (the page's
//            WebSocket): one process or page each, each first dialing a different relay and holding
//            the other relays as fallbacks (dial's `urls`).
//
// Steps, each with its own deadline: every peer writes `v`; every peer must see every value; one
// more write must reach all; then the Deno relay (which the Deno and Chromium peers joined through)
// is killed with SIGKILL, its peers fail over to another relay, and two new writes (one from an
// orphaned peer, one from a peer that kept its relay) must reach every peer.
//
// Prints one JSON line, `{"ok":true,…}` with per-runtime times, and exits 0; on any failure it
// prints `{"ok":false,"error":…}` with what it had, and exits 1. Every child process, the browser
// and workerd are stopped on the way out, failure or not. Whole run bounded by --timeout (180 s).
// Needs dist/ (npm run build). Without Chromium the browser peer is skipped, unless
// GRAPEVINE_REQUIRE_BROWSER=1 (CI), which makes it a failure.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { findChromium, launchChromium } from "../runtimes/chromium.mjs";

// The relays log connects and refusals as JSON lines; only warnings and errors here.
process.env.GRAPEVINE_LOG_LEVEL ??= "warn";
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = (name) => join(ROOT, "node_modules/.bin", name);
const NETWORK = `interop-${process.pid}`;
const INTERVAL_MS = 100; // the peers' gossip interval; relays keep their default (1 s)
const argTimeout = process.argv.indexOf("--timeout");
const TOTAL_MS = argTimeout > 0 ? Number(process.argv[argTimeout + 1]) * 1000 : 180_000;
const started = performance.now();
const since = (t) => Math.round(performance.now() - t);

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
function onExit(stop) {
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

const result = { ok: false, network: NETWORK, relays: {}, peers: {} };
let stage = "setup";

function fail(message) {
  const e = new Error(message);
  e.interop = true;
  throw e;
}

/**
 * Polls `cond` every 20 ms; throws after `ms` (and never waits past the run's deadline). `what`
 * names the wait, or is a function that describes the state at the deadline.
 */
async function until(cond, ms, what) {
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

function spawnLogged(name, command, args, env = {}) {
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

async function health(url) {
  try {
    const r = await fetch(new URL("healthz", url.replace(/^ws/, "http")), { signal: AbortSignal.timeout(2000) });
    return await r.json();
  } catch {
    return null;
  }
}

// ── the orchestrator's HTTP endpoint: peers' reports, commands, and the browser page ────────────
const reports = new Map(); // name → { at, report }
const firstLinked = new Map(); // name → ms since spawn of the first report with connected: true
const spawnedAt = new Map();
const queues = new Map(); // name → commands not yet taken
const waiting = new Map(); // name → response of a pending long poll
const peerErrors = [];
let browserJs = "";

function send(name, cmd) {
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

// ── bundles ────────────────────────────────────────────────────────────────────────────────────
async function bundles() {
  const common = { bundle: true, format: "esm", write: false, logLevel: "error" };
  const [nodePeer, browserPeer, worker] = await Promise.all([
    build({ ...common, entryPoints: [join(ROOT, "test/interop/peer-node.ts")], platform: "node", target: "node20", packages: "external" }),
    build({ ...common, entryPoints: [join(ROOT, "test/interop/peer-browser.ts")], platform: "browser", target: "es2022" }),
    build({ ...common, entryPoints: [join(ROOT, "relay/workers.ts")], platform: "neutral", mainFields: ["module", "main"], conditions: ["worker", "browser"] }),
  ]);
  // Next to node_modules, so that the bundle's bare imports (ws, cbor-x, @noble/*) resolve.
  const dir = join(ROOT, "node_modules/.cache/grapevine");
  mkdirSync(dir, { recursive: true });
  const nodePeerPath = join(dir, "interop-peer-node.mjs");
  writeFileSync(`${nodePeerPath}.${process.pid}.tmp`, nodePeer.outputFiles[0].contents);
  renameSync(`${nodePeerPath}.${process.pid}.tmp`, nodePeerPath);
  browserJs = browserPeer.outputFiles[0].text;
  return { nodePeerPath, workerScript: worker.outputFiles[0].text };
}

// ── the run ────────────────────────────────────────────────────────────────────────────────────
function seenBy(name) {
  return reports.get(name)?.report.seen ?? {};
}

/** What `name` sees, keyed by peer name rather than node id (for messages). */
function seenNames(name) {
  const seen = seenBy(name);
  return Object.fromEntries(Object.entries(ids).map(([n, id]) => [n, seen[id] ?? null]));
}

/** Waits until every peer sees `expected` (origin name → value); returns ms per peer from `t0`. */
async function converge(names, expected, t0, ms, what) {
  const times = {};
  await until(() => {
    for (const name of names) {
      if (times[name] !== undefined) continue;
      const seen = seenBy(name);
      const ok = Object.entries(expected).every(([origin, value]) => seen[ids[origin]] === value);
      if (ok) times[name] = Math.round(reports.get(name).at - t0);
    }
    if (peerErrors.length) fail(`peer error: ${peerErrors.join("; ")}`);
    return names.every((n) => times[n] !== undefined);
  }, ms, () => `${what} (missing: ${names.filter((n) => times[n] === undefined).map((n) => `${n} sees ${JSON.stringify(seenNames(n))}`).join("; ")})`);
  return times;
}

const ids = {}; // peer name → node id

async function main() {
  const timer = setTimeout(() => {
    const e = new Error(`run deadline of ${TOTAL_MS} ms passed during ${stage}`);
    e.interop = true;
    finish(e);
  }, TOTAL_MS + 5000);
  timer.unref();

  stage = "preconditions";
  if (!existsSync(join(ROOT, "dist/cli/grapevine.js")) || !existsSync(join(ROOT, "dist/relay/node.js"))) {
    fail("dist/ is missing: run npm run build (the Node relay runs as `grapevine relay` from dist/)");
  }
  for (const tool of ["deno", "bun"]) if (!existsSync(BIN(tool))) fail(`node_modules/.bin/${tool} is missing: npm install`);
  const chromiumPath = findChromium();
  if (!chromiumPath && process.env.GRAPEVINE_REQUIRE_BROWSER === "1") fail("chromium not found (apt-get install -y chromium) and GRAPEVINE_REQUIRE_BROWSER=1");

  stage = "bundles";
  const { nodePeerPath, workerScript } = await bundles();
  await new Promise((r) => control.listen(0, "127.0.0.1", r));
  onExit(() => new Promise((r) => {
    for (const res of waiting.values()) res.destroy();
    control.closeAllConnections();
    control.close(() => r());
  }));
  const controlUrl = `http://127.0.0.1:${control.address().port}/`;

  stage = "relays";
  const nodeRelay = await startRelay("node", process.execPath, [join(ROOT, "bin/grapevine.js"), "relay", "--port", "0", "--network", NETWORK]);
  const denoRelay = await startRelay("deno", BIN("deno"), ["run", "-A", "relay/deno.ts", "--port", "0", "--network", NETWORK, "--peer", nodeRelay.url]);
  const tw = performance.now();
  const { Miniflare } = await import("miniflare");
  const mf = new Miniflare({
    modules: true,
    script: workerScript,
    compatibilityDate: "2025-09-01",
    durableObjects: { RELAY: { className: "RelayObject", useSQLite: true } },
    bindings: { GRAPEVINE_NETWORK: NETWORK, GRAPEVINE_PEERS: `${nodeRelay.url} ${denoRelay.url}` },
    host: "127.0.0.1",
    port: 0,
  });
  onExit(() => mf.dispose());
  const workersHttp = (await mf.ready).href;
  const workersUrl = workersHttp.replace(/^http/, "ws");
  // The object runs its relay (and dials its peers) while clients are connected: it learns its id
  // from /healthz now, and joins the relay mesh once the first peer links to it.
  const workersHealth = await until(() => health(workersUrl), 30_000, "workers relay /healthz");
  const workersRelay = { id: workersHealth.id, url: workersUrl, started_ms: since(tw) };
  const relays = { node: nodeRelay, deno: denoRelay, workers: workersRelay };
  for (const [name, r] of Object.entries(relays)) result.relays[name] = { id: r.id, url: r.url, started_ms: r.started_ms };
  result.relays.workers.note = "workerd via miniflare; while it has clients, the Durable Object dials the Node and Deno relays (GRAPEVINE_PEERS)";

  stage = "relay mesh";
  const tm = performance.now();
  await until(async () => {
    const [n, d] = await Promise.all([health(nodeRelay.url), health(denoRelay.url)]);
    return n?.links >= 1 && d?.peers.every((p) => p.connected) && d.links >= 1;
  }, 30_000, "the Deno relay linked to the Node relay");
  result.relay_mesh_ms = since(tm);

  stage = "peers join";
  const plan = {
    node: ["node", "deno", "workers"],
    deno: ["deno", "workers", "node"],
    bun: ["workers", "node", "deno"],
    chromium: ["deno", "node", "workers"],
  };
  const names = Object.keys(plan).filter((n) => n !== "chromium" || chromiumPath);
  if (!chromiumPath) result.peers.chromium = { skipped: "chromium not found (apt-get install -y chromium)" };
  const config = (name) => JSON.stringify({ name, control: controlUrl, urls: plan[name].map((r) => relays[r].url), network: NETWORK, intervalMs: INTERVAL_MS });
  const peerProcesses = {};
  spawnedAt.set("node", performance.now());
  peerProcesses.node = spawnLogged("node peer", process.execPath, [nodePeerPath, config("node")]);
  spawnedAt.set("deno", performance.now());
  peerProcesses.deno = spawnLogged("deno peer", BIN("deno"), ["run", "-A", "test/interop/peer-cli.ts", config("deno")]);
  spawnedAt.set("bun", performance.now());
  peerProcesses.bun = spawnLogged("bun peer", BIN("bun"), ["test/interop/peer-cli.ts", config("bun")]);
  if (chromiumPath) {
    spawnedAt.set("chromium", performance.now());
    const browser = await launchChromium();
    onExit(() => browser.close());
    const page = await browser.context.newPage();
    page.on("pageerror", (e) => peerErrors.push(`chromium page error: ${e.message}`));
    await page.goto(`${controlUrl}?config=${encodeURIComponent(config("chromium"))}`);
  }
  for (const [name, p] of Object.entries(peerProcesses)) {
    p.child.once("exit", (code, signal) => {
      if (stage !== "done") peerErrors.push(`${name} peer exited (${code ?? signal}):\n${p.output().slice(-2000)}`);
    });
  }
  await until(() => {
    if (peerErrors.length) fail(`peer error: ${peerErrors.join("; ")}`);
    return names.every((n) => reports.get(n)?.report.connected);
  }, 60_000, () => `peers linked (have: ${names.filter((n) => reports.get(n)?.report.connected).join(", ") || "none"})`);
  // The Workers relay has clients now (bun joined through it): it dials the other two.
  await until(async () => {
    const w = await health(workersUrl);
    return w?.peers.length === 2 && w.peers.every((p) => p.connected);
  }, 30_000, "the Workers relay linked to the Node and Deno relays");
  result.workers_mesh_ms = since(tm);
  const relayName = (id) => Object.keys(relays).find((k) => relays[k].id === id) ?? id;
  for (const name of names) {
    const r = reports.get(name).report;
    ids[name] = r.id;
    result.peers[name] = { version: r.version, relay: relayName(r.relay), joined_ms: firstLinked.get(name) };
    if (r.relay !== relays[plan[name][0]].id) fail(`${name} peer joined through ${relayName(r.relay)}, expected ${plan[name][0]}`);
  }

  stage = "every peer writes, every peer sees every value";
  const t1 = performance.now();
  for (const name of names) send(name, { op: "set", key: "v", value: `${name}-1` });
  const all1 = Object.fromEntries(names.map((n) => [n, `${n}-1`]));
  const saw = await converge(names, all1, t1, 30_000, "every peer sees every peer's first value");
  for (const name of names) result.peers[name].saw_all_ms = saw[name];

  stage = "a later write reaches all";
  const writer = "bun";
  const t2 = performance.now();
  send(writer, { op: "set", key: "v", value: `${writer}-2` });
  const after = await converge(names, { ...all1, [writer]: `${writer}-2` }, t2, 30_000, `${writer}'s second write reaches every peer`);
  result.after_write_by = writer;
  result.after_write_ms = Math.max(...Object.values(after));

  stage = "relay killed, peers fail over";
  const killed = "deno";
  const orphans = names.filter((n) => plan[n][0] === killed);
  const t3 = performance.now();
  relays.deno.process.child.kill("SIGKILL");
  result.relay_killed = killed;
  // One write from a peer that lost its relay (it spreads once that peer is linked again), one from
  // a peer whose relay survived.
  const orphanWriter = orphans[0];
  const keeper = names.find((n) => !orphans.includes(n));
  send(orphanWriter, { op: "set", key: "v", value: `${orphanWriter}-3` });
  send(keeper, { op: "set", key: "v", value: `${keeper}-3` });
  result.relinked = {};
  await until(() => {
    for (const name of orphans) {
      const r = reports.get(name);
      if (result.relinked[name] || !r.report.connected || r.report.relay === relays.deno.id || r.at < t3) continue;
      result.relinked[name] = { to: relayName(r.report.relay), ms: Math.round(r.at - t3) };
    }
    if (peerErrors.length) fail(`peer error: ${peerErrors.join("; ")}`);
    return orphans.every((n) => result.relinked[n]);
  }, 30_000, () => `peers of the killed relay linked again (have: ${Object.keys(result.relinked).join(", ") || "none"})`);
  const expected3 = { ...all1, [writer]: `${writer}-2`, [orphanWriter]: `${orphanWriter}-3`, [keeper]: `${keeper}-3` };
  const re = await converge(names, expected3, t3, 30_000, "every peer sees the writes made as the relay died");
  result.reconverged_by = [orphanWriter, keeper];
  result.reconverged_ms = Math.max(...Object.values(re));
  result.reconverged_per_peer_ms = re;

  stage = "done";
  for (const name of names) send(name, { op: "exit" });
  result.ok = true;
}

let finished = false;
async function finish(error) {
  if (finished) return;
  finished = true;
  const failedStage = stage;
  stage = "done";
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
}

main().then(() => finish(), (e) => finish(e));
