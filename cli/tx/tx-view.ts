/**
 * The flooding demo's bookkeeping: every transaction the load generator submitted (when, through
 * which node, what kind), when each node received it (each node stamps arrivals with its own clock;
 * the demo's processes share the machine's), every node's mempool counters and links. From that:
 * the delivered fraction (tx × node deliveries over those expected), latency percentiles from
 * submission to each node and to all of them, and the snapshot the tx dashboard draws.
 *
 * Pure bookkeeping: time comes in as arguments (ms on the shared clock), nothing here does I/O.
 *
 * @module
 */

import type { PoolReport } from "./flood.ts";

/** Kinds of member the tx view shows. `hostile`: the demo's forger, linked to the relay only. */
export type TxRole = "relay" | "node" | "browser" | "hostile";

/**
 * `valid`: signed by its account, nonce in order. `forged`: bad signature, submitted to an honest
 * peer. `stale`: nonce already confirmed, submitted to an honest peer. `pushed`: forged and
 * published by the hostile node without any check, so the relay is its first hop.
 */
export type TxRecordKind = "valid" | "forged" | "stale" | "pushed";

export interface TxMemberInfo {
  id: string;
  name: string;
  role: TxRole;
  crypto?: string;
}

/** A member as `/demo/tx-state` shows it. */
export interface TxMemberSnapshot extends TxMemberInfo {
  peers: string[];
  /** Counted in the delivered fraction and the latencies (the relay and the peer processes). */
  counted: boolean;
  pool: PoolReport | null;
  /** Valid transactions it received. */
  got: number;
  /** Submission → this node over the live window (transactions it did not enter through). */
  latency: Percentiles;
}

/** A transaction as the dashboard shows it. */
export interface TxRecordSnapshot {
  id: string;
  kind: TxRecordKind;
  /** Node it was submitted through. */
  entry: string;
  /** Submitted at, ms since the demo started. */
  t: number;
  from: string;
  to: string;
  amount: number;
  fee: number;
  nonce: number;
  /** The entry node's verdict (`accept`, `reject`, `ignore`), once it said. */
  verdict: string | null;
  /** Nodes it reached, as [node id, ms after submission], earliest first. */
  arrivals: [string, number][];
  /** Counted nodes it should reach (0 for hostile ones: it should reach none). */
  expected: number;
  /** Counted nodes among `arrivals`. */
  reached: number;
  /** ms from submission to the last expected node, once all have it. */
  toAllMs: number | null;
}

export interface Percentiles {
  p50: number | null;
  p90: number | null;
  p99: number | null;
  n: number;
}

export interface TxTotals {
  /** Valid transactions submitted. */
  submitted: number;
  forged: number;
  stale: number;
  pushed: number;
  /** Valid transactions the entry node did not take (its pool was full of higher fees). */
  notTaken: number;
  /** tx × node deliveries of valid transactions, and how many were expected. */
  delivered: number;
  expected: number;
  /** The same, counting only transactions submitted at least {@link SETTLE_MS} ago (the dashboard's figure). */
  settledDelivered: number;
  settledExpected: number;
  /** Valid transactions every expected node has. */
  complete: number;
  /** Hostile transactions stopped by the node they were first sent to. */
  stoppedFirstHop: number;
  /** Deliveries of hostile transactions anywhere (must stay 0). */
  hostileDeliveries: number;
  blocks: number;
  height: number;
}

/** The `/demo/tx-state` document. */
export interface TxSnapshot {
  /** ms since the demo started. */
  t: number;
  rate: number;
  members: TxMemberSnapshot[];
  edges: [string, string][];
  /** Newest valid transactions, newest first. */
  recent: TxRecordSnapshot[];
  /** Newest hostile transactions, newest first. */
  hostile: TxRecordSnapshot[];
  totals: TxTotals;
  /** Over the last `windowMs`: submission → each other node, and → all nodes. */
  latency: { windowMs: number; node: Percentiles; all: Percentiles };
  /** Per second: [t ms, p50, p90, p99 to each node, p99 to all, valid txs submitted]. */
  history: [number, number | null, number | null, number | null, number | null, number][];
}

interface Member {
  info: TxMemberInfo;
  counted: boolean;
  peers: string[];
  pool: PoolReport | null;
  got: number;
  reportedAt: number;
  /** [arrival time, latency] over the live window, oldest first. */
  recent: [number, number][];
  /** Latencies over the run (a bounded sample). */
  run: Reservoir;
}

