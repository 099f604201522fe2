/**
 * The runtime driver and the public node: it runs one {@link Engine} with the real clock, real
 * timers, platform randomness and a {@link SignatureSuite}, moving bytes between the engine and
 * its {@link Link}s. Values are any CBOR-encodable data (JSON-like values and `Uint8Array`), encoded
 * once on write and decoded, within the value cap, on read.
 *
 * Links: every link runs the handshake (`handshake.ts`) before the engine hears of it; afterwards
 * frames of types 16–31 (CLOSE, FORWARD) stay here and the rest go to the engine. A link is "down"
 * the moment either end closes it, without waiting for the transport to confirm, so a peer that
 * stops reading cannot hold a link open. Backpressure: after each send the link's `bufferedAmount`
 * is compared with `linkHighWaterBytes`; a congested link is polled until it drains or is closed.
 *
 * @module
 */

import { bytesEqual, fromHex, toHex } from "../bytes.ts";
import { Engine, PROTOCOL_VERSION } from "../core/engine.ts";
import type { EngineEvent, JobResult, LinkId } from "../core/events.ts";
import type { Delivery, Verdict } from "../core/broadcast.ts";
import { resolveOptions, type EngineOptions } from "../core/options.ts";
import { checkOption, type OptionSpec } from "../core/schema.ts";
import { seededRng } from "../core/random.ts";
import type { Change } from "../core/store.ts";
import { signingBytes } from "../crypto/context.ts";
import { createSignatureSuite, generateKeyPair } from "../crypto/ed25519.ts";
import { importSecretKey, nodeIdFromText, nodeIdToText } from "../crypto/identity.ts";
import type { KeyPair, SignatureSuite } from "../crypto/types.ts";
import { GrapevineError, localError, remoteError } from "../errors.ts";
import type { Link } from "../transport/link.ts";
import { decode, encode } from "../wire/cbor.ts";
import { DEFAULT_DECODE_LIMITS } from "../wire/limits.ts";
import {
  clipUtf8,
  CLOSE_CODE,
  CLOSE_REASON_BYTES_MAX,
  type CredentialWire,
  decodeLinkFrame,
  encodeLinkFrame,
  type ForwardFrame,
  isLinkFrameType,
  LINK_FRAME,
  peekFrameType,
} from "../wire/link-frames.ts";
import { type Credential, credentialProblem, credentialToWire } from "./credential.ts";
import type { MemberState } from "../core/claims.ts";
import { RoomRegistry } from "../presence/registry.ts";
import type { Room, RoomOptions } from "../presence/room.ts";
import { type AdmissionPolicy, type HandshakeConfig, runHandshake } from "./handshake.ts";
import { ScopeHandle, ScopeHolds, type ScopeHost } from "./scopes.ts";

export { PROTOCOL_VERSION };

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

/** Driver settings resolved from {@link NodeOptions}. */
interface DriverSettings {
  handshakeTimeoutMs: number;
  linkHighWaterBytes: number;
  linkCongestedCloseMs: number;
  admission: AdmissionPolicy | null;
  credential: CredentialWire | null;
  onWake: ((delayMs: number) => void) | null;
}

/** What the driver knows about one link, from its first byte to its close. */
interface LinkEntry {
  id: LinkId;
  link: Link;
  /** Authenticated peer, once the handshake is done. */
  peer: Uint8Array | null;
  peerText: string;
  /** The engine knows this link (handshake done, not yet down). */
  up: boolean;
  down: boolean;
  /** Why we closed it, or what the peer's CLOSE said: preferred over the transport's own words. */
  closeReason: string | null;
  congestedSince: number | null;
  poll: ReturnType<typeof setInterval> | null;
  /** Bytes of frames received and sent after the handshake. */
  bytesIn: number;
  bytesOut: number;
  closed: Promise<string>;
  resolveClosed: (reason: string) => void;
}

/** How often a congested link's buffer is looked at, at most, in ms. */
const CONGESTION_POLL_MS = 100;

/** Cheap clock: monotonic milliseconds. */
function monotonicNow(): number {
  return performance.timeOrigin + performance.now();
}

function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

function randomSeed(): number {
  const a = new Uint32Array(2);
  crypto.getRandomValues(a);
  return a[0] * 0x200000 + (a[1] & 0x1fffff);
}

/** The driver's own options: how links are held (PROTOCOL.md §8.5). */
export const DRIVER_OPTION_SPECS = Object.freeze({
  handshakeTimeoutMs: { kind: "number", default: 10_000, min: 1, unit: "ms" },
  linkHighWaterBytes: { kind: "number", default: 1_048_576, min: 1, unit: "bytes" },
  linkCongestedCloseMs: { kind: "number", default: 30_000, min: 1, unit: "ms" },
} satisfies Record<string, OptionSpec>);

function positive(value: number | undefined, name: keyof typeof DRIVER_OPTION_SPECS): number {
  const spec = DRIVER_OPTION_SPECS[name];
  const v = value ?? spec.default;
  checkOption(name, v, spec);
  return v;
}

