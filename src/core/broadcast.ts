/**
 * Epidemic broadcast (Plumtree): origin-signed messages reach every node with about one payload
 * copy each. Messages are pushed eagerly along a spanning tree and announced lazily (IHAVE) on the
 * other links; a duplicate prunes the link it came over (PRUNE), and an announced message that does
 * not arrive within `graftTimeoutMs` is requested (GRAFT) from an announcer, which also repairs
 * the tree. The tree forms by itself from the first messages, which flood.
 *
 * Invariants:
 * - a message is delivered to the application at most once: its id (SHA-256 of the signed bytes)
 *   stays in the seen set until the message expires, and no message valid for longer than
 *   `messageTtlMsMax` is accepted;
 * - nothing is forwarded before its signature is verified and the application's validator
 *   accepted it; only a bad signature or a validator's `reject` penalises the sender;
 * - every set and queue is bounded: seen ids, cached messages, missing ids, announcements per link.
 *
 * A subsystem of the engine (`subsystem.ts`): time comes in as `now`, crypto and validation go out
 * as jobs and come back to callbacks. Which announced ids are still missing, and the GRAFTs that
 * fetch them, are `repair.ts`. Message validity windows are on the wall clock the host injects.
 *
 * @module
 */

import { fromHex, toHex } from "../bytes.ts";
import { signingBytes } from "../crypto/context.ts";
import { sha256 } from "../crypto/hash.ts";
import { remoteError } from "../errors.ts";
import { encodeFrame, FRAME, type Frame, type GossipFrame } from "../wire/frames.ts";
import { decodeMessageBody, encodeMessageBody, type MessageBody } from "../wire/records.ts";
import { emptyMap, emptySet, isShared, NO_IDS } from "./empty.ts";
import type { Delivery, LinkId } from "./events.ts";
import { IHaveBatch } from "./ihave-batch.ts";
import { MessageCache } from "./message-cache.ts";
import { Repair, type Announcer } from "./repair.ts";
import type { BroadcastFrame, BroadcastStats, BroadcastView } from "./broadcast-view.ts";
import type { Subsystem, SubsystemHost } from "./subsystem.ts";

/** Rounds over which a node keeps re-announcing the ids it accepted (gossipsub keeps 3 heartbeats). */
const ANNOUNCE_ROUNDS = 3;
/** Links outside a scope's broadcast remembered at once (each with its own rate budget). */
const OUTSIDE_LINKS_MAX = 64;
/** Rounds after the last loss seen (re-announcing to all) and after the tree last changed here (announcing on all lazy links). */
const LOSS_MEMORY_ROUNDS = 4;
const TREE_CHANGE_ROUNDS = 1;

export type { Delivery, Verdict } from "./events.ts";
export type { BroadcastFrame, BroadcastStats, BroadcastView } from "./broadcast-view.ts";

interface Pending {
  body: MessageBody;
  bodyBytes: Uint8Array;
  /** The first copies received while the first was checked, each a candidate if one fails. */
  copies: { linkId: LinkId | null; signature: Uint8Array; hops: number }[];
  /** Every link that sent a copy while it was checked: all but the winner get pruned. */
  senders: Set<LinkId>;
}

interface PeerState extends Announcer {
  /** First copies of messages received over this link: how central the peer is to the tree. */
  firsts: number;
  tokens: number;
  tokensAt: number;
  ihave: Uint8Array[];
}

