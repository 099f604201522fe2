/**
 * The protocol engine with every part: the core (`engine-core.ts`: links, state sync, scopes) given
 * membership (`membership/part.ts`), broadcast (`broadcast-part.ts`) and the digest trie
 * (`digest-tree.ts`). A node that needs fewer parts builds an `EngineCore` with those it uses, and
 * a bundle of it leaves the others out.
 *
 * @module
 */

import { broadcastPart } from "./broadcast-part.ts";
import type { BroadcastView } from "./broadcast.ts";
import { digestTreePart } from "./digest-tree.ts";
import { EngineCore, type EngineInit } from "./engine-core.ts";
import type { ReadonlyMembership } from "./membership/membership.ts";
import { membershipPart } from "./membership/part.ts";
import type { EngineParts } from "./parts.ts";

export { EngineCore, frameLimitsFor, PROTOCOL_VERSION, releaseForProfile, type EngineInit } from "./engine-core.ts";
export type { EngineParts } from "./parts.ts";

/** Membership, broadcast and the digest trie: what `Engine` and the package's `createNode` have. */
export const ALL_PARTS: Readonly<Required<EngineParts>> = { membership: membershipPart, broadcast: broadcastPart, digest: digestTreePart };

/**
 * The protocol engine: an {@link EngineCore} with every part (`init.parts`, when given, replaces
 * them; its digest is the trie unless `parts.digest` says otherwise).
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
export class Engine extends EngineCore {
  constructor(init: EngineInit) {
    super({ ...init, parts: init.parts ? { digest: digestTreePart, ...init.parts } : ALL_PARTS });
  }

  /** Membership's view of the mesh, read-only. */
  override get membership(): ReadonlyMembership {
    return super.membership!;
  }

  /** Broadcast's counters and eager links, read-only. */
  override get broadcast(): BroadcastView {
    return super.broadcast!;
  }
}
