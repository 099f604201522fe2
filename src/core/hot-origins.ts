/**
 * Hot origins: the origins that advanced lately, which state sync pushes as rumors (`rumor.ts`)
 * for a number of rounds and presumes its other peers lack (each link's `behind`), and what goes
 * at once, between rounds: this node's own change and a client's to every link, any change to the
 * clients this node serves. Part of state sync (`sync.ts`), which calls `mark` when an origin
 * advances, `flush` when `atOnceAt` is due and `age` at each round.
 *
 * Bounds: at most {@link HOT_MAX} origins are hot and as many wait to go at once; past that the
 * oldest hot one is dropped (and from every link's `behind`) and further changes go by rounds.
 *
 * @module
 */

import { DELTA_FLAG } from "../wire/frames.ts";
import type { LinkId } from "./events.ts";
import { emptyMap, emptySet, isShared } from "./empty.ts";
import type { SyncHost } from "./exchange.ts";
import { buildRumor, type BuiltDeltas, type Rumor } from "./rumor.ts";
import type { Store } from "./store.ts";
import { addBehind, behindList, dropAllBehind, dropBehind, NOT_BEHIND, type SyncLink } from "./sync-link.ts";

/** A rumor's flags from a node that serves its receiver (see `skipsServedRound`). */
export const SERVED_RUMOR = DELTA_FLAG.RUMOR | DELTA_FLAG.SERVED;
/** Hot origins remembered (pushed as rumors, and what peers are presumed to lack). */
const HOT_MAX = 64;
/**
 * The least time between two flushes of what goes at once (`HotOrigins.flush`): the first change
 * after a quiet spell goes with no wait, and however fast origins change, a link gets at most one
 * such frame in this time (20 a second), each with what changed since the last.
 */
export const AT_ONCE_SPACING_MS = 50;

/** State sync's hot origins and what goes at once (see the module doc). */
export class HotOrigins {
  #host: SyncHost;
  #store: Store;
  #links: Map<LinkId, SyncLink>;
  #hot = emptyMap<string, { from: number; roundsLeft: number }>(); // the shared empty Map while nothing is hot
  /**
   * Origins that advanced here since the last flush, each with the version it advanced from (what
   * the flush sends is what is new since) and whether it goes to every link (`wide`: this node's
   * own, or one a client sent: the node speaks for its clients) or only to the clients this node
   * serves. Flushes are at least `AT_ONCE_SPACING_MS` apart; the shared empty Map while none waits.
   */
  #atOnce = emptyMap<string, { from: number; wide: boolean }>();
  #lastFlushAt = -Infinity;
  /** When the next flush is due (Infinity: nothing waits). */
  atOnceAt = Infinity;
  /** The links whose peers are clients this node serves (`SyncHost.client`; most nodes have none). */
  #clients = emptySet<LinkId>();

  /** @param links state sync's table of links */
  constructor(host: SyncHost, store: Store, links: Map<LinkId, SyncLink>) {
    this.#host = host;
    this.#store = store;
    this.#links = links;
  }

  /** How many origins are hot. */
  get size(): number {
    return this.#hot.size;
  }

  /** The hot origins a link that comes up now is presumed to lack (its `behind`). */
  behindNow(): string | string[] {
    return this.#hot.size === 0 ? NOT_BEHIND : this.#hot.size === 1 ? this.#hot.keys().next().value! : [...this.#hot.keys()];
  }

