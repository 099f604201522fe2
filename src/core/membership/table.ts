/**
 * The member table: what this node believes about every other member, one record each, decided by
 * the precedence rules of `claims.ts`.
 *
 * A record holds the claim that put the member in its state, the member's newest alive claim (its
 * address, its stated lag, and the proof any accusation of it must carry) and, while it is
 * suspect, the suspicion (`suspicion.ts`). This node itself is never in the table.
 *
 * Invariants:
 * - `live` counts the alive and suspect records; `size` (live + 1, this node included) is the n of
 *   SWIM's and Lifeguard's formulas;
 * - `suspects` holds exactly the suspect records, in the order they became suspect (the order
 *   deaths are declared in);
 * - the table never holds more than `membersMax` records: a newcomer evicts the oldest-learned
 *   member this node is not linked to (never a suspect), or is refused;
 * - a member collected after `deadMemberTtlMs` dead or gone is remembered (`gone`, bounded) for
 *   another TTL at its last rank, so a stale alive claim cannot bring it back;
 * - removing a record calls `onRemove`, which drops what is queued about the member;
 * - once built (`indexById`: the node shuffles by id), `byAlive` indexes every record by the id of
 *   its alive claim, keyed by the id's first 30 bits (a small integer, no string per member); ids
 *   that share a key are told apart by their bytes. A node whose table stays full shuffles whole
 *   claims and never builds it.
 *
 * @module
 */

import type { ClaimWire } from "../../wire/member-frames.ts";
import { CLAIM_KIND, claimId } from "../../wire/member-frames.ts";
import { bytesEqual, toHex } from "../../bytes.ts";
import { compareRank, effectOf, stateOf, type MemberState } from "../claims.ts";
import { spreadMs, suspicionParams, type SuspicionParams } from "../lifeguard.ts";
import type { EngineOptions } from "../options.ts";
import type { MembershipStats } from "./context.ts";
import { startSuspicion, suspicionMs, type Suspicion } from "./suspicion.ts";

/** A claim id's index key: its first 30 bits, a small integer. */
function aliveKey(id: Uint8Array): number {
  return (id[0] << 22) | (id[1] << 14) | (id[2] << 6) | (id[3] >> 2);
}

/** How a claim reached this node: news is spread on, what came by introduction or shuffle is not. */
export type Source = "gossip" | "sync" | "shuffle" | "intro" | "local";

/** One member's record. */
export interface Member {
  id: string;
  key: Uint8Array;
  state: MemberState;
  generation: number;
  incarnation: number;
  /** The claim that put the member in its state. */
  claim: ClaimWire;
  /** The newest alive claim (for its address, and for views). */
  alive: ClaimWire | null;
  addr: string | null;
  changedAt: number;
  /** When this node first held the member at its current rank. */
  rankAt: number;
  suspicion: Suspicion | null;
}

/** One member as this node sees it. */
export interface MemberInfo {
  id: Uint8Array;
  state: MemberState;
  generation: number;
  incarnation: number;
  /** Where it accepts links, from its alive claim. */
  addr: string | null;
  /** When its state last changed, on this node's clock (ms). */
  since: number;
  /** Who accused it, when suspect or dead. */
  claimer: Uint8Array | null;
  /** This node holds a link to it. */
  linked: boolean;
}

/** What applying a claim did. */
export type Applied =
  | { kind: "none" }
  | { kind: "added"; member: Member }
  | { kind: "confirmed"; member: Member }
  | { kind: "changed"; member: Member; previous: MemberState };

/** The member table. */
export class MemberTable {
  #o: EngineOptions;
  #stats: MembershipStats;
  #onRemove: (id: string) => void;
  #members = new Map<string, Member>();
  #live = 0;
  #version = 0;
  #suspects = new Set<string>();
  /** Records by the key (`aliveKey`) of their alive claim's id: one record, or the few that share it. */
  #byAlive: Map<number, Member | Member[]> | null = null;
  /** Members collected after death or departure, remembered for another TTL so stale claims do not revive them. */
  #gone = new Map<string, { generation: number; incarnation: number; at: number }>();

  constructor(o: EngineOptions, stats: MembershipStats, onRemove: (id: string) => void) {
    this.#o = o;
    this.#stats = stats;
    this.#onRemove = onRemove;
  }

  get(id: string): Member | undefined {
    return this.#members.get(id);
  }

