/**
 * Every tunable and every limit of the engine, in one place, with its default and its unit in its
 * name. Limits are enforced before work is done: a frame by its length before it is decoded, a
 * delta's counts before anything is allocated for it.
 *
 * Caps on an origin's state (`keysPerOriginMax`, `valueBytesMax`, `originBytesMax`) are part of a
 * network's contract: every node of one network should use the same values, because a node
 * penalises a peer that forwards state beyond them.
 *
 * @module
 */

import { defaultsOf, resolveWith, type OptionSpecs } from "./schema.ts";

/** How a gossip round exchanges state with each chosen peer. */
export type GossipMode = "push" | "pull" | "pushpull";

/** How the `fanout` peers of a round are chosen. */
export type PeerSelection = "uniform" | "hot";

/** Engine options. All fields are optional; see {@link DEFAULT_OPTIONS} for the defaults. */
export interface EngineOptions {
  /** Network id: part of every signed byte string, so meshes cannot replay each other's data. */
  network: string;
  /** Milliseconds between gossip rounds. */
  intervalMs: number;
  /** Peers contacted per round. */
  fanout: number;
  /** Exchange pattern of a round. */
  mode: GossipMode;
  /** `"hot"` prefers peers known to lag on recently changed origins; `"uniform"` is plain random. */
  peerSelection: PeerSelection;
  /** Extra weight per hot origin a peer lags on, with `peerSelection: "hot"`. */
  hotBias: number;
  /** Rounds a changed origin is pushed as a rumor in `push` mode; 0 picks it from fanout and size. */
  rumorRounds: number;
  /** In `push` mode, every this many rounds one push-pull exchange repairs what rumors missed. */
  antiEntropyEveryRounds: number;
  /**
   * Once nothing has changed for a few rounds (no new state, no link change, every digest matched),
   * a node's anti-entropy exchange goes to one peer within this many rounds instead of `fanout`
   * peers every round, then about twice and four times as many rounds apart while nothing changes;
   * any change brings back full rounds. 1 keeps full rounds always.
   */
  idleRoundEvery: number;

  /** Bytes of one frame, sent or received. Checked before decoding. */
  frameBytesMax: number;
  /** Bytes of deltas sent in answer to one digest (scuttlebutt flow control). */
  deltaBytesMax: number;
  /** Origin deltas in one delta frame. */
  deltaOriginsMax: number;
  /** Entries in one digest before it switches to a Merkle summary of the digest. */
  digestEntriesMax: number;
  /** Origins a round's digest lists as rows before it opens with a summary instead (the trie's hash and count). */
  digestRowsBeforeSummaryMax: number;
  /** Trie nodes in one tree-descent frame. */
  treeNodesMax: number;
  /** A subtree with at most this many origins is compared entry by entry. */
  treeLeafOriginsMax: number;

  /** Keys one origin may hold (tombstones included). */
  keysPerOriginMax: number;
  /** UTF-8 bytes of a key. */
  keyBytesMax: number;
  /** Bytes of one value. */
  valueBytesMax: number;
  /** Encoded bytes of all entries of one origin. */
  originBytesMax: number;
  /** Origins one store holds. */
  originsMax: number;
  /**
   * Bytes of other origins one node holds in all its stores (the mesh-wide one, each scope's): their
   * maps' leaf bytes and 1 KiB an origin for its record (keys are free: tiny maps must count too). A
   * new origin is refused when it does not fit (flow control, not a penalty: the total is the sum of
   * many peers' honest caps).
   */
  storeBytesMax: number;

  /** An origin drops its own tombstones this long after the delete (and tells peers to as well). */
  tombstoneTtlMs: number;
  /** A departed (left) origin is forgotten this long after its farewell. */
  leftOriginTtlMs: number;
  /**
   * A map whose writer said it renews (root flag `RENEWS`: every scope map, and the mesh-wide map
   * of a node running no membership) is renewed (a root one version on, same entries) every quarter
   * of this, and forgotten by every node no link of which leads to its writer once it has been
   * silent this long (a tab that vanished without a farewell); so is a silent map without the
   * flag where nothing vouches for it (in a scope; mesh-wide, a non-member's at a node running
   * membership). 0: neither. Every node of a network should use the same value.
   */
  strangerOriginTtlMs: number;
  /**
   * Sign each map's farewell ahead, once its state is quiet (one signature per quiet spell), so
   * that `leave` sends it at once, with nothing asynchronous left: a page that closes its node in
   * `pagehide` runs nothing to its end, and without it peers see it leave only by a timeout.
   */
  presignFarewell: boolean;

