/**
 * `grapevine/lite`: a node with only the parts it is given, for tabs that count their bytes.
 *
 * The package's main entry builds every node with membership (SWIM failure detection, the member
 * table, HyParView views) and epidemic broadcast (topics, `room.broadcast`), and keeps its
 * anti-entropy digest in a trie. This entry's `createNode` builds a node with state sync, scopes
 * and rooms' presence, and only the parts passed in `parts`; a bundler leaves out the code of a
 * part nobody names. A presence tab that only shows who is here needs none; one that sends cursors
 * with `room.broadcast` passes `broadcastPart`.
 *
 * What a part left out means:
 * - without `membershipPart`, the node runs no failure detection and is unknown to other nodes'
 *   membership: its presence leaves with its farewell (closing the room or the node) or, if it
 *   vanishes without one, after the room's `timeoutMs`; `memberState` knows only this node,
 *   `members()` is empty, and `membership: true` is refused.
 * - without `broadcastPart`, `publish` and `room.broadcast` throw a `GrapevineError` with code
 *   `ENGINE_PART_MISSING`, and messages from others are not received.
 * - the digest: kept in one table by default (`digestRowsPart`), each hash computed when a digest
 *   needs it and remembered — the same frames on the wire as the trie's and the same cost a read,
 *   less code and more memory a row. A node that holds many thousands of origins (a relay, a peer
 *   in a big mesh) passes `digest: digestTreePart`.
 *
 * Nodes of either kind mesh with each other and with relays: a part is what a node runs, not a
 * different protocol.
 *
 * @example
 * ```ts
 * import { broadcastPart, createNode, dial } from "grapevine/lite";
 * const node = await createNode({ network: "my-app", parts: { broadcast: broadcastPart } });
 * dial(node, "wss://relay.example.com");
 * const room = node.room("doc-42", { presence: { name: "Ada" } });
 * room.broadcast("cursor", { x: 10, y: 20 });
 * ```
 *
 * @module
 */

import type { EngineParts } from "../core/parts.ts";
import { digestRowsPart } from "../core/digest-rows.ts";
import { createNodeWith } from "../runtime/create.ts";
import type { GrapevineNode } from "../runtime/node.ts";
import type { NodeOptions } from "../runtime/node-types.ts";

/** Options of a node from this entry: the package's node options plus the parts it runs. */
export interface LiteNodeOptions extends NodeOptions {
  /** The engine parts this node runs (default: none — state sync, scopes and presence only, the digest in one table). */
  parts?: EngineParts;
}

/**
 * Creates a node with the parts in `options.parts` (default none). See the module's notes for
 * what a node without a part does.
 */
export function createNode(options: LiteNodeOptions = {}): Promise<GrapevineNode> {
  const { parts = {}, ...rest } = options;
  if (typeof parts !== "object" || parts === null) throw new TypeError("parts must be an object: { membership?, broadcast?, digest? }");
  return createNodeWith({ digest: digestRowsPart, ...parts }, rest);
}

export { broadcastPart } from "../core/broadcast-part.ts";
export { digestRowsPart } from "../core/digest-rows.ts";
export { digestTreePart } from "../core/digest-tree.ts";
export { membershipPart } from "../core/membership/part.ts";
export type { BroadcastPart, DigestPart, EngineParts, MembershipPart } from "../core/parts.ts";
export {
  GrapevineNode,
  type BroadcastMessage,
  type ChangeEvent,
  type ConnectOptions,
  type LinkHandle,
  type NodeEventMap,
  type NodeOptions,
} from "../runtime/node.ts";
export {
  Presence,
  Room,
  type LeaveReason,
  type PresenceEntry,
  type PresenceEvent,
  type PresenceEventMap,
  type PresenceSnapshot,
  type PresenceUsers,
  type RoomMessage,
  type RoomOptions,
} from "../presence/room.ts";
export { dial, type DialOptions, type Dialer } from "../runtime/dial.ts";
export { websocketLink, type WebSocketConstructor, type WebSocketLike } from "../transport/websocket.ts";
export { createMemoryLinkPair } from "../transport/memory.ts";
export { GrapevineError, type ErrorCode } from "../errors.ts";
// A tab keeps its identity across reloads by storing `exportSecretKey(keyPair)` and passing it back
// as `keyPair`; `keyPairFromSeedAsync` derives a pair through WebCrypto (no pure-JavaScript Ed25519).
export { keyPairFromSeedAsync } from "../crypto/ed25519.ts";
export { exportSecretKey, nodeIdFromText, nodeIdToText, shortId } from "../crypto/identity.ts";
export type { KeyPair } from "../crypto/types.ts";
