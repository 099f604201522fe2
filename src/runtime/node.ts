/// <reference lib="esnext.disposable" preserve="true" />
/**
 * The runtime driver and the public node: it runs one {@link EngineCore} with the real clock, real
 * timers, platform randomness and a {@link SignatureSuite}, moving bytes between the engine and
 * its {@link Link}s. Values are any CBOR-encodable data (JSON-like values and `Uint8Array`), encoded
 * once on write and decoded, within the value cap, on read.
 *
 * Its links (handshake, link-layer frames, backpressure, link faults) are `links.ts`; its public
 * types `node-types.ts`; the driver's settings `settings.ts`; scopes `scopes.ts`; `createNode`
 * `create.ts`.
 *
 * @module
 */

import { fromHex, toHex } from "../bytes.ts";
import { EngineCore, PROTOCOL_VERSION, type EngineParts } from "../core/engine-core.ts";
import type { EngineEvent, LinkId } from "../core/events.ts";
import { resolveOptions, type EngineOptions } from "../core/options.ts";
import { seededRng } from "../core/random.ts";
import { signingBytes } from "../crypto/context.ts";
import { nextTurn } from "./turn.ts";
import { nodeIdFromText, nodeIdToText } from "../crypto/identity.ts";
import type { KeyPair, SignatureSuite } from "../crypto/types.ts";
import { type GrapevineError, localError } from "../errors.ts";
import type { Link } from "../transport/link.ts";
import { decode, encode } from "../wire/cbor.ts";
import { DEFAULT_DECODE_LIMITS } from "../wire/limits.ts";
import { CLOSE_CODE } from "../wire/link-frames.ts";
import { RoomRegistry } from "../presence/registry.ts";
import type { Room, RoomOptions } from "../presence/room.ts";
import { Links } from "./links.ts";
import type { BroadcastMessage, ChangeEvent, ConnectOptions, LinkHandle, NodeEventMap, NodeOptions, Validator } from "./node-types.ts";
import type { MemberState } from "../core/claims.ts";
import { originTexts, ScopeHandle, ScopeHolds, type ScopeHost } from "./scopes.ts";
import { iterate, listen } from "./listen.ts";
import { changeEvent, memberDetail, NodeEventTarget, toMessage } from "./node-events.ts";
import { Jobs } from "./jobs.ts";
import { soon } from "./slice.ts";
import { type DriverSettings, monotonicNow, randomBytes, randomSeed, resolveDriverSettings } from "./settings.ts";

/** How early a timer may fire and still count as on time (see `#pump`). */
const TIMER_EARLY_MS_MAX = 2;
export type {
  AdmissionOptions, BroadcastMessage, ChangeEvent, ConnectOptions, LinkHandle,
  MemberEventDetail,
  NodeEvent,
  NodeEventMap,
  NodeOptions,
  Validator,
} from "./node-types.ts";
export { DRIVER_OPTION_SPECS } from "./settings.ts";
export { PROTOCOL_VERSION };

/** `ConnectOptions.client` (and `adopt`'s) is a boolean when given. */
function checkClient(method: string, client: unknown): void {
  if (client !== undefined && typeof client !== "boolean") throw new TypeError(`${method}: client must be a boolean`);
}

/** A running node. Create it with {@link createNode}. */
export class GrapevineNode extends NodeEventTarget {
  /** The node id: its public key in base64url. */
  readonly id: string;
  readonly publicKey: Uint8Array;
  readonly engine: EngineCore;
  #keyPair: KeyPair;
  #suite: SignatureSuite;
  #driver: DriverSettings;
  #links: Links;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #timerAt = Infinity;
  #closed = false;
  #jobs: Jobs;
  #valueLimits;
  /** This node's generation, and the newest other generation of its key seen (see `key-in-use`). */
  #generation: number;
  #keyInUse = 0;

