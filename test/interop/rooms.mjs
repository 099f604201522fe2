#!/usr/bin/env node
// Rooms across runtimes, over real WebSockets on loopback (`npm run test:interop:rooms`): the same
// three relays as run.mjs (Node, Deno, Workers in workerd, a full mesh), and five peers in two rooms,
// each room's members on different relays:
//
//   room A   a1: Node (via the Node relay), a2: Chromium (via the Deno relay)
//   room B   b1: Node (via Workers), b2: Deno (via Deno), b3: Bun (via Node)
//
// Each peer joins its room (`node.room(id)` with presence, and a hold on the scope `room/<id>`),
// writes key `v` in the scope and broadcasts on the room's topic. Every payload of a room (its
// values, its presence names, its messages) carries the room's marker string.
//
// Steps, each with its own deadline: every member sees every other member's value and presence in
// its room; every member hears every other member's message; each relay carries exactly the rooms
// of its clients (/healthz scopes); the Deno relay is killed with SIGKILL, its peers (a2, b2) fail
// over, and a new write and a new message from each of them, and a write from a member that kept
// its relay, reach every member of their room. Last, every peer reports what it received on its
// socket (frames tapped before the node reads them): a member of one room must have received 0
// SCOPED frames of the other room's scope and 0 frames holding the other room's marker (in any
// frame type), and more than 0 of its own.
//
// Prints one JSON line, `{"ok":true,…}`, and exits 0; on failure `{"ok":false,"error":…}` and exits
// 1. Needs dist/ (npm run build). Without Chromium, a2 runs on Node, unless
// GRAPEVINE_REQUIRE_BROWSER=1 (CI), which makes it a failure. Whole run bounded by --timeout (180 s).

import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  checkPeers,
  fail,
  firstLinked,
  health,
  INTERVAL_MS,
  relayName,
  reports,
  ROOT,
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

const NETWORK = `rooms-${process.pid}`;
const MARKER = { A: "@@room-A-payload@@", B: "@@room-B-payload@@" };
const OTHER = { A: "B", B: "A" };

/** name → { runtime, room, relays in dial order }. */
const PLAN = {
  a1: { runtime: "node", room: "A", dial: ["node", "workers", "deno"] },
  a2: { runtime: "chromium", room: "A", dial: ["deno", "node", "workers"] },
  b1: { runtime: "node", room: "B", dial: ["workers", "node", "deno"] },
  b2: { runtime: "deno", room: "B", dial: ["deno", "workers", "node"] },
  b3: { runtime: "bun", room: "B", dial: ["node", "deno", "workers"] },
};
const NAMES = Object.keys(PLAN);
const members = (room) => NAMES.filter((n) => PLAN[n].room === room);
const ids = {}; // peer name → node id
const nameOf = (id) => NAMES.find((n) => ids[n] === id) ?? id;

/** What `name` reports of its room, or null before it joined. */
function roomOf(name) {
  return reports.get(name)?.report.rooms?.[PLAN[name].room] ?? null;
}

/**
 * Waits until `holds(name, roomReport)` for every peer of `names`; returns ms per peer from `t0`.
 * `show(roomReport)` describes a peer's view at the deadline.
 */
async function waitAll(names, holds, t0, ms, what, show) {
  const times = {};
  await until(() => {
    for (const name of names) {
      const r = roomOf(name);
      if (times[name] === undefined && r && holds(name, r)) times[name] = Math.round(reports.get(name).at - t0);
    }
    checkPeers();
    return names.every((n) => times[n] !== undefined);
  }, ms, () => `${what} (missing: ${names.filter((n) => times[n] === undefined).map((n) => `${n} sees ${JSON.stringify(show(roomOf(n)))}`).join("; ")})`);
  return times;
}

/** Every member sees `expected(origin)` as the value `v` of every other member of its room. */
function convergeValues(expected, t0, what) {
  const show = (r) => r && Object.fromEntries(Object.entries(r.seen).map(([id, v]) => [nameOf(id), v]));
  const holds = (name, r) => members(PLAN[name].room).every((o) => r.seen[ids[o]] === expected(o));
  return waitAll(NAMES, holds, t0, 30_000, what, show);
}

