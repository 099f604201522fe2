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

  /** Bytes of one frame, sent or received. Checked before decoding. */
  frameBytesMax: number;
  /** Bytes of deltas sent in answer to one digest (scuttlebutt flow control). */
  deltaBytesMax: number;
  /** Origin deltas in one delta frame. */
  deltaOriginsMax: number;
  /** Entries in one digest before it switches to a Merkle summary of the digest. */
  digestEntriesMax: number;
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
   * Leaf bytes of other origins' maps one store holds in all. A new origin is refused when it does
   * not fit (flow control, not a penalty: the total is the sum of many peers' honest caps).
   */
  storeBytesMax: number;

  /** An origin drops its own tombstones this long after the delete (and tells peers to as well). */
  tombstoneTtlMs: number;
  /** A departed (left) origin is forgotten this long after its farewell. */
  leftOriginTtlMs: number;

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
  /** Delay that batches lazy announcements (IHAVE) to the same link. */
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
  /** Each claim is sent retransmitMult × ceil(log10(members + 1)) times by every node that learns it. */
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
  /** How often views are shuffled with a random linked peer. */
  shuffleIntervalMs: number;
  /** Seeds are re-tried this often while unlinked (see `Membership.setSeeds`). */
  seedRetryMs: number;
  /** Where this node accepts links (`ws://` or `wss://` URL), advertised in its alive claim; "" for nowhere. */
  addr: string;
}

/** The defaults. Sizes in bytes, times in milliseconds. */
export const DEFAULT_OPTIONS: Readonly<EngineOptions> = Object.freeze({
  network: "grapevine",
  intervalMs: 1000,
  fanout: 3,
  mode: "pushpull",
  peerSelection: "uniform",
  hotBias: 4,
  rumorRounds: 0,
  antiEntropyEveryRounds: 10,

  frameBytesMax: 1_048_576,
  deltaBytesMax: 262_144,
  deltaOriginsMax: 512,
  digestEntriesMax: 64,
  treeNodesMax: 64,
  treeLeafOriginsMax: 32,

  keysPerOriginMax: 1024,
  keyBytesMax: 256,
  valueBytesMax: 16_384,
  originBytesMax: 131_072,
  originsMax: 100_000,
  storeBytesMax: 134_217_728,

  tombstoneTtlMs: 10 * 60_000,
  leftOriginTtlMs: 10 * 60_000,

  pendingVerifyMax: 4096,
  pendingVerifyPerLinkMax: 512,
  eventsMax: 65_536,
  penaltyThreshold: 100,
  answerBytesPerSecondMax: 1_048_576,
  stateBytesPerLinkPerSecondMax: 2_097_152,
  newOriginsPerLinkPerSecondMax: 512,
  distrustedOriginTtlMs: 3_600_000,

  topicBytesMax: 128,
  messagePayloadBytesMax: 65_536,
  messageTtlMs: 60_000,
  messageTtlMsMax: 300_000,
  clockSkewMs: 30_000,
  seenMax: 200_000,
  messageCacheMax: 10_000,
  ihaveIntervalMs: 50,
  lazyPushMax: 5,
  idsPerFrameMax: 1024,
  graftTimeoutMs: 400,
  graftRetriesMax: 3,
  announcementsPerLinkMax: 5000,
  missingMax: 4096,
  graftsInFlightPerLinkMax: 256,
  broadcastBytesPerSecondMax: 4_194_304,

  membership: true,
  lifeguard: true,
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectProbes: 3,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  suspicionLagMult: 2,
  retransmitMult: 4,
  awarenessMax: 8,
  memberGossipIntervalMs: 200,
  memberGossipFanout: 3,
  claimsPerMessageMax: 16,
  claimsPerFrameMax: 256,
  claimQueueMax: 4096,
  membersMax: 16_384,
  claimVerifyPendingMax: 4096,
  deadMemberTtlMs: 5 * 60_000,
  pushPullIntervalMs: 0,
  activeViewSize: 0,
  activeViewMax: 0,
  shuffleLength: 16,
  shuffleIntervalMs: 10_000,
  seedRetryMs: 10_000,
  addr: "",
});