  /** A link is up: one to a client this node serves is counted as such. */
  linkUp(linkId: LinkId): void {
    if (!this.#host.client(linkId)) return;
    if (isShared(this.#clients)) this.#clients = new Set();
    this.#clients.add(linkId);
  }

  linkDown(linkId: LinkId): void {
    this.#clients.delete(linkId);
  }

  /** An origin advanced (from version `from`, sent by `fromLink` or this node's own): push it as a rumor and presume every other peer lacks it. */
  mark(originId: string, fromLink: SyncLink | null, from: number, rumorRounds: number): void {
    const prev = this.#hot.get(originId);
    this.#hot.delete(originId);
    if (isShared(this.#hot)) this.#hot = new Map();
    // A rumor still spreading keeps its older start, so peers that missed the earlier step catch up.
    this.#hot.set(originId, { from: prev ? Math.min(prev.from, from) : from, roundsLeft: rumorRounds });
    if (this.#hot.size > HOT_MAX) {
      const oldest = this.#hot.keys().next().value!;
      this.#hot.delete(oldest);
      for (const l of this.#links.values()) dropBehind(l, oldest);
    }
    for (const l of this.#links.values()) {
      if (l === fromLink) continue;
      addBehind(l, originId);
    }
    const wide = originId === this.#store.selfId || (fromLink !== null && this.#clients.has(fromLink.id));
    if (wide || this.#clients.size > 0) {
      const since = this.#atOnce.get(originId);
      if (since === undefined && this.#atOnce.size >= HOT_MAX) return; // the rest go by rounds
      if (isShared(this.#atOnce)) this.#atOnce = new Map();
      this.#atOnce.set(originId, since === undefined ? { from, wide } : { from: Math.min(since.from, from), wide: wide || since.wide });
      this.atOnceAt = Math.min(this.atOnceAt, Math.max(this.#host.now(), this.#lastFlushAt + AT_ONCE_SPACING_MS));
    }
  }

  /**
   * What advanced since the last flush goes as rumors, without waiting for a round: this node's
   * own origin, and one a client of this node sent, to every link (each peer lacks it: one copy
   * each, as the rounds would send; a relay speaks for its tabs, so their change reaches its peer
   * relays in one hop), any origin to the clients this node serves (a relay's tabs hear of a
   * change as soon as the relay has it, not up to a round later). What a peer sent goes on to
   * other peers by rounds only: pushed on at once, every node would get a copy from each neighbour.
   * One frame a link, built once for links that lack the same origins; a client's is marked
   * `SERVED`, so its rounds need not ask what these pushes bring (`skipsServedRound`). Links that
   * are congested, or presumed to hold an origin already, are left to rounds.
   */
  flush(now: number): void {
    const since = this.#atOnce;
    const ids = [...since.keys()];
    this.#atOnce = emptyMap();
    this.atOnceAt = Infinity;
    this.#lastFlushAt = now;
    const order = new Map<string, number>();
    ids.forEach((id, i) => order.set(id, i));
    const rumors = new Map<string, { frame: Uint8Array; carried: Set<string> } | null>();
    const fromOf = (id: string) => since.get(id)!.from;
    const built: BuiltDeltas = new Map();
    for (const link of this.#links.values()) {
      if (!this.#host.usable(link.id)) continue;
      const client = this.#clients.has(link.id);
      // What this link lacks of the flush, in the flush's order (one pass over what it lacks).
      const at: number[] = [];
      for (const id of behindList(link)) {
        const i = order.get(id);
        if (i !== undefined && (client || since.get(id)!.wide)) at.push(i);
      }
      if (at.length === 0) continue;
      at.sort((a, b) => a - b);
      const key = (client ? "c" : "") + at.join();
      let rumor = rumors.get(key);
      if (rumor === undefined) {
        const flags = client ? SERVED_RUMOR : DELTA_FLAG.RUMOR;
        const r = buildRumor(this.#store, this.#host.options, at.map((i) => ids[i]), this.#isHot, fromOf, built, flags);
        rumors.set(key, (rumor = r && { frame: r.frame, carried: new Set(r.ids) }));
      }
      if (rumor === null) continue;
      this.#host.send(link.id, rumor.frame);
      dropAllBehind(link, rumor.carried);
    }
  }

  /** A round went by: origins hot for their rounds are hot no more. */
  age(): void {
    for (const [id, h] of this.#hot) {
      if (--h.roundsLeft > 0) continue;
      this.#hot.delete(id);
      for (const l of this.#links.values()) dropBehind(l, id);
    }
    if (this.#hot.size === 0) this.#hot = emptyMap();
  }

  /** A rumor of the hot origins among `ids` (default: all of them), each from where it got hot; null when none fits. */
  rumor(ids: string[] = [...this.#hot.keys()]): Rumor | null {
    return buildRumor(this.#store, this.#host.options, ids, this.#isHot, (id) => this.#hot.get(id)!.from);
  }

  /** Pushes the hot origins to `link`, which no longer lacks those the rumor carries. */
  push(link: SyncLink): void {
    const rumor = this.rumor();
    if (rumor === null) return;
    for (const id of rumor.ids) dropBehind(link, id);
    this.#host.send(link.id, rumor.frame);
  }

  readonly #isHot = (id: string): boolean => this.#hot.has(id);
}