  /** Signature checks waiting for the crypto backend, all links together. */
  pendingVerifyMax: number;
  /** Signature checks waiting for one link. */
  pendingVerifyPerLinkMax: number;
  /** Events kept until pulled; older ones are dropped (and counted) beyond this. */
  eventsMax: number;
  /** Penalty points after which a link is closed. */
  penaltyThreshold: number;
  /**
   * Bytes per second this node sends to one link in answer to that peer's own requests (deltas for
   * its digests, trie nodes, messages for its GRAFTs, its view for a SYNC, samples for a SHUFFLE,
   * pings for its PING_REQs). Past it answers wait: a request of a few bytes cannot buy unbounded
   * work. At least `deltaBytesMax`.
   */
  answerBytesPerSecondMax: number;
  /** Bytes of state (origin deltas) taken in from one link per second; more are dropped unapplied. At least `deltaBytesMax`. */
  stateBytesPerLinkPerSecondMax: number;
  /** Origins not held yet taken in from one link per second (new keys cost a peer nothing). */
  newOriginsPerLinkPerSecondMax: number;
  /** An origin proven to have signed two roots for one version is distrusted this long. */
  distrustedOriginTtlMs: number;

  /** UTF-8 bytes of a broadcast topic. */
  topicBytesMax: number;
  /** Bytes of a broadcast payload. */
  messagePayloadBytesMax: number;
  /** Validity window given to a published message unless the caller picks one. */
  messageTtlMs: number;
  /** Longest validity window accepted; the seen cache must outlive it. */
  messageTtlMsMax: number;
  /** Clock difference tolerated between a message's origin and this node. */
  clockSkewMs: number;
  /** Message ids remembered as seen (each until its message expires). */
  seenMax: number;
  /** Messages kept to answer GRAFT requests. */
  messageCacheMax: number;
  /**
   * Bytes of the messages kept to answer repairs, all topics and rooms of the node together: a
   * message past it evicts the oldest of its own topic's or room's, or is not kept (it is still
   * delivered and forwarded).
   */
  messageCacheBytesMax: number;
  /**
   * Delay that batches lazy announcements (IHAVE) to the same link while this node has seen loss
   * or a change of its tree lately (announcements are then the repair's signal); otherwise they
   * wait for the node's next gossip round (at most 20 times this delay), and a sign of loss brings
   * them forward to this delay.
   */
  ihaveIntervalMs: number;
  /**
   * Lazy links (off the eager tree) each message is announced to, at most, picked per message,
   * while no loss has been seen lately (then it goes to all of them); the rest hear of it from
   * their other neighbours.
   */
  lazyPushMax: number;
  /** Ids in one IHAVE or GRAFT frame. */
  idsPerFrameMax: number;
  /** An announced message not received by then is requested (GRAFT) from an announcer. */
  graftTimeoutMs: number;
  /** Requests of one missing message to one announcer (each announcer is asked in turn). */
  graftRetriesMax: number;
  /** Announced but not yet received ids tracked per link; more are ignored (Bitcoin tracks 5,000). */
  announcementsPerLinkMax: number;
  /** Missing messages tracked at once. */
  missingMax: number;
  /** GRAFT requests in flight to one link. */
  graftsInFlightPerLinkMax: number;
  /** Broadcast bytes accepted per second from one link (token bucket, one second deep). */
  broadcastBytesPerSecondMax: number;

