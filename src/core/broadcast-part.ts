/**
 * Epidemic broadcast as an engine part (`parts.ts`): pass it to a node or engine that publishes or
 * subscribes to topics, mesh-wide or in rooms (`room.broadcast`).
 *
 * @module
 */

import { Broadcast } from "./broadcast.ts";
import type { BroadcastPart } from "./parts.ts";

/** Broadcast: Plumtree's trees with lazy repair, validation and per-link bounds. */
export const broadcastPart: BroadcastPart = {
  make: (host, accepts) => new Broadcast(host, accepts),
};
