/**
 * The demo's picture of the mesh, assembled from what each member reports about itself: which
 * status it wrote last (`n`, a counter inside its `status` value), which version of every other
 * member's status it holds, which peers it links to, and its engine counters. From that it computes
 * the one number the demo is about: the fraction of (holder, owner) pairs in which the holder has
 * the owner's newest status. 1 means the mesh has converged.
 *
 * The relay also reports its traffic per room (`room-traffic.ts`), which the snapshot passes on.
 *
 * Pure bookkeeping: time comes in as arguments, nothing here does I/O.
 *
 * @module
 */

import type { RoomRow } from "./room-traffic.ts";

/** Who a member is, as it introduced itself. */
export interface MemberInfo {
  id: string;
  name: string;
  /** `relay` (the demo's relay), `node` (a peer process) or `browser` (a dashboard tab). */
  role: "relay" | "node" | "browser";
  /** Which Ed25519 backend it signs with: `node:crypto`, `webcrypto` or `noble`. */
  crypto?: string;
  pid?: number;
}

/** Engine counters a member reports. */
export interface MemberStats {
  framesOut: number;
  bytesOut: number;
  framesIn: number;
  bytesIn: number;
}

interface Member {
  info: MemberInfo;
  /** Counter of its newest status (0: none written yet). */
  n: number;
  status: Record<string, unknown> | null;
  /** owner id → status counter this member holds. */
  knows: Map<string, number>;
  peers: string[];
  stats: MemberStats;
  /** When it last reported (ms); browsers that stop reporting drop out of the count. */
  reportedAt: number;
  firstWroteAt: number | null;
}

/** One member as `/demo/state` shows it. */
export interface MemberSnapshot extends MemberInfo {
  n: number;
  status: Record<string, unknown> | null;
  peers: string[];
  /** Owners (among counted members) whose newest status it holds, itself included. */
  fresh: number;
  /** Counted in the convergence fraction (browsers only while they keep reporting). */
  counted: boolean;
  stats: MemberStats;
}

/** The `/demo/state` document. */
export interface MeshSnapshot {
  /** ms since the demo started. */
  t: number;
  members: MemberSnapshot[];
  /** Undirected links, each once, as [id, id]. */
  edges: [string, string][];
  fresh: number;
  pairs: number;
  converged: boolean;
  /** ms from the last peer's first write to the first full convergence, once reached. */
  msToConverge: number | null;
  /** [t ms, fresh fraction] samples, oldest first. */
  history: [number, number][];
  totals: MemberStats;
  /** The rooms the relay carries, with their traffic through it. */
  rooms: RoomRow[];
}

const EMPTY_STATS: MemberStats = Object.freeze({ framesOut: 0, bytesOut: 0, framesIn: 0, bytesIn: 0 });

/** Options of {@link MeshView}. */
export interface MeshViewOptions {
  /** Peer processes expected before the first convergence counts. */
  expectedPeers: number;
  /** A browser that has not reported for this long is no longer counted. Default 5,000 ms. */
  browserStaleMs?: number;
  /** Samples of the fraction kept. Default 480 (two minutes at 250 ms). */
  historyMax?: number;
}

/** The demo's bookkeeping of members, their views, and convergence over time. */
export class MeshView {
  #members = new Map<string, Member>();
  #expected: number;
  #staleMs: number;
  #historyMax: number;
  #history: [number, number][] = [];
  #allWroteAt: number | null = null;
  #convergedAt: number | null = null;
  #rooms: RoomRow[] = [];

  constructor(options: MeshViewOptions) {
    this.#expected = options.expectedPeers;
    this.#staleMs = options.browserStaleMs ?? 5_000;
    this.#historyMax = options.historyMax ?? 480;
  }