/** Checks the link options and the node's credential; throws `TypeError`/`RangeError`. */
async function resolveDriverSettings(
  o: Pick<NodeOptions, "admission" | "credential" | "handshakeTimeoutMs" | "linkHighWaterBytes" | "linkCongestedCloseMs" | "onWake">,
  keyPair: KeyPair,
  suite: SignatureSuite,
  network: string,
): Promise<DriverSettings> {
  let admission: AdmissionPolicy | null = null;
  if (o.admission) {
    const { allow, authority } = o.admission;
    if (allow !== undefined && !Array.isArray(allow)) throw new TypeError("admission.allow must be an array of node ids");
    for (const id of allow ?? []) nodeIdFromText(id); // throws TypeError on a malformed id
    admission = { allow: allow ? new Set(allow) : null, authority: authority === undefined ? null : nodeIdFromText(authority) };
  }
  let credential: CredentialWire | null = null;
  if (o.credential) {
    credential = credentialToWire(o.credential);
    if (o.credential.member !== nodeIdToText(keyPair.publicKey)) throw new TypeError("credential was issued for another key");
    const problem = await credentialProblem(suite, network, credential.authority, keyPair.publicKey, credential, 0);
    if (problem) throw new RangeError(`credential: ${problem} (for this key in network ${JSON.stringify(network)})`);
  }
  return {
    handshakeTimeoutMs: positive(o.handshakeTimeoutMs, "handshakeTimeoutMs"),
    linkHighWaterBytes: positive(o.linkHighWaterBytes, "linkHighWaterBytes"),
    linkCongestedCloseMs: positive(o.linkCongestedCloseMs, "linkCongestedCloseMs"),
    admission,
    credential,
    onWake: o.onWake ?? null,
  };
}

/**
 * Creates a node: an identity, an engine and its driver. Connect it to peers with
 * {@link GrapevineNode.connect} or {@link dial}.
 *
 * @example
 * ```ts
 * import { createNode, createMemoryLinkPair } from "grapevine";
 * const a = await createNode({ network: "example" });
 * const b = await createNode({ network: "example" });
 * const [la, lb] = createMemoryLinkPair();
 * await Promise.all([a.connect(la), b.connect(lb)]);
 * a.set("status", { text: "online" });
 * b.addEventListener("change", (e) => console.log((e as CustomEvent).detail));
 * ```
 */
export async function createNode(options: NodeOptions = {}): Promise<GrapevineNode> {
  const { keyPair, suite, generation, seed, admission, credential, handshakeTimeoutMs, linkHighWaterBytes, linkCongestedCloseMs, onWake, ...engineOptions } = options;
  if (onWake !== undefined && typeof onWake !== "function") throw new TypeError("onWake must be a function");
  const resolved = resolveOptions(engineOptions); // fail fast on bad options, before any key work
  const kp = typeof keyPair === "string"
    ? importSecretKey(keyPair)
    : keyPair ?? generateKeyPair(randomBytes);
  // Checks of keys seen for the first time yield to the event loop in between (a macrotask each).
  const s = suite ?? (await createSignatureSuite({ subtle: globalThis.crypto?.subtle, yieldTo: () => new Promise((r) => setTimeout(r, 0)) }));
  const driver = await resolveDriverSettings({ admission, credential, handshakeTimeoutMs, linkHighWaterBytes, linkCongestedCloseMs, onWake }, kp, s, resolved.network);
  return new GrapevineNode(kp, s, engineOptions, generation ?? Date.now(), seed ?? randomSeed(), driver);
}

/** A running node. Create it with {@link createNode}. */
export class GrapevineNode extends EventTarget {
  /** The node id: its public key in base64url. */
  readonly id: string;
  readonly publicKey: Uint8Array;
  readonly engine: Engine;
  #keyPair: KeyPair;
  #suite: SignatureSuite;
  #driver: DriverSettings;
  #links = new Map<LinkId, LinkEntry>();
  #nextLinkId = 1;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #timerAt = Infinity;
  #closed = false;
  #jobsInFlight = 0;
  #bytesIn = 0;
  #bytesOut = 0;
  #idleWaiters: (() => void)[] = [];
  #valueLimits;

  /** @internal Use {@link createNode}. */
  constructor(keyPair: KeyPair, suite: SignatureSuite, options: Partial<EngineOptions>, generation: number, seed: number, driver: DriverSettings) {
    super();
    this.#keyPair = keyPair;
    this.#suite = suite;
    this.#driver = driver;
    this.publicKey = keyPair.publicKey;
    this.id = nodeIdToText(keyPair.publicKey);
    this.engine = new Engine({ publicKey: keyPair.publicKey, generation, random: seededRng(seed), now: monotonicNow(), options });
    this.#valueLimits = { ...DEFAULT_DECODE_LIMITS, frameBytesMax: this.engine.options.valueBytesMax, bytesLengthMax: this.engine.options.valueBytesMax };
    const engine = this.engine;
    this.#scopeHost = {
      engine,
      now: monotonicNow,
      pump: () => this.#pump(),
      encode,
      decode: (bytes) => decode(bytes, this.#valueLimits),
      assertOpen: () => this.#assertOpen(),
    };
    this.#scopes = new ScopeHolds(this.#scopeHost);
    this.#pump();
  }

  #scopeHost: ScopeHost;
  #scopes: ScopeHolds;