interface TxRecord {
  id: string;
  kind: TxRecordKind;
  entry: string;
  at: number;
  from: string;
  to: string;
  amount: number;
  fee: number;
  nonce: number;
  verdict: string | null;
  expected: Set<string>;
  arrivals: Map<string, number>;
  toAllMs: number | null;
}

/** What the view needs to know about a submission. */
export interface Submission {
  id: string;
  kind: TxRecordKind;
  entry: string;
  at: number;
  from: string;
  to: string;
  amount: number;
  fee: number;
  nonce: number;
}

/** After this long, a transaction's deliveries count in the dashboard's delivered fraction. */
export const SETTLE_MS = 5_000;

/** A bounded uniform sample (reservoir) of numbers. */
class Reservoir {
  values: number[] = [];
  seen = 0;
  constructor(readonly max: number) {}
  add(v: number): void {
    this.seen++;
    if (this.values.length < this.max) this.values.push(v);
    else {
      const j = Math.floor(Math.random() * this.seen);
      if (j < this.max) this.values[j] = v;
    }
  }
}

/** Nearest-rank percentiles of `values` (rounded to 0.1 ms). */
export function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { p50: null, p90: null, p99: null, n: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] * 10) / 10;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), n: sorted.length };
}

/** Options of {@link TxView}. */
export interface TxViewOptions {
  /** The demo's start on the shared clock (ms); snapshots count from it. */
  origin: number;
  /** Target submission rate, for the page. */
  rate: number;
  /** Live percentiles cover this window. Default 10,000 ms. */
  windowMs?: number;
  /** Records are forgotten this long after submission. Default 60,000 ms. */
  keepMs?: number;
  /** Latency samples kept for the run's percentiles. Default 500,000 each. */
  samplesMax?: number;
}

/** The flooding demo's bookkeeping. */
export class TxView {
  #members = new Map<string, Member>();
  #records = new Map<string, TxRecord>();
  #origin: number;
  #rate: number;
  #windowMs: number;
  #keepMs: number;
  #nodeAll: Reservoir;
  #toAll: Reservoir;
  /** [arrival time, latency] of recent samples, oldest first. */
  #nodeRecent: [number, number][] = [];
  #allRecent: [number, number][] = [];
  #history: TxSnapshot["history"] = [];
  /** Arrivals of transactions not (yet) submitted here: a tab reports its own submissions late. */
  #orphans = new Map<string, { at: number; list: [string, number][] }>();
  /** Valid records not yet settled, oldest first. */
  #unsettled: TxRecord[] = [];
  #submittedAt: number[] = [];
  readonly totals: TxTotals = {
    submitted: 0, forged: 0, stale: 0, pushed: 0, notTaken: 0, delivered: 0, expected: 0, settledDelivered: 0, settledExpected: 0, complete: 0,
    stoppedFirstHop: 0, hostileDeliveries: 0, blocks: 0, height: 0,
  };

  constructor(o: TxViewOptions) {
    this.#origin = o.origin;
    this.#rate = o.rate;
    this.#windowMs = o.windowMs ?? 10_000;
    this.#keepMs = o.keepMs ?? 60_000;
    this.#nodeAll = new Reservoir(o.samplesMax ?? 500_000);
    this.#toAll = new Reservoir(o.samplesMax ?? 500_000);
  }

  /** Adds a member or refreshes its introduction; `counted` members are expected to receive every transaction. */
  join(now: number, info: TxMemberInfo, counted: boolean): void {
    const m = this.#members.get(info.id);
    if (m) {
      m.info = { ...m.info, ...info };
      m.reportedAt = now;
      return;
    }
    this.#members.set(info.id, { info, counted, peers: [], pool: null, got: 0, reportedAt: now, recent: [], run: new Reservoir(100_000) });
  }

  leave(id: string): void {
    this.#members.delete(id);
  }

  has(id: string): boolean {
    return this.#members.has(id);
  }

