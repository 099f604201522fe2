/**
 * Grapevine: a gossip mesh for browsers, Deno, Bun and Node. Every node owns a signed key→value
 * map; gossip rounds spread each map to every node in O(log N) rounds, and every value is
 * authenticated by its owner's Ed25519-signed Merkle root, so relays can forward but never forge.
 *
 * @example
 * ```ts
 * import { createMemoryLinkPair, createNode } from "grapevine";
 *
 * const alice = await createNode({ network: "example", intervalMs: 200 });
 * const bob = await createNode({ network: "example", intervalMs: 200 });
 * const [a, b] = createMemoryLinkPair();
 * await Promise.all([alice.connect(a), bob.connect(b)]); // handshake: both prove their keys
 *
 * bob.subscribe((change) => console.log(change.origin.slice(0, 8), change.key, change.value));
 * alice.set("status", { text: "online", since: 1700000000 });
 *
 * await new Promise((r) => setTimeout(r, 500));
 * console.log(bob.get("status", alice.id)); // { text: "online", since: 1700000000 }
 * await alice.close();
 * await bob.close();
 * ```
 *
 * @module
 */

export {
  GrapevineNode,
  PROTOCOL_VERSION,
  type AdmissionOptions,
  type BroadcastMessage,
  type ChangeEvent,
  type ConnectOptions,
  type LinkHandle,
  type MemberEventDetail,
  type NodeEvent,
  type NodeEventMap,
  type NodeOptions,
  type Validator,
} from "./src/runtime/node.ts";
export { createNode } from "./src/runtime/create.ts";
export { ScopeHandle } from "./src/runtime/scopes.ts";
export { scopeIdOf } from "./src/core/scopes.ts";
export {
  Presence,
  Room,
  type LeaveReason,
  type PresenceEntry,
  type PresenceEvent,
  type PresenceEventDetail,
  type PresenceEventMap,
  type PresenceSnapshot,
  type PresenceUsers,
  type Reach,
  type RoomMessage,
  type RoomOptions,
} from "./src/presence/room.ts";
export type { MemberState } from "./src/core/claims.ts";
export type { MemberInfo, MembershipStats } from "./src/core/membership/membership.ts";
export type { BroadcastStats, Delivery, Verdict } from "./src/core/broadcast.ts";
export { issueCredential, issueUserCredential, type Credential, type UserCredential, type UserCredentialRequest } from "./src/runtime/credential.ts";
export type { Link } from "./src/transport/link.ts";
export { createMemoryLinkPair } from "./src/transport/memory.ts";
export { websocketLink, type WebSocketConstructor, type WebSocketLike, type WebSocketLinkOptions } from "./src/transport/websocket.ts";
export { dial, type DialOptions, type Dialer, type LinkFailedDetail } from "./src/runtime/dial.ts";
export {
  webrtcLink,
  type RTCDataChannelLike,
  type RTCIceServerLike,
  type RTCPeerConnectionConstructor,
  type RTCPeerConnectionLike,
  type WebRTCLinkOptions,
} from "./src/transport/webrtc.ts";
export { attachDirectLinks, DirectLinks, type DirectLinksOptions, type DirectLinksStats } from "./src/runtime/direct.ts";
export type { DirectEventMap } from "./src/runtime/direct-options.ts";

export { Engine, type EngineInit } from "./src/core/engine.ts";
export type { CryptoJob, EngineEvent, EngineStats, JobResult, LinkId, SignJob, Transmit, ValidateJob, VerifyJob } from "./src/core/events.ts";
export { DEFAULT_OPTIONS, resolveOptions, type EngineOptions, type GossipMode, type PeerSelection } from "./src/core/options.ts";
export { deriveSeed, randomBelow, sample, seededRng, type Rng } from "./src/core/random.ts";
export type { Change } from "./src/core/store.ts";

export { createSignatureSuite, keyPairFromSeedAsync, type SignatureSuiteOptions } from "./src/crypto/ed25519.ts";
export { generateKeyPair, importSecretKey, keyPairFromSeed } from "./src/crypto/keys.ts";
export { exportSecretKey, nodeIdFromText, nodeIdToText, shortId } from "./src/crypto/identity.ts";
export type { KeyPair, SignatureSuite } from "./src/crypto/types.ts";

export { GrapevineError, type ErrorCode, type ErrorSource } from "./src/errors.ts";
export { decode as decodeCbor, encode as encodeCbor } from "./src/wire/cbor.ts";
export { DEFAULT_DECODE_LIMITS, type DecodeLimits } from "./src/wire/limits.ts";