  /**
   * Adds a member, or refreshes what it said about itself. `now` null: heard of through the mesh,
   * not yet reporting (a browser is counted only once it reports what it holds).
   */
  join(now: number | null, info: MemberInfo): void {
    const m = this.#members.get(info.id);
    if (m) {
      m.info = { ...m.info, ...info };
      if (now !== null) m.reportedAt = now;
      return;
    }
    this.#members.set(info.id, {
      info, n: 0, status: null, knows: new Map(), peers: [], stats: { ...EMPTY_STATS }, reportedAt: now ?? -Infinity, firstWroteAt: null,
    });
  }

  /** Forgets browsers that have not reported for `ms` (tabs closed without saying goodbye). */
  forgetSilentBrowsers(now: number, ms: number): void {
    for (const m of [...this.#members.values()]) {
      if (m.info.role === "browser" && m.reportedAt !== -Infinity && now - m.reportedAt > ms) this.leave(m.info.id);
    }
  }

  /** Removes a member (it left or its process ended). */
  leave(id: string): void {
    this.#members.delete(id);
    for (const m of this.#members.values()) m.knows.delete(id);
  }

  has(id: string): boolean {
    return this.#members.has(id);
  }

  /** `id` wrote its `n`-th status. */
  wrote(now: number, id: string, n: number, status: Record<string, unknown> | null): void {
    const m = this.#members.get(id);
    if (!m || n < m.n) return;
    m.n = n;
    m.status = status;
    if (m.firstWroteAt === null) {
      m.firstWroteAt = now;
      if (this.#allWroteAt === null && this.#peerCount(true) >= this.#expected) this.#allWroteAt = now;
    }
  }

  /** `holder` now holds `owner`'s status number `n` (`null`: deleted, the owner left). */
  saw(holder: string, owner: string, n: number | null): void {
    const m = this.#members.get(holder);
    if (!m) return;
    if (n === null) m.knows.delete(owner);
    else m.knows.set(owner, n);
  }

  /** Replaces everything `holder` holds (a browser reports its whole view at once). */
  sawAll(holder: string, knows: Record<string, number>): void {
    const m = this.#members.get(holder);
    if (!m) return;
    m.knows = new Map(Object.entries(knows).filter(([, n]) => typeof n === "number"));
  }

  links(id: string, peers: string[]): void {
    const m = this.#members.get(id);
    if (m) m.peers = [...new Set(peers)].filter((p) => p !== id);
  }

  stats(id: string, stats: MemberStats): void {
    const m = this.#members.get(id);
    if (m) m.stats = { ...stats };
  }

  /** The relay's rooms and their traffic, as of its last sample. */
  rooms(rows: RoomRow[]): void {
    this.#rooms = rows;
  }

  /** Newest status counter `id` wrote (0 if none, or unknown). */
  latest(id: string): number {
    return this.#members.get(id)?.n ?? 0;
  }

  /**
   * Counts fresh (holder, owner) pairs among counted members; records a sample, and the first
   * convergence once every expected peer has written.
   */
  sample(now: number): { fresh: number; pairs: number } {
    const r = this.#count(now);
    const fraction = r.pairs === 0 ? 0 : r.fresh / r.pairs;
    this.#history.push([now, fraction]);
    if (this.#history.length > this.#historyMax) this.#history.shift();
    if (this.#convergedAt === null && this.#allWroteAt !== null && r.pairs > 0 && r.fresh === r.pairs) this.#convergedAt = now;
    return r;
  }

  /** Whether every counted member holds every counted member's newest status right now. */
  convergedNow(now: number): boolean {
    const r = this.#count(now);
    return r.pairs > 0 && r.fresh === r.pairs && this.#allWroteAt !== null;
  }

  /** ms from the moment every expected peer had written to the first convergence, or null. */
  get msToConverge(): number | null {
    return this.#convergedAt === null || this.#allWroteAt === null ? null : this.#convergedAt - this.#allWroteAt;
  }

  get convergedAt(): number | null {
    return this.#convergedAt;
  }

  /** Everything the dashboard draws. */
  snapshot(now: number): MeshSnapshot {
    const counted = this.#counted(now);
    const members: MemberSnapshot[] = [];
    const edges = new Map<string, [string, string]>();
    const totals = { ...EMPTY_STATS };
    for (const m of this.#members.values()) {
      const isCounted = counted.includes(m);
      members.push({
        ...m.info, n: m.n, status: m.status, peers: m.peers, counted: isCounted, stats: m.stats,
        fresh: isCounted ? counted.filter((o) => this.#isFresh(m, o)).length : 0,
      });
      for (const p of m.peers) {
        if (!this.#members.has(p)) continue;
        const [a, b] = m.info.id < p ? [m.info.id, p] : [p, m.info.id];
        edges.set(`${a} ${b}`, [a, b]);
      }
      for (const k of Object.keys(totals) as (keyof MemberStats)[]) totals[k] += m.stats[k];
    }
    const r = this.#count(now);
    return {
      t: now, members, edges: [...edges.values()], fresh: r.fresh, pairs: r.pairs,
      converged: r.pairs > 0 && r.fresh === r.pairs && this.#allWroteAt !== null,
      msToConverge: this.msToConverge, history: this.#history, totals, rooms: this.#rooms,
    };
  }

  #count(now: number): { fresh: number; pairs: number } {
    const counted = this.#counted(now);
    let fresh = 0;
    for (const h of counted) for (const o of counted) if (this.#isFresh(h, o)) fresh++;
    // Peers still starting count as members that hold nothing and that nobody holds yet.
    const total = counted.length + Math.max(0, this.#expected - this.#peerCount(false));
    return { fresh, pairs: total * total };
  }

  #isFresh(holder: Member, owner: Member): boolean {
    if (owner.n === 0) return false;
    return holder === owner || holder.knows.get(owner.info.id) === owner.n;
  }

  #counted(now: number): Member[] {
    return [...this.#members.values()].filter((m) => m.info.role !== "browser" || now - m.reportedAt <= this.#staleMs);
  }

  #peerCount(wroteOnly: boolean): number {
    let n = 0;
    for (const m of this.#members.values()) if (m.info.role === "node" && (!wroteOnly || m.firstWroteAt !== null)) n++;
    return n;
  }
}
