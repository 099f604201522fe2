/**
 * The node's links: the link table, the handshake a new link runs before the engine hears of it,
 * link-layer frames (CLOSE, FORWARD; HELLO or PROOF after the handshake is a fault), backpressure
 * (a congested link is polled until it drains or is closed) and link faults, which go to the
 * engine's one penalty ledger. The node's facade (`node.ts`) drives it and moves the engine's
 * output to it.
 *
 * A link is "down" the moment either end closes it, without waiting for the transport to confirm,
 * so a peer that stops reading cannot hold a link open.
 *
 * @module
 */

import { bytesEqual } from "../bytes.ts";
import type { EngineCore as Engine } from "../core/engine-core.ts";
import { PROTOCOL_VERSION } from "../core/engine-core.ts";
import type { LinkId } from "../core/events.ts";
import { nodeIdToText } from "../crypto/identity.ts";
import type { KeyPair, SignatureSuite } from "../crypto/types.ts";
import { GrapevineError, localError, remoteError } from "../errors.ts";
import type { Link } from "../transport/link.ts";
import {
  clipUtf8,
  CLOSE_CODE,
  CLOSE_REASON_BYTES_MAX,
  decodeLinkFrame,
  encodeLinkFrame,
  type ForwardFrame,
  isLinkFrameType,
  LINK_FRAME,
  peekFrameType,
} from "../wire/link-frames.ts";
import { type HandshakeConfig, runHandshake } from "./handshake.ts";
import { Inbox } from "./inbox.ts";
import type { LinkHandle, NodeEventMap } from "./node-types.ts";
import { CONGESTION_POLL_MS, type DriverSettings, monotonicNow, randomBytes } from "./settings.ts";

/** What the driver knows about one link, from its first byte to its close. */
export interface LinkEntry {
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
  /** Frames received that wait for a turn of the event loop (`inbox.ts`), once the link is up. */
  inbox: Inbox | null;
}


/** What the links need from the node they belong to. */
export interface LinksHost {
  readonly engine: Engine;
  readonly keyPair: KeyPair;
  readonly suite: SignatureSuite;
  readonly driver: DriverSettings;
  /** Whether the node has closed. */
  closed(): boolean;
  /** Moves the engine's output after an input. */
  pump(): void;
  /** Dispatches a node event. */
  emit<K extends "link" | "direct" | "congestion">(type: K, detail: NodeEventMap[K]): void;
  /** Dispatches a `penalty` event (the handshake's faults; the engine reports its own). */
  penalty(link: LinkId, peer: Uint8Array | null, code: string, message: string): void;
}

/** Every link of one node. */
export class Links {
  readonly #host: LinksHost;
  readonly table = new Map<LinkId, LinkEntry>();
  #nextId = 1;
  /** Bytes of frames received and sent on every link since the node started (handshakes not counted). */
  bytesIn = 0;
  bytesOut = 0;

  constructor(host: LinksHost) {
    this.#host = host;
  }

