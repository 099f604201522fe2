/**
 * Anti-entropy exchanges, part of state sync (`sync.ts`): digests of what a node holds, the
 * descent of the digest trie to the differences, and the deltas that answer a peer's digest.
 *
 * A digest lists `origin → (generation, have)` rows for a trie position, or, past
 * `digestEntriesMax` origins, a summary hash; differing summaries are descended with TREE frames
 * until digests of few origins remain. Every answer to a peer's request — deltas, trie nodes, an
 * exact digest back — is charged to that link's answer budget, and looking at a candidate origin
 * costs too, so a digest costs this node what its answer holds, not a pass over the whole store.
 * A row's root tag that differs from this node's at the same version is an equivocation: the
 * peer is sent this node's root as the proof.
 *
 * @module
 */

import { bytesEqual, toHex } from "../bytes.ts";
import { remoteError } from "../errors.ts";
import {
  DELTA_FLAG,
  DIGEST_FLAG,
  encodeFrame,
  FRAME,
  type DigestFrame,
  type DigestRowWire,
  type Frame,
  type OriginDeltaWire,
  type TreeFrame,
  type TreeNodeWire,
} from "../wire/frames.ts";
import type { TokenBucket } from "./budget.ts";
import { inScope, TRIE_DEPTH, TRIE_HASH_BYTES, type TriePosition } from "./digest-rows.ts";
import type { LinkId } from "./events.ts";
import type { Evidence } from "./evidence.ts";
import { randomBelow, type Rng } from "./random.ts";
import type { Store } from "./store.ts";
import type { SubsystemHost } from "./subsystem.ts";
import { dropBehind, isBehind, NO_ROWS, type SyncLink } from "./sync-link.ts";

/** State sync's counters. */
export interface SyncStats {
  rounds: number;
  verifies: number;
  verifyCacheHits: number;
  deltasDropped: number;
  /** Answers to a peer's requests not sent because its answer budget was spent. */
  answersDeferred: number;
}

/** What state sync needs beyond the common host. */
export interface SyncHost extends SubsystemHost {
  /** False while a link is congested or closed for penalties: no round picks it. */
  usable(link: LinkId): boolean;
  /** The peer is a client this node serves (`EngineCore.linkUp`): changes taken in go to it at once. */
  client(link: LinkId): boolean;
  /** The link's answer budget (see `answerBytesPerSecondMax`), to size an answer before building it. */
  answerBudget(link: LinkId): TokenBucket | undefined;
}

/** What the parts of state sync share. */
export interface SyncContext {
  readonly host: SyncHost;
  readonly store: Store;
  readonly rng: Rng;
  readonly stats: SyncStats;
  readonly evidence: Evidence;
  /** The peer and this node differ (something was sent in answer): rounds stay at full rate (`idleRoundEvery`). */
  readonly differs: () => void;
}

const FLAG_ROLE_MASK = DIGEST_FLAG.WANT | DIGEST_FLAG.OFFER;
/** The rows of a digest that had none, by origin: one shared, read-only Map. */
const NO_PEER_ROWS: ReadonlyMap<string, DigestRowWire> = new Map();
/** The row of an origin a peer's digest leaves out: it holds nothing of it. */
const ROW_NONE = Object.freeze({ generation: 0, have: 0 });
/** An answer is not started with less of the link's answer budget left than this. */
const ANSWER_BYTES_MIN = 512;
/** What looking at one candidate origin for an answer is charged, in answer-budget bytes. */
const CANDIDATE_COST_BYTES = 16;

function swapRole(flags: number): number {
  return (flags & ~FLAG_ROLE_MASK) | ((flags & DIGEST_FLAG.WANT) << 1) | ((flags & DIGEST_FLAG.OFFER) >> 1);
}

function* rotate<T>(a: T[], start: number): Generator<T> {
  for (let i = 0; i < a.length; i++) yield a[(start + i) % a.length];
}