  /** Run SWIM membership and failure detection over the links (PING/ACK, claims, views). */
  membership: boolean;
  /** Lifeguard: local health stretches this node's probe timing; suspicions shrink with confirmations; NACKs. */
  lifeguard: boolean;
  /** One member (a linked peer) is probed per protocol period of this length. */
  probeIntervalMs: number;
  /** A direct probe not answered within this long is retried through `indirectProbes` peers. */
  probeTimeoutMs: number;
  /** Linked peers asked to probe a member that did not answer (ping-req), the SWIM paper's k. */
  indirectProbes: number;
  /** Suspicion lasts at least suspicionMult × log10(members) protocol periods. */
  suspicionMult: number;
  /** With Lifeguard, a fresh suspicion starts this many times longer and shrinks with confirmations. */
  suspicionMaxTimeoutMult: number;
  /**
   * With Lifeguard, a suspicion of a member lasts this many times the lag its alive claim states
   * longer (how late its own timers recently ran, at most 30 s); 0 ignores stated lags.
   */
  suspicionLagMult: number;
  /**
   * Each claim is sent in full at most retransmitMult × ceil(log10(members + 1)) times (and at most
   * `memberGossipFanout` times) by every node that learns it; its other peers are told its id.
   */
  retransmitMult: number;
  /** Lifeguard's local health ceiling: probe timing stretches up to this factor. */
  awarenessMax: number;
  /** Claims waiting to be sent are gossiped on their own this often. */
  memberGossipIntervalMs: number;
  /** Linked peers each claims gossip goes to. */
  memberGossipFanout: number;
  /** Claims piggybacked on one PING, ACK or PING_REQ. */
  claimsPerMessageMax: number;
  /** Claims in one CLAIMS frame sent on its own or one SYNC chunk; also the decoding bound. */
  claimsPerFrameMax: number;
  /** Claims waiting to be (re)transmitted. */
  claimQueueMax: number;
  /** Members one node keeps (alive or not); a full table drops passive members for new ones. */
  membersMax: number;
  /** Signature checks of claims waiting for the crypto backend. */
  claimVerifyPendingMax: number;
  /** A dead or departed member is forgotten this long after it died or left. */
  deadMemberTtlMs: number;
  /**
   * A full push-pull of views with one linked peer this often; 0 (the default): only when a link
   * comes up. Its cost grows with the mesh (the whole view each time); stale views are otherwise
   * healed by answering an older claim with the newer one, and by shuffles.
   */
  pushPullIntervalMs: number;
  /** Links (active view) the node wants; 0: ceil(log10(members + 1)) + 1, at least 3. */
  activeViewSize: number;
  /** Above this many links the node asks the driver to drop one; 0: never. */
  activeViewMax: number;
  /** A random sample of this many alive members is swapped with one peer every `shuffleIntervalMs`. */
  shuffleLength: number;
  /** How often views are shuffled with a random linked peer (2×, then 4× as far apart while the view does not change). */
  shuffleIntervalMs: number;
  /** Seeds are re-tried this often while unlinked (see `Membership.setSeeds`). */
  seedRetryMs: number;
  /** Where this node accepts links (`ws://` or `wss://` URL), advertised in its alive claim; "" for nowhere. */
  addr: string;

  /** Scopes (rooms, topics) this node may join at once. */
  scopesMax: number;
  /** Scopes one peer may want at once (and ids in one SUBSCRIBE frame). */
  scopesPerLinkMax: number;
  /** Scope subscriptions or unsubscriptions one peer may announce per second (a burst of twice as many). */
  subscriptionChangesPerSecondMax: number;
}

