/**
 * What broadcast shows the rest of the node: the frames it owns, its counters and the read-only
 * view a facade may hold (`broadcast.ts` is the subsystem itself).
 *
 * @module
 */

import type { GossipFrame, GraftFrame, IHaveFrame, PruneFrame } from "../wire/frames.ts";
import type { LinkId } from "./events.ts";
import type { RepairStats } from "./repair.ts";

/** The frames broadcast owns. */
export type BroadcastFrame = GossipFrame | IHaveFrame | GraftFrame | PruneFrame;

/** What a node's facade may read of broadcast. */
export interface BroadcastView {
  readonly stats: Readonly<BroadcastStats>;
  /** Links this node pushes payloads to (its edges of the eager tree). */
  eagerLinks(): LinkId[];
}

/** Broadcast counters. */
export interface BroadcastStats extends RepairStats {
  published: number;
  delivered: number;
  /** GOSSIP frames received (payload copies), first copies and duplicates. */
  payloadsReceived: number;
  duplicates: number;
  ihaveSent: number;
  /** Message ids in the IHAVE frames sent (lazy announcements and re-announcements). */
  ihaveIdsSent: number;
  prunesSent: number;
  expiredDropped: number;
  seenFullDropped: number;
  /** New messages not checked because `pendingVerifyMax` checks waited already (flow control: a later copy or a repair brings them). */
  checksFullDropped: number;
  rateDropped: number;
  /** Empty GRAFTs sent to get back on the tree after losing every eager link. */
  rejoins: number;
  /** Requested messages not sent: asked too often by one link, or over its answer budget. */
  graftsRefused: number;
}