/** Merges user options over the defaults and checks them; throws `RangeError`/`TypeError`. */
export function resolveOptions(partial: Partial<EngineOptions> = {}): EngineOptions {
  const o: EngineOptions = { ...DEFAULT_OPTIONS, ...partial };
  if (typeof o.network !== "string" || o.network.length === 0 || new TextEncoder().encode(o.network).length > 255) {
    throw new RangeError("network must be a non-empty string of at most 255 UTF-8 bytes");
  }
  if (!["push", "pull", "pushpull"].includes(o.mode)) throw new RangeError(`mode must be push, pull or pushpull`);
  if (!["uniform", "hot"].includes(o.peerSelection)) throw new RangeError(`peerSelection must be uniform or hot`);
  const positive: (keyof EngineOptions)[] = [
    "intervalMs", "fanout", "frameBytesMax", "deltaBytesMax", "deltaOriginsMax", "digestEntriesMax", "treeNodesMax",
    "treeLeafOriginsMax", "keysPerOriginMax", "keyBytesMax", "valueBytesMax", "originBytesMax",
    "originsMax", "storeBytesMax", "pendingVerifyMax", "pendingVerifyPerLinkMax", "eventsMax", "penaltyThreshold",
    "antiEntropyEveryRounds", "answerBytesPerSecondMax", "stateBytesPerLinkPerSecondMax", "newOriginsPerLinkPerSecondMax",
    "distrustedOriginTtlMs", "topicBytesMax", "messagePayloadBytesMax", "messageTtlMs", "messageTtlMsMax",
    "seenMax", "messageCacheMax", "ihaveIntervalMs", "lazyPushMax", "idsPerFrameMax", "graftTimeoutMs", "graftRetriesMax",
    "announcementsPerLinkMax", "missingMax", "graftsInFlightPerLinkMax", "broadcastBytesPerSecondMax",
    "probeIntervalMs", "probeTimeoutMs", "suspicionMult", "suspicionMaxTimeoutMult", "retransmitMult", "awarenessMax",
    "memberGossipIntervalMs", "memberGossipFanout", "claimsPerMessageMax", "claimsPerFrameMax", "claimQueueMax",
    "membersMax", "claimVerifyPendingMax", "deadMemberTtlMs", "shuffleLength", "shuffleIntervalMs", "seedRetryMs",
  ];
  const nonNegative: (keyof EngineOptions)[] = ["indirectProbes", "suspicionLagMult", "pushPullIntervalMs", "activeViewSize", "activeViewMax"];
  for (const k of nonNegative) {
    const v = o[k] as number;
    if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`${k} must be a non-negative number, got ${v}`);
  }
  if (typeof o.membership !== "boolean" || typeof o.lifeguard !== "boolean") throw new TypeError("membership and lifeguard must be booleans");
  if (o.probeTimeoutMs > o.probeIntervalMs) throw new RangeError("probeTimeoutMs must not exceed probeIntervalMs");
  if (o.suspicionMaxTimeoutMult < 1) throw new RangeError("suspicionMaxTimeoutMult must be at least 1");
  if (o.claimsPerMessageMax > o.claimsPerFrameMax) throw new RangeError("claimsPerMessageMax must not exceed claimsPerFrameMax");
  if (typeof o.addr !== "string" || new TextEncoder().encode(o.addr).length > 256) throw new RangeError("addr must be a string of at most 256 UTF-8 bytes");
  for (const k of positive) {
    const v = o[k] as number;
    if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`${k} must be a positive number, got ${v}`);
  }
  if (o.deltaBytesMax > o.frameBytesMax - 1024) throw new RangeError("deltaBytesMax must leave 1 KiB of frameBytesMax for framing");
  if (o.valueBytesMax > o.originBytesMax) throw new RangeError("valueBytesMax must not exceed originBytesMax");
  if (o.originBytesMax > o.storeBytesMax) throw new RangeError("originBytesMax must not exceed storeBytesMax");
  // One answer (up to deltaBytesMax) must fit each per-link budget's burst, or it could never go.
  if (o.answerBytesPerSecondMax < o.deltaBytesMax) throw new RangeError("answerBytesPerSecondMax must be at least deltaBytesMax");
  if (o.stateBytesPerLinkPerSecondMax < o.deltaBytesMax) throw new RangeError("stateBytesPerLinkPerSecondMax must be at least deltaBytesMax");
  if (o.messageTtlMs > o.messageTtlMsMax) throw new RangeError("messageTtlMs must not exceed messageTtlMsMax");
  if (!(o.clockSkewMs >= 0)) throw new RangeError("clockSkewMs must be non-negative");
  return o;
}