/** Every engine option's spec: default, bounds, unit (its line of documentation is in options-doc.ts). */
export const ENGINE_OPTION_SPECS: OptionSpecs<EngineOptions> = Object.freeze({
  network: { kind: "string", default: "grapevine", bytesMin: 1, bytesMax: 255 },
  intervalMs: { kind: "number", default: 1000, min: 1, unit: "ms" },
  fanout: { kind: "number", default: 3, min: 1, integer: true, unit: "count" },
  mode: { kind: "choice", default: "pushpull", choices: ["push", "pull", "pushpull"] },
  peerSelection: { kind: "choice", default: "uniform", choices: ["uniform", "hot"] },
  hotBias: { kind: "number", default: 4, min: 0, unit: "factor" },
  rumorRounds: { kind: "number", default: 0, min: 0, integer: true, unit: "count" },
  antiEntropyEveryRounds: { kind: "number", default: 10, min: 1, integer: true, unit: "count" },
  idleRoundEvery: { kind: "number", default: 4, min: 1, integer: true, unit: "count" },

  frameBytesMax: { kind: "number", default: 1_048_576, min: 4096, integer: true, unit: "bytes" },
  deltaBytesMax: { kind: "number", default: 262_144, min: 1, integer: true, unit: "bytes" },
  deltaOriginsMax: { kind: "number", default: 512, min: 1, integer: true, unit: "count" },
  digestEntriesMax: { kind: "number", default: 64, min: 1, integer: true, unit: "count" },
  digestRowsBeforeSummaryMax: { kind: "number", default: 2, min: 0, integer: true, unit: "count" },
  treeNodesMax: { kind: "number", default: 64, min: 1, integer: true, unit: "count" },
  treeLeafOriginsMax: { kind: "number", default: 32, min: 1, integer: true, unit: "count" },

  keysPerOriginMax: { kind: "number", default: 1024, min: 1, integer: true, unit: "count" },
  keyBytesMax: { kind: "number", default: 256, min: 1, integer: true, unit: "bytes" },
  valueBytesMax: { kind: "number", default: 16_384, min: 1, integer: true, unit: "bytes" },
  originBytesMax: { kind: "number", default: 131_072, min: 1, integer: true, unit: "bytes" },
  originsMax: { kind: "number", default: 100_000, min: 1, integer: true, unit: "count" },
  storeBytesMax: { kind: "number", default: 134_217_728, min: 1, integer: true, unit: "bytes" },

  tombstoneTtlMs: { kind: "number", default: 600_000, min: 1, unit: "ms" },
  leftOriginTtlMs: { kind: "number", default: 600_000, min: 1, unit: "ms" },
  strangerOriginTtlMs: { kind: "number", default: 600_000, min: 0, unit: "ms" },
  presignFarewell: { kind: "boolean", default: true },

  pendingVerifyMax: { kind: "number", default: 4096, min: 1, integer: true, unit: "count" },
  pendingVerifyPerLinkMax: { kind: "number", default: 512, min: 1, integer: true, unit: "count" },
  eventsMax: { kind: "number", default: 65_536, min: 1, integer: true, unit: "count" },
  penaltyThreshold: { kind: "number", default: 100, min: 1, unit: "count" },
  answerBytesPerSecondMax: { kind: "number", default: 1_048_576, min: 1, unit: "bytes/s" },
  stateBytesPerLinkPerSecondMax: { kind: "number", default: 2_097_152, min: 1, unit: "bytes/s" },
  newOriginsPerLinkPerSecondMax: { kind: "number", default: 512, min: 1, unit: "count/s" },
  distrustedOriginTtlMs: { kind: "number", default: 3_600_000, min: 1, unit: "ms" },

  topicBytesMax: { kind: "number", default: 128, min: 1, integer: true, unit: "bytes" },
  messagePayloadBytesMax: { kind: "number", default: 65_536, min: 1, integer: true, unit: "bytes" },
  messageTtlMs: { kind: "number", default: 60_000, min: 1, unit: "ms" },
  messageTtlMsMax: { kind: "number", default: 300_000, min: 1, unit: "ms" },
  clockSkewMs: { kind: "number", default: 30_000, min: 0, unit: "ms" },
  seenMax: { kind: "number", default: 200_000, min: 1, integer: true, unit: "count" },
  messageCacheMax: { kind: "number", default: 10_000, min: 1, integer: true, unit: "count" },
  messageCacheBytesMax: { kind: "number", default: 32 * 1024 * 1024, min: 1024, integer: true, unit: "bytes" },
  ihaveIntervalMs: { kind: "number", default: 50, min: 1, unit: "ms" },
  lazyPushMax: { kind: "number", default: 5, min: 1, integer: true, unit: "count" },
  idsPerFrameMax: { kind: "number", default: 1024, min: 1, integer: true, unit: "count" },
  graftTimeoutMs: { kind: "number", default: 400, min: 1, unit: "ms" },
  graftRetriesMax: { kind: "number", default: 3, min: 1, integer: true, unit: "count" },
  announcementsPerLinkMax: { kind: "number", default: 5000, min: 1, integer: true, unit: "count" },
  missingMax: { kind: "number", default: 4096, min: 1, integer: true, unit: "count" },
  graftsInFlightPerLinkMax: { kind: "number", default: 256, min: 1, integer: true, unit: "count" },
  broadcastBytesPerSecondMax: { kind: "number", default: 4_194_304, min: 1, unit: "bytes/s" },

  membership: { kind: "boolean", default: true },
  lifeguard: { kind: "boolean", default: true },
  probeIntervalMs: { kind: "number", default: 1000, min: 1, unit: "ms" },
  probeTimeoutMs: { kind: "number", default: 500, min: 1, unit: "ms" },
  indirectProbes: { kind: "number", default: 3, min: 0, integer: true, unit: "count" },
  suspicionMult: { kind: "number", default: 4, min: 1, unit: "factor" },
  suspicionMaxTimeoutMult: { kind: "number", default: 6, min: 1, unit: "factor" },
  suspicionLagMult: { kind: "number", default: 2, min: 0, unit: "factor" },
  retransmitMult: { kind: "number", default: 4, min: 1, unit: "factor" },
  awarenessMax: { kind: "number", default: 8, min: 1, integer: true, unit: "count" },
  memberGossipIntervalMs: { kind: "number", default: 200, min: 1, unit: "ms" },
  memberGossipFanout: { kind: "number", default: 3, min: 1, integer: true, unit: "count" },
  claimsPerMessageMax: { kind: "number", default: 16, min: 1, integer: true, unit: "count" },
  claimsPerFrameMax: { kind: "number", default: 256, min: 1, integer: true, unit: "count" },
  claimQueueMax: { kind: "number", default: 4096, min: 1, integer: true, unit: "count" },
  membersMax: { kind: "number", default: 16_384, min: 1, integer: true, unit: "count" },
  claimVerifyPendingMax: { kind: "number", default: 4096, min: 1, integer: true, unit: "count" },
  deadMemberTtlMs: { kind: "number", default: 300_000, min: 1, unit: "ms" },
  pushPullIntervalMs: { kind: "number", default: 0, min: 0, unit: "ms" },
  activeViewSize: { kind: "number", default: 0, min: 0, integer: true, unit: "count" },
  activeViewMax: { kind: "number", default: 0, min: 0, integer: true, unit: "count" },
  shuffleLength: { kind: "number", default: 16, min: 1, integer: true, unit: "count" },
  shuffleIntervalMs: { kind: "number", default: 10_000, min: 1, unit: "ms" },
  seedRetryMs: { kind: "number", default: 10_000, min: 1, unit: "ms" },
  addr: { kind: "string", default: "", bytesMax: 256 },

  scopesMax: { kind: "number", default: 1024, min: 1, integer: true, unit: "count" },
  scopesPerLinkMax: { kind: "number", default: 256, min: 1, integer: true, unit: "count" },
  subscriptionChangesPerSecondMax: { kind: "number", default: 64, min: 1, unit: "count/s" },
});

