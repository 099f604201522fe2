/**
 * State sync: the subsystem that spreads every origin's signed map (`store.ts`) — gossip rounds,
 * digests and the trie's descent (`exchange.ts`; per link, `sync-link.ts`), deltas under a byte
 * budget, rumors of hot origins and what goes at once (`hot-origins.ts`), root signatures to check
 * (`intake.ts`), evidence (`evidence.ts`).
 *
 * A gossip round runs every `intervalMs`: `fanout` peers are picked (uniformly, or biased towards
 * peers that lag on hot origins) and each gets, by `mode`, pushed rumors, a digest asking for deltas
 * (pull), or a digest that both asks and offers (push-pull). Digests of many origins become a
 * Merkle summary and the two sides descend the digest trie to the differences.
 *
 * Invariants:
 * - nothing enters the store unchecked: `store.check` (caps, shape, proofs) before the root's
 *   signature is verified (once per root, shared by every copy waiting on it), `store.apply` after;
 * - what one link makes this node do is bounded: answers to its requests by its answer budget (the
 *   engine's, per link), state it pushes by `stateBytesPerLinkPerSecondMax` and
 *   `newOriginsPerLinkPerSecondMax`, checks queued by `pendingVerifyPerLinkMax`;
 * - an answer to one of this node's own digests that is not newer than what the digest said is a
 *   provable replay (`STATE_STALE`).
 *
 * @module
 */

import { bytesEqual } from "../bytes.ts";
import { signingBytes } from "../crypto/context.ts";
import { DIGEST_FLAG, FRAME, type DeltaFrame, type DigestFrame, type EvidenceFrame, type TreeFrame } from "../wire/frames.ts";
import { ROOT_FLAG_LEFT } from "../wire/records.ts";
import type { LinkId } from "./events.ts";
import { Evidence } from "./evidence.ts";
import { Exchange, type SyncContext, type SyncHost, type SyncStats } from "./exchange.ts";
import { HotOrigins, SERVED_RUMOR } from "./hot-origins.ts";
import { behindCount, dropBehind, newOriginsBucket, skipsServedRound, SyncLink } from "./sync-link.ts";
import { Intake } from "./intake.ts";
import { randomBelow, sampleInPlace, weightedSample, type Rng } from "./random.ts";
import type { Store } from "./store.ts";
import type { Subsystem } from "./subsystem.ts";

export type { SyncHost, SyncStats } from "./exchange.ts";
/** The frames state sync owns. */
export type SyncFrame = DigestFrame | DeltaFrame | TreeFrame | EvidenceFrame;

/**
 * Rounds in which nothing changed before a node's rounds go idle (see `idleRoundEvery`); a node
 * that holds no state waits longer, since while news spreads its pulls are how it gets it soonest.
 */
export const QUIET_ROUNDS_BEFORE_IDLE = 3;
export const QUIET_ROUNDS_BEFORE_IDLE_EMPTY = 10;
/** While nothing changes, the rounds between idle exchanges double this many times (to 4 × `idleRoundEvery`). */
export const IDLE_GAP_DOUBLINGS = 2;

/** What runs with each round: broadcast's re-announcements. */
export interface RoundListener {
  round(peers: LinkId[]): void;
  /** Whether it has work at the next rounds (an idle state sync does not sleep through them). */
  wanted(): boolean;
}

