/**
 * The sans-I/O gossip engine: one per node. It owns the replicated state and decides what to send;
 * it never touches a socket, a clock, a timer or an entropy source.
 *
 * Call order (the driver's loop):
 * 1. feed an input — `linkUp`, `linkDown`, `receive`, `tick`, `set`/`delete`, `leave`, or
 *    `completeJob` — always with the current time `now` in milliseconds;
 * 2. drain the outputs — `pollJob()` (crypto to run, results come back through `completeJob`),
 *    `pollTransmit()` (frames to send), `pollEvent()` (changes, penalties, disconnects);
 * 3. call `tick(now)` again no later than `nextWakeAt()`.
 * Given the same inputs in the same order (crypto results included), the engine produces the same
 * outputs: that is what makes the simulator reproducible.
 *
 * A gossip round runs every `intervalMs`: `fanout` peers are picked (uniformly, or biased towards
 * peers that lag on hot origins) and each gets, by `mode`, pushed rumors, a digest asking for deltas
 * (pull), or a digest that both asks and offers (push-pull). Digests of many origins become a
 * Merkle summary and the two sides descend the digest trie to the differences.
 *
 * @module
 */

import { bytesEqual, toHex } from "../bytes.ts";
import { signingBytes } from "../crypto/context.ts";
import { sha256 } from "../crypto/hash.ts";
import { GrapevineError, remoteError, type ErrorCode } from "../errors.ts";
import {
  decodeFrame,
  DELTA_FLAG,
  DIGEST_FLAG,
  encodeFrame,
  FRAME,
  type DeltaFrame,
  type DigestFrame,
  type EvidenceFrame,
  type DigestRowWire,
  type Frame,
  type FrameLimits,
  type OriginDeltaWire,
  type ScopeWire,
  type TreeFrame,
  type TreeNodeWire,
} from "../wire/frames.ts";
import { inScope, TRIE_DEPTH, TRIE_HASH_BYTES, type TriePosition } from "./digest-tree.ts";
import type { CryptoJob, EngineEvent, EngineStats, JobResult, LinkId, Transmit } from "./events.ts";
import { Broadcast, type BroadcastHost, type Verdict } from "./broadcast.ts";
import { Membership, type MembershipHost } from "./membership/membership.ts";
import { decodeMemberFrame } from "../wire/member-frames.ts";
import { frameOwner } from "../wire/registry.ts";
import { peekFrameType } from "../wire/link-frames.ts";
import { resolveOptions, type EngineOptions } from "./options.ts";
import { deriveSeed, randomBelow, sample, seededRng, weightedSample, type Rng } from "./random.ts";
import { Store, type CheckedDelta } from "./store.ts";
import { decodeRootBody, ROOT_FLAG_LEFT } from "../wire/records.ts";
import { TokenBucket } from "./budget.ts";
import type { SignedRoot } from "./origin.ts";

/** Version of the gossip protocol; part of every signed byte string. */
export const PROTOCOL_VERSION = 2;

const FLAG_ROLE_MASK = DIGEST_FLAG.WANT | DIGEST_FLAG.OFFER;
const HOT_MAX = 64;
/** An answer is not started with less of the link's answer budget left than this. */
const ANSWER_BYTES_MIN = 512;
/** What looking at one candidate origin for an answer is charged, in answer-budget bytes. */
const CANDIDATE_COST_BYTES = 16;

function* mapIterable<T, U>(it: Iterable<T>, f: (t: T) => U): Generator<U> {
  for (const t of it) yield f(t);
}

function* rotate<T>(a: T[], start: number): Generator<T> {
  for (let i = 0; i < a.length; i++) yield a[(start + i) % a.length];
}
/** Digests remembered per link for replay checks (an answer to an older one is not checked). */
const SENT_DIGESTS_PER_LINK = 2;

/** Penalty points per kind of provable misbehaviour. */
const PENALTY: Partial<Record<ErrorCode, number>> = {
  WIRE_FRAME_TOO_LARGE: 50,
  WIRE_MALFORMED: 25,
  WIRE_LIMIT: 25,
  WIRE_SHAPE: 25,
  CRYPTO_BAD_SIGNATURE: 50,
  STATE_BAD_PROOF: 50,
  STATE_CAP_EXCEEDED: 50,
  STATE_STALE: 10,
};

interface LinkState {
  id: LinkId;
  peer: Uint8Array | null;
  score: number;
  closed: boolean;
  /** The transport's send buffer is past its high-water mark: no gossip is started to it. */
  congested: boolean;
  pendingVerifies: number;
  /**
   * Our last digests to this peer (id → the rows we sent, shared with the trie, never copied), so
   * an answer at or below a row it answers is a provable replay.
   */
  sentDigests: Map<number, readonly DigestRowWire[]>;
  /** Hot origins this peer is presumed to lack. */
  behind: Set<string>;
  /** Bytes this node may still send in answer to the peer's requests (`answerBytesPerSecondMax`). */
  answers: TokenBucket;
  /** State bytes and new origins this node still takes in from the peer. */
  intakeBytes: TokenBucket;
  newOrigins: TokenBucket;
  /** Distrusted origins whose evidence this peer was sent (or sent us). */
  toldDistrust: Set<string>;
}

interface PendingVerify {
  job: CryptoJob & { kind: "verify" };
  body: Uint8Array;
  waiting: { linkId: LinkId; cd: CheckedDelta; rumor: boolean }[];
}