/** Every member heard `message(origin)` from every other member of its room. */
function hearMessages(message, t0, what) {
  const show = (r) => r && Object.fromEntries(Object.entries(r.messages).map(([id, m]) => [nameOf(id), m]));
  const holds = (name, r) => members(PLAN[name].room).filter((o) => o !== name).every((o) => r.messages[ids[o]]?.includes(message(o)));
  return waitAll(NAMES, holds, t0, 30_000, what, show);
}

/** Asks every peer for a fresh report and waits for them all. */
async function freshReports(seq) {
  for (const name of NAMES) send(name, { op: "report", seq });
  await until(() => {
    checkPeers();
    return NAMES.every((n) => reports.get(n)?.report.ack === seq);
  }, 10_000, "fresh reports");
}

/** Each relay's /healthz `scopes` against the rooms of the peers linked to it now. */
async function relayScopes(relays, alive) {
  const want = {};
  for (const r of alive) want[r] = new Set();
  for (const name of NAMES) want[relayName(relays, reports.get(name).report.relay)]?.add(PLAN[name].room);
  const out = {};
  await until(async () => {
    for (const r of alive) out[r] = { scopes: (await health(relays[r].url))?.scopes, rooms_of_clients: want[r].size };
    return alive.every((r) => out[r].scopes === out[r].rooms_of_clients);
  }, 10_000, () => `relays carry exactly their clients' rooms (${JSON.stringify(out)})`);
  return out;
}

