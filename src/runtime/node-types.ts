/**
 * The public types of a running node: its options, the events it dispatches and what they carry,
 * broadcast messages and change events. `node.ts` re-exports them.
 *
 * @module
 */

import type { NodeCryptoLike } from "../crypto/native.ts";
import type { Verdict } from "../core/broadcast.ts";
import type { MemberState } from "../core/claims.ts";
import type { EngineOptions } from "../core/options.ts";
import type { KeyPair, SignatureSuite } from "../crypto/types.ts";
import type { Credential } from "./credential.ts";

/**
 * Who may link to a node. Without it, anyone who proves its key (in the same network) may.
 *
 * @example
 * ```ts
 * const node = await createNode({ network: "lobby", admission: { allow: [friend.id], authority: authorityId } });
 * ```
 */
export interface AdmissionOptions {
  /** Node ids admitted by name. */
  allow?: string[];
  /** Node id of an authority key: peers showing an unexpired credential it signed are admitted. */
  authority?: string;
}

/** A broadcast message as subscribers see it. */
export interface BroadcastMessage {
  /** SHA-256 of the signed bytes, hex. */
  id: string;
  /** Id of the node that published it. */
  origin: string;
  topic: string;
  /** The payload, decoded (or raw bytes if it is not CBOR). */
  payload: unknown;
  issuedAtMs: number;
  expiresAtMs: number;
  /** Links it travelled. */
  hops: number;
  /** Published by this node. */
  local: boolean;
}

/** A topic's validator: runs on every verified message before delivery and forwarding. */
export type Validator = (message: BroadcastMessage) => Verdict | Promise<Verdict>;

/** Options of {@link createNode}: engine options plus identity, capabilities and link policy. */
export interface NodeOptions extends Partial<EngineOptions> {
  /** The node's key pair, or its secret key in text form (`gvsk1.…`). A new one by default. */
  keyPair?: KeyPair | string;
  /** Signature suite; by default Ed25519 through WebCrypto (noble where WebCrypto lacks it). */
  suite?: SignatureSuite;
  /**
   * The runtime's `node:crypto` (Node, Deno, Bun: `import * as nodeCrypto from "node:crypto"`):
   * the default suite then signs and checks with its one-shot Ed25519, once it passes the start-up
   * probe. Less CPU a check than WebCrypto (about 110 µs against 140–190 on Node 20), but on the
   * event loop's thread (at most 32 checks a turn) rather than WebCrypto's thread pool: for a
   * process with one busy node, not for one running many. Ignored when `suite` is given.
   */
  nodeCrypto?: NodeCryptoLike;
  /** Generation of this run; must grow across restarts of one key. Default: the wall clock in ms. */
  generation?: number;
  /** Seed for peer selection; random by default. Fix it only for reproducible tests. */
  seed?: number;
  /** Admission policy for peers (allow-list and/or credential authority); both given = either admits. */
  admission?: AdmissionOptions;
  /** This node's own credential (from {@link issueCredential}), shown to peers in the handshake. */
  credential?: Credential;
  /** A link whose handshake has not finished after this many ms is closed. Default 10,000. */
  handshakeTimeoutMs?: number;
  /** Above this many bytes queued on a link, gossip rounds skip it. Default 1,048,576. */
  linkHighWaterBytes?: number;
  /** A link that stays above the high-water mark this long is closed ("peer not reading"). Default 30,000. */
  linkCongestedCloseMs?: number;
  /**
   * Lets the host drive the engine's timers: the node then sets no timer for its rounds and
   * instead calls `onWake(ms)` whenever the delay to its next wake-up changes (`Infinity`: none);
   * the host calls {@link GrapevineNode.tick} once that time has come (e.g. from a Durable Object's
   * alarm, which lets an idle object hibernate). Default: the node's own `setTimeout`.
   */
  onWake?: (delayMs: number) => void;
}

/**
 * Options of {@link GrapevineNode.connect}.
 *
 * @example
 * ```ts
 * await node.connect(link, { peer: relayId }); // refuse anyone else at the other end
 * ```
 */
export interface ConnectOptions {
  /** Accept only this peer (a node id); any other closes the link during the handshake. */
  peer?: string;
  /**
   * The peer is a client this node serves, as a relay serves browser tabs: every change of state
   * this node takes in, in any scope both are in, is pushed to it at once instead of at a later
   * gossip round, so a tab sees another tab's change as soon as their relay has it; and a change
   * the client sends goes on at once to every link of this node, as this node's own would. Only
   * for peers that are leaves: a peer linked to many nodes that all mark it so gets a copy of each
   * change from each. Default false (changes go by gossip rounds; this node's own changes go to
   * every link at once either way).
   */
  client?: boolean;
}