/** What an engine starts from. */
export interface EngineInit {
  /** This node's Ed25519 public key: its id and its origin. */
  publicKey: Uint8Array;
  /** Increases on every restart of the node (a boot timestamp serves). */
  generation: number;
  /** Seeded randomness for peer choice and round phase. */
  random: Rng;
  /** Time of creation, ms. */
  now: number;
  options?: Partial<EngineOptions>;
}

/** The frame decoding limits that follow from engine options. */
export function frameLimitsFor(o: EngineOptions): FrameLimits {
  return {
    frameBytesMax: o.frameBytesMax,
    leafBytesMax: o.valueBytesMax + o.keyBytesMax + 32,
    // Accept longer digests than this node sends: peers may switch to summaries at another size.
    digestRowsMax: Math.max(o.digestEntriesMax, 1024),
    deltaOriginsMax: o.deltaOriginsMax,
    entriesMax: o.keysPerOriginMax,
    treeNodesMax: o.treeNodesMax,
    messageBodyBytesMax: o.messagePayloadBytesMax + o.topicBytesMax + 96,
    idsMax: o.idsPerFrameMax,
  };
}

function swapRole(flags: number): number {
  return (flags & ~FLAG_ROLE_MASK) | ((flags & DIGEST_FLAG.WANT) << 1) | ((flags & DIGEST_FLAG.OFFER) >> 1);
}

/**
 * The protocol engine.
 *
 * @example
 * ```ts
 * const a = new Engine({ publicKey, generation: 1, random: seededRng(1), now: 0 });
 * a.linkUp(0, 1, peerKey);
 * a.set(0, "status", new TextEncoder().encode("online"));
 * for (let job; (job = a.pollJob()); ) a.completeJob(0, job.id, await runCrypto(job));
 * for (let t; (t = a.pollTransmit()); ) send(t.linkId, t.bytes);
 * ```
 */
export class Engine {
  readonly options: EngineOptions;
  readonly id: Uint8Array;
  readonly store: Store;
  readonly stats: EngineStats = {
    rounds: 0, framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, framesRejected: 0,
    verifies: 0, verifyCacheHits: 0, deltasDropped: 0, eventsDropped: 0, answersDeferred: 0,
  };
  /** The latest `now` of any input: the time callbacks of jobs run at. */
  #now: number;

  #rng: Rng;
  #links = new Map<LinkId, LinkState>();
  #linkList: LinkState[] | null = null;
  #transmits: Transmit[] = [];
  #transmitHead = 0;
  #jobs: CryptoJob[] = [];
  #jobHead = 0;
  #events: EngineEvent[] = [];
  #eventHead = 0;
  #nextJobId = 1;
  #nextDigestId = 1;
  #signJob: number | null = null;
  #pending = new Map<string, PendingVerify>();
  /** Evidence of equivocation being verified (both signatures), by the pair of signatures. */
  #pendingEvidence = new Map<string, Set<LinkId>>();
  #pendingByJob = new Map<number, string>();
  #pendingCount = 0;
  #hot = new Map<string, { from: number; roundsLeft: number }>();
  #nextRoundAt: number;
  #frameLimits: FrameLimits;
  #closed = false;
  /** Jobs whose results go to a callback (broadcast signing, checks and validation). */
  #jobCallbacks = new Map<number, (result: JobResult) => void>();
  /** What the subsystems call back into: sending, crypto jobs, penalties, answer budgets. */
  #host: BroadcastHost;
  /** Plumtree broadcast over the same links. */
  readonly broadcast: Broadcast;
  /** SWIM membership and failure detection over the same links. */
  readonly membership: Membership;

  constructor(init: EngineInit) {
    if (!(init.publicKey instanceof Uint8Array) || init.publicKey.length !== 32) throw new TypeError("publicKey must be 32 bytes");
    this.options = resolveOptions(init.options);
    this.id = init.publicKey;
    this.#now = init.now;
    this.#rng = init.random;
    this.store = new Store(init.publicKey, init.generation, this.options);
    this.#nextRoundAt = init.now + randomBelow(this.#rng, Math.max(1, Math.floor(this.options.intervalMs)));
    this.#frameLimits = frameLimitsFor(this.options);
    this.#host = this.#broadcastHost();
    this.broadcast = new Broadcast(this.#host);
    // Membership draws from its own stream, so probing never shifts the gossip rounds' choices.
    const memberRng = seededRng(deriveSeed(init.random.nextU32(), 4));
    this.membership = new Membership(this.#membershipHost(init.generation), memberRng, init.now);
  }

  #membershipHost(generation: number): MembershipHost {
    const b = this.#host;
    return {
      options: this.options,
      protocolVersion: PROTOCOL_VERSION,
      id: this.id,
      generation,
      now: () => this.#now,
      send: b.sendEncoded,
      sign: b.sign,
      verify: b.verify,
      emit: (e) => this.#emit(e),
      penalize: b.penalize,
      answer: b.answer,
      forget: (member, now) => this.store.forget(toHex(member), now),
    };
  }

  #broadcastHost(): BroadcastHost {
    type NewJob = CryptoJob extends infer J ? (J extends CryptoJob ? Omit<J, "id"> : never) : never;
    const job = (j: NewJob, done: (r: JobResult) => void) => {
      const id = this.#nextJobId++;
      this.#jobCallbacks.set(id, done);
      this.#jobs.push({ ...j, id } as CryptoJob);
    };
    return {
      options: this.options,
      protocolVersion: PROTOCOL_VERSION,
      send: (linkId, frame) => {
        const link = this.#links.get(linkId);
        if (link && !link.closed) this.#send(link, frame);
      },
      sendEncoded: (linkId, bytes) => this.#sendEncoded(linkId, bytes),
      verify: (publicKey, message, signature, done) => job({ kind: "verify", publicKey, message, signature }, (r) => done(r === true)),
      validate: (message, done) => job({ kind: "validate", message }, (r) => done(r === "reject" || r === "ignore" ? r : r === "accept" || r === true ? "accept" : "ignore")),
      sign: (message, done) => job({ kind: "sign", message }, (r) => done(r instanceof Uint8Array ? r : null)),
      deliver: (message) => this.#emit({ type: "message", message }),
      penalize: (linkId, err) => {
        const link = this.#links.get(linkId);
        if (link) this.#penalize(link, err);
      },
      answer: (linkId, now, bytes) => {
        const link = this.#links.get(linkId);
        return !!link && !link.closed && link.answers.take(now, bytes);
      },
    };
  }