async function main(result) {
  const setup = await setUp(result);
  const { scopeIdOf } = await import(pathToFileURL(join(ROOT, "dist/src/core/scopes.js")).href);
  const { toHex } = await import(pathToFileURL(join(ROOT, "dist/src/bytes.js")).href);
  const scopeHex = { A: toHex(scopeIdOf("room/A")), B: toHex(scopeIdOf("room/B")) };
  if (!setup.chromiumPath) PLAN.a2.runtime = "node";
  const relays = await startRelays(NETWORK, setup.workerScript, result);

  run.stage = "peers join";
  for (const name of NAMES) {
    const config = { name, control: setup.controlUrl, urls: PLAN[name].dial.map((r) => relays[r].url), network: NETWORK, intervalMs: INTERVAL_MS, markers: Object.values(MARKER) };
    await spawnPeer(setup, name, PLAN[name].runtime, config);
  }
  await waitLinked(NAMES);
  await waitWorkersMesh(relays, result); // b1 joined through it: it dials the other two
  for (const name of NAMES) {
    const r = reports.get(name).report;
    ids[name] = r.id;
    result.peers[name] = { version: r.version, room: PLAN[name].room, relay: relayName(relays, r.relay), joined_ms: firstLinked.get(name) };
    if (r.relay !== relays[PLAN[name].dial[0]].id) fail(`${name} peer joined through ${relayName(relays, r.relay)}, expected ${PLAN[name].dial[0]}`);
  }

  run.stage = "each room converges";
  const t1 = performance.now();
  const value1 = (n) => `${n}-1 ${MARKER[PLAN[n].room]}`;
  for (const name of NAMES) {
    send(name, { op: "join", room: PLAN[name].room, value: `${name} ${MARKER[PLAN[name].room]}` });
    send(name, { op: "room-set", room: PLAN[name].room, key: "v", value: value1(name) });
  }
  const saw = await convergeValues(value1, t1, "every member sees every member's value in its room");
  const presence = await waitAll(NAMES, (name, r) => members(PLAN[name].room).filter((o) => o !== name).every((o) => r.presence[ids[o]] === `${o} ${MARKER[PLAN[o].room]}`), t1, 30_000, "every member sees every other's presence", (r) => r?.presence);
  for (const name of NAMES) Object.assign(result.peers[name], { saw_room_ms: saw[name], saw_presence_ms: presence[name] });

  run.stage = "each room's messages reach its members";
  const t2 = performance.now();
  const message1 = (n) => `${n}-m1 ${MARKER[PLAN[n].room]}`;
  for (const name of NAMES) send(name, { op: "room-publish", room: PLAN[name].room, value: message1(name) });
  const heard = await hearMessages(message1, t2, "every member hears every other member's message");
  result.messages_ms = Math.max(...Object.values(heard));

  run.stage = "relays carry their clients' rooms";
  result.relay_scopes = await relayScopes(relays, ["node", "deno", "workers"]);

  run.stage = "relay killed, peers fail over";
  const killed = "deno";
  const orphans = NAMES.filter((n) => PLAN[n].dial[0] === killed);
  const keeper = "a1";
  const t3 = performance.now();
  relays[killed].process.child.kill("SIGKILL");
  result.relay_killed = killed;
  const value2 = (n) => (orphans.includes(n) || n === keeper ? `${n}-2 ${MARKER[PLAN[n].room]}` : value1(n));
  for (const name of [...orphans, keeper]) send(name, { op: "room-set", room: PLAN[name].room, key: "v", value: value2(name) });
  result.relinked = await waitRelinked(relays, killed, orphans, t3);
  const re = await convergeValues(value2, t3, "every member sees the writes made as the relay died");
  result.reconverged_by = [...orphans, keeper];
  result.reconverged_ms = Math.max(...Object.values(re));
  result.reconverged_per_peer_ms = re;

  run.stage = "messages after the failover";
  const t4 = performance.now();
  const message2 = (n) => `${n}-m2 ${MARKER[PLAN[n].room]}`;
  for (const name of orphans) send(name, { op: "room-publish", room: PLAN[name].room, value: message2(name) });
  const orphanRooms = new Set(orphans.map((n) => PLAN[n].room));
  const holds = (name, r) => members(PLAN[name].room).filter((o) => o !== name && orphans.includes(o)).every((o) => r.messages[ids[o]]?.includes(message2(o)));
  const heard2 = await waitAll(NAMES.filter((n) => orphanRooms.has(PLAN[n].room)), holds, t4, 30_000, "every member hears the orphans' new messages", (r) => r?.messages);
  result.messages_after_failover_ms = Math.max(...Object.values(heard2));
  result.relay_scopes_after = await relayScopes(relays, ["node", "workers"]);

  run.stage = "no frame of the other room";
  await freshReports(1);
  result.frames = {};
  const problems = [];
  for (const name of NAMES) {
    const room = PLAN[name].room;
    const other = OTHER[room];
    const f = reports.get(name).report.frames;
    const foreign = Object.keys(f.scoped).filter((k) => k !== scopeHex.A && k !== scopeHex.B);
    result.frames[name] = {
      total: f.total,
      own_scoped: f.scoped[scopeHex[room]] ?? 0,
      other_scoped: f.scoped[scopeHex[other]] ?? 0,
      own_marked: f.marked[MARKER[room]] ?? 0,
      other_marked: f.marked[MARKER[other]] ?? 0,
      ...(foreign.length ? { unknown_scopes: Object.fromEntries(foreign.map((k) => [k, f.scoped[k]])) } : {}),
    };
    const c = result.frames[name];
    if (c.other_scoped > 0) problems.push(`${name} (room ${room}) received ${c.other_scoped} SCOPED frames of room ${other}`);
    if (c.other_marked > 0) problems.push(`${name} (room ${room}) received ${c.other_marked} frames holding room ${other}'s payloads`);
    if (c.own_scoped === 0 || c.own_marked === 0) problems.push(`${name} received no frame of its own room ${room}`);
  }
  if (problems.length) fail(problems.join("; "));

  run.stage = "done";
  for (const name of NAMES) send(name, { op: "exit" });
}

runScenario(main, { ok: false, network: NETWORK, rooms: { A: members("A"), B: members("B") }, relays: {}, peers: {} });