/** Plumtree state of one node. */
export class Broadcast implements Subsystem<BroadcastFrame>, BroadcastView {
  readonly stats: BroadcastStats = {
    published: 0, delivered: 0, payloadsReceived: 0, duplicates: 0, ihaveSent: 0, ihaveIdsSent: 0, graftsSent: 0,
    prunesSent: 0, expiredDropped: 0, seenFullDropped: 0, checksFullDropped: 0, rateDropped: 0, missingGivenUp: 0, rejoins: 0, graftsRefused: 0, announcementsIgnored: 0,
  };
  #host: SubsystemHost;
  #peers = new Map<LinkId, PeerState>();
  #repair: Repair;
  /** id → expiry (ms): everything received and checked (accepted, ignored or rejected). */
  #seen = emptyMap<string, number>(); // this and the next three: shared and empty until the first write (most nodes hold no message)
  /** id → the message, kept to answer GRAFTs. */
  #cache: MessageCache;
  /** This node's last prune: when, and for which message's duplicate. */
  #lastPrune: { at: number; id: string } = { at: -Infinity, id: "" };
  #pending = emptyMap<string, Pending>();
  #ihave: IHaveBatch;
  /** Ids accepted since the last round, and the last rounds' (newest first), re-announced. */
  #recent: string[] = [];
  #history: string[][] = [];
  /** Whether ids or a batch wait for a round (state sync then keeps its rounds). */
  announcing = (): boolean => this.#ihave.waiting || this.#recent.length > 0 || this.#history.some((ids) => ids.length > 0);
  #wakeAt = Infinity;
  #sweepAt = 0;
  #nonce = 0;
  /** When this node last saw a sign of loss (see `round`), and when the tree last changed here (a PRUNE). */
  #lossSeenAt = -Infinity;
  #treeChangedAt = -Infinity;

  /** Whether a message's topic belongs here (a scope's broadcast takes its own topic only). */
  #accepts: (topic: string) => boolean;
  /** Links not on this broadcast that pushed a message into it (a publisher outside the scope). */
  #outside = emptyMap<LinkId, PeerState>();