  /**
   * Publishes a broadcast message on `topic`, valid for `ttlMs` (default `messageTtlMs`). It is
   * signed (a job), delivered locally as a `message` event with `local: true`, and spread.
   */
  publish(now: number, topic: string, payload: Uint8Array, ttlMs: number = this.options.messageTtlMs): void {
    this.#assertOpen();
    this.broadcast.observe(now);
    this.broadcast.publish(now, this.id, topic, payload, ttlMs);
  }

  // ------------------------------------------------------------------ inputs

  /** A link to a peer is ready (for links with a handshake: after it). */
  linkUp(now: number, linkId: LinkId, peer: Uint8Array | null = null): void {
    this.#assertOpen();
    const o = this.options;
    this.#links.set(linkId, {
      id: linkId, peer, score: 0, closed: false, congested: false, pendingVerifies: 0,
      sentDigests: new Map(), behind: new Set(this.#hot.keys()),
      answers: new TokenBucket(o.answerBytesPerSecondMax, o.answerBytesPerSecondMax, now),
      intakeBytes: new TokenBucket(o.stateBytesPerLinkPerSecondMax, o.stateBytesPerLinkPerSecondMax, now),
      newOrigins: new TokenBucket(o.newOriginsPerLinkPerSecondMax, Math.max(2 * o.newOriginsPerLinkPerSecondMax, o.deltaOriginsMax), now),
      toldDistrust: new Set(),
    });
    this.#linkList = null;
    this.broadcast.linkUp(linkId, now);
    this.membership.linkUp(now, linkId, peer);
    // A new link learns the state at once rather than at the next round.
    if (!this.#closedOrLeft()) this.#startExchange(now, this.#links.get(linkId)!, this.options.mode === "push" ? "pushpull" : this.options.mode);
  }

  /** A link is gone. */
  linkDown(now: number, linkId: LinkId): void {
    this.#links.delete(linkId);
    this.broadcast.linkDown(linkId);
    this.membership.linkDown(now, linkId);
    this.#linkList = null;
  }

  /**
   * The driver reports backpressure: while a link is congested no round picks it (answers to the
   * peer's own requests still go out, so it can catch up once drained).
   */
  setLinkCongested(_now: number, linkId: LinkId, congested: boolean): void {
    const link = this.#links.get(linkId);
    if (!link || link.congested === congested) return;
    link.congested = congested;
    this.#linkList = null;
  }