  /** Every record, in the order members were learned. */
  values(): IterableIterator<Member> {
    return this.#members.values();
  }

  /** Grows whenever a member is added, changes state or rank, or is removed (not on confirmations). */
  get version(): number {
    return this.#version;
  }

  /** The alive claim held (a member's newest) whose claim id is `id`, if any (none before `indexById`). */
  aliveById(id: Uint8Array): ClaimWire | null {
    const e = this.#byAlive?.get(aliveKey(id));
    if (!e) return null;
    for (const m of Array.isArray(e) ? e : [e]) if (m.alive && bytesEqual(claimId(m.alive), id)) return m.alive;
    return null;
  }

  /**
   * Builds the index of alive claims by id, if it is not built yet (a node that names claims by id
   * in shuffles needs it, to tell which it holds and to answer the WANTs that follow); kept up to
   * date from then on.
   */
  indexById(): void {
    if (this.#byAlive) return;
    this.#byAlive = new Map();
    for (const m of this.#members.values()) if (m.alive) this.#index(m, m.alive);
  }

  /** Whether the table holds `membersMax` records: the mesh is likely larger than this node's view. */
  get full(): boolean {
    return this.#members.size >= this.#o.membersMax;
  }

  /** Records held (any state). */
  get count(): number {
    return this.#members.size;
  }

  /** Members collected and still remembered (`gone`). */
  get goneCount(): number {
    return this.#gone.size;
  }

  /** Alive and suspect members. */
  get live(): number {
    return this.#live;
  }

  /** Alive and suspect members, this node included. */
  get size(): number {
    return this.#live + 1;
  }

  /** Hex ids of the suspects, in the order they became suspect. */
  get suspects(): ReadonlySet<string> {
    return this.#suspects;
  }

  /** Lifeguard's suspicion bounds at the current size. */
  params(): SuspicionParams {
    return suspicionParams(this.size, this.#o);
  }

  /** About how long news takes to reach every member (`spreadMs`). */
  spreadMs(): number {
    return spreadMs(this.size, this.#o);
  }

  /** How long a suspicion of `m` lasts after `confirmations` confirmations. */
  suspicionMs(m: Member, confirmations: number): number {
    return suspicionMs(this.params(), confirmations, m.alive?.fields.lag ?? 0, this.#o);
  }

  /** Whether a claim about another member (hex `id`) would change this table (cheap; decides whether to verify it). */
  wants(id: string, c: ClaimWire, source: Source): boolean {
    const f = c.fields;
    const m = this.#members.get(id);
    if (!m) {
      if (f.kind !== CLAIM_KIND.ALIVE) return false; // accusations of, and farewells from, strangers change nothing here
      const gone = this.#gone.get(id);
      if (gone && compareRank(f.generation, f.incarnation, gone.generation, gone.incarnation) <= 0) return false;
      // A full table takes newcomers only from shuffles (which make room); news of members it
      // does not track is left to the nodes that do.
      return this.#members.size < this.#o.membersMax || source === "shuffle";
    }
    const e = effectOf(f.kind, f.generation, f.incarnation, m);
    if (e === "change") return true;
    if (e === "none") return false;
    const s = m.suspicion;
    return !!s && !s.confirmers.has(toHex(f.claimer!)) && s.confirmers.size <= this.params().expected;
  }

  /** The claim held about `c`'s member (another member, hex `id`) when it is of a strictly higher rank. */
  newerThan(id: string, c: ClaimWire): ClaimWire | null {
    const f = c.fields;
    const m = this.#members.get(id);
    if (!m || compareRank(m.generation, m.incarnation, f.generation, f.incarnation) <= 0) return null;
    return m.claim;
  }

  /**
   * Applies a verified claim about another member (hex `id`) at `now`. A newcomer may evict a
   * passive member (`linked`: the peers this node is linked to, asked only when the table is full).
   */
  apply(now: number, id: string, c: ClaimWire, linked: () => Set<string>): Applied {
    const f = c.fields;
    let m = this.#members.get(id);
    if (!m) {
      if (f.kind !== CLAIM_KIND.ALIVE) return { kind: "none" };
      if (this.#members.size >= this.#o.membersMax && !this.#evictPassive(linked())) return { kind: "none" };
      m = { id, key: f.member, state: "alive", generation: f.generation, incarnation: f.incarnation, claim: c, alive: c, addr: f.addr, changedAt: now, rankAt: now, suspicion: null };
      this.#members.set(id, m);
      this.#index(m, c);
      this.#gone.delete(id);
      this.#live++;
      this.#version++;
      this.#stats.claimsAccepted++;
      return { kind: "added", member: m };
    }
    const e = effectOf(f.kind, f.generation, f.incarnation, m);
    if (e === "none") return { kind: "none" };
    this.#stats.claimsAccepted++;
    if (e === "confirm") {
      const s = m.suspicion;
      const who = toHex(f.claimer!);
      if (!s || s.confirmers.has(who)) return { kind: "none" };
      s.confirmers.add(who);
      s.deadline = s.startedAt + this.suspicionMs(m, s.confirmers.size - 1);
      return { kind: "confirmed", member: m };
    }
    const previous = m.state;
    const wasLive = previous === "alive" || previous === "suspect";
    m.state = stateOf(f.kind);
    if (f.generation !== m.generation || f.incarnation !== m.incarnation) m.rankAt = now;
    m.generation = f.generation;
    m.incarnation = f.incarnation;
    m.claim = c;
    if (f.kind === CLAIM_KIND.ALIVE) {
      this.#unindex(m);
      this.#index(m, c);
      m.alive = c;
      m.addr = f.addr;
    }
    const isLive = m.state === "alive" || m.state === "suspect";
    this.#live += (isLive ? 1 : 0) - (wasLive ? 1 : 0);
    this.#version++;
    // After the live count moved: the timeout follows the member count as it is now.
    if (m.state === "suspect") {
      m.suspicion = startSuspicion(now, toHex(f.claimer!), this.suspicionMs(m, 0));
      this.#suspects.add(id);
    } else {
      m.suspicion = null;
      this.#suspects.delete(id);
    }
    if (previous !== m.state) m.changedAt = now;
    return { kind: "changed", member: m, previous };
  }

  #index(m: Member, alive: ClaimWire): void {
    const index = this.#byAlive;
    if (!index) return;
    const k = aliveKey(claimId(alive));
    const e = index.get(k);
    index.set(k, !e ? m : Array.isArray(e) ? [...e, m] : [e, m]);
  }

  #unindex(m: Member): void {
    const index = this.#byAlive;
    if (!index || !m.alive) return;
    const k = aliveKey(claimId(m.alive));
    const e = index.get(k);
    if (e === m) index.delete(k);
    else if (Array.isArray(e)) {
      const rest = e.filter((x) => x !== m);
      if (rest.length === e.length) return;
      index.set(k, rest.length === 1 ? rest[0] : rest);
    }
  }

  /** Makes room in a full table: the oldest-learned member this node is not linked to goes. */
  #evictPassive(linked: Set<string>): boolean {
    for (const m of this.#members.values()) {
      if (linked.has(m.id) || m.state === "suspect") continue;
      this.remove(m);
      return true;
    }
    return false;
  }

  remove(m: Member): void {
    this.#version++;
    this.#members.delete(m.id);
    this.#unindex(m);
    this.#suspects.delete(m.id);
    this.#onRemove(m.id);
    if (m.state === "alive" || m.state === "suspect") this.#live--;
  }

  /**
   * Collects members dead or gone for `deadMemberTtlMs` (remembering their rank in `gone`) and
   * forgets the `gone` entries that have served their TTL; returns the members collected.
   */
  collect(now: number): Member[] {
    const ttl = this.#o.deadMemberTtlMs;
    for (const [id, g] of this.#gone) if (now - g.at >= ttl) this.#gone.delete(id);
    const collected: Member[] = [];
    for (const m of [...this.#members.values()]) {
      if ((m.state !== "dead" && m.state !== "left") || now - m.changedAt < ttl) continue;
      this.remove(m);
      if (this.#gone.size < this.#o.membersMax) this.#gone.set(m.id, { generation: m.generation, incarnation: m.incarnation, at: now });
      collected.push(m);
    }
    return collected;
  }

  /** The public view of a record (`linked`: the peers this node is linked to). */
  info(m: Member, linked: Set<string>): MemberInfo {
    const accused = m.state === "suspect" || m.state === "dead";
    return {
      id: m.key, state: m.state, generation: m.generation, incarnation: m.incarnation, addr: m.addr,
      since: m.changedAt, claimer: accused ? m.claim.fields.claimer : null, linked: linked.has(m.id),
    };
  }
}