  constructor(host: SubsystemHost, accepts: (topic: string) => boolean = () => true) {
    this.#host = host;
    this.#cache = new MessageCache(host.options, host.messageCache);
    this.#accepts = accepts;
    this.#ihave = new IHaveBatch(host.options, this.#sendIHave, host.id);
    this.#repair = new Repair(
      {
        options: host.options,
        peers: this.#peers,
        has: (id) => this.#seen.has(id) || this.#pending.has(id),
        send: (linkId, bytes) => host.send(linkId, bytes),
        lost: (now) => this.#lost(now),
      },
      this.stats,
    );
  }

  /** Earliest time `tick` has work. */
  wakeAt(): number {
    return this.#wakeAt;
  }

  /** Links this node pushes payloads to (its edges of the eager tree). */
  eagerLinks(): LinkId[] {
    return [...this.#peers].filter(([, p]) => p.eager).map(([id]) => id);
  }

  linkUp(now: number, linkId: LinkId, _peer: Uint8Array | null): void {
    this.#peers.set(linkId, this.#newPeer(now, true));
    // A new neighbour missed what went just before it came (its subscription still on its way): the
    // last rounds' ids, charged to its answer budget (34 bytes an id) however often it comes back.
    const ids = this.#announceable([...this.#recent, ...this.#history.flat()]);
    if (ids.length && this.#host.answer(linkId, now, 34 * ids.length)) this.#announce([linkId], ids);
  }

  linkDown(now: number, linkId: LinkId): void {
    this.#peers.delete(linkId);
    this.#outside.delete(linkId);
    this.#repair.linkDown(linkId);
    this.#lost(now); // whatever was in flight on it is lost
  }

  /** Publishes a message from this node. Throws `RangeError` past a cap. */
  publish(now: number, origin: Uint8Array, topic: string, payload: Uint8Array, ttlMs: number): void {
    this.#seal(now, origin, topic, payload, ttlMs, (id, body, bodyBytes, signature) => {
      this.stats.published++;
      this.#accept(this.#host.now(), id, body, bodyBytes, signature, 0, null);
    });
  }

  /** Signs a message without taking it in here and hands its GOSSIP frame to `send` (publishing into a scope not joined). */
  publishOutside(now: number, origin: Uint8Array, topic: string, payload: Uint8Array, ttlMs: number, send: (gossip: Uint8Array) => void): void {
    this.#seal(now, origin, topic, payload, ttlMs, (_id, _body, bodyBytes, signature) => {
      send(encodeFrame({ type: FRAME.GOSSIP, body: bodyBytes, signature, hops: 0 }));
    });
  }

  /**
   * A message that a peer outside this broadcast's links pushed into it (a publisher that has not
   * joined the scope): checked like any copy, counted against a rate budget of its own per link.
   */
  receiveOutside(now: number, linkId: LinkId, f: GossipFrame): void {
    let peer = this.#outside.get(linkId);
    if (!peer) {
      if (this.#outside.size >= OUTSIDE_LINKS_MAX) this.#outside.delete(this.#outside.keys().next().value!);
      peer = this.#newPeer(now, false);
      if (isShared(this.#outside)) this.#outside = new Map();
      this.#outside.set(linkId, peer);
    }
    this.#onGossip(now, linkId, peer, f);
  }

  #newPeer = (now: number, eager: boolean): PeerState => ({ eager, firsts: 0, announced: emptySet(), grafting: 0, misses: 0, tokens: this.#host.options.broadcastBytesPerSecondMax, tokensAt: now, ihave: NO_IDS });

  #seal(
    now: number, origin: Uint8Array, topic: string, payload: Uint8Array, ttlMs: number,
    done: (id: string, body: MessageBody, bodyBytes: Uint8Array, signature: Uint8Array) => void,
  ): void {
    const o = this.#host.options;
    if (typeof topic !== "string" || new TextEncoder().encode(topic).length > o.topicBytesMax || topic.length === 0) {
      throw new RangeError(`topic must be 1..${o.topicBytesMax} UTF-8 bytes`);
    }
    if (!(payload instanceof Uint8Array)) throw new TypeError("payload must be a Uint8Array");
    if (payload.length > o.messagePayloadBytesMax) throw new RangeError(`payload of ${payload.length} bytes exceeds messagePayloadBytesMax ${o.messagePayloadBytesMax}`);
    if (!(ttlMs > 0 && ttlMs <= o.messageTtlMsMax)) throw new RangeError(`ttlMs must be in (0, ${o.messageTtlMsMax}]`);
    const issuedAtMs = Math.floor(this.#host.wallClock(now));
    const body: MessageBody = { origin, topic, issuedAtMs, expiresAtMs: issuedAtMs + Math.floor(ttlMs), nonce: this.#nonce++, payload };
    const bodyBytes = encodeMessageBody(body);
    const signed = this.#signed(bodyBytes);
    this.#host.sign(signed, (signature) => {
      if (signature) done(toHex(sha256(signed)), body, bodyBytes, signature);
    });
  }

  /** Handles a broadcast frame from a link. Throws a remote `GrapevineError` for a bad one. */
  receive(now: number, linkId: LinkId, frame: BroadcastFrame): void {
    const peer = this.#peers.get(linkId);
    if (!peer) return;
    switch (frame.type) {
      case FRAME.GOSSIP:
        return this.#onGossip(now, linkId, peer, frame);
      case FRAME.IHAVE:
        this.#wakeAt = Math.min(this.#wakeAt, this.#repair.announce(now, linkId, peer, frame.ids));
        return;
      case FRAME.GRAFT:
        return this.#onGraft(now, linkId, peer, frame.ids);
      case FRAME.PRUNE:
        peer.eager = false;
        this.#treeChanged(now); // announcements are the safety net of a tree that is changing here
        this.#rejoin(linkId);
        return;
    }
  }

  /**
   * Once per gossip round: re-announces what arrived lately (on lossy links a node whose copy and
   * announcements were all lost would never learn of a message), in proportion to the loss seen:
   * the last round's ids to one of the round's peers; while loss was seen lately (a request made
   * or received, a link gone), the last rounds' ids to all of them.
   */
  round(now: number, peers: readonly LinkId[]): void {
    this.#history.unshift(this.#recent);
    this.#recent = [];
    if (this.#history.length > ANNOUNCE_ROUNDS) this.#history.pop();
    const lossy = this.#lossy(now);
    const ids = this.#announceable(lossy ? this.#history.flat() : this.#history[0]);
    // The re-announcement rides in the batch's frame to the same link where it fits.
    const alone = ids.length ? (lossy ? peers : peers.slice(0, 1)).filter((l) => !this.#peers.has(l) || !this.#ihave.join(this.#peers.get(l)!, ids)) : [];
    if (this.#ihave.waiting) {
      this.#ihave.flush(this.#peers); // a settled batch goes with the round, so its timer is off
      this.#rearm(now);
    }
    this.#ihave.nextRound();
    this.#announce(alone, ids);
  }

  /** Of `ids`, those this node can still answer a GRAFT for (rounds may outlast a message's life). */
  #announceable = (ids: string[]): Uint8Array[] => ids.filter((id) => this.#cache.has(id)).slice(0, this.#host.options.idsPerFrameMax).map(fromHex);

  #announce(links: readonly LinkId[], ids: Uint8Array[]): void {
    if (ids.length) for (const linkId of links) if (this.#peers.has(linkId)) this.#sendIHave(linkId, ids);
  }

  #sendIHave = (linkId: LinkId, ids: Uint8Array[]): void => {
    this.stats.ihaveSent++;
    this.stats.ihaveIdsSent += ids.length;
    this.#send(linkId, { type: FRAME.IHAVE, ids });
  };

  /** Whether this node has seen loss lately (see `round`): a request made or received, a link gone. */
  #lossy = (now: number): boolean => now - this.#lossSeenAt <= LOSS_MEMORY_ROUNDS * this.#host.options.intervalMs;
  #lost = (now: number): void => {
    this.#lossSeenAt = Math.max(this.#lossSeenAt, now);
    this.#wakeAt = Math.min(this.#wakeAt, this.#ihave.hurry(now));
  };
  /** Whether loss was seen or the tree changed here (a PRUNE) lately: new messages go to every lazy link. */
  #unsettled = (now: number): boolean => this.#lossy(now) || now - this.#treeChangedAt <= TREE_CHANGE_ROUNDS * this.#host.options.intervalMs;
  #treeChanged = (now: number): void => {
    this.#treeChangedAt = Math.max(this.#treeChangedAt, now);
    this.#wakeAt = Math.min(this.#wakeAt, this.#ihave.hurry(now));
  };

  /** Time passes: flush announcements, chase missing messages, forget expired ones. */
  tick(now: number): void {
    if (now >= this.#ihave.dueAt) this.#ihave.flush(this.#peers);
    this.#repair.tick(now);
    this.#expire(now);
    this.#rearm(now);
  }

  #signed = (bodyBytes: Uint8Array) => signingBytes("message", this.#host.options.network, this.#host.protocolVersion, bodyBytes);

  #onGossip(now: number, linkId: LinkId, peer: PeerState, f: GossipFrame): void {
    const o = this.#host.options;
    this.stats.payloadsReceived++;
    if (!this.#spend(now, peer, f.body.length + 80)) {
      this.stats.rateDropped++;
      throw remoteError("STATE_CAP_EXCEEDED", `broadcast bytes from this link exceed ${o.broadcastBytesPerSecondMax}/s`);
    }
    const body = decodeMessageBody(f.body, o.topicBytesMax, o.messagePayloadBytesMax);
    if (!this.#accepts(body.topic)) throw remoteError("WIRE_SHAPE", "a message of a topic outside this scope");
    if (body.expiresAtMs - body.issuedAtMs > o.messageTtlMsMax) {
      throw remoteError("WIRE_SHAPE", `message valid for ${body.expiresAtMs - body.issuedAtMs} ms, above messageTtlMsMax`);
    }
    const signed = this.#signed(f.body);
    const id = toHex(sha256(signed));
    if (this.#seen.has(id)) {
      this.stats.duplicates++;
      // A duplicate is evidence of a cycle of eager links — unless the last prune here was made
      // for another message that crossed this one: then this copy left before that prune and
      // the cycle may be gone already. Pruning on it too (two publishers at once) would cut both
      // edges of one cycle and leave this node off the tree.
      const first = this.#cache.get(id);
      const crossed = first !== undefined && this.#lastPrune.id !== id && first.arrivedAt < this.#lastPrune.at;
      if (!crossed) this.#prune(linkId, now, id);
      return;
    }
    const pending = this.#pending.get(id);
    if (pending) {
      this.stats.duplicates++;
      pending.senders.add(linkId);
      if (pending.copies.length < 4) pending.copies.push({ linkId, signature: f.signature, hops: f.hops });
      return;
    }
    const wall = this.#host.wallClock(now);
    if (wall > body.expiresAtMs + o.clockSkewMs || body.issuedAtMs > wall + o.clockSkewMs) {
      this.stats.expiredDropped++; // outside its window on this node's clock: not forwarded, not blamed
      return;
    }
    if (this.#pending.size >= o.pendingVerifyMax) {
      this.stats.checksFullDropped++; // flow control, not misbehaviour: its id stays unseen, so a copy or a repair brings it
      return;
    }
    this.#repair.resolve(id, linkId);
    const p: Pending = { body, bodyBytes: f.body, copies: [{ linkId, signature: f.signature, hops: f.hops }], senders: new Set([linkId]) };
    if (isShared(this.#pending)) this.#pending = new Map();
    this.#pending.set(id, p);
    this.#check(id, p, signed);
  }

  /** Verifies the next copy's signature; then validates; then accepts. */
  #check(id: string, p: Pending, signed: Uint8Array): void {
    const copy = p.copies[0];
    this.#host.verify(p.body.origin, signed, copy.signature, (ok) => {
      if (!ok) {
        if (copy.linkId !== null) this.#host.penalize(copy.linkId, remoteError("CRYPTO_BAD_SIGNATURE", "broadcast signature does not verify"));
        p.copies.shift();
        if (p.copies.length) return this.#check(id, p, signed);
        this.#pending.delete(id); // forgotten, so an honest copy can still come
        return;
      }
      const delivery = this.#delivery(id, p.body, copy.hops + 1, false);
      this.#host.validate(delivery, (verdict) => {
        this.#pending.delete(id);
        if (verdict === "accept") {
          this.#accept(this.#host.now(), id, p.body, p.bodyBytes, copy.signature, copy.hops + 1, copy.linkId);
        } else {
          this.#remember(id, p.body.expiresAtMs);
          if (verdict === "reject" && copy.linkId !== null) {
            this.#host.penalize(copy.linkId, remoteError("STATE_BAD_PROOF", `message rejected by the ${JSON.stringify(p.body.topic)} validator`));
          }
        }
        // Every other link that sent a copy meanwhile is redundant on the tree.
        for (const l of p.senders) if (l !== copy.linkId) this.#prune(l, this.#host.now(), id);
      });
    });
  }

  #accept(now: number, id: string, body: MessageBody, bodyBytes: Uint8Array, signature: Uint8Array, hops: number, from: LinkId | null): void {
    if (!this.#remember(id, body.expiresAtMs)) return;
    this.#cache.keep(id, { body: bodyBytes, signature, expiresAtMs: body.expiresAtMs, hops, arrivedAt: now });
    this.stats.delivered++;
    this.#host.emit({ type: "message", message: this.#delivery(id, body, hops, from === null) });
    const idBytes = fromHex(id);
    if (this.#recent.length < this.#host.options.idsPerFrameMax) this.#recent.push(id);
    let encoded: Uint8Array | null = null;
    const lazy: [LinkId, PeerState][] = [];
    for (const [linkId, peer] of this.#peers) {
      if (linkId === from) {
        peer.eager = true;
        peer.firsts++;
        continue;
      }
      if (peer.eager) {
        encoded ??= encodeFrame({ type: FRAME.GOSSIP, body: bodyBytes, signature, hops: Math.min(hops, 255) });
        this.#host.send(linkId, encoded);
      } else lazy.push([linkId, peer]);
    }
    const unsettled = this.#unsettled(now);
    for (const [, peer] of this.#ihave.targets(lazy, unsettled)) if (this.#ihave.add(now, peer, idBytes, unsettled)) this.#ihave.flush(this.#peers);
    this.#rearm(now);
  }

  /** Lets go of every kept message (the scope is left): their bytes go back to the node's pool. */
  release(): void {
    this.#cache.release();
  }

  #delivery(id: string, body: MessageBody, hops: number, local: boolean): Delivery {
    return { id, origin: body.origin, topic: body.topic, payload: body.payload, issuedAtMs: body.issuedAtMs, expiresAtMs: body.expiresAtMs, hops, local };
  }

  /** Marks an id seen until its expiry; false when the seen set is full of unexpired ids. */
  #remember(id: string, expiresAtMs: number): boolean {
    const o = this.#host.options;
    if (this.#seen.size >= o.seenMax) this.#expire(this.#host.now(), true);
    if (this.#seen.size >= o.seenMax) {
      this.stats.seenFullDropped++;
      return false;
    }
    if (isShared(this.#seen)) this.#seen = new Map();
    this.#seen.set(id, expiresAtMs + o.clockSkewMs);
    return true;
  }

  #prune(linkId: LinkId | null, now: number, id = ""): void {
    if (linkId === null) return;
    const peer = this.#peers.get(linkId);
    if (!peer || !peer.eager) return;
    // Never the last eager link: a node with none hears of messages only by announcement.
    let eager = 0;
    for (const p of this.#peers.values()) if (p.eager) eager++;
    if (eager <= 1) return;
    this.#lastPrune = { at: now, id };
    peer.eager = false;
    this.#treeChanged(now); // a forming or flapping tree may miss nodes: announce on every lazy link meanwhile
    this.stats.prunesSent++;
    this.#send(linkId, { type: FRAME.PRUNE });
  }

  /**
   * Prunes decided at different nodes for messages that crossed can leave a node with no eager
   * link at all; it would then hear everything by announcement (one repair delay per message).
   * Such a node asks one lazy neighbour to make their link eager again: an empty GRAFT.
   */
  #rejoin(except: LinkId): void {
    let best: LinkId | null = null;
    for (const [id, p] of this.#peers) {
      if (p.eager) return;
      // The neighbour that brought the most first copies is the likeliest to be on the main tree
      // (two isolated neighbours choosing each other would form an island).
      if (id !== except && (best === null || p.firsts > this.#peers.get(best)!.firsts)) best = id;
    }
    const target = best ?? (this.#peers.has(except) ? except : null);
    if (target === null) return;
    this.#peers.get(target)!.eager = true;
    this.stats.rejoins++;
    this.#send(target, { type: FRAME.GRAFT, ids: [] });
  }

  #send(linkId: LinkId, frame: Frame): void {
    this.#host.send(linkId, encodeFrame(frame));
  }

  /**
   * A peer asks for messages. What it can make this node send is bounded three ways: an id twice
   * in one GRAFT is a malformed request (no honest node sends one); each message goes to one link
   * at most `graftRetriesMax` times (as often as an honest node asks one announcer); and every
   * answer is charged to the link's answer budget, past which the rest wait for the next request.
   */
  #onGraft(now: number, linkId: LinkId, peer: PeerState, ids: Uint8Array[]): void {
    if (ids.length) this.#lost(now); // the peer missed something
    const wanted = new Set<string>();
    for (const idBytes of ids) {
      const id = toHex(idBytes);
      if (wanted.has(id)) throw remoteError("WIRE_SHAPE", "graft: the same id twice");
      wanted.add(id);
    }
    peer.eager = true;
    const o = this.#host.options;
    for (const id of wanted) {
      const c = this.#cache.get(id);
      if (!c) continue;
      const times = c.answered?.get(linkId) ?? 0;
      if (times >= o.graftRetriesMax) {
        this.stats.graftsRefused++;
        continue;
      }
      const bytes = encodeFrame({ type: FRAME.GOSSIP, body: c.body, signature: c.signature, hops: Math.min(c.hops, 255) });
      if (!this.#host.answer(linkId, now, bytes.length)) {
        this.stats.graftsRefused++;
        return;
      }
      (c.answered ??= new Map()).set(linkId, times + 1);
      this.#host.send(linkId, bytes);
    }
  }

  #spend(now: number, peer: PeerState, bytes: number): boolean {
    const rate = this.#host.options.broadcastBytesPerSecondMax;
    peer.tokens = Math.min(rate, peer.tokens + ((now - peer.tokensAt) * rate) / 1000);
    peer.tokensAt = now;
    if (peer.tokens < bytes) return false;
    peer.tokens -= bytes;
    return true;
  }

  #expire(now: number, force = false): void {
    if (!force && now < this.#sweepAt) return;
    this.#sweepAt = now + 1000;
    for (const [id, until] of this.#seen) if (until < now) this.#seen.delete(id);
    this.#cache.expire(now);
  }

  #rearm(now: number): void {
    let t = Math.min(this.#ihave.dueAt, this.#repair.nextDeadline());
    // Expired ids are swept about once a second while any are held.
    if (this.#seen.size || this.#cache.size) t = Math.min(t, Math.max(this.#sweepAt, now + 1));
    this.#wakeAt = t;
  }
}
