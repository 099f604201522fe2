/**
 * Broadcast repair: the ids that peers announced (IHAVE) but whose messages have not arrived, and
 * the GRAFT requests that fetch them. Part of broadcast (`broadcast.ts`), kept apart because it is
 * where a hostile peer's announcements meet honest ones.
 *
 * Invariants:
 * - the missing table holds at most `missingMax` ids, and one link's outstanding announcements at
 *   most its share of it: the table split evenly among the links, halved for every request in a
 *   row the link left unanswered (down to a floor), never above `announcementsPerLinkMax`; so a
 *   link that announces ids it never delivers cannot crowd out the repair of honest messages;
 * - each announcer of a missing id is asked at most `graftRetriesMax` times, least-asked first,
 *   with a delay that doubles up to `graftTimeoutMs` × 2^3; an id is given up only when every live
 *   announcer's requests are spent, and a later announcement starts it over.
 *
 * @module
 */

import { toHex } from "../bytes.ts";
import { encodeFrame, FRAME } from "../wire/frames.ts";
import { emptyMap, isShared } from "./empty.ts";
import type { LinkId } from "./events.ts";
import type { EngineOptions } from "./options.ts";

/** A link's own set of announced ids, made on its first announcement. */
function ownAnnounced(peer: Announcer): Set<string> {
  if (isShared(peer.announced)) peer.announced = new Set();
  return peer.announced;
}

/** What repair needs to know and keep about one link. */
export interface Announcer {
  eager: boolean;
  /** Ids this link announced that are still missing here (at most its share of the table); the shared empty set until it announces one. */
  announced: Set<string>;
  /** Requests sent to this link for messages still missing. */
  grafting: number;
  /** Requests to this link in a row that it did not answer in time: its standing as an announcer. */
  misses: number;
}

/** Repair's counters (part of the broadcast counters). */
export interface RepairStats {
  graftsSent: number;
  missingGivenUp: number;
  /** Announced ids not tracked: the announcing link was over its share of the missing table. */
  announcementsIgnored: number;
}

/** What repair asks of broadcast. */
export interface RepairHost {
  readonly options: EngineOptions;
  /** Links and their state (broadcast's own table). */
  readonly peers: ReadonlyMap<LinkId, Announcer>;
  /** Whether a message is already here or being checked. */
  has(id: string): boolean;
  send(linkId: LinkId, bytes: Uint8Array): void;
  /** A message announced here did not arrive in time: loss is about. */
  lost(now: number): void;
}

interface Missing {
  id: Uint8Array;
  /** Links that announced it (at most `MISSING_ANNOUNCERS_MAX`), in order of announcement. */
  announcers: LinkId[];
  /** Requests sent for it to each announcer. */
  asked: Map<LinkId, number>;
  deadline: number;
  askedLast: LinkId | null;
}

/** Announcers remembered per missing id: each is asked up to `graftRetriesMax` times. */
const MISSING_ANNOUNCERS_MAX = 8;
/** The least share of the missing table a link's announcements keep, however poor its standing. */
const ANNOUNCEMENT_SHARE_MIN = 16;
/** The retry delay doubles up to `graftTimeoutMs` × 2^this, then stays there. */
const GRAFT_BACKOFF_DOUBLINGS_MAX = 3;

/** The missing table and its requests. */
export class Repair {
  #host: RepairHost;
  #stats: RepairStats;
  #missing = emptyMap<string, Missing>();

  constructor(host: RepairHost, stats: RepairStats) {
    this.#host = host;
    this.#stats = stats;
  }