/**
 * Sends a peer that still holds an origin which left (at `generation`, `have`) the origin's
 * farewell, within the link's answer budget. Returns whether it went.
 */
export function sendFarewell(c: SyncContext, link: SyncLink, now: number, originId: string, generation: number, have: number): boolean {
  const fw = c.store.farewellFor(originId, generation, have, c.host.options.deltaBytesMax);
  if (!fw) return false;
  const bytes = encodeFrame({ type: FRAME.DELTA, flags: DELTA_FLAG.RUMOR, origins: [fw.delta], replyTo: 0 });
  c.differs();
  if (!c.host.answer(link.id, now, bytes.length)) {
    c.stats.answersDeferred++;
    return false;
  }
  c.host.send(link.id, bytes);
  return true;
}

/**
 * Exact pulls remembered (`Exchange.#asked`) in one store: four exact digests' worth at the default
 * `digestEntriesMax`. More are not deduplicated, only asked again; what a peer's offers can make a
 * node hold here is this, for at most `intervalMs` (each round forgets what is older).
 */
export const ASKED_MAX = 256;

/** Digests, descent and answers. */
export class Exchange {
  #c: SyncContext;
  #nextDigestId = 1;
  /**
   * Origins this node asked a peer for by name (an exact pull) in the last `intervalMs`, with the
   * version the peer offered: another peer offering no more is not asked too, so a node that lacks
   * what all its peers offer pulls each origin once, not once a peer. Oldest first, at most
   * {@link ASKED_MAX}; an answer that does not come within `intervalMs` (a slow or withholding
   * peer) lets the next offer be taken up. Offers are claims no one can check: a peer offering a
   * version it does not have delays that origin's exact pull by `intervalMs`, and the node's own
   * rounds still pull it from the others.
   */
  #asked = new Map<string, { generation: number; have: number; at: number }>();

  constructor(context: SyncContext) {
    this.#c = context;
  }

  /** Opens an exchange: a digest of everything, asking (pull) or asking and offering (push-pull). */
  start(link: SyncLink, mode: "pull" | "pushpull"): void {
    const flags = mode === "pull" ? DIGEST_FLAG.WANT : DIGEST_FLAG.WANT | DIGEST_FLAG.OFFER;
    this.sendDigest(link, flags, { depth: 0, index: 0 }, true);
  }

  /** Sends a digest of `scope`; `answerAt` set: in answer to the peer, charged to its answer budget. */
  sendDigest(link: SyncLink, flags: number, scope: TriePosition, allowSummary: boolean, answerAt?: number): void {
    const trie = this.#c.store.trie;
    const count = trie.countAt(scope);
    // A round's digest opens with the trie's hash and count when rows would cost more: a mesh in
    // sync exchanges one small frame per round (an idle mesh's steady cost); a difference is found
    // by descending (TREE, then rows of the differing children). Below a few origins rows are as cheap.
    const o = this.#c.host.options;
    if (allowSummary && count > Math.min(o.digestRowsBeforeSummaryMax, o.digestEntriesMax) && scope.depth < TRIE_DEPTH) {
      this.#answer(link, answerAt, { type: FRAME.DIGEST, flags, scope, rows: null, summary: { hash: trie.hashAt(scope), count }, id: this.#digestId(link, NO_ROWS) });
      return;
    }
    const rows = trie.entriesUnder(scope, this.#c.host.options.digestEntriesMax);
    this.#answer(link, answerAt, { type: FRAME.DIGEST, flags, scope, rows, summary: null, id: this.#digestId(link, rows) });
  }

  /**
   * Sends a frame; in answer to the peer's request (`answerAt` set) only if the link's answer
   * budget covers it. Returns whether it went.
   */
  #answer(link: SyncLink, answerAt: number | undefined, frame: Frame): boolean {
    const bytes = encodeFrame(frame);
    if (answerAt !== undefined) this.#c.differs();
    if (answerAt !== undefined && !this.#c.host.answer(link.id, answerAt, bytes.length)) {
      this.#c.stats.answersDeferred++;
      return false;
    }
    this.#c.host.send(link.id, bytes);
    return true;
  }