/** The defaults. Sizes in bytes, times in milliseconds. */
export const DEFAULT_OPTIONS: Readonly<EngineOptions> = Object.freeze(defaultsOf(ENGINE_OPTION_SPECS));

/**
 * Options resolved from frozen objects, by identity: engines built from one frozen object (every
 * node of a simulation) share one frozen copy instead of holding about 70 fields each.
 */
const resolvedFrozen = new WeakMap<object, EngineOptions>();

/**
 * Merges user options over the defaults and checks them against their specs and one another;
 * throws `RangeError`/`TypeError`. Given a frozen object, returns a frozen result, the same each time.
 */
export function resolveOptions(partial: Partial<EngineOptions> = {}): EngineOptions {
  const frozen = Object.isFrozen(partial);
  if (frozen) {
    const hit = resolvedFrozen.get(partial);
    if (hit) return hit;
  }
  const o = resolveWith(ENGINE_OPTION_SPECS, partial);
  checkTogether(o);
  if (frozen) resolvedFrozen.set(partial, Object.freeze(o));
  return o;
}

/** What must hold between options. */
function checkTogether(o: EngineOptions): void {
  if (o.probeTimeoutMs > o.probeIntervalMs) throw new RangeError("probeTimeoutMs must not exceed probeIntervalMs");
  if (o.claimsPerMessageMax > o.claimsPerFrameMax) throw new RangeError("claimsPerMessageMax must not exceed claimsPerFrameMax");
  if (o.deltaBytesMax > o.frameBytesMax - 1024) throw new RangeError("deltaBytesMax must leave 1 KiB of frameBytesMax for framing");
  if (o.valueBytesMax > o.originBytesMax) throw new RangeError("valueBytesMax must not exceed originBytesMax");
  if (o.originBytesMax > o.storeBytesMax) throw new RangeError("originBytesMax must not exceed storeBytesMax");
  // One answer (up to deltaBytesMax) must fit each per-link budget's burst, or it could never go.
  if (o.answerBytesPerSecondMax < o.deltaBytesMax) throw new RangeError("answerBytesPerSecondMax must be at least deltaBytesMax");
  if (o.stateBytesPerLinkPerSecondMax < o.deltaBytesMax) throw new RangeError("stateBytesPerLinkPerSecondMax must be at least deltaBytesMax");
  if (o.messageTtlMs > o.messageTtlMsMax) throw new RangeError("messageTtlMs must not exceed messageTtlMsMax");
}
