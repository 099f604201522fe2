/**
 * The `rooms` scenario (issue 13, "rooms and topics as their own swarms"): many rooms over one
 * mesh of clients and relays, each room its own scope, and what a member pays for being in one.
 *
 * Layout (a pure function of the seed): nodes `0 … relays−1` are relays, linked to each other in a
 * full mesh; every other node is a client linked to one or two relays, plus a few client–client
 * links (half of them inside a room, as members that upgraded to a direct link). Room sizes are
 * drawn Zipf-like between `sizeMin` and `sizeMax`, the exponent chosen so the rooms hold about
 * 95 % of the clients; the rest are in no room. Each relay runs an {@link InterestFollower}: it
 * joins the scopes its client links want and never follows its peer relays' interest.
 *
 * Run: every member joins `room/<id>` during the join phase and writes its presence (key
 * `presence` in the room's scope) at once and every `presenceIntervalMs`; over the measured window
 * it publishes cursors at `cursorsPerSecond` on topic `room/<id>`. Membership (SWIM) is off, as in
 * the other state and broadcast scenarios: its probes would be the same with or without rooms and
 * would only slow a 10,000-node run.
 *
 * Baseline: the same layout (same seed, nodes, relays, links) with one reference room alone
 * active — the largest, the median-size one, or both (separate runs) — so the ratio of a member's
 * cost in the full run to its cost there is what the other rooms add to it (target ≤ 1.25×).
 *
 * @module
 */

import { InterestFollower } from "../core/interest.ts";
import { deriveSeed, randomBelow, randomUnit, seededRng, type Rng } from "../core/random.ts";
import { scopeIdOf } from "../core/scopes.ts";
import type { SignatureSuite } from "../crypto/types.ts";
import { FRAME } from "../wire/frames.ts";
import { simKeyPair } from "./scenarios.ts";
import { Simulation } from "./sim.ts";

/** Knobs of the rooms scenario. Times in virtual ms. */
export interface RoomsOptions {
  /** All nodes, relays included. */
  nodes: number;
  rooms: number;
  relays: number;
  seed: number;
  /** The measured window, after the join phase. */
  durationMs: number;
  /** Join phase: members join over its first half; the rest lets relays and trees settle. */
  joinMs: number;
  cursorsPerSecond: number;
  presenceIntervalMs: number;
  sizeMin: number;
  sizeMax: number;
  /** Extra client–client links; negative: one per 50 clients. */
  clientLinks: number;
  intervalMs: number;
  cursorBytes: number;
  /** Reference rooms run alone for the cost ratio. */
  baseline: ReadonlyArray<"largest" | "median">;
  suite: SignatureSuite;
  cryptoName: string;
  /** Wall clock for `wall_ms`, injected (the simulator has none). */
  clock: () => number;
  /** Told once a virtual second of how far a run is. */
  progress?: (note: string) => void;
}

/** Defaults of the issue: 10,000 nodes, 1,000 rooms of 2–200, 20 relays, 20 s measured. */
export const ROOMS_DEFAULTS = Object.freeze({
  nodes: 10_000, rooms: 1000, relays: 20, durationMs: 20_000, joinMs: 6000, cursorsPerSecond: 5,
  presenceIntervalMs: 5000, sizeMin: 2, sizeMax: 200, clientLinks: -1, intervalMs: 1000, cursorBytes: 16,
});

/** Who is where. */
export interface RoomsLayout {
  relays: number;
  /** Per node: its room, or −1 (relays and clients in no room). */
  roomOf: Int32Array;
  members: number[][];
  links: Array<[number, number]>;
  /** Per node: the relays it links to (empty for relays). */
  relaysOf: number[][];
  zipfExponent: number;
}