  /** A fresh digest id, remembering the rows sent under it (the last `SENT_DIGESTS_PER_LINK` per link). */
  #digestId(link: SyncLink, rows: readonly DigestRowWire[]): number {
    const id = this.#nextDigestId++;
    link.sentIdBefore = link.sentId;
    link.sentRowsBefore = link.sentRows;
    link.sentId = id;
    // A copy that fits: the trie's row list is pushed to, and a pushed array keeps room for 17 rows
    // (about 150 bytes for a digest of one or two rows, twice per link).
    link.sentRows = rows.length === 0 ? NO_ROWS : rows.slice();
    return id;
  }

  /** A peer's digest: its rows compared with this node's, deltas for what it wants, an exact pull of what it offers. */
  onDigest(now: number, link: SyncLink, f: DigestFrame): void {
    const trie = this.#c.store.trie;
    if (f.rows === null) {
      if (!f.summary) throw remoteError("WIRE_SHAPE", "digest has neither rows nor summary");
      if (bytesEqual(f.summary.hash, trie.hashAt(f.scope))) return;
      if (f.scope.depth >= TRIE_DEPTH) return this.sendDigest(link, swapRole(f.flags), f.scope, false, now);
      const node = trie.nodeView(f.scope)!;
      this.#answer(link, now, { type: FRAME.TREE, flags: f.flags & FLAG_ROLE_MASK, nodes: [node] });
      return;
    }
    // Most digests of a round carry no rows (a node that holds nothing yet): no Map for those.
    const rows = f.rows.length > 0 ? new Map<string, DigestRowWire>() : null;
    const peer: ReadonlyMap<string, DigestRowWire> = rows ?? NO_PEER_ROWS;
    const exactPull = (f.flags & DIGEST_FLAG.WANT) !== 0 && (f.flags & DIGEST_FLAG.EXACT) !== 0;
    for (const r of f.rows) {
      if (!inScope(r.origin, f.scope)) throw remoteError("WIRE_SHAPE", "digest row outside its scope");
      const id = toHex(r.origin);
      rows!.set(id, r); // made above: this digest has rows
      this.#learn(link, id, r);
      this.#c.store.origins.get(id)?.listedAt(r.generation, r.have);
      if (this.#c.store.distrusted(id)) this.#c.evidence.tell(link.id, id); // it still holds an origin proven to equivocate
      // It still holds an origin that left (and an exact pull of it gets the farewell anyway).
      else if (!exactPull && sendFarewell(this.#c, link, now, id, r.generation, r.have)) continue;
      else if (r.tag) this.#compareRoot(now, link, id, r);
    }
    if (f.flags & DIGEST_FLAG.WANT) {
      // Every origin in scope is a candidate (unless EXACT), walked lazily from a random place so
      // that under a tight budget none starves, and a digest costs what its answer holds.
      const count = trie.countAt(f.scope);
      const exact = (f.flags & DIGEST_FLAG.EXACT) !== 0;
      // Nothing to look at (a node that holds nothing in scope yet): no answer and no budget touched.
      if (exact ? peer.size > 0 : count > 0) {
        const candidates = exact ? rotate([...peer.keys()], randomBelow(this.#c.rng, peer.size)) : trie.walkIds(f.scope, randomBelow(this.#c.rng, count));
        // Rows of a whole trie position, not cut short at `digestEntriesMax`: an origin not among them is one the peer lacks.
        this.#sendDeltas(now, link, candidates, peer, f.id, !exact && f.rows.length < this.#c.host.options.digestEntriesMax);
      }
    }
    if (f.flags & DIGEST_FLAG.OFFER) {
      const want: DigestRowWire[] = [];
      const asking: [string, DigestRowWire][] = [];
      for (const [id, r] of peer) {
        if (want.length >= this.#c.host.options.digestEntriesMax) break;
        const mine = this.#c.store.position(id);
        const behind = !mine || r.generation > mine.generation || (r.generation === mine.generation && r.have > mine.have);
        if (behind && id !== this.#c.store.selfId && !this.#askedLately(now, id, r)) {
          want.push({ origin: r.origin, generation: mine?.generation ?? 0, have: mine?.have ?? 0 });
          asking.push([id, r]);
        }
      }
      if (want.length && this.#answer(link, now, { type: FRAME.DIGEST, flags: DIGEST_FLAG.WANT | DIGEST_FLAG.EXACT, scope: f.scope, rows: want, summary: null, id: this.#digestId(link, want) })) {
        for (const [id, r] of asking) this.#ask(now, id, r);
      }
    }
  }

  /** Whether `id` at `r`'s version (or later) was asked for in the last `intervalMs`. */
  #askedLately(now: number, id: string, r: DigestRowWire): boolean {
    const a = this.#asked.get(id);
    return !!a && now - a.at < this.#c.host.options.intervalMs && (a.generation > r.generation || (a.generation === r.generation && a.have >= r.have));
  }

  /** Remembers that `id` at `r`'s version was asked for now. */
  #ask(now: number, id: string, r: DigestRowWire): void {
    this.#asked.delete(id);
    this.#asked.set(id, { generation: r.generation, have: r.have, at: now });
    this.forgetAsked(now);
  }

  /** Forgets the exact pulls asked `intervalMs` ago or longer, and the oldest past {@link ASKED_MAX}. */
  forgetAsked(now: number): void {
    for (const [id, a] of this.#asked) {
      if (this.#asked.size <= ASKED_MAX && now - a.at < this.#c.host.options.intervalMs) break;
      this.#asked.delete(id);
    }
  }

  /** Exact pulls remembered. */
  get askedCount(): number {
    return this.#asked.size;
  }

  /**
   * Equal versions, different roots: the origin signed two. The peer is sent this node's root (an
   * empty range at that version), which on its side is the proof; the evidence then spreads.
   */
  #compareRoot(now: number, link: SyncLink, id: string, r: DigestRowWire): void {
    const mine = this.#c.store.position(id);
    if (!mine || mine.generation !== r.generation || mine.have !== r.have || mine.version !== r.have) return;
    const tag = this.#c.store.tagOf(id);
    if (!tag || bytesEqual(tag, r.tag!)) return;
    const root = this.#c.store.rootOnly(id);
    if (root) this.#answer(link, now, { type: FRAME.DELTA, flags: 0, origins: [root], replyTo: 0 });
  }

  /** A peer's digest row tells whether it still lacks a hot origin. */
  #learn(link: SyncLink, id: string, r: DigestRowWire): void {
    if (!isBehind(link, id)) return;
    const mine = this.#c.store.position(id);
    if (mine && (r.generation > mine.generation || (r.generation === mine.generation && r.have >= mine.version))) dropBehind(link, id);
  }

  /**
   * Answers a digest with the deltas the peer lacks, within `deltaBytesMax` and what is left of the
   * link's answer budget; an answer the budget cannot cover (a delta carries at least one entry)
   * waits for a later request.
   */
  #sendDeltas(now: number, link: SyncLink, candidates: Iterable<string>, peer: ReadonlyMap<string, DigestRowWire>, replyTo: number, lacks: boolean): void {
    const budget = this.#c.host.answerBudget(link.id);
    const allowance = Math.min(this.#c.host.options.deltaBytesMax, budget?.room(now) ?? 0);
    if (!budget || allowance < ANSWER_BYTES_MIN) {
      this.#c.stats.answersDeferred++;
      return;
    }
    const rowOf = (id: string) => {
      const row = peer.get(id);
      if (row) return row;
      if (lacks) this.#c.store.origins.get(id)?.lackedAt(now); // the peer's rows of this position leave it out
      return ROW_NONE;
    };
    const { origins, examined } = this.#deltas(candidates, allowance, rowOf, link);
    // Looking at an origin costs too, answered or not: charged, so a stream of digests that
    // match nothing cannot keep this node walking its whole store.
    budget.spend(now, examined * CANDIDATE_COST_BYTES);
    if (origins.length) this.#answer(link, now, { type: FRAME.DELTA, flags: 0, origins, replyTo });
  }

  /**
   * Origin deltas for `candidates` (in the order given) within `allowance` bytes, looking at most
   * at `4 · deltaOriginsMax` of them. A start-over (the peer is behind the floor) is the full map
   * or nothing, so it needs what is left of the allowance and of the frame.
   */
  #deltas(candidates: Iterable<string>, allowance: number, rowOf: (id: string) => { generation: number; have: number }, link: SyncLink): { origins: OriginDeltaWire[]; examined: number } {
    const o = this.#c.host.options;
    const frameRoom = Math.min(allowance, o.frameBytesMax - 1024);
    let used = 0;
    let examined = 0;
    const origins: OriginDeltaWire[] = [];
    for (const id of candidates) {
      if (used >= allowance || origins.length >= o.deltaOriginsMax || examined >= 4 * o.deltaOriginsMax) break;
      examined++;
      const r = rowOf(id);
      const d = this.#c.store.deltaFor(id, r.generation, r.have, allowance - used, frameRoom - used);
      if (!d) continue;
      origins.push(d.delta);
      used += d.bytes;
      dropBehind(link, id);
    }
    return { origins, examined };
  }

  /**
   * Descent: only the receiver of a TREE frame sees both sides of each child, so it acts on every
   * child that differs — with a digest of its own origins there when they are few (the digest both
   * asks and offers, per the exchange's flags), else with its view of that child, one level down.
   * Where several children differ and hold at least half the node's origins, one digest of the
   * whole node goes instead when it holds no more than a child may (`treeLeafOriginsMax`).
   */
  onTree(now: number, link: SyncLink, f: TreeFrame): void {
    const o = this.#c.host.options;
    const trie = this.#c.store.trie;
    const flags = f.flags & FLAG_ROLE_MASK;
    const descend: TreeNodeWire[] = [];
    let digests = 0;
    for (const node of f.nodes) {
      const mine = trie.nodeView(node)!;
      const differ: number[] = [];
      let total = 0;
      let differing = 0;
      for (let i = 0; i < 16; i++) {
        total += mine.childCounts[i];
        const at = i * TRIE_HASH_BYTES;
        if (bytesEqual(node.childHashes.subarray(at, at + TRIE_HASH_BYTES), mine.childHashes.subarray(at, at + TRIE_HASH_BYTES))) continue;
        differ.push(i);
        differing += mine.childCounts[i];
      }
      // One frame and one answer instead of one a child, at most twice the rows.
      if (differ.length > 1 && 2 * differing >= total && total <= o.treeLeafOriginsMax) {
        if (digests++ < o.treeNodesMax) this.sendDigest(link, flags, { depth: node.depth, index: node.index }, false, now);
        continue;
      }
      for (const i of differ) {
        const child = { depth: node.depth + 1, index: node.index * 16 + i };
        if (mine.childCounts[i] <= o.treeLeafOriginsMax || child.depth >= TRIE_DEPTH) {
          if (digests++ < o.treeNodesMax) this.sendDigest(link, flags, child, false, now);
        } else if (descend.length < o.treeNodesMax) {
          descend.push(trie.nodeView(child)!);
        }
      }
    }
    if (descend.length) this.#answer(link, now, { type: FRAME.TREE, flags: swapRole(flags), nodes: descend });
  }
}