  /**
   * Joins the scope `name` — a room (`room/<id>`) or a topic — or takes another hold on it, and
   * returns a handle on it: keys written there reach only the nodes that joined it, and only they
   * send this node its state and messages. The node stays in the scope while any handle (or topic
   * subscription, or presence room) holds it; `close()` the handle to let go. Throws `RangeError`
   * past `scopesMax`. A 16-byte scope id may be given instead of a name (what relays do).
   *
   * @example
   * ```ts
   * const doc = node.scope("room/doc-42");
   * doc.set("selection", [3, 9]);
   * doc.close();
   * ```
   */
  scope(name: string | Uint8Array): ScopeHandle {
    return new ScopeHandle(this.#scopeHost, this.#scopes, name);
  }

  /** Engine options in force. */
  get options(): Readonly<EngineOptions> {
    return this.engine.options;
  }

  /**
   * Calls `listener` with the detail of every event of `type` (see {@link NodeEventMap}); returns a
   * function that stops it.
   *
   * @example
   * ```ts
   * const off = node.on("member", ({ id, state }) => console.log(id, state));
   * node.on("direct", ({ from, payload }) => console.log(from, payload.length));
   * off();
   * ```
   */
  on<K extends keyof NodeEventMap>(type: K, listener: (detail: NodeEventMap[K]) => void): () => void {
    const h = (e: Event) => listener((e as CustomEvent<NodeEventMap[K]>).detail);
    super.addEventListener(type, h);
    return () => super.removeEventListener(type, h);
  }

  /** Listeners of the types in {@link NodeEventMap} get their event typed. */
  override addEventListener<K extends keyof NodeEventMap>(type: K, listener: ((event: NodeEvent<K>) => void) | null, options?: boolean | AddEventListenerOptions): void;
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null | ((event: never) => void), options?: boolean | AddEventListenerOptions): void {
    super.addEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  override removeEventListener<K extends keyof NodeEventMap>(type: K, listener: ((event: NodeEvent<K>) => void) | null, options?: boolean | EventListenerOptions): void;
  override removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
  override removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null | ((event: never) => void), options?: boolean | EventListenerOptions): void {
    super.removeEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  /**
   * Runs the handshake on `link` (HELLO, PROOF, admission; see PROTOCOL.md §8) and, once both
   * sides are authenticated, attaches it: gossip starts over it at once. Resolves with the peer's
   * id and a handle; rejects with a `GrapevineError` `LINK_CLOSED` whose message says why (the
   * link is closed by then): a network or version mismatch, not admitted, a bad proof, a timeout.
   *
   * @example
   * ```ts
   * const { peer, closed } = await node.connect(link);
   * console.log("linked to", peer);
   * closed.then((reason) => console.log("link down:", reason));
   * ```
   */
  async connect(link: Link, options: ConnectOptions = {}): Promise<LinkHandle> {
    this.#assertOpen();
    const expectedPeer = options.peer === undefined ? null : nodeIdFromText(options.peer);
    const entry = this.#newEntry(link);
    let result;
    try {
      result = await runHandshake(link, this.#handshakeConfig(entry, expectedPeer));
    } catch (e) {
      this.#linkGone(entry, e instanceof Error ? e.message : String(e));
      throw e;
    }
    if (this.#closed) {
      this.#linkGone(entry, "node closed");
      link.close("node closed");
      throw localError("LINK_CLOSED", "node closed during the handshake");
    }
    const handle = this.#attach(entry, result.peer);
    for (const bytes of result.early) this.#onFrame(entry, bytes);
    if (result.lateClose !== null) this.#linkGone(entry, result.lateClose);
    return handle;
  }

  /**
   * Attaches a link whose peer was authenticated earlier on this very transport, without a
   * handshake: for a host that keeps sockets across restarts of the node (a Durable Object woken
   * from hibernation holds the sockets, not the node that authenticated them). The host vouches
   * for `peer`; never call it for a link whose handshake this host did not see succeed.
   *
   * @example
   * ```ts
   * const { peer } = await node.connect(link);   // before: remember `peer` with the socket
   * // … the process restarts, the socket survives …
   * fresh.adopt(linkOverTheSameSocket, peer);   // gossip resumes at once
   * ```
   */
  adopt(link: Link, peer: string): LinkHandle {
    this.#assertOpen();
    const key = nodeIdFromText(peer); // a bad id throws before anything is registered
    return this.#attach(this.#newEntry(link), key, true);
  }

  /**
   * Runs the engine's due work now. Only for hosts that drive the timers (`onWake`): call it once
   * the delay last given to `onWake` has passed; calling early does no harm.
   */
  tick(): void {
    this.#assertOpen();
    this.#timerAt = Infinity; // whatever was announced is spent: the next wake-up is announced again
    this.engine.tick(monotonicNow());
    this.#pump();
  }

  /** Makes an authenticated link part of the mesh: the engine hears of it and gossip starts. */
  #attach(entry: LinkEntry, peer: Uint8Array, resumed = false): LinkHandle {
    const link = entry.link;
    entry.peer = peer;
    entry.peerText = nodeIdToText(peer);
    entry.up = true;
    link.onmessage = (bytes) => this.#onFrame(entry, bytes);
    link.onclose = (reason) => this.#linkGone(entry, entry.closeReason ?? reason);
    this.engine.linkUp(monotonicNow(), entry.id, peer, resumed);
    this.#pump();
    this.dispatchEvent(new CustomEvent("link", { detail: { peer: entry.peerText, link: entry.id, up: true } }));
    return {
      peer: entry.peerText,
      link: entry.id,
      closed: entry.closed,
      close: (reason = "closed by application") => this.#closeLink(entry, CLOSE_CODE.NORMAL, reason),
      get bytesIn() {
        return entry.bytesIn;
      },
      get bytesOut() {
        return entry.bytesOut;
      },
    };
  }

  /**
   * Sends `payload` to the node `peerId` in a FORWARD frame: over a direct link to it if there is
   * one, else over every link (relays carry it on; other nodes drop it). Delivery is best effort,
   * unacknowledged, and may duplicate when several relays hold the target. Returns whether the
   * frame went out on any link. Throws `RangeError` if the frame would exceed `frameBytesMax`.
   *
   * @example
   * ```ts
   * node.addEventListener("direct", (e) => {
   *   const { from, payload } = (e as CustomEvent<{ from: string; payload: Uint8Array }>).detail;
   *   console.log(from, new TextDecoder().decode(payload));
   * });
   * other.sendTo(node.id, new TextEncoder().encode("hi"));
   * ```
   */
  sendTo(peerId: string, payload: Uint8Array): boolean {
    this.#assertOpen();
    const to = nodeIdFromText(peerId);
    if (!(payload instanceof Uint8Array)) throw new TypeError("sendTo: payload must be a Uint8Array");
    if (peerId === this.id) throw new RangeError("sendTo: cannot send to this node itself");
    const bytes = encodeLinkFrame({ type: LINK_FRAME.FORWARD, to, from: this.publicKey, hops: 0, payload });
    if (bytes.length > this.engine.options.frameBytesMax) {
      throw new RangeError(`sendTo: a FORWARD of ${bytes.length} bytes exceeds frameBytesMax ${this.engine.options.frameBytesMax}`);
    }
    const up = [...this.#links.values()].filter((e) => e.up);
    const direct = up.find((e) => e.peerText === peerId);
    const targets = direct ? [direct] : up;
    for (const entry of targets) this.#send(entry, bytes);
    return targets.length > 0;
  }

  /**
   * A room: presence (who is here, with what state) and ephemeral messages among the nodes that
   * open the same `id`. See {@link Room}. Each call gives a new handle; handles of one id share one
   * presence, which leaves when the last handle in it leaves or closes.
   *
   * @example
   * ```ts
   * const room = node.room("lobby", { presence: { name: "Ada" } });
   * room.presence.on("join", ({ entry }) => console.log(entry.state, "joined"));
   * room.broadcast("wave", { at: Date.now() });
   * ```
   */
  room<S = unknown>(id: string, options: RoomOptions<S> = {}): Room<S> {
    this.#assertOpen();
    return this.#rooms.open<S>(id, options);
  }

  /** Rooms open on this node, shared by their handles; credentials checked with this node's suite. */
  #rooms = new RoomRegistry(this, (publicKey, message, signature) => this.#suite.verify(publicKey, message, signature));

  /** Membership's view of the node `id`: alive, suspect, dead, left, or undefined when unknown. */
  memberState(id: string): MemberState | undefined {
    if (id === this.id) return this.engine.membership.left ? "left" : "alive";
    return this.engine.membership.stateOf(toHex(nodeIdFromText(id)));
  }

  /** Every member this node knows of (itself excluded), with its state. */
  members(): { id: string; state: MemberState; incarnation: number; url: string | null; linked: boolean }[] {
    return this.engine.membership.members().map((m) => ({ id: nodeIdToText(m.id), state: m.state, incarnation: m.incarnation, url: m.addr, linked: m.linked }));
  }

  /** Ids of the peers this node holds authenticated links to (each once). */
  peers(): string[] {
    return [...new Set([...this.#links.values()].filter((e) => e.up).map((e) => e.peerText))];
  }

  /** Bytes of frames received and sent on every link since this node started (handshakes not counted). */
  traffic(): { bytesIn: number; bytesOut: number } {
    return { bytesIn: this.#bytesIn, bytesOut: this.#bytesOut };
  }

  /**
   * Signs `body` with this node's key in the `signal` context (PROTOCOL.md §3.3, kind 5), as
   * WebRTC signalling is signed (§8.6). Only this kind is offered: code holding a node cannot make
   * it sign a root, a handshake proof, a message or a credential.
   */
  signSignal(body: Uint8Array): Promise<Uint8Array> {
    return this.#suite.sign(this.#keyPair, signingBytes("signal", this.engine.options.network, PROTOCOL_VERSION, body));
  }

  /** Whether `signature` is `signer`'s (32-byte key) `signal` signature over `body` in this network. Never throws for bad input. */
  verifySignal(signer: Uint8Array, body: Uint8Array, signature: Uint8Array): Promise<boolean> {
    return this.#suite.verify(signer, signingBytes("signal", this.engine.options.network, PROTOCOL_VERSION, body), signature);
  }

  /** Number of authenticated links (handshakes in progress are not counted). */
  get linkCount(): number {
    let n = 0;
    for (const e of this.#links.values()) if (e.up) n++;
    return n;
  }

  /** Sets one of this node's keys to any CBOR-encodable value. Throws `RangeError` past a cap. */
  set(key: string, value: unknown): void {
    this.#assertOpen();
    if (value === undefined) throw new TypeError("value must not be undefined; use delete()");
    this.engine.set(monotonicNow(), key, encode(value));
    this.#pump();
  }

  /** Deletes one of this node's keys. */
  delete(key: string): void {
    this.#assertOpen();
    this.engine.delete(monotonicNow(), key);
    this.#pump();
  }

  /** Reads a key of `origin` (a node id; this node by default). `undefined` when absent or deleted. */
  get(key: string, origin: string = this.id): unknown {
    const bytes = this.engine.store.get(toHex(nodeIdFromText(origin)), key);
    return bytes ? decode(bytes, this.#valueLimits) : undefined;
  }

  /** Every live key of `origin` (this node by default) with its value. */
  entries(origin: string = this.id): Map<string, unknown> {
    const out = new Map<string, unknown>();
    const hex = toHex(nodeIdFromText(origin));
    if (hex === this.engine.store.selfId) {
      for (const e of this.engine.store.localEntries()) out.set(e.key, decode(e.value!, this.#valueLimits));
      return out;
    }
    const st = this.engine.store.origins.get(hex);
    for (const e of st?.entries.values() ?? []) if (e.value) out.set(e.key, decode(e.value, this.#valueLimits));
    return out;
  }

  /** Ids of every node whose state this node holds (itself included once it has written). */
  origins(): string[] {
    return [...this.engine.store.origins.values()].filter((o) => o.entries.size > 0 || o.id === this.engine.store.selfId).map((o) => nodeIdToText(fromHex(o.id)));
  }

  /**
   * With a function: calls it for every state change (remote and local) until the returned
   * function is called. With a topic: broadcast messages on that topic, as an async iterator
   * (bounded like {@link changes}), or to `listener` when one is given.
   *
   * @example
   * ```ts
   * const off = node.subscribe((change) => console.log(change.key, change.value));
   * for await (const msg of node.subscribe("tx")) console.log(msg.origin, msg.payload);
   * ```
   */
  subscribe(listener: (change: ChangeEvent) => void): () => void;
  subscribe(topic: string, listener: (message: BroadcastMessage) => void): () => void;
  subscribe(topic: string, options?: { bufferMax?: number; signal?: AbortSignal }): AsyncIterableIterator<BroadcastMessage>;
  subscribe(
    what: string | ((change: ChangeEvent) => void),
    arg?: ((message: BroadcastMessage) => void) | { bufferMax?: number; signal?: AbortSignal },
  ): (() => void) | AsyncIterableIterator<BroadcastMessage> {
    if (typeof what === "function") return this.#listen("change", what);
    if (typeof what !== "string" || what.length === 0) throw new TypeError("subscribe takes a listener or a topic");
    // A subscription holds the topic's scope: its messages come here while any subscription lasts.
    const key = this.#closed ? null : this.#scopes.hold(what);
    let held = key !== null;
    const release = () => {
      if (held) (held = false), this.#scopes.release(key!);
    };
    if (typeof arg === "function") {
      const off = this.#listen<BroadcastMessage>("message", (m) => m.topic === what && arg(m));
      return () => (off(), release());
    }
    return this.#iterate<BroadcastMessage>("message", (m) => m.topic === what, arg ?? {}, release);
  }

  /**
   * Publishes `payload` (any CBOR-encodable value) on `topic`: signed by this node, valid for
   * `ttlMs` (default `messageTtlMs`), delivered once to every subscriber of the topic on every node,
   * this one included when it subscribes (with `local: true`). A topic is a scope: its messages
   * travel only among the nodes that subscribe; a node that does not publishes through up to
   * `fanout` peers that do, without becoming a subscriber. Returns false when neither this node
   * nor any peer wants the topic (nothing was sent).
   */
  publish(topic: string, payload: unknown, options: { ttlMs?: number } = {}): boolean {
    this.#assertOpen();
    if (typeof topic !== "string" || topic.length === 0) throw new TypeError("topic must be a non-empty string");
    if (payload === undefined) throw new TypeError("payload must not be undefined");
    const sent = this.engine.publishScoped(monotonicNow(), topic, encode(payload), options.ttlMs);
    this.#pump();
    return sent;
  }

  /**
   * Sets the validator of `topic`: every message is checked by it (after its signature) before it
   * is delivered or forwarded. `"reject"` (provably bad) penalises the peer that sent it;
   * `"ignore"` drops it quietly. One validator per topic; `null` removes it.
   */
  validate(topic: string, validator: Validator | null): void {
    if (validator === null) this.#validators.delete(topic);
    else this.#validators.set(topic, validator);
  }

  #validators = new Map<string, Validator>();

  #listen<T>(type: string, fn: (detail: T) => void): () => void {
    const h = (e: Event) => fn((e as CustomEvent<T>).detail);
    this.addEventListener(type, h);
    return () => this.removeEventListener(type, h);
  }

  #iterate<T>(type: string, filter: (detail: T) => boolean, options: { bufferMax?: number; signal?: AbortSignal }, onFinish?: () => void): AsyncIterableIterator<T> {
    const max = options.bufferMax ?? 1024;
    const buffer: T[] = [];
    let wake: (() => void) | null = null;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      unsubscribe();
      onFinish?.();
      options.signal?.removeEventListener("abort", finish);
      this.removeEventListener("close", finish);
      wake?.();
    };
    const unsubscribe = this.#listen<T>(type, (d) => {
      if (!filter(d)) return;
      if (buffer.length >= max) buffer.shift();
      buffer.push(d);
      wake?.();
    });
    options.signal?.addEventListener("abort", finish);
    this.addEventListener("close", finish);
    if (this.#closed || options.signal?.aborted) finish();
    const iterator: AsyncIterableIterator<T> = {
      next: async (): Promise<IteratorResult<T>> => {
        while (!buffer.length && !done) await new Promise<void>((r) => (wake = r));
        wake = null;
        if (buffer.length) return { value: buffer.shift()!, done: false };
        return { value: undefined, done: true };
      },
      return: async (): Promise<IteratorResult<T>> => {
        finish();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /**
   * Changes as an async iterator, subscribed from the moment of the call. At most `bufferMax`
   * changes wait unread; beyond that the oldest are dropped, so a slow reader cannot grow memory
   * without bound. Ends when the node closes, the signal aborts, or the loop breaks.
   */
  changes(options: { bufferMax?: number; signal?: AbortSignal } = {}): AsyncIterableIterator<ChangeEvent> {
    return this.#iterate<ChangeEvent>("change", () => true, options);
  }

  /** Resolves when no crypto work is pending (useful in tests and before close). */
  idle(): Promise<void> {
    if (this.#jobsInFlight === 0) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  /**
   * Leaves the mesh gracefully (peers drop this node's keys at once), then closes every link.
   * `leave: false` just closes, and peers keep the last state.
   */
  async close(options: { leave?: boolean; graceMs?: number } = {}): Promise<void> {
    if (this.#closed) return;
    if (options.leave !== false && this.linkCount > 0) {
      this.engine.leave(monotonicNow());
      this.#pump();
      await this.idle();
      await new Promise((r) => setTimeout(r, options.graceMs ?? 50));
    }
    this.#closed = true;
    this.engine.close();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    for (const entry of [...this.#links.values()]) {
      if (entry.up) this.#closeLink(entry, CLOSE_CODE.NORMAL, "node closed");
      else entry.link.close("node closed"); // the handshake rejects and cleans up
    }
    this.dispatchEvent(new Event("close"));
  }

  /** `await using node = await createNode()` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw localError("ENGINE_CLOSED", "this node is closed");
  }

  /** Moves the engine's outputs out: crypto to the suite, frames to links, events to listeners. */
  #pump(): void {
    if (this.#closed) return;
    const e = this.engine;
    for (let job; (job = e.pollJob()); ) {
      const j = job;
      this.#jobsInFlight++;
      const work: Promise<JobResult> = j.kind === "sign"
        ? this.#suite.sign(this.#keyPair, j.message)
        : j.kind === "verify"
        ? this.#suite.verify(j.publicKey, j.message, j.signature)
        : this.#runValidator(j.message);
      work.then(
        (r) => this.#finishJob(j.id, r),
        (err) => this.#finishJob(j.id, err instanceof Error ? err : new Error(String(err))),
      );
    }
    for (let t; (t = e.pollTransmit()); ) {
      const entry = this.#links.get(t.linkId);
      if (entry?.up) this.#send(entry, t.bytes);
    }
    for (let ev; (ev = e.pollEvent()); ) this.#dispatch(ev);
    const wake = e.nextWakeAt();
    if (wake !== this.#timerAt) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timerAt = wake;
      const onWake = this.#driver.onWake;
      if (onWake) {
        this.#timer = null;
        onWake(wake === Infinity ? Infinity : Math.max(0, wake - monotonicNow()));
        return;
      }
      this.#timer = wake === Infinity ? null : setTimeout(() => {
        this.#timer = null;
        this.#timerAt = Infinity;
        this.engine.tick(monotonicNow());
        this.#pump();
      }, Math.max(0, wake - monotonicNow()));
      // A node must not keep a process alive by itself (Node and Deno timers have unref).
      (this.#timer as { unref?: () => void } | null)?.unref?.();
    }
  }

  async #runValidator(d: Delivery): Promise<Verdict> {
    const v = this.#validators.get(d.topic);
    if (!v) return "accept";
    try {
      return await v(this.#message(d));
    } catch {
      return "ignore"; // a throwing validator must not blame the peer
    }
  }

  #message(d: Delivery): BroadcastMessage {
    let payload: unknown = d.payload;
    try {
      const max = this.engine.options.messagePayloadBytesMax;
      payload = decode(d.payload, { ...DEFAULT_DECODE_LIMITS, frameBytesMax: max, bytesLengthMax: max });
    } catch {
      // authenticated bytes that are not CBOR: hand them over raw
    }
    return { id: d.id, origin: nodeIdToText(d.origin), topic: d.topic, payload, issuedAtMs: d.issuedAtMs, expiresAtMs: d.expiresAtMs, hops: d.hops, local: d.local };
  }

  #finishJob(id: number, result: JobResult): void {
    this.#jobsInFlight--;
    if (!this.#closed) {
      this.engine.completeJob(monotonicNow(), id, result);
      this.#pump();
    }
    if (this.#jobsInFlight === 0) for (const r of this.#idleWaiters.splice(0)) r();
  }

  #dispatch(ev: EngineEvent): void {
    switch (ev.type) {
      case "change":
        this.dispatchEvent(new CustomEvent("change", { detail: this.#changeEvent(ev.change) }));
        return;
      case "message":
        this.dispatchEvent(new CustomEvent("message", { detail: this.#message(ev.message) }));
        return;
      case "penalty":
        this.#dispatchPenalty(ev.linkId, ev.peer, ev.code, ev.message);
        return;
      case "equivocation": {
        const f = ev.evidence[0].fields;
        this.dispatchEvent(new CustomEvent("equivocation", { detail: { origin: nodeIdToText(ev.origin), generation: f.generation, version: f.version } }));
        return;
      }
      case "disconnect": {
        const entry = this.#links.get(ev.linkId);
        if (entry) this.#closeLink(entry, CLOSE_CODE.PENALTY, ev.reason);
        return;
      }
      case "member": {
        const detail: MemberEventDetail = {
          id: nodeIdToText(ev.member), state: ev.state, previous: ev.previous, generation: ev.generation,
          incarnation: ev.incarnation, claimer: ev.claimer ? nodeIdToText(ev.claimer) : null, url: ev.addr,
        };
        this.dispatchEvent(new CustomEvent("member", { detail }));
        return;
      }
      case "drop-link": {
        // Membership lets a link go: to a dead or departed member, or one a peer said it lets go
        // (HyParView's active view).
        const entry = this.#links.get(ev.linkId);
        if (entry) this.#closeLink(entry, CLOSE_CODE.NORMAL, ev.reason);
        return;
      }
      case "interest":
        this.dispatchEvent(new CustomEvent("interest", { detail: { link: ev.linkId, peer: ev.peer ? nodeIdToText(ev.peer) : null, scope: toHex(ev.scope), wanted: ev.wanted } }));
        return;
      case "want-link":
        // Only members that say where they listen can be dialed from here.
        if (ev.addr !== null) this.dispatchEvent(new CustomEvent("want-link", { detail: { peer: nodeIdToText(ev.peer), url: ev.addr } }));
        return;
      default:
        return;
    }
  }

  #dispatchPenalty(link: LinkId, peer: Uint8Array | null, code: string, message: string): void {
    this.dispatchEvent(new CustomEvent("penalty", { detail: { link, peer: peer ? nodeIdToText(peer) : null, code, message } }));
  }

  // ------------------------------------------------------------------ links

  #newEntry(link: Link): LinkEntry {
    let resolveClosed!: (reason: string) => void;
    const closed = new Promise<string>((r) => (resolveClosed = r));
    const entry: LinkEntry = {
      id: this.#nextLinkId++, link, peer: null, peerText: "", up: false, down: false, closeReason: null,
      congestedSince: null, poll: null, bytesIn: 0, bytesOut: 0, closed, resolveClosed,
    };
    this.#links.set(entry.id, entry);
    return entry;
  }

  #handshakeConfig(entry: LinkEntry, expectedPeer: Uint8Array | null): HandshakeConfig {
    const o = this.engine.options;
    return {
      keyPair: this.#keyPair,
      suite: this.#suite,
      network: o.network,
      protocolVersion: PROTOCOL_VERSION,
      credential: this.#driver.credential,
      admission: this.#driver.admission,
      timeoutMs: this.#driver.handshakeTimeoutMs,
      frameBytesMax: o.frameBytesMax,
      expectedPeer,
      wallClock: () => Date.now(),
      random: randomBytes,
      earlyFramesMax: 64,
      earlyBytesMax: 2 * o.frameBytesMax,
      onPenalty: (code, message, peer) => this.#dispatchPenalty(entry.id, peer, code, message),
    };
  }

  /** A frame from an authenticated link: link-layer types stay here, the rest go to the engine. */
  #onFrame(entry: LinkEntry, bytes: Uint8Array): void {
    if (this.#closed || entry.down) return;
    entry.bytesIn += bytes.length;
    this.#bytesIn += bytes.length;
    if (isLinkFrameType(peekFrameType(bytes))) this.#onLinkFrame(entry, bytes);
    else this.engine.receive(monotonicNow(), entry.id, bytes);
    this.#pump();
  }

  #onLinkFrame(entry: LinkEntry, bytes: Uint8Array): void {
    let frame;
    try {
      frame = decodeLinkFrame(bytes, this.engine.options.frameBytesMax);
    } catch (e) {
      if (!(e instanceof GrapevineError)) throw e;
      this.#penalize(entry, e);
      return;
    }
    switch (frame.type) {
      case LINK_FRAME.CLOSE:
        entry.closeReason = `closed by peer: ${frame.reason}`;
        this.#linkGone(entry, entry.closeReason);
        entry.link.close(entry.closeReason);
        return;
      case LINK_FRAME.FORWARD:
        this.#onForward(entry, frame);
        return;
      case LINK_FRAME.HELLO:
      case LINK_FRAME.PROOF:
        this.#penalize(entry, remoteError("WIRE_SHAPE", `${frame.type === LINK_FRAME.HELLO ? "HELLO" : "PROOF"} after the handshake`));
        return;
      default:
        return; // unknown link-layer types are ignored
    }
  }

  #onForward(entry: LinkEntry, f: ForwardFrame): void {
    // Only a relay may speak for someone else; a first hop must come from its sender.
    if (f.hops === 0 && !bytesEqual(f.from, entry.peer!)) {
      this.#penalize(entry, remoteError("WIRE_SHAPE", "forward: hops is 0 but from is not the sending peer"));
      return;
    }
    if (!bytesEqual(f.to, this.publicKey)) return; // not ours; relays route in their own link layer
    this.dispatchEvent(new CustomEvent("direct", { detail: { from: nodeIdToText(f.from), payload: f.payload } }));
  }

  /** A link-layer fault goes to the engine's ledger: one score per link, one threshold. */
  #penalize(entry: LinkEntry, error: GrapevineError): void {
    this.engine.penalize(monotonicNow(), entry.id, error);
  }

  /** Sends on an authenticated link, then checks its backlog (PROTOCOL.md §8.5). */
  #send(entry: LinkEntry, bytes: Uint8Array): void {
    if (entry.down) return;
    try {
      entry.link.send(bytes);
    } catch (err) {
      if (!(err instanceof GrapevineError)) throw err;
      return;
    }
    entry.bytesOut += bytes.length;
    this.#bytesOut += bytes.length;
    if (entry.congestedSince === null && entry.link.bufferedAmount > this.#driver.linkHighWaterBytes) this.#congested(entry);
  }

  #congested(entry: LinkEntry): void {
    const now = monotonicNow();
    entry.congestedSince = now;
    this.engine.setLinkCongested(now, entry.id, true);
    this.#dispatchCongestion(entry, true);
    const every = Math.max(1, Math.min(CONGESTION_POLL_MS, this.#driver.linkCongestedCloseMs / 4));
    entry.poll = setInterval(() => this.#pollCongestion(entry), every);
    (entry.poll as { unref?: () => void }).unref?.();
  }

  #pollCongestion(entry: LinkEntry): void {
    if (entry.down || entry.congestedSince === null) return this.#stopPolling(entry);
    const now = monotonicNow();
    if (entry.link.bufferedAmount <= this.#driver.linkHighWaterBytes / 2) {
      this.#stopPolling(entry);
      entry.congestedSince = null;
      this.engine.setLinkCongested(now, entry.id, false);
      this.#dispatchCongestion(entry, false);
      this.#pump();
    } else if (now - entry.congestedSince >= this.#driver.linkCongestedCloseMs) {
      this.#closeLink(entry, CLOSE_CODE.CONGESTED, "peer not reading");
    }
  }

  #stopPolling(entry: LinkEntry): void {
    if (entry.poll !== null) clearInterval(entry.poll);
    entry.poll = null;
  }

  #dispatchCongestion(entry: LinkEntry, congested: boolean): void {
    this.dispatchEvent(new CustomEvent("congestion", {
      detail: { link: entry.id, peer: entry.peerText, congested, bufferedAmount: entry.link.bufferedAmount },
    }));
  }

  /** Closes an authenticated link for `reason`, telling the peer first. */
  #closeLink(entry: LinkEntry, code: number, reason: string): void {
    if (entry.down) return;
    const wire = clipUtf8(reason, CLOSE_REASON_BYTES_MAX);
    entry.closeReason = reason;
    if (entry.up) {
      try {
        entry.link.send(encodeLinkFrame({ type: LINK_FRAME.CLOSE, code, reason: wire }));
      } catch (err) {
        if (!(err instanceof GrapevineError)) throw err;
      }
    }
    // Down at once: a transport may take long to report its close (a peer that does not read).
    this.#linkGone(entry, reason);
    entry.link.close(wire);
  }

  /** The link is down: the engine forgets it and `closed` resolves. Runs once per link. */
  #linkGone(entry: LinkEntry, reason: string): void {
    if (entry.down) return;
    entry.down = true;
    this.#stopPolling(entry);
    this.#links.delete(entry.id);
    entry.resolveClosed(reason);
    if (entry.up && !this.#closed) {
      this.engine.linkDown(monotonicNow(), entry.id);
      this.#pump();
      this.dispatchEvent(new CustomEvent("link", { detail: { peer: entry.peerText, link: entry.id, up: false } }));
    }
  }

  #changeEvent(c: Change): ChangeEvent {
    let value: unknown;
    if (c.value) {
      try {
        value = decode(c.value, this.#valueLimits);
      } catch {
        value = c.value; // authenticated bytes that are not CBOR: hand them over raw
      }
    }
    return { origin: nodeIdToText(c.origin), key: c.key, value, deleted: c.value === null, version: c.version, local: c.local, scope: c.scope ? this.#scopes.label(c.scope) : null };
  }
}