  /** The earliest request deadline (`Infinity`: nothing missing). */
  nextDeadline(): number {
    let t = Infinity;
    for (const m of this.#missing.values()) t = Math.min(t, m.deadline);
    return t;
  }

  /** A link is gone: it announces nothing any more. */
  linkDown(linkId: LinkId): void {
    for (const m of this.#missing.values()) m.announcers = m.announcers.filter((l) => l !== linkId);
  }

  /**
   * The share of the missing table one link's announcements may hold: the table split evenly among
   * the links, halved for every request in a row the link left unanswered (down to a floor), so a
   * link that announces ids it never delivers cannot crowd out the honest announcers' repairs.
   */
  #share(peer: Announcer): number {
    const o = this.#host.options;
    const even = Math.floor(o.missingMax / Math.max(1, this.#host.peers.size));
    const share = Math.max(ANNOUNCEMENT_SHARE_MIN, even >> Math.min(peer.misses, 16));
    return Math.min(o.announcementsPerLinkMax, share);
  }

  /** Ids announced by a link. Returns the earliest new deadline (or `Infinity`). */
  announce(now: number, linkId: LinkId, peer: Announcer, ids: Uint8Array[]): number {
    const o = this.#host.options;
    const share = this.#share(peer);
    let wake = Infinity;
    for (const idBytes of ids) {
      const id = toHex(idBytes);
      if (this.#host.has(id)) continue;
      // Past its share a link's announcements are ignored until some arrive or are given up.
      if (peer.announced.size >= share) {
        this.#stats.announcementsIgnored++;
        continue;
      }
      const m = this.#missing.get(id);
      if (m) {
        if (!m.announcers.includes(linkId) && m.announcers.length < MISSING_ANNOUNCERS_MAX) {
          m.announcers.push(linkId);
          ownAnnounced(peer).add(id);
        }
        continue;
      }
      if (this.#missing.size >= o.missingMax) continue; // flow control: anti-entropy of later announcements catches up
      ownAnnounced(peer).add(id);
      if (isShared(this.#missing)) this.#missing = new Map();
      this.#missing.set(id, { id: idBytes, announcers: [linkId], asked: new Map(), deadline: now + o.graftTimeoutMs, askedLast: null });
      wake = Math.min(wake, now + o.graftTimeoutMs);
    }
    return wake;
  }

  /** Chases every id whose deadline has passed. */
  tick(now: number): void {
    for (const [key, m] of this.#missing) {
      if (m.deadline > now) continue;
      if (this.#host.has(key)) {
        this.resolve(key, null);
        continue;
      }
      this.#chase(now, key, m);
    }
  }

  /**
   * A missing message is overdue: ask an announcer again. Each announcer is asked up to
   * `graftRetriesMax` times, the least-asked first, the one asked last at the back of the line,
   * and among equals one that answered its latest request (a link that announces and then does
   * not deliver loses its standing until it answers again),
   * so on a lossy link a request or its answer lost a few times in a row does not lose the message
   * while other nodes still hold it. Given up only when every live announcer's budget is spent; a
   * later announcement starts over.
   */
  #chase(now: number, key: string, m: Missing): void {
    const o = this.#host.options;
    const peers = this.#host.peers;
    if (m.askedLast !== null) {
      const slow = peers.get(m.askedLast);
      if (slow) {
        slow.grafting = Math.max(0, slow.grafting - 1);
        slow.misses++;
      }
    }
    let target: LinkId | null = null;
    let rank = Infinity;
    for (const l of m.announcers) {
      const peer = peers.get(l);
      const asked = m.asked.get(l) ?? 0;
      if (!peer || asked >= o.graftRetriesMax) continue;
      // Fewest requests first; then not the one that just failed; then one whose last requests
      // were answered; then not a link with requests piling up.
      const r = asked * 8 + (l === m.askedLast ? 4 : 0) + (peer.misses > 0 ? 2 : 0) + (peer.grafting >= o.graftsInFlightPerLinkMax ? 1 : 0);
      if (r < rank) [target, rank] = [l, r];
    }
    if (target === null) {
      this.#forget(key, m);
      this.#stats.missingGivenUp++;
      return;
    }
    const peer = peers.get(target)!;
    peer.grafting++;
    peer.eager = true;
    m.asked.set(target, (m.asked.get(target) ?? 0) + 1);
    m.askedLast = target;
    // Backing off spreads the retries over several rounds of re-announcements on lossy links,
    // which bring more announcers to ask.
    let tries = 0;
    for (const n of m.asked.values()) tries += n;
    m.deadline = now + o.graftTimeoutMs * 2 ** Math.min(tries - 1, GRAFT_BACKOFF_DOUBLINGS_MAX);
    this.#stats.graftsSent++;
    this.#host.lost(now);
    this.#host.send(target, encodeFrame({ type: FRAME.GRAFT, ids: [m.id] }));
  }

  /** A missing id arrived (over `from`, or by way of another check): its request is no longer in flight. */
  resolve(id: string, from: LinkId | null): void {
    const m = this.#missing.get(id);
    if (!m) return;
    this.#forget(id, m);
    if (m.askedLast === null) return;
    const asked = this.#host.peers.get(m.askedLast);
    if (!asked) return;
    asked.grafting = Math.max(0, asked.grafting - 1);
    if (from === m.askedLast) asked.misses = 0;
  }

  /** Stops tracking a missing id, and frees its announcers' slots. */
  #forget(id: string, m: Missing): void {
    this.#missing.delete(id);
    for (const l of m.announcers) this.#host.peers.get(l)?.announced.delete(id);
  }
}