  /** Bytes arrived on a link. Bad frames penalise the link; nothing here throws for remote input. */
  receive(now: number, linkId: LinkId, bytes: Uint8Array): void {
    this.#now = Math.max(this.#now, now);
    const link = this.#links.get(linkId);
    if (!link || link.closed || this.#closed) return;
    this.stats.framesIn++;
    this.stats.bytesIn += bytes.length;
    if (bytes.length > this.options.frameBytesMax) {
      this.#penalize(link, remoteError("WIRE_FRAME_TOO_LARGE", `frame of ${bytes.length} bytes exceeds frameBytesMax ${this.options.frameBytesMax}`));
      return;
    }
    let frame;
    try {
      if (frameOwner(peekFrameType(bytes)) === "membership") return this.#toMembership(now, linkId, bytes);
      frame = decodeFrame(bytes, this.#frameLimits);
    } catch (e) {
      this.#penalize(link, e);
      return;
    }
    try {
      switch (frame.type) {
        case FRAME.DIGEST:
          return this.#onDigest(now, link, frame);
        case FRAME.DELTA:
          return this.#onDelta(now, link, frame);
        case FRAME.TREE:
          return this.#onTree(now, link, frame);
        case FRAME.EVIDENCE:
          return this.#onEvidence(now, link, frame);
        case FRAME.GOSSIP:
        case FRAME.IHAVE:
        case FRAME.GRAFT:
        case FRAME.PRUNE:
          return this.broadcast.onFrame(now, linkId, frame);
        default:
          return; // unknown frame types are ignored, so newer peers can add some
      }
    } catch (e) {
      this.#penalize(link, e);
    }
  }

  /**
   * A membership frame, decoded here by its owner's decoder. Type 15 (reserved) is ignored; with
   * membership off its frames are ignored undecoded, as they always were.
   */
  #toMembership(now: number, linkId: LinkId, bytes: Uint8Array): void {
    if (!this.membership.enabled) return;
    const f = decodeMemberFrame(bytes, { frameBytesMax: this.options.frameBytesMax, claimsMax: this.options.claimsPerFrameMax });
    if (f.type !== "unknown") this.membership.receive(now, linkId, f);
  }

  /** Time passes: runs the gossip rounds that are due. */
  tick(now: number): void {
    if (this.#closed) return;
    this.#now = Math.max(this.#now, now);
    if (now >= this.broadcast.wakeAt) this.broadcast.tick(now);
    if (now >= this.membership.wakeAt()) this.membership.tick(now);
    if (now < this.#nextRoundAt) return;
    const interval = this.options.intervalMs;
    // A node that slept through several rounds (a throttled tab) runs one and moves on.
    this.#nextRoundAt = now - this.#nextRoundAt >= interval ? now + interval : this.#nextRoundAt + interval;
    this.#round(now);
  }

  /** Writes one of this node's keys. */
  set(now: number, key: string, value: Uint8Array): void {
    if (!(value instanceof Uint8Array)) throw new TypeError("value must be a Uint8Array");
    this.#write(now, key, value);
  }

  /** Deletes one of this node's keys (a tombstone until `tombstoneTtlMs` has passed). */
  delete(now: number, key: string): void {
    this.#write(now, key, null);
  }

  /** Says farewell: own keys are deleted and the farewell root is gossiped; no writes afterwards. */
  leave(now: number): void {
    this.#assertOpen();
    for (const change of this.store.leave()) this.#emit({ type: "change", change });
    this.membership.leave(now);
    this.#maybeSign(); // once signed, the farewell goes to every link at once
  }

  /** Stops the engine: no more inputs are taken and no more frames produced. */
  close(): void {
    this.#closed = true;
  }

  /** A crypto job finished: a signature (sign), a verdict (verify), or an `Error`. */
  completeJob(now: number, jobId: number, result: JobResult): void {
    this.#now = Math.max(this.#now, now);
    const callback = this.#jobCallbacks.get(jobId);
    if (callback) {
      this.#jobCallbacks.delete(jobId);
      this.broadcast.observe(now);
      callback(result);
      return;
    }
    if (jobId === this.#signJob) {
      this.#signJob = null;
      if (result instanceof Uint8Array) {
        const prevHave = this.store.self.root ? this.store.self.have : 0;
        this.store.finishSign(result, now);
        const f = this.store.self.root!.fields;
        this.#markHot(this.store.selfId, null, prevHave);
        this.#emit({ type: "signed", generation: f.generation, version: f.version });
        if (f.flags & ROOT_FLAG_LEFT) for (const link of this.#liveLinks()) this.#startExchange(now, link, "pushpull");
      } else this.store.abortSign();
      this.#maybeSign();
      return;
    }
    const key = this.#pendingByJob.get(jobId);
    if (key === undefined) return;
    this.#pendingByJob.delete(jobId);
    const p = this.#pending.get(key)!;
    this.#pending.delete(key);
    this.#pendingCount -= p.waiting.length;
    this.stats.verifies++;
    const ok = result === true;
    for (const w of p.waiting) {
      const link = this.#links.get(w.linkId);
      if (link) link.pendingVerifies--;
      if (!ok) {
        if (link) this.#penalize(link, remoteError("CRYPTO_BAD_SIGNATURE", "root signature does not verify"));
        continue;
      }
      this.#apply(now, link, w.cd, w.rumor);
    }
  }

  // ------------------------------------------------------------------ outputs

  /** The next frame to send, or undefined. */
  pollTransmit(): Transmit | undefined {
    if (this.#transmitHead >= this.#transmits.length) {
      if (this.#transmits.length) this.#transmits = [], this.#transmitHead = 0;
      return undefined;
    }
    return this.#transmits[this.#transmitHead++];
  }

  /** The next crypto job, or undefined. */
  pollJob(): CryptoJob | undefined {
    if (this.#jobHead >= this.#jobs.length) {
      if (this.#jobs.length) this.#jobs = [], this.#jobHead = 0;
      return undefined;
    }
    return this.#jobs[this.#jobHead++];
  }

  /** The next event, or undefined. */
  pollEvent(): EngineEvent | undefined {
    if (this.#eventHead >= this.#events.length) {
      if (this.#events.length) this.#events = [], this.#eventHead = 0;
      return undefined;
    }
    return this.#events[this.#eventHead++];
  }

  /** When `tick` must next be called. */
  nextWakeAt(): number {
    return this.#closed ? Infinity : Math.min(this.#nextRoundAt, this.broadcast.wakeAt, this.membership.wakeAt());
  }

  /** Ids of links currently up. */
  links(): LinkId[] {
    return [...this.#links.keys()];
  }

  /**
   * Penalises a link for a fault the driver found in its own frames (link layer): one ledger per
   * link, one threshold. `err` must be a remote `GrapevineError`.
   */
  penalize(now: number, linkId: LinkId, err: GrapevineError): void {
    this.#now = Math.max(this.#now, now);
    const link = this.#links.get(linkId);
    if (link && !link.closed) this.#penalize(link, err);
  }

  /** Penalty score of a link (0 when unknown). */
  linkScore(linkId: LinkId): number {
    return this.#links.get(linkId)?.score ?? 0;
  }

  // ------------------------------------------------------------------ local writes

  #write(now: number, key: string, value: Uint8Array | null): void {
    this.#assertOpen();
    const change = this.store.write(now, key, value);
    if (change) this.#emit({ type: "change", change });
    this.#maybeSign();
  }

  #maybeSign(): void {
    if (this.#signJob !== null) return;
    const body = this.store.beginSign();
    if (!body) return;
    const id = this.#nextJobId++;
    this.#signJob = id;
    this.#jobs.push({ kind: "sign", id, message: signingBytes("root", this.options.network, PROTOCOL_VERSION, body) });
  }

  // ------------------------------------------------------------------ rounds

  #round(now: number): void {
    this.stats.rounds++;
    this.store.collectTombstones(now);
    this.store.collectOrigins(now);
    this.#maybeSign();
    const mode = this.options.mode;
    const peers = this.#selectPeers(this.options.fanout);
    this.broadcast.round(peers.map((l) => l.id));
    if (mode === "push") {
      for (const link of peers) this.#pushRumors(link);
      if (this.stats.rounds % this.options.antiEntropyEveryRounds === 0 && peers.length) {
        this.#startExchange(now, peers[0], "pushpull");
      }
    } else {
      for (const link of peers) this.#startExchange(now, link, mode);
    }
    this.#ageHot();
  }

  #liveLinks(): LinkState[] {
    if (!this.#linkList) this.#linkList = [...this.#links.values()].filter((l) => !l.closed && !l.congested);
    return this.#linkList;
  }

  #selectPeers(k: number): LinkState[] {
    const links = this.#liveLinks();
    if (this.options.peerSelection === "hot" && this.#hot.size > 0) {
      const bias = this.options.hotBias;
      return weightedSample(this.#rng, links, (l) => 1 + bias * l.behind.size, k);
    }
    return sample(this.#rng, links, k);
  }

  #startExchange(_now: number, link: LinkState, mode: "pull" | "pushpull"): void {
    const flags = mode === "pull" ? DIGEST_FLAG.WANT : DIGEST_FLAG.WANT | DIGEST_FLAG.OFFER;
    this.#sendDigest(link, flags, { depth: 0, index: 0 }, true);
  }

  /** Sends a digest of `scope`; `answerAt` set: in answer to the peer, charged to its answer budget. */
  #sendDigest(link: LinkState, flags: number, scope: TriePosition, allowSummary: boolean, answerAt?: number): void {
    const trie = this.store.trie;
    const count = trie.countAt(scope);
    if (allowSummary && count > this.options.digestEntriesMax && scope.depth < TRIE_DEPTH) {
      this.#answer(link, answerAt, { type: FRAME.DIGEST, flags, scope, rows: null, summary: { hash: trie.hashAt(scope), count }, id: this.#digestId(link, []) });
      return;
    }
    const rows = trie.entriesUnder(scope, this.options.digestEntriesMax);
    this.#answer(link, answerAt, { type: FRAME.DIGEST, flags, scope, rows, summary: null, id: this.#digestId(link, rows) });
  }

  /**
   * Sends a frame; in answer to the peer's request (`answerAt` set) only if the link's answer
   * budget covers it. Returns whether it went.
   */
  #answer(link: LinkState, answerAt: number | undefined, frame: Frame): boolean {
    const bytes = encodeFrame(frame);
    if (answerAt !== undefined && !link.answers.take(answerAt, bytes.length)) {
      this.stats.answersDeferred++;
      return false;
    }
    this.#sendEncoded(link.id, bytes);
    return true;
  }

  /** A fresh digest id, remembering the rows sent under it (the last few per link). */
  #digestId(link: LinkState, rows: readonly DigestRowWire[]): number {
    const id = this.#nextDigestId++;
    link.sentDigests.set(id, rows);
    if (link.sentDigests.size > SENT_DIGESTS_PER_LINK) link.sentDigests.delete(link.sentDigests.keys().next().value!);
    return id;
  }

  #rumorRounds(): number {
    if (this.options.rumorRounds > 0) return this.options.rumorRounds;
    // Push reaches everyone in about log_{f+1} n + ln(n)/f rounds (Pittel); n is estimated from what
    // this node can see, and never taken below 4.
    const n = Math.max(this.store.origins.size, this.#links.size, 2) + 1;
    const f = this.options.fanout;
    return Math.max(4, Math.ceil(Math.log(n) / Math.log(f + 1) + Math.log(n) / f) + 1);
  }

  /** An origin advanced: push it as a rumor (from version `from`) and presume every other peer lacks it. */
  #markHot(originId: string, fromLink: LinkState | null, from: number): void {
    const prev = this.#hot.get(originId);
    this.#hot.delete(originId);
    // A rumor still spreading keeps its older start, so peers that missed the earlier step catch up.
    this.#hot.set(originId, { from: prev ? Math.min(prev.from, from) : from, roundsLeft: this.#rumorRounds() });
    if (this.#hot.size > HOT_MAX) {
      const oldest = this.#hot.keys().next().value!;
      this.#hot.delete(oldest);
      for (const l of this.#links.values()) l.behind.delete(oldest);
    }
    for (const l of this.#links.values()) if (l !== fromLink) l.behind.add(originId);
  }

  #ageHot(): void {
    for (const [id, h] of this.#hot) {
      if (--h.roundsLeft > 0) continue;
      this.#hot.delete(id);
      for (const l of this.#links.values()) l.behind.delete(id);
    }
  }

  #pushRumors(link: LinkState): void {
    let budget = this.options.deltaBytesMax;
    const frameRoom = this.options.frameBytesMax - 1024;
    const origins: OriginDeltaWire[] = [];
    for (const [id, h] of this.#hot) {
      const pos = this.store.position(id);
      if (!pos || budget <= 0 || origins.length >= this.options.deltaOriginsMax) continue;
      const d = this.store.deltaFor(id, pos.generation, h.from, budget, frameRoom - (this.options.deltaBytesMax - budget));
      if (!d) continue;
      origins.push(d.delta);
      budget -= d.bytes;
      link.behind.delete(id);
    }
    if (origins.length) this.#send(link, { type: FRAME.DELTA, flags: DELTA_FLAG.RUMOR, origins, replyTo: 0 });
  }

  // ------------------------------------------------------------------ frame handlers

  #onDigest(now: number, link: LinkState, f: DigestFrame): void {
    const trie = this.store.trie;
    if (f.rows === null) {
      if (!f.summary) throw remoteError("WIRE_SHAPE", "digest has neither rows nor summary");
      if (bytesEqual(f.summary.hash, trie.hashAt(f.scope))) return;
      if (f.scope.depth >= TRIE_DEPTH) return this.#sendDigest(link, swapRole(f.flags), f.scope, false, now);
      const node = trie.nodeView(f.scope)!;
      this.#answer(link, now, { type: FRAME.TREE, flags: f.flags & FLAG_ROLE_MASK, nodes: [node] });
      return;
    }
    const peer = new Map<string, DigestRowWire>();
    for (const r of f.rows) {
      if (!inScope(r.origin, f.scope)) throw remoteError("WIRE_SHAPE", "digest row outside its scope");
      const id = toHex(r.origin);
      peer.set(id, r);
      this.#learn(link, id, r);
      if (this.store.distrusted(id)) this.#tellDistrust(link, id); // it still holds an origin proven to equivocate
      else if (r.tag) this.#compareRoot(now, link, id, r);
    }
    if (f.flags & DIGEST_FLAG.WANT) {
      // Every origin in scope is a candidate (unless EXACT), walked lazily from a random place so
      // that under a tight budget none starves, and a digest costs what its answer holds.
      const count = trie.countAt(f.scope);
      const candidates = f.flags & DIGEST_FLAG.EXACT
        ? rotate([...peer.keys()], peer.size ? randomBelow(this.#rng, peer.size) : 0)
        : mapIterable(trie.walk(f.scope, count ? randomBelow(this.#rng, count) : 0), (e) => toHex(e.origin));
      this.#sendDeltas(now, link, candidates, peer, f.id);
    }
    if (f.flags & DIGEST_FLAG.OFFER) {
      const want: DigestRowWire[] = [];
      for (const [id, r] of peer) {
        if (want.length >= this.options.digestEntriesMax) break;
        const mine = this.store.position(id);
        const behind = !mine || r.generation > mine.generation || (r.generation === mine.generation && r.have > mine.have);
        if (behind && id !== this.store.selfId) {
          want.push({ origin: r.origin, generation: mine?.generation ?? 0, have: mine?.have ?? 0 });
        }
      }
      if (want.length) {
        this.#answer(link, now, { type: FRAME.DIGEST, flags: DIGEST_FLAG.WANT | DIGEST_FLAG.EXACT, scope: f.scope, rows: want, summary: null, id: this.#digestId(link, want) });
      }
    }
  }

  /**
   * Equal versions, different roots: the origin signed two. The peer is sent this node's root (an
   * empty range at that version), which on its side is the proof; the evidence then spreads.
   */
  #compareRoot(now: number, link: LinkState, id: string, r: DigestRowWire): void {
    const mine = this.store.position(id);
    if (!mine || mine.generation !== r.generation || mine.have !== r.have || mine.version !== r.have) return;
    const tag = this.store.tagOf(id);
    if (!tag || bytesEqual(tag, r.tag!)) return;
    const root = this.store.rootOnly(id);
    if (root) this.#answer(link, now, { type: FRAME.DELTA, flags: 0, origins: [root], replyTo: 0 });
  }

  /** A peer's digest row tells whether it still lacks a hot origin. */
  #learn(link: LinkState, id: string, r: DigestRowWire): void {
    if (!link.behind.has(id)) return;
    const mine = this.store.position(id);
    if (mine && (r.generation > mine.generation || (r.generation === mine.generation && r.have >= mine.version))) link.behind.delete(id);
  }

  /**
   * Answers a digest with the deltas the peer lacks, within `deltaBytesMax` and what is left of the
   * link's answer budget; an answer the budget cannot cover (a delta carries at least one entry)
   * waits for a later request.
   */
  #sendDeltas(now: number, link: LinkState, candidates: Iterable<string>, peer: Map<string, DigestRowWire>, replyTo: number): void {
    const allowance = Math.min(this.options.deltaBytesMax, link.answers.room(now));
    if (allowance < ANSWER_BYTES_MIN) {
      this.stats.answersDeferred++;
      return;
    }
    const { origins, examined } = this.#deltas(candidates, allowance, (id) => peer.get(id) ?? { generation: 0, have: 0 }, link);
    // Looking at an origin costs too, answered or not: charged, so a stream of digests that
    // match nothing cannot keep this node walking its whole store.
    link.answers.spend(now, examined * CANDIDATE_COST_BYTES);
    if (origins.length) this.#answer(link, now, { type: FRAME.DELTA, flags: 0, origins, replyTo });
  }

  /**
   * Origin deltas for `candidates` (in the order given) within `allowance` bytes, looking at most
   * at `4 · deltaOriginsMax` of them. A start-over (the peer is behind the floor) is the full map
   * or nothing, so it needs what is left of the allowance and of the frame.
   */
  #deltas(candidates: Iterable<string>, allowance: number, rowOf: (id: string) => { generation: number; have: number }, link: LinkState): { origins: OriginDeltaWire[]; examined: number } {
    const frameRoom = Math.min(allowance, this.options.frameBytesMax - 1024);
    let used = 0;
    let examined = 0;
    const origins: OriginDeltaWire[] = [];
    for (const id of candidates) {
      if (used >= allowance || origins.length >= this.options.deltaOriginsMax || examined >= 4 * this.options.deltaOriginsMax) break;
      examined++;
      const r = rowOf(id);
      const d = this.store.deltaFor(id, r.generation, r.have, allowance - used, frameRoom - used);
      if (!d) continue;
      origins.push(d.delta);
      used += d.bytes;
      link.behind.delete(id);
    }
    return { origins, examined };
  }

  /**
   * Descent: only the receiver of a TREE frame sees both sides of each child, so it acts on every
   * child that differs — with a digest of its own origins there when they are few (the digest both
   * asks and offers, per the exchange's flags), else with its view of that child, one level down.
   */
  #onTree(now: number, link: LinkState, f: TreeFrame): void {
    const trie = this.store.trie;
    const flags = f.flags & FLAG_ROLE_MASK;
    const descend: TreeNodeWire[] = [];
    let digests = 0;
    for (const node of f.nodes) {
      const mine = trie.nodeView(node)!;
      for (let i = 0; i < 16; i++) {
        const a = node.childHashes.subarray(i * TRIE_HASH_BYTES, (i + 1) * TRIE_HASH_BYTES);
        const b = mine.childHashes.subarray(i * TRIE_HASH_BYTES, (i + 1) * TRIE_HASH_BYTES);
        if (bytesEqual(a, b)) continue;
        const child = { depth: node.depth + 1, index: node.index * 16 + i };
        if (mine.childCounts[i] <= this.options.treeLeafOriginsMax || child.depth >= TRIE_DEPTH) {
          if (digests++ < this.options.treeNodesMax) this.#sendDigest(link, flags, child, false, now);
        } else if (descend.length < this.options.treeNodesMax) {
          descend.push(trie.nodeView(child)!);
        }
      }
    }
    if (descend.length) this.#answer(link, now, { type: FRAME.TREE, flags: swapRole(flags), nodes: descend });
  }

  #onDelta(now: number, link: LinkState, f: DeltaFrame): void {
    const rumor = (f.flags & DELTA_FLAG.RUMOR) !== 0;
    const told = f.replyTo ? link.sentDigests.get(f.replyTo) : undefined;
    const checked: CheckedDelta[] = [];
    for (const od of f.origins) {
      // What one link may make this node take in is bounded per second, before any proof is
      // hashed or signature queued: the excess is dropped, unblamed (a fast honest peer cannot be
      // told from a flooding one), and anti-entropy brings it again.
      let bytes = od.rootBody.length;
      for (const e of od.entries) bytes += e.leaf.length + 32 * e.proof.length;
      if (!link.intakeBytes.take(now, bytes)) {
        this.stats.deltasDropped++;
        continue;
      }
      const cd = this.store.check(od);
      if (this.store.distrusted(cd.originId)) {
        this.#tellDistrust(link, cd.originId);
        continue;
      }
      if (!this.store.origins.has(cd.originId) && !link.newOrigins.take(now, 1)) {
        this.stats.deltasDropped++;
        continue;
      }
      const r = cd.root.fields;
      const said = told?.find((row) => bytesEqual(row.origin, r.origin));
      if (said && (r.generation < said.generation || (r.generation === said.generation && r.version <= said.have))) {
        throw remoteError("STATE_STALE", `answer (${r.generation}, ${r.version}) is not newer than the (${said.generation}, ${said.have}) its digest said`);
      }
      checked.push(cd);
    }
    for (const cd of checked) {
      if (this.store.holdsRoot(cd)) {
        this.stats.verifyCacheHits++;
        this.#apply(now, link, cd, rumor);
      } else this.#queueVerify(link, cd, rumor);
    }
  }

  #queueVerify(link: LinkState, cd: CheckedDelta, rumor: boolean): void {
    if (this.#pendingCount >= this.options.pendingVerifyMax || link.pendingVerifies >= this.options.pendingVerifyPerLinkMax) {
      this.stats.deltasDropped++; // flow control, not misbehaviour: anti-entropy fetches it again
      return;
    }
    const key = toHex(cd.root.signature) + toHex(sha256(cd.root.body));
    let p = this.#pending.get(key);
    if (!p) {
      const job = {
        kind: "verify" as const,
        id: this.#nextJobId++,
        publicKey: cd.root.fields.origin,
        message: signingBytes("root", this.options.network, PROTOCOL_VERSION, cd.root.body),
        signature: cd.root.signature,
      };
      p = { job, body: cd.root.body, waiting: [] };
      this.#pending.set(key, p);
      this.#pendingByJob.set(job.id, key);
      this.#jobs.push(job);
    }
    p.waiting.push({ linkId: link.id, cd, rumor });
    link.pendingVerifies++;
    this.#pendingCount++;
  }