  /**
   * A FORWARD from this node to `peerId` (key `to`): over a direct link to it if there is one, else
   * over every link. Returns whether it went out on any. Throws `RangeError` past `frameBytesMax`.
   */
  forward(peerId: string, to: Uint8Array, payload: Uint8Array): boolean {
    const bytes = encodeLinkFrame({ type: LINK_FRAME.FORWARD, to, from: this.#host.engine.id, hops: 0, payload });
    const max = this.#host.engine.options.frameBytesMax;
    if (bytes.length > max) throw new RangeError(`sendTo: a FORWARD of ${bytes.length} bytes exceeds frameBytesMax ${max}`);
    const up = this.up();
    const direct = up.find((e) => e.peerText === peerId);
    const targets = direct ? [direct] : up;
    for (const entry of targets) this.send(entry, bytes);
    return targets.length > 0;
  }

  /** Whether a frame received on any link waits for its turn (`inbox.ts`). */
  framesWaiting(): boolean {
    for (const e of this.table.values()) if ((e.inbox?.size ?? 0) > 0) return true;
    return false;
  }

  /** Links whose handshake is done and that are not down. */
  up(): LinkEntry[] {
    return [...this.table.values()].filter((e) => e.up);
  }

  /** Runs the handshake on a new link, then attaches it (see `GrapevineNode.connect`). */
  async connect(link: Link, expectedPeer: Uint8Array | null, client = false): Promise<LinkHandle> {
    const entry = this.newEntry(link);
    try {
      // Attached as the handshake ends, in the same task and within the thread's slice.
      return await runHandshake(link, this.handshakeConfig(entry, expectedPeer), (result) => {
        if (this.#host.closed()) {
          this.linkGone(entry, "node closed");
          link.close("node closed");
          throw localError("LINK_CLOSED", "node closed during the handshake");
        }
        const handle = this.attach(entry, result.peer, false, result.admittedUntilMs, client);
        for (const bytes of result.early) entry.inbox!.receive(bytes);
        if (result.lateClose !== null) {
          entry.inbox!.flush();
          this.linkGone(entry, result.lateClose);
        }
        return handle;
      });
    } catch (e) {
      this.linkGone(entry, e instanceof Error ? e.message : String(e));
      throw e;
    }
  }

  /** Makes an authenticated link part of the mesh: the engine hears of it and gossip starts. */
  attach(entry: LinkEntry, peer: Uint8Array, resumed = false, admittedUntilMs: number | null = null, client = false): LinkHandle {
    const link = entry.link;
    entry.peer = peer;
    entry.peerText = nodeIdToText(peer);
    entry.up = true;
    const inbox = entry.inbox = new Inbox((bytes) => this.onFrame(entry, bytes), this.#host.engine.options.frameBytesMax);
    link.onmessage = (bytes) => inbox.receive(bytes);
    link.onclose = (reason) => {
      inbox.flush(); // what the peer sent before it closed (a farewell) is handled first
      this.linkGone(entry, entry.closeReason ?? reason);
    };
    this.#host.engine.linkUp(monotonicNow(), entry.id, peer, resumed, client);
    this.#host.pump();
    this.#host.emit("link", { peer: entry.peerText, link: entry.id, up: true });
    return {
      peer: entry.peerText,
      link: entry.id,
      admittedUntilMs,
      closed: entry.closed,
      close: (reason = "closed by application") => this.closeLink(entry, CLOSE_CODE.NORMAL, reason),
      get bytesIn() {
        return entry.bytesIn;
      },
      get bytesOut() {
        return entry.bytesOut;
      },
    };
  }


  newEntry(link: Link): LinkEntry {
    let resolveClosed!: (reason: string) => void;
    const closed = new Promise<string>((r) => (resolveClosed = r));
    const entry: LinkEntry = {
      id: this.#nextId++, link, peer: null, peerText: "", up: false, down: false, closeReason: null,
      congestedSince: null, poll: null, bytesIn: 0, bytesOut: 0, closed, resolveClosed, inbox: null,
    };
    this.table.set(entry.id, entry);
    return entry;
  }

  handshakeConfig(entry: LinkEntry, expectedPeer: Uint8Array | null): HandshakeConfig {
    const o = this.#host.engine.options;
    return {
      keyPair: this.#host.keyPair,
      suite: this.#host.suite,
      network: o.network,
      protocolVersion: PROTOCOL_VERSION,
      credential: this.#host.driver.credential,
      admission: this.#host.driver.admission,
      timeoutMs: this.#host.driver.handshakeTimeoutMs,
      frameBytesMax: o.frameBytesMax,
      expectedPeer,
      wallClock: () => Date.now(),
      random: randomBytes,
      earlyFramesMax: 64,
      earlyBytesMax: 2 * o.frameBytesMax,
      onPenalty: (code, message, peer) => this.#host.penalty(entry.id, peer, code, message),
    };
  }

  /** A frame from an authenticated link: link-layer types stay here, the rest go to the engine. */
  onFrame(entry: LinkEntry, bytes: Uint8Array): void {
    if (this.#host.closed() || entry.down) return;
    entry.bytesIn += bytes.length;
    this.bytesIn += bytes.length;
    if (isLinkFrameType(peekFrameType(bytes))) this.#onLinkFrame(entry, bytes);
    else this.#host.engine.receive(monotonicNow(), entry.id, bytes);
    this.#host.pump();
  }

  #onLinkFrame(entry: LinkEntry, bytes: Uint8Array): void {
    let frame;
    try {
      frame = decodeLinkFrame(bytes, this.#host.engine.options.frameBytesMax);
    } catch (e) {
      if (!(e instanceof GrapevineError)) throw e;
      this.penalize(entry, e);
      return;
    }
    switch (frame.type) {
      case LINK_FRAME.CLOSE:
        entry.closeReason = `closed by peer: ${frame.reason}`;
        this.linkGone(entry, entry.closeReason);
        entry.link.close(entry.closeReason);
        return;
      case LINK_FRAME.FORWARD:
        this.#onForward(entry, frame);
        return;
      case LINK_FRAME.HELLO:
      case LINK_FRAME.PROOF:
        this.penalize(entry, remoteError("WIRE_SHAPE", `${frame.type === LINK_FRAME.HELLO ? "HELLO" : "PROOF"} after the handshake`));
        return;
      default:
        return; // unknown link-layer types are ignored
    }
  }

  #onForward(entry: LinkEntry, f: ForwardFrame): void {
    // Only a relay may speak for someone else; a first hop must come from its sender.
    if (f.hops === 0 && !bytesEqual(f.from, entry.peer!)) {
      this.penalize(entry, remoteError("WIRE_SHAPE", "forward: hops is 0 but from is not the sending peer"));
      return;
    }
    if (!bytesEqual(f.to, this.#host.engine.id)) return; // not ours; relays route in their own link layer
    this.#host.emit("direct", { from: nodeIdToText(f.from), payload: f.payload });
  }

  /** A link-layer fault goes to the engine's ledger: one score per link, one threshold. */
  penalize(entry: LinkEntry, error: GrapevineError): void {
    this.#host.engine.penalize(monotonicNow(), entry.id, error);
  }

  /** Sends on an authenticated link, then checks its backlog (PROTOCOL.md §8.5). */
  send(entry: LinkEntry, bytes: Uint8Array): void {
    if (entry.down) return;
    try {
      entry.link.send(bytes);
    } catch (err) {
      if (!(err instanceof GrapevineError)) throw err;
      return;
    }
    entry.bytesOut += bytes.length;
    this.bytesOut += bytes.length;
    if (entry.congestedSince === null && entry.link.bufferedAmount > this.#host.driver.linkHighWaterBytes) this.#congested(entry);
  }

  #congested(entry: LinkEntry): void {
    const now = monotonicNow();
    entry.congestedSince = now;
    this.#host.engine.setLinkCongested(now, entry.id, true);
    this.#dispatchCongestion(entry, true);
    const every = Math.max(1, Math.min(CONGESTION_POLL_MS, this.#host.driver.linkCongestedCloseMs / 4));
    entry.poll = setInterval(() => this.#pollCongestion(entry), every);
    (entry.poll as { unref?: () => void }).unref?.();
  }

  #pollCongestion(entry: LinkEntry): void {
    if (entry.down || entry.congestedSince === null) return this.#stopPolling(entry);
    const now = monotonicNow();
    if (entry.link.bufferedAmount <= this.#host.driver.linkHighWaterBytes / 2) {
      this.#stopPolling(entry);
      entry.congestedSince = null;
      this.#host.engine.setLinkCongested(now, entry.id, false);
      this.#dispatchCongestion(entry, false);
      this.#host.pump();
    } else if (now - entry.congestedSince >= this.#host.driver.linkCongestedCloseMs) {
      this.closeLink(entry, CLOSE_CODE.CONGESTED, "peer not reading");
    }
  }

  #stopPolling(entry: LinkEntry): void {
    if (entry.poll !== null) clearInterval(entry.poll);
    entry.poll = null;
  }

  #dispatchCongestion(entry: LinkEntry, congested: boolean): void {
    this.#host.emit("congestion", { link: entry.id, peer: entry.peerText, congested, bufferedAmount: entry.link.bufferedAmount });
  }

  /** Closes an authenticated link for `reason`, telling the peer first. */
  closeLink(entry: LinkEntry, code: number, reason: string): void {
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
    this.linkGone(entry, reason);
    entry.link.close(wire);
  }

  /** The link is down: the engine forgets it and `closed` resolves. Runs once per link. */
  linkGone(entry: LinkEntry, reason: string): void {
    if (entry.down) return;
    entry.down = true;
    entry.inbox?.clear();
    this.#stopPolling(entry);
    this.table.delete(entry.id);
    entry.resolveClosed(reason);
    if (entry.up && !this.#host.closed()) {
      this.#host.engine.linkDown(monotonicNow(), entry.id);
      this.#host.pump();
      this.#host.emit("link", { peer: entry.peerText, link: entry.id, up: false });
    }
  }

}
