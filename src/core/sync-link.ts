/**
 * What state sync keeps per link (`SyncLink`): the digests last sent on it (for replay checks), the
 * hot origins its peer is presumed to lack, its intake budgets, and whether the peer serves this
 * node. Read and written by the exchanges (`exchange.ts`), intake (`intake.ts`) and rounds
 * (`sync.ts`).
 *
 * @module
 */

import type { DigestRowWire } from "../wire/frames.ts";
import { TokenBucket } from "./budget.ts";
import type { LinkId } from "./events.ts";
import type { EngineOptions } from "./options.ts";

/**
 * What state sync keeps per link. A record an owner keeps in its own link table may extend it (the
 * engine's, `EngineLink`: one record a link for the engine and its state sync).
 */
export class SyncLink {
  readonly id: LinkId;
  pendingVerifies = 0;
  /**
   * Our last two digests to this peer (`SENT_DIGESTS_PER_LINK`): their ids (0: none) and the rows we sent (shared
   * with the trie), so an answer at or below a row it answers is a provable replay (`sentRows`, `rememberDigest`).
   */
  sentId = 0;
  sentRows: readonly DigestRowWire[] = NO_ROWS;
  sentIdBefore = 0;
  sentRowsBefore: readonly DigestRowWire[] = NO_ROWS;
  /**
   * Hot origins this peer is presumed to lack, at most `HOT_MAX` (64): `NOT_BEHIND` when none, the
   * id itself when one (as on most links while a change spreads: no array a link), else an array
   * (about a third of a Set's bytes). Read through `behindCount`, `isBehind`; written through
   * `addBehind`, `dropBehind`.
   */
  behind: string | string[];
  /**
   * State bytes and new origins this node still takes in from the peer, made at first use
   * (`intakeBucket`, `newOriginsBucket`): a bucket never spent from is full, so a link that has sent
   * nothing holds none.
   */
  intakeBytes: TokenBucket | null = null;
  newOrigins: TokenBucket | null = null;
  /** Whether a `SERVED` rumor came since the last round that picked this link (bit 1), and the round exchanges skipped in a row (the rest): see `skipsServedRound`. */
  served = 0;
  /** The peer's last digest of its whole map listed nothing (it held nothing here); a delta from it clears this. */
  peerEmpty = false;

  /** @param behind the hot origins the peer is presumed to lack when the link comes up (`Sync.behindNow`) */
  constructor(id: LinkId, behind: string | string[]) {
    this.id = id;
    this.behind = behind;
  }

  /** Drops budgets full again (the same as none: `TokenBucket.isFull`); each round calls it, and an extending record drops its own too. */
  dropFullBudgets(now: number): void {
    if (this.intakeBytes?.isFull(now)) this.intakeBytes = null;
    if (this.newOrigins?.isFull(now)) this.newOrigins = null;
  }
}

/** Round exchanges in a row skipped with a peer that serves this node (`skipsServedRound`). */
export const SERVED_SKIPS_MAX = 3;

/**
 * A round picked `link`: whether to skip its exchange. A peer that serves this node (a relay and its
 * tab: it marks its rumors `SERVED`) pushes it every change it takes in at once, so while its pushes
 * keep coming a round's digest to it finds nothing its pushes would not bring — yet costs the peer
 * an answer, and a relay serves hundreds of tabs. Such an exchange is skipped while the peer pushed
 * since the round last picked it, at most `SERVED_SKIPS_MAX` rounds in a row: what its pushes left
 * out (a budget, a congested link, a peer that withholds) still comes within that many rounds more.
 */
export function skipsServedRound(link: SyncLink): boolean {
  const s = link.served;
  const skip = (s & 1) !== 0 && s >> 1 < SERVED_SKIPS_MAX;
  link.served = skip ? ((s >> 1) + 1) << 1 : 0;
  return skip;
}

/** The shared empty `behind` list: replaced, never written to. */
export const NOT_BEHIND: string[] = Object.freeze([]) as unknown as string[];

/** How many hot origins `link` is presumed to lack. */
export function behindCount(link: SyncLink): number {
  const b = link.behind;
  return typeof b === "string" ? 1 : b.length;
}

/** Whether `link` is presumed to lack hot origin `id`. */
export function isBehind(link: SyncLink, id: string): boolean {
  const b = link.behind;
  return typeof b === "string" ? b === id : b.includes(id);
}

/** Marks `link` as lacking hot origin `id`. */
export function addBehind(link: SyncLink, id: string): void {
  const b = link.behind;
  if (b === NOT_BEHIND) link.behind = id;
  else if (typeof b === "string") {
    if (b !== id) link.behind = [b, id];
  } else if (!b.includes(id)) b.push(id);
}

/** `link` no longer lacks `id`. */
export function dropBehind(link: SyncLink, id: string): void {
  const b = link.behind;
  if (typeof b === "string") {
    if (b === id) link.behind = NOT_BEHIND;
    return;
  }
  const i = b.indexOf(id);
  if (i < 0) return;
  if (b.length === 2) link.behind = b[1 - i];
  else b.splice(i, 1);
}

/** The hot origins `link` is presumed to lack, as a list (read only). */
export function behindList(link: SyncLink): readonly string[] {
  const b = link.behind;
  return typeof b === "string" ? [b] : b;
}

/** `link` no longer lacks any of `ids` (one pass over what it lacks). */
export function dropAllBehind(link: SyncLink, ids: ReadonlySet<string>): void {
  const kept = behindList(link).filter((id) => !ids.has(id));
  link.behind = kept.length > 1 ? kept : kept.length ? kept[0] : NOT_BEHIND;
}

/** `link`'s state-bytes budget (`stateBytesPerLinkPerSecondMax`), made full if it has none yet. */
export function intakeBucket(link: SyncLink, o: EngineOptions, now: number): TokenBucket {
  return (link.intakeBytes ??= new TokenBucket(o.stateBytesPerLinkPerSecondMax, o.stateBytesPerLinkPerSecondMax, now));
}

/** `link`'s new-origins budget (`newOriginsPerLinkPerSecondMax`), made full if it has none yet. */
export function newOriginsBucket(link: SyncLink, o: EngineOptions, now: number): TokenBucket {
  return (link.newOrigins ??= new TokenBucket(o.newOriginsPerLinkPerSecondMax, Math.max(2 * o.newOriginsPerLinkPerSecondMax, o.deltaOriginsMax), now));
}

/** Digests remembered per link for replay checks (an answer to an older one is not checked). */
export const SENT_DIGESTS_PER_LINK = 2;

/** The rows of a digest that had none (a summary): one shared, frozen array. */
export const NO_ROWS: readonly DigestRowWire[] = Object.freeze([]);

/** The rows sent under digest `id` on this link, if it is one of the last two sent there. */
export function sentRowsOf(link: SyncLink, id: number): readonly DigestRowWire[] | undefined {
  return id === 0 ? undefined : id === link.sentId ? link.sentRows : id === link.sentIdBefore ? link.sentRowsBefore : undefined;
}