  /** @internal Use `createNode`. */
  constructor(keyPair: KeyPair, suite: SignatureSuite, options: Partial<EngineOptions>, generation: number, seed: number, driver: DriverSettings, parts: EngineParts) {
    super();
    this.#keyPair = keyPair;
    this.#suite = suite;
    this.#driver = driver;
    this.#generation = generation;
    this.publicKey = keyPair.publicKey;
    this.id = nodeIdToText(keyPair.publicKey);
    this.engine = new EngineCore({ publicKey: keyPair.publicKey, generation, random: seededRng(seed), now: monotonicNow(), options, parts });
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
    this.#jobs = new Jobs(suite, keyPair, engine.options, (id, result) => {
      if (this.#closed) return;
      this.engine.completeJob(monotonicNow(), id, result);
      this.#pump();
    });
    this.#links = new Links({
      engine, keyPair, suite, driver,
      closed: () => this.#closed,
      pump: () => this.#pump(),
      emit: (type, detail) => this.dispatchEvent(new CustomEvent(type, { detail })),
      penalty: (link, peer, code, message) => this.#dispatchPenalty(link, peer, code, message),
    });
    this.#pump();
  }

  #scopeHost: ScopeHost;
  #scopes: ScopeHolds;

  /**
   * Joins the scope `name` — a room (`room/<id>`) or a topic; a 16-byte id too — and returns a hold
   * on it (`ScopeHandle`): its keys reach only the nodes that joined it, and only they send this node
   * its state and messages, while any hold (handle, topic subscription, presence room) lasts. Throws
   * `RangeError` past `scopesMax`. E.g. `const doc = node.scope("room/doc-42"); doc.set("sel", [3, 9]);`
   */
  scope(name: string | Uint8Array): ScopeHandle {
    return new ScopeHandle(this.#scopeHost, this.#scopes, name);
  }

  /** Engine options in force. */
  get options(): Readonly<EngineOptions> {
    return this.engine.options;
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
    checkClient("connect", options.client);
    return this.#links.connect(link, options.peer === undefined ? null : nodeIdFromText(options.peer), options.client === true);
  }

  /**
   * Attaches a link whose peer was authenticated earlier on this very transport, without a
   * handshake: for a host that keeps sockets across restarts of the node (a Durable Object woken
   * from hibernation holds the sockets). The host vouches for `peer` (never call it for a link
   * whose handshake it did not see succeed) and checks `admittedUntilMs`, kept from the first
   * handshake's handle, against its clock: an expired credential admits no one.
   *
   * @example
   * ```ts
   * const { peer } = await node.connect(link);   // before: remember `peer` with the socket
   * fresh.adopt(linkOverTheSameSocket, peer);   // after a restart: gossip resumes at once
   * ```
   */
  adopt(link: Link, peer: string, options: { admittedUntilMs?: number | null; client?: boolean } = {}): LinkHandle {
    this.#assertOpen();
    const key = nodeIdFromText(peer); // a bad id throws before anything is registered
    checkClient("adopt", options.client);
    return this.#links.attach(this.#links.newEntry(link), key, true, options.admittedUntilMs ?? null, options.client === true);
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

  /**
   * Sends `payload` to the node `peerId` in a FORWARD frame: over a direct link to it if there is
   * one, else over every link (relays carry it on; other nodes drop it). Delivery is best effort,
   * unacknowledged, and may duplicate when several relays hold the target. Returns whether the
   * frame went out on any link. Throws `RangeError` if the frame would exceed `frameBytesMax`.
   *
   * @example
   * ```ts
   * node.on("direct", ({ from, payload }) => console.log(from, new TextDecoder().decode(payload)));
   * other.sendTo(node.id, new TextEncoder().encode("hi"));
   * ```
   */
  sendTo(peerId: string, payload: Uint8Array): boolean {
    this.#assertOpen();
    const to = nodeIdFromText(peerId);
    if (!(payload instanceof Uint8Array)) throw new TypeError("sendTo: payload must be a Uint8Array");
    if (peerId === this.id) throw new RangeError("sendTo: cannot send to this node itself");
    return this.#links.forward(peerId, to, payload);
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

  /** Nodes to stay linked to (relays; `dial` and relays set them): with no link, membership asks for one (`want-link`). */
  join(seeds: readonly string[]): void {
    this.#assertOpen();
    this.engine.join(monotonicNow(), seeds.map((id) => nodeIdFromText(id)));
    this.#pump();
  }

  /** Membership's view of the node `id`: alive, suspect, dead, left, or undefined when unknown. */
  memberState(id: string): MemberState | undefined {
    if (id === this.id) return this.engine.membership?.left ? "left" : "alive";
    return this.engine.membership?.stateOf(toHex(nodeIdFromText(id))); // without membership: nobody is known
  }

  /** Every member this node knows of (itself excluded), with its state. */
  members(): { id: string; state: MemberState; incarnation: number; url: string | null; linked: boolean }[] {
    return (this.engine.membership?.members() ?? []).map((m) => ({ id: nodeIdToText(m.id), state: m.state, incarnation: m.incarnation, url: m.addr, linked: m.linked }));
  }

  /** Ids of the peers this node holds authenticated links to (each once). */
  peers(): string[] {
    return [...new Set(this.#links.up().map((e) => e.peerText))];
  }

  /** Bytes of frames received and sent on every link since this node started (handshakes not counted). */
  traffic(): { bytesIn: number; bytesOut: number } {
    return { bytesIn: this.#links.bytesIn, bytesOut: this.#links.bytesOut };
  }

  /** Signs `body` in the `signal` context (PROTOCOL.md §3.3, kind 5; WebRTC signalling, §8.6): the only kind offered. */
  signSignal(body: Uint8Array): Promise<Uint8Array> {
    return this.#suite.sign(this.#keyPair, signingBytes("signal", this.engine.options.network, PROTOCOL_VERSION, body));
  }

  /** Whether `signature` is `signer`'s (32-byte key) `signal` signature over `body` in this network. Never throws for bad input. */
  verifySignal(signer: Uint8Array, body: Uint8Array, signature: Uint8Array): Promise<boolean> {
    return this.#suite.verify(signer, signingBytes("signal", this.engine.options.network, PROTOCOL_VERSION, body), signature);
  }

  /** A fault a host proved on link `link` (a relay's FORWARD checks): it goes to the link's one ledger. */
  penalize(link: number, error: GrapevineError, points?: number): void {
    this.engine.penalize(monotonicNow(), link, error, points);
    this.#pump();
  }

  /** Number of authenticated links (handshakes in progress are not counted). */
  get linkCount(): number {
    return this.#links.up().length;
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
    return originTexts(this.engine.store);
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
    if (typeof what === "function") return listen(this, "change", what);
    if (typeof what !== "string" || what.length === 0) throw new TypeError("subscribe takes a listener or a topic");
    // A subscription holds the topic's scope: its messages come here while any subscription lasts.
    const key = this.#closed ? null : this.#scopes.hold(what);
    let held = key !== null;
    const release = () => {
      if (held) (held = false), this.#scopes.release(key!);
    };
    if (typeof arg === "function") {
      const off = listen<BroadcastMessage>(this, "message", (m) => m.topic === what && arg(m));
      return () => (off(), release());
    }
    return iterate<BroadcastMessage>(this, "message", (m) => m.topic === what, arg ?? {}, this.#closed, release);
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
   * `"ignore"` drops it quietly, as does a validator that throws or has not answered when the
   * message expires. One validator per topic; `null` removes it.
   */
  validate(topic: string, validator: Validator | null): void {
    this.#jobs.validate(topic, validator);
  }

  /**
   * Changes as an async iterator, subscribed from the moment of the call. At most `bufferMax`
   * changes wait unread; beyond that the oldest are dropped, so a slow reader cannot grow memory
   * without bound. Ends when the node closes, the signal aborts, or the loop breaks. While a loop
   * waits on it the process stays alive (a node alone does not keep a process alive).
   */
  changes(options: { bufferMax?: number; signal?: AbortSignal } = {}): AsyncIterableIterator<ChangeEvent> {
    return iterate<ChangeEvent>(this, "change", () => true, options, this.#closed);
  }

  /** Resolves when no crypto work is pending and no received frame waits for its turn (useful in tests and before close). */
  async idle(): Promise<void> {
    for (;;) {
      await this.#jobs.idle();
      if (!this.#links.framesWaiting()) return;
      await nextTurn();
    }
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
    for (const entry of [...this.#links.table.values()]) {
      if (entry.up) this.#links.closeLink(entry, CLOSE_CODE.NORMAL, "node closed");
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
    for (let job; (job = e.pollJob()); ) this.#jobs.run(job);
    for (let t; (t = e.pollTransmit()); ) {
      const entry = this.#links.table.get(t.linkId);
      if (entry?.up) this.#links.send(entry, t.bytes);
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
        // Within the thread's time slice: a hundred nodes' rounds due at once take turns. Until the
        // tick runs, `#timerAt` stays, so output moved meanwhile does not set a second timer for it.
        soon(() => {
          if (this.#timerAt === wake) this.#timerAt = Infinity;
          if (this.#closed) return;
          const now = monotonicNow(); // a timer just early (the loop reads its clock once a turn) is on time, not a second wake-up
          this.engine.tick(wake - now <= TIMER_EARLY_MS_MAX ? Math.max(now, wake) : now);
          this.#pump();
        });
      }, Math.max(0, wake - monotonicNow()));
      // A node must not keep a process alive by itself (Node and Deno timers have unref).
      (this.#timer as { unref?: () => void } | null)?.unref?.();
    }
  }

  #dispatch(ev: EngineEvent): void {
    const emit = <K extends keyof NodeEventMap>(type: K, detail: NodeEventMap[K]) => this.dispatchEvent(new CustomEvent(type, { detail }));
    switch (ev.type) {
      case "change":
        return void emit("change", changeEvent(ev.change, this.#valueLimits, (id) => this.#scopes.label(id)));
      case "message":
        return void emit("message", toMessage(this.engine.options, ev.message));
      case "penalty":
        return this.#dispatchPenalty(ev.linkId, ev.peer, ev.code, ev.message);
      case "equivocation": {
        const f = ev.evidence[0].fields;
        return void emit("equivocation", { origin: nodeIdToText(ev.origin), generation: f.generation, version: f.version });
      }
      case "member":
        return void emit("member", memberDetail(ev));
      case "key-in-use": // once a generation, though every scope's store may tell
        if (ev.generation > this.#keyInUse) emit("key-in-use", { generation: (this.#keyInUse = ev.generation), ours: this.#generation });
        return;
      case "disconnect": // the engine's ledger closed it
      case "drop-link": { // membership lets it go: a dead or departed member, or HyParView's active view
        const entry = this.#links.table.get(ev.linkId);
        if (entry) this.#links.closeLink(entry, ev.type === "disconnect" ? CLOSE_CODE.PENALTY : CLOSE_CODE.NORMAL, ev.reason);
        return;
      }
      case "interest":
        return void emit("interest", { link: ev.linkId, peer: ev.peer ? nodeIdToText(ev.peer) : null, scope: toHex(ev.scope), wanted: ev.wanted });
      case "want-link": // only members that say where they listen can be dialed from here
        if (ev.addr !== null) emit("want-link", { peer: nodeIdToText(ev.peer), url: ev.addr });
        return;
      default:
        return;
    }
  }

  #dispatchPenalty(link: LinkId, peer: Uint8Array | null, code: string, message: string): void {
    this.dispatchEvent(new CustomEvent("penalty", { detail: { link, peer: peer ? nodeIdToText(peer) : null, code, message } }));
  }
}