/**
 * An authenticated link, as {@link GrapevineNode.connect} returns it.
 *
 * @example
 * ```ts
 * const handle = await node.connect(link);
 * handle.closed.then((reason) => console.log(handle.peer, "gone:", reason));
 * handle.close("maintenance"); // the peer sees "closed by peer: maintenance"
 * ```
 */
export interface LinkHandle {
  /** The peer's node id (base64url), proven in the handshake. */
  readonly peer: string;
  /** The driver's number for this link (as in `penalty` and `congestion` events). */
  readonly link: number;
  /**
   * When this node's `admission.authority` admitted the peer by its credential (not by the
   * allow-list): when that credential expires (wall-clock ms since the epoch); else null.
   */
  readonly admittedUntilMs: number | null;
  /** Resolves with the reason once the link is down, whichever end closed it. */
  readonly closed: Promise<string>;
  /** Closes the link (telling the peer why). */
  close(reason?: string): void;
  /** Bytes of frames received on this link since its handshake (still readable once it is down). */
  readonly bytesIn: number;
  /** Bytes of frames sent on this link since its handshake. */
  readonly bytesOut: number;
}

/** A change to some node's key, as subscribers see it. */
export interface ChangeEvent {
  /** Id (base64url public key) of the node that owns the key. */
  origin: string;
  key: string;
  /** The new value, or `undefined` when deleted. */
  value: unknown;
  deleted: boolean;
  version: number;
  /** Made by this node. */
  local: boolean;
  /** The scope the key lives in (its name, or its id in hex when joined by id); null for the mesh-wide map. */
  scope: string | null;
}

/**
 * Events a node dispatches, by type, with the `detail` each carries (`close` is a plain `Event`).
 * {@link GrapevineNode.on} hands listeners the detail; `addEventListener` hands them the event.
 */
export interface NodeEventMap {
  /** A key of some node changed in this node's view (remote or local). */
  change: ChangeEvent;
  /** A broadcast message was delivered here, on any topic (`subscribe(topic)` filters by topic). */
  message: BroadcastMessage;
  /** A FORWARD addressed to this node arrived (see {@link GrapevineNode.sendTo}). */
  direct: { from: string; payload: Uint8Array };
  /** A peer misbehaved provably and was penalised (`peer` is null before its handshake finished). */
  penalty: { link: number; peer: string | null; code: string; message: string };
  /** A link went over its high-water mark (`congested: true`) or drained below half of it. */
  congestion: { link: number; peer: string; congested: boolean; bufferedAmount: number };
  /** A link made by {@link dial} is up (dispatched by the dialer). */
  "link-up": { peer: string; url: string };
  /** A link made by {@link dial} went down (dispatched by the dialer); `retryInMs`: when it dials again. */
  "link-down": { peer: string; url: string; reason: string; retryInMs: number | null };
  /** An attempt of {@link dial} failed before its link was up: why (the remote's CLOSE reason, if any) and the next retry. */
  "link-failed": { url: string; reason: string; remoteReason: string | null; failures: number; retryInMs: number; nextUrl: string };
  /** An authenticated link came up or went down (any link, however made). */
  link: { peer: string; link: number; up: boolean };
  /** A member's state changed in this node's view (membership and failure detection). */
  member: MemberEventDetail;
  /**
   * `origin` was proven to sign two different states for one version: its keys are gone from this
   * node (each with a `change` event) and nothing of it is accepted for `distrustedOriginTtlMs`.
   */
  equivocation: { origin: string; generation: number; version: number };
  /**
   * A state signed with this node's own key under a newer `generation` (this node's: `ours`)
   * arrived: another node runs with this key — two tabs that share one stored key — and peers take
   * its state, not this node's. Keep a tab's key in `sessionStorage`; on this event, make a new key.
   */
  "key-in-use": { generation: number; ours: number };
  /** Membership wants a link to `peer` (the active view is short); `url` is where it says it listens (its `addr`). */
  "want-link": { peer: string; url: string };
  /** The peer of a link started (`wanted`) or stopped wanting a scope (id in hex); relays follow their clients' interest. */
  interest: { link: number; peer: string | null; scope: string; wanted: boolean };
  /** The node closed. */
  close: undefined;
}

/** The event object a listener of `type` gets: a `CustomEvent` with its detail, or a plain `Event` for `close`. */
export type NodeEvent<K extends keyof NodeEventMap> = NodeEventMap[K] extends undefined ? Event : CustomEvent<NodeEventMap[K]>;

/** Detail of a `member` event. */
export interface MemberEventDetail {
  /** The member's node id. */
  id: string;
  state: MemberState;
  /** Null the first time the member is seen. */
  previous: MemberState | null;
  generation: number;
  incarnation: number;
  /** Who accused it, when suspect or dead. */
  claimer: string | null;
  /** Where it accepts links, from its alive claim. */
  url: string | null;
}