  #apply(now: number, link: LinkState | undefined, cd: CheckedDelta, _rumor: boolean): void {
    const before = this.store.position(cd.originId);
    const res = this.store.apply(cd, now);
    for (const change of res.changes) this.#emit({ type: "change", change });
    if (res.penalty && link) this.#penalize(link, res.penalty);
    if (res.status === "equivocation" && res.evidence) {
      this.#distrust(now, res.evidence, null);
    } else if (res.status === "inconsistent") {
      this.#emit({ type: "inconsistent", origin: cd.root.fields.origin });
    }
    const after = this.store.position(cd.originId);
    if (res.status === "applied" && after && (!before || after.have > before.have || after.generation !== before.generation)) {
      this.#markHot(cd.originId, link ?? null, before && before.generation === after.generation ? before.have : 0);
    }
  }

  // ------------------------------------------------------------------ equivocation

  /**
   * Evidence from a peer: two roots of one origin version. Shape first (a pair that proves nothing
   * is the sender's fault), then both signatures; an origin already distrusted costs nothing.
   */
  #onEvidence(now: number, link: LinkState, f: EvidenceFrame): void {
    const [a, b] = f.roots.map((r) => decodeRootBody(r.body));
    if (!bytesEqual(a.origin, b.origin) || a.generation !== b.generation || a.version !== b.version || bytesEqual(f.roots[0].body, f.roots[1].body)) {
      throw remoteError("WIRE_SHAPE", "evidence: not two different roots of one origin's version");
    }
    const id = toHex(a.origin);
    link.toldDistrust.add(id);
    if (id === this.store.selfId || this.store.distrusted(id)) return;
    const key = toHex(f.roots[0].signature) + toHex(f.roots[1].signature);
    const waiting = this.#pendingEvidence.get(key);
    if (waiting) return void waiting.add(link.id);
    // Checking it costs two signature checks: it is charged like a new origin.
    if (this.#pendingEvidence.size >= this.options.pendingVerifyMax || !link.newOrigins.take(now, 1)) {
      this.stats.deltasDropped++;
      return;
    }
    const links = new Set([link.id]);
    this.#pendingEvidence.set(key, links);
    const roots = f.roots.map((r, i): SignedRoot => ({ body: r.body, signature: r.signature, fields: i === 0 ? a : b })) as [SignedRoot, SignedRoot];
    const host = this.#host;
    const check = (i: number) => {
      const r = roots[i];
      host.verify(r.fields.origin, signingBytes("root", this.options.network, PROTOCOL_VERSION, r.body), r.signature, (ok) => {
        if (!ok) {
          this.#pendingEvidence.delete(key);
          for (const l of links) host.penalize(l, remoteError("CRYPTO_BAD_SIGNATURE", "evidence: a root signature does not verify"));
          return;
        }
        if (i === 0) return check(1);
        this.#pendingEvidence.delete(key);
        this.#distrust(this.#now, roots, links);
      });
    };
    check(0);
  }

  /**
   * An origin is proven to equivocate: its state goes, the application hears of it, and every
   * link that has not told this node is sent the evidence, so every honest node reaches the same
   * verdict (a peer that offers the origin later is sent it too).
   */
  #distrust(now: number, evidence: [SignedRoot, SignedRoot], from: Set<LinkId> | null): void {
    const changes = this.store.distrust(evidence, now);
    if (changes === null) return;
    for (const change of changes) this.#emit({ type: "change", change });
    const f = evidence[0].fields;
    this.#emit({ type: "equivocation", origin: f.origin, evidence });
    const id = toHex(f.origin);
    for (const link of this.#links.values()) if (!from?.has(link.id)) this.#tellDistrust(link, id);
  }

  /** Sends a peer the evidence against `originId`, once per link. */
  #tellDistrust(link: LinkState, originId: string): void {
    const ev = this.store.origins.get(originId)?.evidence;
    if (!ev || link.toldDistrust.has(originId) || link.closed) return;
    link.toldDistrust.add(originId);
    this.#send(link, { type: FRAME.EVIDENCE, roots: [{ body: ev[0].body, signature: ev[0].signature }, { body: ev[1].body, signature: ev[1].signature }] });
  }

  // ------------------------------------------------------------------ plumbing

  /** Queues an encoded frame for a live link; frames for a closed or unknown link are dropped. */
  #sendEncoded(linkId: LinkId, bytes: Uint8Array): void {
    const link = this.#links.get(linkId);
    if (!link || link.closed) return;
    this.stats.framesOut++;
    this.stats.bytesOut += bytes.length;
    this.#transmits.push({ linkId, bytes });
  }

  #send(link: LinkState, frame: Frame): void {
    this.#sendEncoded(link.id, encodeFrame(frame));
  }

  #emit(e: EngineEvent): void {
    if (this.#events.length - this.#eventHead >= this.options.eventsMax) {
      this.#eventHead++;
      this.stats.eventsDropped++;
    }
    this.#events.push(e);
  }

  #penalize(link: LinkState, err: unknown): void {
    this.stats.framesRejected++;
    if (!(err instanceof GrapevineError)) {
      // A bug of ours must not be blamed on the peer; surface it.
      throw err;
    }
    const points = PENALTY[err.code] ?? 10;
    link.score += points;
    this.#emit({ type: "penalty", linkId: link.id, peer: link.peer, code: err.code, message: err.message, score: link.score });
    if (link.score >= this.options.penaltyThreshold && !link.closed) {
      link.closed = true;
      this.#linkList = null;
      this.#emit({ type: "disconnect", linkId: link.id, reason: `penalty score ${link.score}: ${err.code}` });
    }
  }

  #closedOrLeft(): boolean {
    return this.#closed;
  }

  #assertOpen(): void {
    if (this.#closed) throw new GrapevineError("ENGINE_CLOSED", "local", "the engine is closed");
  }
}

export type { ScopeWire };
