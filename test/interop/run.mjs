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

import {
  checkPeers,
  fail,
  firstLinked,
  INTERVAL_MS,
  relayName,
  reports,
  run,
  runScenario,
  send,
  setUp,
  spawnPeer,
  startRelays,
  until,
  waitLinked,
  waitRelinked,
  waitWorkersMesh,
} from "./harness.mjs";

const NETWORK = `interop-${process.pid}`;

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
    checkPeers();
    return names.every((n) => times[n] !== undefined);
  }, ms, () => `${what} (missing: ${names.filter((n) => times[n] === undefined).map((n) => `${n} sees ${JSON.stringify(seenNames(n))}`).join("; ")})`);
  return times;
}

const ids = {}; // peer name → node id

async function main(result) {
  const setup = await setUp(result);
  const relays = await startRelays(NETWORK, setup.workerScript, result);

  run.stage = "peers join";
  const plan = {
    node: ["node", "deno", "workers"],
    deno: ["deno", "workers", "node"],
    bun: ["workers", "node", "deno"],
    chromium: ["deno", "node", "workers"],
  };
  const names = Object.keys(plan).filter((n) => n !== "chromium" || setup.chromiumPath);
  const config = (name) => ({ name, control: setup.controlUrl, urls: plan[name].map((r) => relays[r].url), network: NETWORK, intervalMs: INTERVAL_MS });
  for (const name of names) await spawnPeer(setup, name, name, config(name));
  await waitLinked(names);
  // The Workers relay has clients now (bun joined through it): it dials the other two.
  await waitWorkersMesh(relays, result);
  for (const name of names) {
    const r = reports.get(name).report;
    ids[name] = r.id;
    result.peers[name] = { version: r.version, relay: relayName(relays, r.relay), joined_ms: firstLinked.get(name) };
    if (r.relay !== relays[plan[name][0]].id) fail(`${name} peer joined through ${relayName(relays, r.relay)}, expected ${plan[name][0]}`);
  }

  run.stage = "every peer writes, every peer sees every value";
  const t1 = performance.now();
  for (const name of names) send(name, { op: "set", key: "v", value: `${name}-1` });
  const all1 = Object.fromEntries(names.map((n) => [n, `${n}-1`]));
  const saw = await converge(names, all1, t1, 30_000, "every peer sees every peer's first value");
  for (const name of names) result.peers[name].saw_all_ms = saw[name];

  run.stage = "a later write reaches all";
  const writer = "bun";
  const t2 = performance.now();
  send(writer, { op: "set", key: "v", value: `${writer}-2` });
  const after = await converge(names, { ...all1, [writer]: `${writer}-2` }, t2, 30_000, `${writer}'s second write reaches every peer`);
  result.after_write_by = writer;
  result.after_write_ms = Math.max(...Object.values(after));

  run.stage = "relay killed, peers fail over";
  const killed = "deno";
  const orphans = names.filter((n) => plan[n][0] === killed);
  const t3 = performance.now();
  relays[killed].process.child.kill("SIGKILL");
  result.relay_killed = killed;
  // One write from a peer that lost its relay (it spreads once that peer is linked again), one from
  // a peer whose relay survived.
  const orphanWriter = orphans[0];
  const keeper = names.find((n) => !orphans.includes(n));
  send(orphanWriter, { op: "set", key: "v", value: `${orphanWriter}-3` });
  send(keeper, { op: "set", key: "v", value: `${keeper}-3` });
  result.relinked = await waitRelinked(relays, killed, orphans, t3);
  const expected3 = { ...all1, [writer]: `${writer}-2`, [orphanWriter]: `${orphanWriter}-3`, [keeper]: `${keeper}-3` };
  const re = await converge(names, expected3, t3, 30_000, "every peer sees the writes made as the relay died");
  result.reconverged_by = [orphanWriter, keeper];
  result.reconverged_ms = Math.max(...Object.values(re));
  result.reconverged_per_peer_ms = re;

  run.stage = "done";
  for (const name of names) send(name, { op: "exit" });
}

runScenario(main, { ok: false, network: NETWORK, relays: {}, peers: {} });