/** The state sync subsystem. */
export class Sync implements Subsystem<SyncFrame> {
  #host: SyncHost;
  #store: Store;
  #rng: Rng;
  #stats: SyncStats;
  #links: Map<LinkId, SyncLink>;
  #hot: HotOrigins;
  #signing = false;
  #nextRoundAt: number;
  #evidence: Evidence;
  #exchange: Exchange;
  #intake: Intake;
  /** Called at each round with the round's peers (broadcast re-announces to them); `wanted`: it has something to do at the next rounds. */
  #onRound: RoundListener;
  /** Something changed since the last round (see `#exchangeTargets`), and how many rounds in a row nothing did. */
  #changed = true;
  #quietRounds = 0;
  /** The quiet round of the next idle exchange, and the rounds since the last one (0: not idle yet). */
  #idleDue = 0;
  #idleGap = 0;
  /** The last round left this node idle: it sleeps until its next idle exchange or a change (see `wakeAt`). */
  #slept = false;
  /** Links that came up this round while this node held nothing, and were pulled from at once. */
  #emptyPulls = 0;
  /** The farewell signed ahead (`presignFarewell`) for the map as it is: its body, and its signature once made. */
  #farewell: { body: Uint8Array; signature: Uint8Array | null } | null = null;

  /**
   * @param firstRoundAt when the first round is due, to line up with the node's other periodic work
   *   (a node then wakes once a round for all of it); default a random phase. The phase is drawn
   *   either way, so the random stream is the same.
   * @param links the table of this sync's links: its own, or its owner's when the owner keeps one
   *   record a link for itself and state sync (the engine's `EngineLink`); the owner then passes each
   *   record to `linkUp` and may drop it from the table before calling `linkDown`.
   */
  constructor(host: SyncHost, store: Store, rng: Rng, stats: SyncStats, now: number, onRound: RoundListener, firstRoundAt?: number, links = new Map<LinkId, SyncLink>()) {
    this.#host = host;
    this.#links = links;
    this.#store = store;
    this.#rng = rng;
    this.#stats = stats;
    this.#onRound = onRound;
    const phase = now + randomBelow(rng, Math.max(1, Math.floor(host.options.intervalMs)));
    this.#nextRoundAt = firstRoundAt !== undefined && firstRoundAt >= now ? firstRoundAt : phase;
    this.#hot = new HotOrigins(host, store, this.#links);
    this.#evidence = new Evidence(host, store, stats, this.#links);
    const context: SyncContext = { host, store, rng, stats, evidence: this.#evidence, differs: () => (this.#changed = true) };
    this.#exchange = new Exchange(context);
    this.#intake = new Intake(context, (id) => this.#links.get(id), (id, link, from) => this.#markHot(id, link, from));
  }

  /**
   * When the next round that has work is due: the next round, or — while idle (see
   * `#exchangeTargets`) — the round of the next idle exchange: the rounds between do nothing
   * (nothing changed, nothing is hot), so an idle node sleeps through them. Rounds stay on the
   * node's grid (`intervalMs` apart from its phase), even when a change wakes an idle node
   * between its rounds.
   */
  wakeAt(): number {
    return Math.min(this.#hot.atOnceAt, this.#roundAt());
  }

  /** When the next round is due (see `wakeAt`). */
  #roundAt(): number {
    const interval = this.#host.options.intervalMs;
    if (this.#slept) {
      if (this.#asleep()) return this.#nextRoundAt + Math.max(0, this.#idleDue - this.#quietRounds - 1) * interval;
      // A change woke this node while it slept: its next round is the next one on its grid.
      const now = this.#host.now();
      if (this.#nextRoundAt < now) this.#nextRoundAt += Math.ceil((now - this.#nextRoundAt) / interval) * interval;
      this.#slept = false;
    }
    return this.#nextRoundAt;
  }

  /**
   * Idle, nothing changed since the last round, and the round's listener has nothing to do at the next rounds (broadcast's
   * re-announcements ride on them): the rounds before the next idle exchange may be slept through.
   */
  #asleep(): boolean {
    return this.#idleGap > 0 && !this.#changed && this.#hot.size === 0 && !this.#signing && !this.#onRound.wanted();
  }

  /** The hot origins a link that comes up now is presumed to lack (its `behind`). */
  behindNow(): string | string[] {
    return this.#hot.behindNow();
  }

  /** A link is up; `link` is its record when the owner keeps it in its own table (see the constructor). */
  linkUp(now: number, linkId: LinkId, _peer: Uint8Array | null, link = new SyncLink(linkId, this.behindNow())): void {
    const o = this.#host.options;
    this.#changed = true;
    this.#links.set(linkId, link);
    this.#evidence.forgetLink(linkId);
    this.#hot.linkUp(linkId);
    // A new link learns the state at once rather than at the next round. A node holding nothing
    // has nothing to push: its digest is only a pull, and `fanout` pulls a round are enough (each
    // peer has what the mesh has; a peer holding state sends its own digest at link-up, which this
    // node answers). A node that comes up with dozens of links at once (a restarted hub, every
    // simulated node at boot) would otherwise send as many empty digests, most to peers as empty.
    if (this.#store.origins.size === 0 && this.#emptyPulls++ >= o.fanout) return;
    this.#exchange.start(link, o.mode === "push" ? "pushpull" : o.mode);
  }

  linkDown(_now: number, linkId: LinkId): void {
    this.#changed = true;
    this.#links.delete(linkId);
    this.#hot.linkDown(linkId);
    this.#evidence.forgetLink(linkId);
  }

  receive(now: number, linkId: LinkId, frame: SyncFrame): void {
    const link = this.#links.get(linkId);
    if (!link) return;
    switch (frame.type) {
      case FRAME.DIGEST:
        // No rows for its whole map: the peer holds nothing here (see `#exchangeTargets`).
        link.peerEmpty = frame.rows?.length === 0 && frame.scope.depth === 0 && (frame.flags & DIGEST_FLAG.EXACT) === 0;
        return this.#exchange.onDigest(now, link, frame);
      case FRAME.DELTA:
        this.#changed = true; // the peer found a difference
        link.peerEmpty = false;
        if ((frame.flags & SERVED_RUMOR) === SERVED_RUMOR) link.served |= 1; // see `skipsServedRound`
        return this.#intake.receive(now, link, frame);
      case FRAME.TREE:
        this.#changed = true;
        return this.#exchange.onTree(now, link, frame);
      case FRAME.EVIDENCE:
        return this.#evidence.receive(now, linkId, frame, newOriginsBucket(link, this.#host.options, now));
    }
  }

  /** Time passes: sends what goes at once if it is due (`HotOrigins.flush`), then the gossip round if it is. */
  tick(now: number): void {
    if (now >= this.#hot.atOnceAt) this.#hot.flush(now);
    if (now < this.#roundAt()) return;
    const interval = this.#host.options.intervalMs;
    const missed = Math.floor((now - this.#nextRoundAt) / interval);
    if (this.#slept) {
      // Still asleep (see `wakeAt`): the rounds slept through were quiet ones; rounds stay on the grid.
      this.#quietRounds += missed;
      this.#nextRoundAt += (missed + 1) * interval;
    } else {
      // A node that slept through several rounds (a throttled tab) runs one and moves on.
      this.#nextRoundAt = missed >= 1 ? now + interval : this.#nextRoundAt + interval;
    }
    this.#emptyPulls = 0;
    this.#round(now);
    this.#slept = this.#asleep();
  }

  // ------------------------------------------------------------------ local writes

  /** Writes (or, with `null`, deletes) one of this node's keys. */
  write(now: number, key: string, value: Uint8Array | null): void {
    this.#changed = true;
    const change = this.#store.write(now, key, value);
    if (change) this.#host.emit({ type: "change", change });
    this.#maybeSign();
  }

  /**
   * Says farewell: own keys are deleted and the farewell root, once signed, goes to every link; one signed ahead (`presignFarewell`)
   * goes before this returns (a page closing in `pagehide` runs nothing asynchronous to its end).
   */
  leave(): void {
    this.#changed = true;
    const ready = this.#farewell;
    this.#farewell = null;
    for (const change of this.#store.leave()) this.#host.emit({ type: "change", change });
    const body = ready?.signature && !this.#signing ? this.#store.beginSign() : null;
    if (!body) return this.#maybeSign();
    if (!bytesEqual(body, ready!.body)) return this.#signRoot(body); // the map changed since
    this.#signed(ready!.signature!);
    // The farewell alone, to every link: the other origins hot here are its peers' to spread (the
    // node is going), and a frame of them all could run out of budget before the farewell.
    const self = this.#store.selfId;
    const rumor = this.#hot.rumor([self]);
    if (rumor) for (const link of this.#usableLinks()) (dropBehind(link, self), this.#host.send(link.id, rumor.frame));
  }

  /** This node's map one version on, same entries (`strangers.ts`), signed at once; false if there was nothing to renew. */
  renew(): boolean {
    return this.#store.renew() && (this.#maybeSign(), true);
  }

  #maybeSign(): void {
    if (this.#signing) return;
    const body = this.#store.beginSign();
    if (body) this.#signRoot(body);
    else this.#signFarewellAhead();
  }

  /** Signs the root `beginSign` snapshotted (`body`) and publishes it; a failed signature is retried. */
  #signRoot(body: Uint8Array): void {
    this.#sign(body, (signature) => {
      if (signature) this.#signed(signature);
      else this.#store.abortSign();
    });
  }

  /** Signs `body` as a root of this node's own map, hands `done` the signature, then signs what is due next. */
  #sign(body: Uint8Array, done: (signature: Uint8Array | null) => void): void {
    this.#signing = true;
    this.#host.sign(signingBytes("root", this.#host.options.network, this.#host.protocolVersion, body), (signature) => {
      this.#signing = false;
      done(signature);
      this.#maybeSign();
    });
  }

  /** Publishes the root `beginSign` snapshotted, under `signature`, and spreads it. */
  #signed(signature: Uint8Array): void {
    this.#farewell = null; // signed ahead for an older state, if at all
    const store = this.#store;
    const prevHave = store.self.root ? store.self.have : 0;
    store.finishSign(signature, this.#host.now());
    const f = store.self.root!.fields;
    this.#markHot(store.selfId, null, prevHave);
    this.#host.emit({ type: "signed", generation: f.generation, version: f.version });
    if (f.flags & ROOT_FLAG_LEFT) for (const link of this.#usableLinks()) this.#exchange.start(link, "pushpull");
  }

  /**
   * With `presignFarewell`, signs the farewell ahead once the map is signed and quiet (`Store.farewellBody`): one signature
   * per quiet spell; tried once per signed root (`#signed` clears it), a failed one not retried until the map changes.
   */
  #signFarewellAhead(): void {
    if (!this.#host.options.presignFarewell || this.#farewell) return;
    const body = this.#store.farewellBody();
    if (!body) return;
    const ahead: { body: Uint8Array; signature: Uint8Array | null } = { body, signature: null };
    this.#farewell = ahead;
    this.#sign(body, (signature) => (ahead.signature = signature));
  }

  // ------------------------------------------------------------------ rounds

  #round(now: number): void {
    this.#stats.rounds++;
    // A link that sent nothing for a round holds no budgets (a mesh of a million nodes has tens of
    // millions of links, most of them quiet at any time).
    for (const l of this.#links.values()) l.dropFullBudgets(now);
    this.#store.collectTombstones(now);
    this.#store.collectOrigins(now);
    this.#exchange.forgetAsked(now);
    this.#maybeSign();
    const o = this.#host.options;
    const peers = this.#selectPeers(o.fanout);
    this.#onRound.round(peers.map((l) => l.id));
    if (o.mode === "push") {
      for (const link of peers) this.#hot.push(link);
      if (this.#stats.rounds % o.antiEntropyEveryRounds === 0 && peers.length) this.#exchange.start(peers[0], "pushpull");
    } else {
      for (const link of this.#exchangeTargets(peers)) if (!skipsServedRound(link)) this.#exchange.start(link, o.mode);
    }
    this.#hot.age();
  }

  /**
   * The links this round's exchange goes to: all of `peers`, unless the round is idle — for
   * `QUIET_ROUNDS_BEFORE_IDLE` rounds (`…_EMPTY` for a node that holds nothing) nothing changed here:
   * no origin advanced, no link came or went, no exchange found a difference (every digest it sent or
   * got matched). An idle round's exchange goes to one peer, at a random one of the first
   * `idleRoundEvery` idle rounds, then about twice and four times as many rounds apart while
   * nothing changes (`IDLE_GAP_DOUBLINGS`; each gap drawn from half to one and a half of that):
   * anti-entropy goes on (a difference nobody announced is still found, by this node or by its
   * peers' rounds: each node's peers send it a digest every few rounds between them) at a cost in
   * proportion to what changes, and the first difference brings back full rounds. A mesh that
   * stays quiet sends a digest a node about every `4 × idleRoundEvery` rounds. A node that holds
   * nothing sends its idle digest only to a peer not known to hold nothing either (its last digest
   * of the whole map had rows): two empty ends have nothing to compare, and the first write brings
   * a push and full rounds, or reaches this node by the writer's own idle digests.
   */
  #exchangeTargets(peers: SyncLink[]): SyncLink[] {
    const quiet = !this.#changed && this.#hot.size === 0;
    this.#changed = false;
    this.#quietRounds = quiet ? this.#quietRounds + 1 : 0;
    const idleFrom = this.#store.origins.size > 0 ? QUIET_ROUNDS_BEFORE_IDLE : QUIET_ROUNDS_BEFORE_IDLE_EMPTY;
    const every = this.#host.options.idleRoundEvery;
    if (every <= 1 || this.#quietRounds <= idleFrom) {
      this.#idleGap = 0;
      return peers;
    }
    if (this.#idleGap === 0) {
      // The first idle exchange at a random one of the next `every` rounds, and each later one a
      // random gap on: nodes that went quiet together (the same change reached them all) spread
      // their idle digests over the rounds instead of sending them in the same one.
      this.#idleGap = every;
      this.#idleDue = idleFrom + 1 + randomBelow(this.#rng, every);
    }
    if (this.#quietRounds < this.#idleDue) return [];
    this.#idleGap = Math.min(2 * this.#idleGap, every * 2 ** IDLE_GAP_DOUBLINGS);
    // About `#idleGap` rounds on (half of it to one and a half): the idle exchanges of nodes keep
    // apart, whatever rounds they started in.
    this.#idleDue = this.#quietRounds + Math.ceil(this.#idleGap / 2) + randomBelow(this.#rng, this.#idleGap);
    if (this.#store.origins.size > 0) return peers.slice(0, 1);
    const some = peers.find((l) => !l.peerEmpty);
    return some ? [some] : [];
  }

  #usableLinks(): SyncLink[] {
    const out: SyncLink[] = [];
    for (const l of this.#links.values()) if (this.#host.usable(l.id)) out.push(l);
    return out;
  }

  #selectPeers(k: number): SyncLink[] {
    const links = this.#usableLinks();
    if (this.#host.options.peerSelection === "hot" && this.#hot.size > 0) {
      const bias = this.#host.options.hotBias;
      return weightedSample(this.#rng, links, (l) => 1 + bias * behindCount(l), k);
    }
    return sampleInPlace(this.#rng, links, k);
  }

  #rumorRounds(): number {
    const o = this.#host.options;
    if (o.rumorRounds > 0) return o.rumorRounds;
    // Push reaches everyone in about log_{f+1} n + ln(n)/f rounds (Pittel); n is estimated from what
    // this node can see, and never taken below 4.
    const n = Math.max(this.#store.origins.size, this.#links.size, 2) + 1;
    const f = o.fanout;
    return Math.max(4, Math.ceil(Math.log(n) / Math.log(f + 1) + Math.log(n) / f) + 1);
  }

  /** An origin advanced: push it as a rumor (from version `from`) and presume every other peer lacks it. */
  #markHot(originId: string, fromLink: SyncLink | null, from: number): void {
    this.#changed = true;
    this.#hot.mark(originId, fromLink, from, this.#rumorRounds());
  }
}
