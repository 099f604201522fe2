/**
 * The links membership runs over, as the coordinator tracks them: one record per engine link,
 * with what each part keeps about it (the peer's piggyback allowance, PING_REQs being relayed for
 * it, when it was told the link goes).
 *
 * Several links may lead to one peer (both sides dialled at once); a link being let go
 * (`dropping`) is still up but no longer used: it is not probed, not asked to relay, not counted in
 * the active view, and its going down accuses nobody. Iteration is in the order links came up,
 * which the random choices over them depend on.
 *
 * @module
 */

import type { TokenBucket } from "../budget.ts";
import type { LinkId } from "../events.ts";

/** One link as membership sees it. */
export interface PeerLink {
  id: LinkId;
  peer: Uint8Array | null;
  peerId: string | null;
  /** When a frame last came over it (a dead member whose link still talks is not dropped). */
  lastFrameAt: number;
  /**
   * How long the peer had been silent when its last frame came, ms (`Infinity` until a second
   * frame has, and after a probe on the link either way): the silence that makes a busy link's
   * peer worth a probe is short, a quiet one's a whole pass (the detector's `#quietUntil`).
   */
  gapMs: number;
  /** When this node last probed the peer over it (`-Infinity`: never). */
  probedAt: number;
  dropping: boolean;
  /**
   * Claims this node may piggyback on frames the peer made it send (ACKs, relayed PINGs): each one
   * takes a transmit from the queue, so a peer that pings without pause would otherwise drain the
   * queue's news into itself instead of the mesh.
   */
  piggyback: TokenBucket;
  /** PING_REQs from this peer being relayed now. */
  relaying: number;
  /** When this node told the peer it lets the link go (DISCONNECT); it closes the link itself a period later if the peer has not. */
  disconnectAt?: number;
  /** When this node last sent the peer its whole view in answer to a SYNC with WANT. */
  viewAnsweredAt?: number;
}

/** The link table. */
export class LinkTable {
  #links = new Map<LinkId, PeerLink>();

  get(id: LinkId): PeerLink | undefined {
    return this.#links.get(id);
  }

  has(id: LinkId): boolean {
    return this.#links.has(id);
  }

  /** Records a link that came up (a link id reused by the driver keeps its place in the order). */
  set(link: PeerLink): void {
    this.#links.set(link.id, link);
  }

  /** Forgets a link and returns what was known of it. */
  delete(id: LinkId): PeerLink | undefined {
    const link = this.#links.get(id);
    this.#links.delete(id);
    return link;
  }

  values(): IterableIterator<PeerLink> {
    return this.#links.values();
  }

  /** Whether any link, even one being let go, leads to `peerId`. */
  reaches(peerId: string): boolean {
    for (const l of this.#links.values()) if (l.peerId === peerId) return true;
    return false;
  }

  /** The first link in use to `peerId`. */
  toPeer(peerId: string): PeerLink | undefined {
    for (const l of this.#links.values()) if (l.peerId === peerId && !l.dropping) return l;
    return undefined;
  }

  /** One link in use per linked peer: the active view. */
  distinct(): PeerLink[] {
    const seen = new Set<string>();
    const out: PeerLink[] = [];
    for (const l of this.#links.values()) {
      if (!l.peerId || l.dropping || seen.has(l.peerId)) continue;
      seen.add(l.peerId);
      out.push(l);
    }
    return out;
  }

  /** Ids of the peers linked by a link in use. */
  linkedPeers(): Set<string> {
    const s = new Set<string>();
    for (const l of this.#links.values()) if (l.peerId && !l.dropping) s.add(l.peerId);
    return s;
  }
}

/** A frame came from the link's peer at `now` (frames within one millisecond count as one). */
export function heardOn(link: PeerLink, now: number): void {
  const gap = now - link.lastFrameAt;
  if (gap <= 0) return;
  link.gapMs = gap;
  link.lastFrameAt = now;
}