  /** Forgets browsers that have not reported for `ms`. */
  forgetSilentBrowsers(now: number, ms: number): void {
    for (const m of [...this.#members.values()]) if (m.info.role === "browser" && now - m.reportedAt > ms) this.#members.delete(m.info.id);
  }

  links(id: string, peers: string[]): void {
    const m = this.#members.get(id);
    if (m) m.peers = [...new Set(peers)].filter((p) => p !== id);
  }

  pool(id: string, report: PoolReport): void {
    const m = this.#members.get(id);
    if (m) m.pool = { ...report };
  }

  /** Ids of the members counted right now. */
  counted(): string[] {
    return [...this.#members.values()].filter((m) => m.counted).map((m) => m.info.id);
  }

  /** A transaction was submitted; valid ones are expected at every counted member. */
  submitted(s: Submission): void {
    const expected = new Set(s.kind === "valid" ? this.counted() : []);
    if (this.#records.has(s.id)) return;
    this.#records.set(s.id, { ...s, verdict: null, expected, arrivals: new Map(), toAllMs: null });
    if (s.kind === "valid") {
      this.totals.submitted++;
      this.totals.expected += expected.size;
      this.#submittedAt.push(s.at);
      this.#unsettled.push(this.#records.get(s.id)!);
    } else this.totals[s.kind]++;
    const early = this.#orphans.get(s.id);
    if (early) {
      this.#orphans.delete(s.id);
      for (const [node, t] of early.list) this.arrived(node, s.id, t);
    }
  }

  /** The entry node's verdict on a submission. */
  verdict(id: string, verdict: string): void {
    const r = this.#records.get(id);
    if (!r || r.verdict !== null) return;
    r.verdict = verdict;
    if (r.kind === "valid" && verdict !== "accept") this.totals.notTaken++;
    if (r.kind !== "valid" && verdict !== "accept") this.totals.stoppedFirstHop++;
  }

  /** `node` received transaction `id` at `t`. Unknown (forgotten) transactions are skipped. */
  arrived(node: string, id: string, t: number): void {
    const r = this.#records.get(id);
    if (!r) {
      // Kept a little while, in case its submission is reported late; bounded.
      let o = this.#orphans.get(id);
      if (!o && this.#orphans.size < 10_000) this.#orphans.set(id, (o = { at: t, list: [] }));
      if (o && o.list.length < 64) o.list.push([node, t]);
      return;
    }
    if (r.arrivals.has(node)) return;
    r.arrivals.set(node, t);
    if (r.kind !== "valid") {
      // A pushed forgery delivered at its own (hostile) origin would not count, but it does not report.
      this.totals.hostileDeliveries++;
      return;
    }
    const m = this.#members.get(node);
    if (m) {
      m.got++;
      if (node !== r.entry) {
        m.recent.push([t, Math.max(0, t - r.at)]);
        m.run.add(Math.max(0, t - r.at));
      }
    }
    if (!r.expected.has(node)) return;
    this.totals.delivered++;
    if (node !== r.entry) {
      const latency = Math.max(0, t - r.at);
      this.#nodeAll.add(latency);
      this.#nodeRecent.push([t, latency]);
    }
    if (r.toAllMs === null && [...r.expected].every((e) => r.arrivals.has(e))) {
      let last = r.at;
      for (const e of r.expected) last = Math.max(last, r.arrivals.get(e)!);
      r.toAllMs = last - r.at;
      this.totals.complete++;
      this.#toAll.add(r.toAllMs);
      this.#allRecent.push([last, r.toAllMs]);
    }
  }

  /** The producer published block `height`. */
  block(height: number): void {
    this.totals.blocks++;
    this.totals.height = Math.max(this.totals.height, height);
  }

  /** Records one point of the latency history (call once a second) and forgets old records. */
  sample(now: number): void {
    const since = (list: [number, number][], from: number) => list.filter(([t]) => t > from).map(([, v]) => v);
    const node = percentiles(since(this.#nodeRecent, now - 1_000));
    const all = percentiles(since(this.#allRecent, now - 1_000));
    const submitted = this.#submittedAt.filter((t) => t > now - 1_000).length;
    this.#history.push([Math.round(now - this.#origin), node.p50, node.p90, node.p99, all.p99, submitted]);
    if (this.#history.length > 120) this.#history.shift();
    this.#prune(now);
  }

  #prune(now: number): void {
    const cut = now - this.#windowMs;
    while (this.#nodeRecent.length && this.#nodeRecent[0][0] < cut) this.#nodeRecent.shift();
    while (this.#allRecent.length && this.#allRecent[0][0] < cut) this.#allRecent.shift();
    while (this.#submittedAt.length && this.#submittedAt[0] < now - 2_000) this.#submittedAt.shift();
    for (const m of this.#members.values()) while (m.recent.length && m.recent[0][0] < cut) m.recent.shift();
    for (const [id, o] of this.#orphans) if (now - o.at > 5_000) this.#orphans.delete(id);
    while (this.#unsettled.length && now - this.#unsettled[0].at >= SETTLE_MS) {
      const r = this.#unsettled.shift()!;
      this.totals.settledExpected += r.expected.size;
      for (const e of r.expected) if (r.arrivals.has(e)) this.totals.settledDelivered++;
    }
    for (const [id, r] of this.#records) {
      if (now - r.at <= this.#keepMs) break; // insertion order is submission order
      this.#records.delete(id);
    }
  }

  /** Percentiles over the whole run: submission → each other counted node, and → all of them. */
  runLatency(): { node: Percentiles; all: Percentiles } {
    return { node: percentiles(this.#nodeAll.values), all: percentiles(this.#toAll.values) };
  }

  /** Per member, by name: submission → that member over the run. */
  runLatencyByMember(): Record<string, Percentiles> {
    const out: Record<string, Percentiles> = {};
    for (const m of this.#sortedMembers()) if (m.run.seen) out[m.info.name] = percentiles(m.run.values);
    return out;
  }

  /** Whether every valid transaction submitted so far has reached every node expected (or was never taken). */
  drained(): boolean {
    for (const r of this.#records.values()) {
      if (r.kind !== "valid" || r.toAllMs !== null) continue;
      if (r.verdict === null || r.verdict === "accept") return false;
    }
    return true;
  }

  /** Members by name with their mempool sizes. */
  poolSizes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of this.#sortedMembers()) if (m.pool) out[m.info.name] = m.pool.size;
    return out;
  }

  /** Sum of a mempool counter over the members. */
  poolTotal(key: "rejected" | "ignored" | "evicted" | "accepted" | "replaced"): number {
    let n = 0;
    for (const m of this.#members.values()) n += m.pool?.[key] ?? 0;
    return n;
  }

  #sortedMembers(): Member[] {
    const order: Record<TxRole, number> = { relay: 0, node: 1, browser: 2, hostile: 3 };
    return [...this.#members.values()].sort((a, b) => order[a.info.role] - order[b.info.role] || a.info.name.localeCompare(b.info.name, "en", { numeric: true }));
  }

  #recordSnapshot(r: TxRecord): TxRecordSnapshot {
    const arrivals = [...r.arrivals].map(([n, t]) => [n, Math.round((t - r.at) * 10) / 10] as [string, number]).sort((a, b) => a[1] - b[1]);
    let reached = 0;
    for (const e of r.expected) if (r.arrivals.has(e)) reached++;
    return {
      id: r.id, kind: r.kind, entry: r.entry, t: Math.round(r.at - this.#origin), from: r.from, to: r.to, amount: r.amount, fee: r.fee,
      nonce: r.nonce, verdict: r.verdict, arrivals, expected: r.expected.size, reached, toAllMs: r.toAllMs === null ? null : Math.round(r.toAllMs * 10) / 10,
    };
  }

  /** One transaction as the dashboard would show it, or null if unknown (or forgotten). */
  find(id: string): TxRecordSnapshot | null {
    const r = this.#records.get(id);
    return r ? this.#recordSnapshot(r) : null;
  }

  /** Everything the tx dashboard draws. */
  snapshot(now: number, recentMax = 24, hostileMax = 12): TxSnapshot {
    const members: TxMemberSnapshot[] = [];
    const edges = new Map<string, [string, string]>();
    for (const m of this.#sortedMembers()) {
      const latency = percentiles(m.recent.filter(([t]) => t >= now - this.#windowMs).map(([, v]) => v));
      members.push({ ...m.info, peers: m.peers, counted: m.counted, pool: m.pool, got: m.got, latency });
      for (const p of m.peers) {
        if (!this.#members.has(p)) continue;
        const [a, b] = m.info.id < p ? [m.info.id, p] : [p, m.info.id];
        edges.set(`${a} ${b}`, [a, b]);
      }
    }
    const recent: TxRecordSnapshot[] = [];
    const hostile: TxRecordSnapshot[] = [];
    const all = [...this.#records.values()];
    for (let i = all.length - 1; i >= 0 && (recent.length < recentMax || hostile.length < hostileMax); i--) {
      const r = all[i];
      if (r.kind === "valid" ? recent.length < recentMax : hostile.length < hostileMax) (r.kind === "valid" ? recent : hostile).push(this.#recordSnapshot(r));
    }
    const cut = now - this.#windowMs;
    return {
      t: Math.round(now - this.#origin),
      rate: this.#rate,
      members,
      edges: [...edges.values()],
      recent,
      hostile,
      totals: { ...this.totals },
      latency: {
        windowMs: this.#windowMs,
        node: percentiles(this.#nodeRecent.filter(([t]) => t >= cut).map(([, v]) => v)),
        all: percentiles(this.#allRecent.filter(([t]) => t >= cut).map(([, v]) => v)),
      },
      history: this.#history,
    };
  }
}