function shuffle<T>(rng: Rng, a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = randomBelow(rng, i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** The exponent α of P(size = s) ∝ s^−α on [min, max] whose mean is `target` (bisection). */
export function zipfExponent(min: number, max: number, target: number): number {
  const mean = (a: number) => {
    let w = 0;
    let m = 0;
    for (let s = min; s <= max; s++) {
      const p = s ** -a;
      w += p;
      m += s * p;
    }
    return m / w;
  };
  let lo = 0;
  let hi = 20;
  if (mean(lo) <= target) return 0;
  for (let k = 0; k < 60; k++) {
    const mid = (lo + hi) / 2;
    if (mean(mid) > target) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** The seeded layout of a run. */
export function roomsLayout(o: Pick<RoomsOptions, "nodes" | "rooms" | "relays" | "seed" | "sizeMin" | "sizeMax" | "clientLinks">): RoomsLayout {
  const { nodes, rooms, relays, sizeMin, sizeMax } = o;
  const clients = nodes - relays;
  if (!(relays >= 1 && clients >= 2)) throw new RangeError("rooms: need at least one relay and two clients");
  if (!(sizeMin >= 2 && sizeMax >= sizeMin)) throw new RangeError("rooms: room sizes need 2 ≤ min ≤ max");
  if (rooms < 1 || rooms * sizeMin > clients) throw new RangeError(`rooms: ${rooms} rooms of at least ${sizeMin} need more than ${clients} clients`);
  const rng = seededRng(deriveSeed(o.seed, 13_001));
  const alpha = zipfExponent(sizeMin, sizeMax, Math.max(sizeMin, (0.95 * clients) / rooms));
  const cdf: number[] = [];
  let total = 0;
  for (let s = sizeMin; s <= sizeMax; s++) cdf.push((total += s ** -alpha));
  const sizes = Array.from({ length: rooms }, () => {
    const u = randomUnit(rng) * total;
    let k = 0;
    while (k < cdf.length - 1 && cdf[k] < u) k++;
    return sizeMin + k;
  });
  for (let sum = sizes.reduce((a, b) => a + b, 0); sum > clients; sum--) {
    let r = randomBelow(rng, rooms);
    while (sizes[r] <= sizeMin) r = (r + 1) % rooms;
    sizes[r]--;
  }
  const order = shuffle(rng, Array.from({ length: clients }, (_, k) => relays + k));
  const roomOf = new Int32Array(nodes).fill(-1);
  const members: number[][] = [];
  let next = 0;
  for (let r = 0; r < rooms; r++) {
    const m = order.slice(next, (next += sizes[r])).sort((a, b) => a - b);
    for (const i of m) roomOf[i] = r;
    members.push(m);
  }
  const links: Array<[number, number]> = [];
  const seen = new Set<number>();
  const add = (a: number, b: number) => {
    const key = Math.min(a, b) * nodes + Math.max(a, b);
    if (a === b || seen.has(key)) return;
    seen.add(key);
    links.push([a, b]);
  };
  for (let a = 0; a < relays; a++) for (let b = a + 1; b < relays; b++) add(a, b);
  const relaysOf: number[][] = Array.from({ length: nodes }, () => []);
  for (let c = relays; c < nodes; c++) {
    const k = relays >= 2 && randomUnit(rng) < 0.5 ? 2 : 1;
    relaysOf[c] = shuffle(rng, Array.from({ length: relays }, (_, r) => r)).slice(0, k);
    for (const r of relaysOf[c]) add(c, r);
  }
  const extra = o.clientLinks < 0 ? Math.floor(clients / 50) : o.clientLinks;
  for (let k = 0; k < extra; k++) {
    const a = relays + randomBelow(rng, clients);
    const room = roomOf[a];
    const b = room >= 0 && randomUnit(rng) < 0.5 ? members[room][randomBelow(rng, members[room].length)] : relays + randomBelow(rng, clients);
    add(a, b);
  }
  return { relays, roomOf, members, links, relaysOf, zipfExponent: alpha };
}

/** Counters of one node over the measured window. */
interface NodeCounters {
  bytesIn: Float64Array;
  bytesOut: Float64Array;
  verifies: Float64Array;
  deliveriesOwn: Float64Array;
  deliveriesOther: Float64Array;
  /** SCOPED frames received for a scope the node is not in. */
  foreignScoped: Float64Array;
}

/** What one run (full or baseline) measured. */
interface RunResult {
  active: number[];
  counters: NodeCounters;
  windowS: number;
  published: number;
  /** Deliveries to other members of the publisher's room, over published × (size − 1). */
  expected: number;
  delivered: number;
  latencies: number[];
  scopedFramesSeen: number;
  scopedUnparsed: number;
  penalties: number;
  /** Per relay: rooms it joined, and rooms its clients are in (active ones). */
  relayJoined: Array<Set<number>>;
  relayExpected: Array<Set<number>>;
  relayDeliveries: number;
}

const SCOPE_KEY_BYTES = 6;
function scopeKey(b: Uint8Array, at: number): number {
  let k = 0;
  for (let j = 0; j < SCOPE_KEY_BYTES; j++) k = k * 256 + b[at + j];
  return k;
}

/** One run over `layout` with the rooms in `active` doing their work. */
async function runOnce(o: RoomsOptions, L: RoomsLayout, active: number[], label: string): Promise<RunResult> {
  const n = o.nodes;
  const R = L.relays;
  const roomIds = L.members.map((_, r) => scopeIdOf(`room/${r}`));
  const roomByKey = new Map<number, number>(roomIds.map((id, r) => [scopeKey(id, 0), r]));
  if (roomByKey.size !== roomIds.length) throw new Error("rooms: two room ids share their first bytes; the tap cannot tell them apart");
  const joined: Array<Set<number>> = Array.from({ length: n }, () => new Set());
  const z = () => new Float64Array(n);
  const c: NodeCounters = { bytesIn: z(), bytesOut: z(), verifies: z(), deliveriesOwn: z(), deliveriesOther: z(), foreignScoped: z() };
  let measuring = false;
  let scopedFramesSeen = 0;
  let scopedUnparsed = 0;
  const roomsMax = Math.max(1024, L.members.length + 16);
  const sim = new Simulation({
    nodes: n,
    seed: o.seed,
    degree: 0, // no random overlay: the layout's links are made below
    engine: { intervalMs: o.intervalMs, fanout: 3, membership: false, scopesMax: roomsMax, scopesPerLinkMax: roomsMax, subscriptionChangesPerSecondMax: 1024 },
    network: {},
    suite: o.suite,
    cryptoName: o.cryptoName,
    keyPair: (i) => simKeyPair(o.seed, i),
    cryptoDelayMs: 0,
    onDeliver: (node, _link, bytes) => {
      if (!(bytes[1] === 0x18 && bytes[2] === FRAME.SCOPED)) return;
      scopedFramesSeen++;
      if (bytes[3] !== 0x50) return void scopedUnparsed++; // [34, bstr(16), frame]: a 16-byte string head
      const room = roomByKey.get(scopeKey(bytes, 4));
      if (room === undefined || !joined[node].has(room)) c.foreignScoped[node]++;
    },
    onJob: (node, job) => {
      if (measuring && job.kind === "verify") c.verifies[node]++;
    },
  });
  const followers = Array.from({ length: R }, (_, r) => new InterestFollower({
    join: (id) => {
      try {
        sim.engine(r).joinScope(sim.now, id);
      } catch {
        return false;
      }
      const room = roomByKey.get(scopeKey(id, 0));
      if (room !== undefined) joined[r].add(room);
      return true;
    },
    leave: (id) => {
      sim.engine(r).leaveScope(sim.now, id);
      const room = roomByKey.get(scopeKey(id, 0));
      if (room !== undefined) joined[r].delete(room);
    },
    isRelay: (link) => {
      const peer = sim.peerOfLink(r, link);
      return peer >= 0 && peer < R;
    },
  }));
  // Cursor bookkeeping, indexed by the number each cursor carries.
  const slotMs = 1000 / o.cursorsPerSecond;
  const slots = Math.round(o.durationMs / slotMs);
  const activeMembers = active.flatMap((r) => L.members[r]);
  const capacity = slots * activeMembers.length;
  const sentAt = new Float64Array(capacity);
  const lastAt = new Float64Array(capacity);
  const got = new Uint32Array(capacity);
  const roomOfMsg = new Int32Array(capacity);
  let published = 0;
  let delivered = 0;
  let penalties = 0;
  let relayDeliveries = 0;
  sim.observe((i, ev, now) => {
    if (ev.type === "interest") {
      if (i < R) followers[i].interest(ev.linkId, ev.scope, ev.wanted);
    } else if (ev.type === "penalty") penalties++;
    else if (ev.type === "message" && !ev.message.local) {
      const p = ev.message.payload;
      const k = p.length >= 4 ? new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(0) : -1;
      if (i < R) return void relayDeliveries++;
      const own = k >= 0 && k < published && roomOfMsg[k] === L.roomOf[i] && ev.message.topic === `room/${L.roomOf[i]}`;
      if (!own) return void c.deliveriesOther[i]++;
      if (measuring) c.deliveriesOwn[i]++;
      got[k]++;
      delivered++;
      if (now > lastAt[k]) lastAt[k] = now;
    }
  });
  // A relay serves the clients linked to it (`ConnectOptions.client`); relays and clients among themselves do not.
  for (const [a, b] of L.links) sim.link(a, b, a >= R && b < R ? a : b >= R && a < R ? b : -1);
  const rng = seededRng(deriveSeed(o.seed, 13_002));
  const enc = new TextEncoder();
  const presence = (i: number, tag: string) => {
    const r = L.roomOf[i];
    sim.engine(i).set(sim.now, "presence", enc.encode(`{"node":${i},"room":${r},"at":"${tag}"}`), roomIds[r]);
    sim.flush(i);
  };
  // Join phase: each member at its own time in the first half, with its first presence.
  const joins = activeMembers.map((i) => ({ i, t: randomUnit(rng) * (o.joinMs / 2) })).sort((a, b) => a.t - b.t);
  for (const { i, t } of joins) {
    await sim.runTo(t);
    sim.engine(i).joinScope(sim.now, roomIds[L.roomOf[i]]);
    joined[i].add(L.roomOf[i]);
    presence(i, "join");
  }
  await sim.runTo(o.joinMs);
  // The window: every member has a phase within a cursor slot and a slot for its presence.
  const presenceSlots = Math.max(1, Math.round(o.presenceIntervalMs / slotMs));
  const plan = activeMembers.map((i) => ({ i, phase: randomUnit(rng) * slotMs, presenceSlot: randomBelow(rng, presenceSlots) })).sort((a, b) => a.phase - b.phase);
  const snap = (sign: number) => {
    for (let i = 0; i < n; i++) {
      const s = sim.engine(i).stats;
      c.bytesIn[i] += sign * s.bytesIn;
      c.bytesOut[i] += sign * s.bytesOut;
    }
  };
  snap(-1);
  measuring = true;
  const t0 = sim.now;
  const started = o.clock();
  const cursor = new Uint8Array(Math.max(8, o.cursorBytes));
  const view = new DataView(cursor.buffer);
  for (let s = 0; s < slots; s++) {
    const base = t0 + s * slotMs;
    for (const { i, phase, presenceSlot } of plan) {
      await sim.runTo(base + phase);
      const r = L.roomOf[i];
      const k = published++;
      view.setUint32(0, k);
      view.setUint32(4, i);
      sentAt[k] = sim.now;
      roomOfMsg[k] = r;
      sim.engine(i).publishScoped(sim.now, `room/${r}`, cursor);
      sim.flush(i);
      if (s % presenceSlots === presenceSlot) presence(i, `${s}`);
    }
    if (o.progress && s % o.cursorsPerSecond === 0) {
      o.progress(`${label}: ${((sim.now - t0) / 1000).toFixed(0)}/${o.durationMs / 1000} s virtual, ${published} cursors, ${Math.round(o.clock() - started)} ms wall`);
    }
  }
  await sim.runTo(t0 + o.durationMs);
  snap(1);
  measuring = false;
  let expected = 0;
  for (let k = 0; k < published; k++) expected += L.members[roomOfMsg[k]].length - 1;
  // Grace: what is still in flight arrives (it counts for delivery and latency, not for cost).
  const graceEnd = sim.now + 10_000;
  await sim.runUntil(() => delivered >= expected, graceEnd);
  const latencies: number[] = [];
  for (let k = 0; k < published; k++) if (got[k] === L.members[roomOfMsg[k]].length - 1) latencies.push(lastAt[k] - sentAt[k]);
  const relayExpected: Array<Set<number>> = Array.from({ length: R }, () => new Set());
  for (const r of active) for (const i of L.members[r]) for (const relay of L.relaysOf[i]) relayExpected[relay].add(r);
  return {
    active, counters: c, windowS: o.durationMs / 1000, published, expected, delivered, latencies, scopedFramesSeen, scopedUnparsed,
    penalties, relayJoined: joined.slice(0, R), relayExpected, relayDeliveries,
  };
}

function quantile(sorted: ArrayLike<number>, q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
}
const r2 = (x: number) => Math.round(x * 100) / 100;
const r4 = (x: number) => Math.round(x * 10000) / 10000;

/** Mean, p50, p99 and max of `f` over `nodes`. */
function summary(nodes: number[], f: (i: number) => number) {
  const v = Float64Array.from(nodes, f).sort();
  const mean = v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
  return { mean: r2(mean), p50: r2(quantile(v, 0.5)), p99: r2(quantile(v, 0.99)), max: r2(v.length ? v[v.length - 1] : NaN) };
}

function correlation(x: number[], y: number[]): number | null {
  const n = x.length;
  if (n < 3) return null;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let k = 0; k < n; k++) {
    sxy += (x[k] - mx) * (y[k] - my);
    sxx += (x[k] - mx) ** 2;
    syy += (y[k] - my) ** 2;
  }
  return sxx && syy ? r4(sxy / Math.sqrt(sxx * syy)) : null;
}

/** A member's cost in a run: bytes in and out per second, mean over the room's members. */
function roomCost(res: RunResult, members: number[]): number {
  const c = res.counters;
  return members.reduce((s, i) => s + (c.bytesIn[i] + c.bytesOut[i]) / res.windowS, 0) / members.length;
}

/** Targets the report checks. */
export const ROOMS_TARGETS = Object.freeze({ delivered_fraction: 1, foreign_scoped_frames: 0, foreign_deliveries: 0, relay_extra_rooms: 0, cost_ratio_max: 1.25 });

/** Runs the rooms scenario and its baselines; returns one JSON-able report. */
export async function runRooms(o: RoomsOptions) {
  const started = o.clock();
  const L = roomsLayout(o);
  const all = L.members.map((_, r) => r);
  const full = await runOnce(o, L, all, "full");
  const n = o.nodes;
  const R = L.relays;
  const members = all.flatMap((r) => L.members[r]);
  const c = full.counters;
  const perS = (a: Float64Array) => (i: number) => a[i] / full.windowS;
  const lat = full.latencies.sort((a, b) => a - b);
  const bySize = [...all].sort((a, b) => L.members[a].length - L.members[b].length || a - b);
  const refs = { largest: bySize[bySize.length - 1], median: bySize[Math.floor(bySize.length / 2)] };
  const relays = Array.from({ length: R }, (_, r) => {
    const clients = L.relaysOf.reduce((s, rs, i) => s + (rs.includes(r) && i >= R ? 1 : 0), 0);
    const inRooms = L.relaysOf.reduce((s, rs, i) => s + (rs.includes(r) && L.roomOf[i] >= 0 ? 1 : 0), 0);
    let load = 0; // cursors a second it must carry: each of a room's cursors in once, out to each of its clients there
    for (const room of full.relayExpected[r]) {
      const mine = L.members[room].filter((i) => L.relaysOf[i].includes(r)).length;
      load += o.cursorsPerSecond * L.members[room].length * (1 + mine);
    }
    const extra = [...full.relayJoined[r]].filter((x) => !full.relayExpected[r].has(x)).length;
    const missing = [...full.relayExpected[r]].filter((x) => !full.relayJoined[r].has(x)).length;
    return {
      relay: r, clients, clients_in_rooms: inRooms, rooms_of_clients: full.relayExpected[r].size, rooms_joined: full.relayJoined[r].size,
      extra_rooms: extra, missing_rooms: missing, cursor_load_per_s: load,
      bytes_in_per_s: Math.round(c.bytesIn[r] / full.windowS), bytes_out_per_s: Math.round(c.bytesOut[r] / full.windowS),
      foreign_scoped_frames: c.foreignScoped[r],
    };
  });
  const relayBytes = relays.map((x) => x.bytes_in_per_s + x.bytes_out_per_s);
  const baselines = [];
  for (const which of o.baseline) {
    const room = refs[which];
    const b = await runOnce(o, L, [room], `baseline ${which}`);
    const fullCost = roomCost(full, L.members[room]);
    const aloneCost = roomCost(b, L.members[room]);
    const ratio = r4(fullCost / aloneCost);
    baselines.push({
      reference: which, room, size: L.members[room].length, member_bytes_per_s_full: Math.round(fullCost), member_bytes_per_s_alone: Math.round(aloneCost),
      cost_ratio: ratio, delivered_fraction_alone: Math.floor((b.delivered / Math.max(1, b.expected)) * 1e6) / 1e6,
      foreign_scoped_frames_alone: b.counters.foreignScoped.reduce((a, x) => a + x, 0), pass: ratio <= ROOMS_TARGETS.cost_ratio_max,
    });
  }
  const foreignFrames = c.foreignScoped.reduce((a, x) => a + x, 0);
  const foreignDeliveries = c.deliveriesOther.reduce((a, x) => a + x, 0);
  const deliveredFraction = Math.floor((full.delivered / Math.max(1, full.expected)) * 1e6) / 1e6;
  const relayExtra = relays.reduce((s, x) => s + x.extra_rooms, 0);
  const relayMissing = relays.reduce((s, x) => s + x.missing_rooms, 0);
  const sizes = L.members.map((m) => m.length);
  const pass = {
    delivered_fraction: deliveredFraction >= ROOMS_TARGETS.delivered_fraction,
    foreign_scoped_frames: foreignFrames === 0 && full.scopedUnparsed === 0,
    foreign_deliveries: foreignDeliveries === 0,
    relays_carry_only_their_clients_rooms: relayExtra === 0 && relayMissing === 0,
    cost_ratio: baselines.every((b) => b.pass),
    penalties: full.penalties === 0,
  };
  return {
    scenario: "rooms",
    nodes: n, relays: R, clients: n - R, rooms: L.members.length, seed: o.seed,
    members: members.length, clients_in_no_room: n - R - members.length,
    room_sizes: { min: Math.min(...sizes), p50: quantile([...sizes].sort((a, b) => a - b), 0.5), max: Math.max(...sizes), zipf_exponent: r4(L.zipfExponent) },
    links: L.links.length, client_client_links: L.links.filter(([a, b]) => a >= R && b >= R).length,
    join_ms: o.joinMs, duration_ms: o.durationMs, cursors_per_s: o.cursorsPerSecond, cursor_bytes: Math.max(8, o.cursorBytes), presence_interval_ms: o.presenceIntervalMs, interval_ms: o.intervalMs,
    membership: "off (SWIM probes are the same with or without rooms; off keeps 10,000 nodes feasible)",
    engine_limits: "scopesMax = scopesPerLinkMax = max(1024, rooms + 16), subscriptionChangesPerSecondMax 1024 (a relay joins hundreds of rooms at once)",
    cursors_published: full.published,
    delivered_fraction: deliveredFraction,
    missing_deliveries: full.expected - full.delivered,
    latency_to_whole_room_ms: { p50: r2(quantile(lat, 0.5)), p99: r2(quantile(lat, 0.99)), max: r2(lat.length ? lat[lat.length - 1] : NaN), complete_messages: lat.length },
    per_member: {
      bytes_in_per_s: summary(members, perS(c.bytesIn)),
      bytes_out_per_s: summary(members, perS(c.bytesOut)),
      verifications_per_s: summary(members, perS(c.verifies)),
      deliveries_own_rooms_per_s: summary(members, perS(c.deliveriesOwn)),
      deliveries_other_rooms_per_s: summary(members, perS(c.deliveriesOther)),
    },
    clients_in_no_room_bytes_per_s: summary(Array.from({ length: n - R }, (_, k) => R + k).filter((i) => L.roomOf[i] < 0), (i) => (c.bytesIn[i] + c.bytesOut[i]) / full.windowS),
    foreign_scoped_frames: foreignFrames,
    foreign_deliveries: foreignDeliveries,
    scoped_frames_seen: full.scopedFramesSeen,
    per_relay: relays,
    relay_bytes_vs_cursor_load_correlation: correlation(relays.map((x) => x.cursor_load_per_s), relayBytes),
    relay_bytes_vs_rooms_correlation: correlation(relays.map((x) => x.rooms_joined), relayBytes),
    relay_extra_rooms: relayExtra,
    relay_missing_rooms: relayMissing,
    relay_deliveries: full.relayDeliveries,
    baselines,
    penalties: full.penalties,
    targets: ROOMS_TARGETS,
    pass: { ...pass, all: Object.values(pass).every(Boolean) },
    wall_ms: Math.round(o.clock() - started),
    crypto: o.cryptoName,
  };
}

/** The report of {@link runRooms}. */
export type RoomsReport = Awaited<ReturnType<typeof runRooms>>;
