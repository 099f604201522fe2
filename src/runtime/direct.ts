/**
 * Direct links: two nodes that reach each other only through a relay set up a WebRTC data channel
 * between them, and the relay only introduces them. Attach a {@link DirectLinks} manager to a node
 * with {@link attachDirectLinks}; the `RTCPeerConnection` constructor is injected (the browser's, or
 * `node-datachannel/polyfill`'s on Node).
 *
 * How (PROTOCOL.md §8.6): signalling payloads — WANT, OFFER, ANSWER, CANDIDATE, BYE — are signed
 * with the node's key (context kind 5, `signal`) and sent with `node.sendTo`, so relays carry them
 * but cannot forge or replay them. A node that wants more direct links sends WANT to a few peers it
 * knows (origins it holds state of) but holds no link to; a peer that wants one too answers. Of two
 * peers that both want, the one with the smaller id makes the offer. Once the data channel opens,
 * `node.connect(link, { peer })` runs the usual link handshake on it, so the channel is
 * authenticated exactly like a WebSocket link.
 *
 * Invariants: at most `max` sessions (probes, set-ups and live links together), so at most `max`
 * `RTCPeerConnection`s; at most one session per peer; a session that does not come up within
 * `setupTimeoutMs` is closed; every peer connection is closed when its link goes down, when the
 * node closes, and on `pagehide` of the given target. A peer linked (by any link) is never probed,
 * and a node at `max` probes nobody, so discovery traffic stops once linked. The relay path is
 * never torn down: while a direct link is set up, and after it drops, the peer stays reachable
 * through the relay, and the engine's anti-entropy and Plumtree repair (IHAVE/GRAFT) fill in
 * whatever was in flight on the direct link.
 *
 * @module
 */

import { bytesEqual, compareBytes, toHex } from "../bytes.ts";
import { nodeIdFromText, nodeIdToText } from "../crypto/identity.ts";
import { GrapevineError } from "../errors.ts";
import {
  type RTCDataChannelLike,
  type RTCIceServerLike,
  type RTCPeerConnectionConstructor,
  type RTCPeerConnectionLike,
  webrtcLink,
  type WebRTCLinkOptions,
} from "../transport/webrtc.ts";
import type { GrapevineNode } from "./node.ts";
import { positiveOption, type DirectEventMap, type DirectLinksOptions, type DirectLinksStats } from "./direct-options.ts";
import { TypedEventTarget } from "./node-events.ts";
import { newSession, randomSession, type Session } from "./direct-session.ts";
import {
  decodeSignal,
  decodeSignalBody,
  encodeSignal,
  encodeSignalBody,
  looksLikeSignal,
  SIGNAL,
  type SignalBody,
  type SignalCandidate,
} from "./signal.ts";

export type { DirectLinksOptions, DirectLinksStats } from "./direct-options.ts";

const CHANNEL_LABEL = "grapevine";
/** Candidates kept for a session whose remote description is not set yet. */
const EARLY_CANDIDATES_MAX = 32;
/** Signals waiting to be verified; beyond, new ones are dropped. */
const INBOX_MAX = 64;
/** Signal signatures remembered against replay (within `signalTtlMs`). */
const SEEN_MAX = 1_024;
/** Peers whose retry delay is remembered. */
const RETRY_MAX_PEERS = 1_024;

/**
 * Attaches a {@link DirectLinks} manager to `node`: from now on it tries to link directly (WebRTC)
 * to peers it reaches only through relays, up to `max`, when those peers want it too.
 *
 * @example
 * ```ts
 * import { attachDirectLinks, createNode, dial } from "grapevine";
 * const node = await createNode({ network: "lobby" });
 * dial(node, "wss://relay.example/");
 * const direct = attachDirectLinks(node, { RTCPeerConnection, max: 4, pageHide: window });
 * direct.on("direct-up", ({ peer }) => console.log("direct link to", peer));
 * ```
 */
export function attachDirectLinks(node: GrapevineNode, options: DirectLinksOptions): DirectLinks {
  return new DirectLinks(node, options);
}

/**
 * Sets up and keeps WebRTC links for one node (see the module doc). Events ({@link DirectEventMap}):
 * `direct-up` (`{ peer }`), `direct-down` (a direct link went down: `{ peer, reason }`),
 * `direct-failed` (an attempt or probe ended before its link was up: `{ peer, reason }`).
 */
export class DirectLinks extends TypedEventTarget<DirectEventMap> {
  readonly node: GrapevineNode;
  readonly max: number;
  #ctor: RTCPeerConnectionConstructor;
  #iceServers: RTCIceServerLike[];
  #answerTimeoutMs: number;
  #setupTimeoutMs: number;
  #retryMinMs: number;
  #retryMaxMs: number;
  #signalTtlMs: number;
  #accept: (peer: string) => boolean;
  #linkOptions: WebRTCLinkOptions;
  #wallClock: () => number;
  #sessions = new Map<string, Session>();
  #retry = new Map<string, { failures: number; at: number }>();
  #seen = new Map<string, number>();
  #inbox: Promise<void> = Promise.resolve();
  #inboxSize = 0;
  #timer: ReturnType<typeof setInterval>;
  #closed = false;
  #onDirect = (e: Event) => this.#receive((e as CustomEvent<{ from: string; payload: Uint8Array }>).detail);
  #onClose = () => this.close();
  /** Peers membership wants a link to and cannot dial (no URL): tried first at the next probe. */
  #wanted = new Set<string>();
  #onWantLink = (e: Event) => {
    const { peer, url } = (e as CustomEvent<{ peer: string; url: string | null }>).detail;
    if (url === null && this.#wanted.size < RETRY_MAX_PEERS) this.#wanted.add(peer);
  };
  #pageHide: EventTarget | null;
  #counts = { attempts: 0, established: 0, failed: 0, created: 0, sent: 0, received: 0, dropped: 0 };
  #directBytes = { in: 0, out: 0 };
  #startTraffic: { bytesIn: number; bytesOut: number };

  /** @internal Use {@link attachDirectLinks}. */
  constructor(node: GrapevineNode, options: DirectLinksOptions) {
    super();
    if (typeof options?.RTCPeerConnection !== "function") throw new TypeError("attachDirectLinks: options.RTCPeerConnection must be a constructor");
    const max = options.max ?? 4;
    if (!Number.isSafeInteger(max) || max < 0) throw new RangeError("attachDirectLinks: max must be a non-negative integer");
    this.node = node;
    this.max = max;
    this.#ctor = options.RTCPeerConnection;
    this.#iceServers = [...(options.iceServers ?? [])];
    this.#answerTimeoutMs = positiveOption(options.answerTimeoutMs, 5_000, "answerTimeoutMs");
    this.#setupTimeoutMs = positiveOption(options.setupTimeoutMs, 20_000, "setupTimeoutMs");
    this.#retryMinMs = positiveOption(options.retryMinMs, 2_000, "retryMinMs");
    this.#retryMaxMs = positiveOption(options.retryMaxMs, 60_000, "retryMaxMs");
    this.#signalTtlMs = positiveOption(options.signalTtlMs, 30_000, "signalTtlMs");
    this.#accept = options.accept ?? (() => true);
    this.#linkOptions = { ...options.link, frameBytesMax: node.options.frameBytesMax };
    this.#wallClock = options.wallClock ?? (() => Date.now());
    this.#startTraffic = node.traffic();
    node.addEventListener("direct", this.#onDirect);
    node.addEventListener("close", this.#onClose);
    node.addEventListener("want-link", this.#onWantLink);
    this.#pageHide = options.pageHide ?? null;
    this.#pageHide?.addEventListener("pagehide", this.#onClose);
    this.#timer = setInterval(() => this.#probe(), positiveOption(options.probeIntervalMs, 1_000, "probeIntervalMs"));
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /**
   * Whether a `direct` event's payload is WebRTC signalling (handled here) rather than the
   * application's own: `node.sendTo` payloads share that event.
   *
   * @example
   * ```ts
   * node.on("direct", ({ payload }) => {
   *   if (!DirectLinks.isSignal(payload)) handle(payload);
   * });
   * ```
   */
  static isSignal(payload: Uint8Array): boolean {
    return looksLikeSignal(payload);
  }

  /** Peers linked directly now. */
  peers(): string[] {
    return [...this.#sessions.values()].filter((s) => s.up).map((s) => s.peer);
  }

  /** Counters and gauges; see {@link DirectLinksStats}. */
  stats(): DirectLinksStats {
    const up = this.peers();
    let live = { in: 0, out: 0 };
    let open = 0;
    for (const s of this.#sessions.values()) {
      if (s.pc) open++;
      if (s.handle) live = { in: live.in + s.handle.bytesIn, out: live.out + s.handle.bytesOut };
    }
    const direct = { in: this.#directBytes.in + live.in, out: this.#directBytes.out + live.out };
    const total = this.node.traffic();
    const linked = new Set(this.node.peers());
    const relayed = this.node.origins().filter((o) => o !== this.node.id && !linked.has(o)).length;
    const c = this.#counts;
    return {
      links: { websocket: this.node.linkCount - up.length, webrtc: up.length, relayed },
      bytes: {
        direct,
        relay: { in: total.bytesIn - this.#startTraffic.bytesIn - direct.in, out: total.bytesOut - this.#startTraffic.bytesOut - direct.out },
      },
      peerConnections: { open, created: c.created },
      attempts: c.attempts,
      established: c.established,
      failed: c.failed,
      signals: { sent: c.sent, received: c.received, dropped: c.dropped },
    };
  }

  /** Closes every direct link and peer connection and stops; the node and its other links go on. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.node.removeEventListener("direct", this.#onDirect);
    this.node.removeEventListener("close", this.#onClose);
    this.node.removeEventListener("want-link", this.#onWantLink);
    this.#pageHide?.removeEventListener("pagehide", this.#onClose);
    for (const s of [...this.#sessions.values()]) this.#end(s, "direct links closed", { retry: false, tell: !s.up });
  }

  // ------------------------------------------------------------------ discovery

  /** Expires stuck sessions, then probes a few peers reachable only through relays. */
  #probe(): void {
    if (this.#closed) return;
    const now = performance.now();
    for (const s of [...this.#sessions.values()]) {
      if (!s.up && now > s.deadline) this.#end(s, s.role === "want" ? "no answer" : "set-up timed out", { retry: true, tell: s.role !== "want" });
    }
    let slots = this.max - this.#sessions.size;
    if (slots <= 0 || this.node.linkCount === 0) return; // no relay to reach anyone through
    const linked = new Set(this.node.peers());
    // Known peers: origins whose state we hold, and members membership believes alive; never
    // members it believes dead or gone (a reloaded page's old id, a crashed peer).
    const known = new Set(this.node.origins());
    for (const m of this.node.members()) if (m.state === "alive") known.add(m.id);
    const candidates = [...known].filter((p) => {
      if (p === this.node.id || linked.has(p) || this.#sessions.has(p) || (this.#retry.get(p)?.at ?? 0) > now) return false;
      const state = this.node.memberState(p);
      return state !== "dead" && state !== "left" && this.#accept(p);
    });
    for (let i = candidates.length - 1; i > 0; i--) {
      const j = crypto.getRandomValues(new Uint32Array(1))[0] % (i + 1);
      [candidates[i], candidates[j]] = [candidates[j], candidates[i]];
    }
    // Peers membership asked a link to (its active view is short) go first.
    candidates.sort((x, y) => Number(this.#wanted.has(y)) - Number(this.#wanted.has(x)));
    this.#wanted.clear();
    for (const peer of candidates) {
      if (slots-- <= 0) break;
      const s = this.#newSession(peer, "want", randomSession(), this.#answerTimeoutMs);
      this.#signal(s, { type: SIGNAL.WANT });
    }
  }

  #newSession(peer: string, role: Session["role"], id: Uint8Array, timeoutMs: number): Session {
    const s = newSession(peer, role, id, timeoutMs);
    this.#sessions.set(peer, s);
    return s;
  }

  // ------------------------------------------------------------------ signalling out

  /** Signs and sends one signal for session `s`, after the ones before it. */
  #signal(s: Session, what: { type: typeof SIGNAL.WANT } | { type: typeof SIGNAL.OFFER | typeof SIGNAL.ANSWER; sdp: string } | { type: typeof SIGNAL.CANDIDATE; candidate: SignalCandidate } | { type: typeof SIGNAL.BYE; reason: string }): void {
    const body = encodeSignalBody({ from: this.node.publicKey, to: s.key, sentAtMs: Math.floor(this.#wallClock()), session: s.id, ...what } as SignalBody);
    s.outbox = s.outbox.then(async () => {
      const signature = await this.node.signSignal(body);
      if (this.#closed && what.type !== SIGNAL.BYE) return;
      try {
        if (this.node.sendTo(s.peer, encodeSignal(body, signature))) this.#counts.sent++;
      } catch (e) {
        if (!(e instanceof GrapevineError)) throw e; // node closed
      }
    }).catch(() => {});
  }

  // ------------------------------------------------------------------ signalling in

  #receive(detail: { from: string; payload: Uint8Array }): void {
    if (this.#closed || !looksLikeSignal(detail.payload)) return;
    if (this.#inboxSize >= INBOX_MAX) {
      this.#counts.dropped++;
      return;
    }
    this.#inboxSize++;
    this.#inbox = this.#inbox.then(() => this.#verified(detail)).catch(() => {
      this.#counts.dropped++;
    }).finally(() => {
      this.#inboxSize--;
    });
  }

  /** Checks a signal (shape, addressing, freshness, replay, signature), then acts on it. */
  async #verified(detail: { from: string; payload: Uint8Array }): Promise<void> {
    const { body: bytes, signature } = decodeSignal(detail.payload);
    const body = decodeSignalBody(bytes);
    const wall = this.#wallClock();
    const sigHex = toHex(signature);
    if (
      !bytesEqual(body.to, this.node.publicKey) || nodeIdToText(body.from) !== detail.from ||
      Math.abs(wall - body.sentAtMs) > this.#signalTtlMs || this.#seen.has(sigHex) ||
      !(await this.node.verifySignal(body.from, bytes, signature))
    ) {
      this.#counts.dropped++;
      return;
    }
    this.#remember(sigHex, wall);
    this.#counts.received++;
    if (this.#closed) return;
    await this.#handle(detail.from, body);
  }

  #remember(sigHex: string, wall: number): void {
    this.#seen.set(sigHex, wall);
    if (this.#seen.size <= SEEN_MAX) return;
    for (const [k, at] of this.#seen) {
      if (this.#seen.size > SEEN_MAX || wall - at > 2 * this.#signalTtlMs) this.#seen.delete(k);
      else break;
    }
  }

  async #handle(peer: string, b: SignalBody): Promise<void> {
    const s = this.#sessions.get(peer);
    const same = s !== undefined && bytesEqual(s.id, b.session);
    switch (b.type) {
      case SIGNAL.WANT:
        return this.#onWant(peer, b.session, s);
      case SIGNAL.OFFER:
        return this.#onOffer(peer, b.session, b.sdp, s);
      case SIGNAL.ANSWER:
        if (!same || s.role !== "offer" || s.remoteSet || !s.pc) return void this.#counts.dropped++;
        await s.pc.setRemoteDescription({ type: "answer", sdp: b.sdp });
        await this.#remoteSet(s);
        return;
      case SIGNAL.CANDIDATE:
        if (!same || !s.pc) return void this.#counts.dropped++;
        if (!s.remoteSet) {
          if (s.candidates.length < EARLY_CANDIDATES_MAX) s.candidates.push(b.candidate);
          return;
        }
        await s.pc.addIceCandidate(b.candidate).catch(() => {});
        return;
      case SIGNAL.BYE:
        if (!same || s.up) return void this.#counts.dropped++;
        this.#end(s, `refused by peer: ${b.reason}`, { retry: true, tell: false });
        return;
    }
  }

  #offerer(peerKey: Uint8Array): boolean {
    return compareBytes(this.node.publicKey, peerKey) < 0;
  }

  #onWant(peer: string, session: Uint8Array, s: Session | undefined): void {
    if (!this.#accept(peer)) return;
    if (s && !s.up && s.role !== "want") return; // a set-up is under way
    if (s?.up) this.#end(s, "peer asked for a new direct link", { retry: false, tell: false }); // it lost the old one
    else if (!s && this.#sessions.size >= this.max) return this.#bye(peer, session, "busy");
    const key = nodeIdFromText(peer);
    if (this.#offerer(key)) {
      const mine = this.#sessions.get(peer);
      if (mine) this.#sessions.delete(peer), (mine.ended = true);
      void this.#startOffer(peer);
    } else if (!this.#sessions.has(peer)) {
      // The peer makes the offer; tell it we want one too.
      this.#signal(this.#newSession(peer, "want", randomSession(), this.#answerTimeoutMs), { type: SIGNAL.WANT });
    }
  }

  async #startOffer(peer: string): Promise<void> {
    const s = this.#newSession(peer, "offer", randomSession(), this.#setupTimeoutMs);
    const pc = this.#peerConnection(s);
    const channel = pc.createDataChannel(CHANNEL_LABEL, { ordered: true });
    this.#attach(s, pc, channel);
    try {
      await pc.setLocalDescription(await pc.createOffer());
      if (s.ended) return;
      this.#describe(s, SIGNAL.OFFER, pc.localDescription!.sdp!);
    } catch (e) {
      this.#end(s, `offer failed: ${e instanceof Error ? e.message : String(e)}`, { retry: true, tell: true });
    }
  }

  async #onOffer(peer: string, session: Uint8Array, sdp: string, s: Session | undefined): Promise<void> {
    if (!this.#accept(peer)) return;
    if (s && s.role === "offer" && !s.up) return; // both offered: the smaller id's offer wins
    if (s && bytesEqual(s.id, session)) return; // already answered
    if (s) this.#end(s, "peer restarted the set-up", { retry: false, tell: false });
    else if (this.#sessions.size >= this.max) return this.#bye(peer, session, "busy");
    const a = this.#newSession(peer, "answer", session, this.#setupTimeoutMs);
    const pc = this.#peerConnection(a);
    pc.ondatachannel = (event: { channel: RTCDataChannelLike }) => {
      if (a.link || event.channel.label !== CHANNEL_LABEL) return event.channel.close();
      this.#attach(a, pc, event.channel);
    };
    try {
      await pc.setRemoteDescription({ type: "offer", sdp });
      await this.#remoteSet(a);
      if (a.ended) return;
      await pc.setLocalDescription(await pc.createAnswer());
      if (a.ended) return;
      this.#describe(a, SIGNAL.ANSWER, pc.localDescription!.sdp!);
    } catch (e) {
      this.#end(a, `answer failed: ${e instanceof Error ? e.message : String(e)}`, { retry: true, tell: true });
    }
  }

  /** Sends our offer or answer, then the candidates gathered meanwhile: the peer needs them in that order. */
  #describe(s: Session, type: typeof SIGNAL.OFFER | typeof SIGNAL.ANSWER, sdp: string): void {
    this.#signal(s, { type, sdp });
    for (const candidate of s.gathered ?? []) this.#signal(s, { type: SIGNAL.CANDIDATE, candidate });
    s.gathered = null;
  }

  async #remoteSet(s: Session): Promise<void> {
    s.remoteSet = true;
    for (const c of s.candidates.splice(0)) await s.pc?.addIceCandidate(c).catch(() => {});
  }

  #bye(peer: string, session: Uint8Array, reason: string): void {
    const s = { peer, key: nodeIdFromText(peer), id: session, outbox: Promise.resolve() } as Session;
    this.#signal(s, { type: SIGNAL.BYE, reason });
  }

  // ------------------------------------------------------------------ peer connections and links

  #peerConnection(s: Session): RTCPeerConnectionLike {
    this.#counts.attempts++;
    this.#counts.created++;
    const pc = new this.#ctor({ iceServers: this.#iceServers });
    s.pc = pc;
    // Until a link owns the connection (and watches it), a failed connection ends the attempt here.
    pc.onconnectionstatechange = () => {
      const state = pc.connectionState;
      if (!s.link && (state === "failed" || state === "closed")) this.#end(s, `peer connection ${state}`, { retry: true, tell: true });
    };
    pc.onicecandidate = (event: { candidate?: { candidate?: string; sdpMid?: string | null; sdpMLineIndex?: number | null } | null }) => {
      const c = event.candidate;
      if (!c?.candidate || s.ended) return;
      const candidate = { candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null };
      if (s.gathered) {
        if (s.gathered.length < EARLY_CANDIDATES_MAX) s.gathered.push(candidate);
      } else this.#signal(s, { type: SIGNAL.CANDIDATE, candidate });
    };
    return pc;
  }

  /** Wraps the channel as a link and runs the handshake on it, expecting `s.peer`. */
  #attach(s: Session, pc: RTCPeerConnectionLike, channel: RTCDataChannelLike): void {
    const link = webrtcLink(pc, channel, this.#linkOptions);
    s.link = link;
    this.node.connect(link, { peer: s.peer }).then(
      (handle) => {
        if (s.ended) return handle.close("direct link no longer wanted");
        s.up = true;
        s.handle = handle;
        s.deadline = Infinity;
        this.#retry.delete(s.peer);
        this.#counts.established++;
        this.dispatchEvent(new CustomEvent("direct-up", { detail: { peer: s.peer } }));
        handle.closed.then((reason) => this.#end(s, reason, { retry: true, tell: false }));
      },
      // The peer may not know yet (its end of the channel may never have opened): tell it.
      (e) => this.#end(s, e instanceof Error ? e.message : String(e), { retry: true, tell: true }),
    );
  }

  /** Ends a session: closes its link and peer connection, and schedules the next try of this peer. */
  #end(s: Session, reason: string, how: { retry: boolean; tell: boolean }): void {
    if (s.ended) return;
    s.ended = true;
    if (this.#sessions.get(s.peer) === s) this.#sessions.delete(s.peer);
    if (how.tell && !this.#closed) this.#signal(s, { type: SIGNAL.BYE, reason: reason.slice(0, 100) });
    if (s.handle) {
      this.#directBytes.in += s.handle.bytesIn;
      this.#directBytes.out += s.handle.bytesOut;
      s.handle.close(reason.slice(0, 100));
    } else if (s.link) s.link.close(reason);
    try {
      s.pc?.close();
    } catch {
      // closed enough
    }
    if (!s.up && s.pc) this.#counts.failed++;
    if (!s.up) this.dispatchEvent(new CustomEvent("direct-failed", { detail: { peer: s.peer, reason: `${s.role}: ${reason}` } }));
    s.pc = null;
    if (s.up) this.dispatchEvent(new CustomEvent("direct-down", { detail: { peer: s.peer, reason } }));
    if (how.retry) this.#scheduleRetry(s.peer, s.up);
  }

  #scheduleRetry(peer: string, wasUp: boolean): void {
    const failures = wasUp ? 0 : (this.#retry.get(peer)?.failures ?? 0) + 1;
    const delay = Math.min(this.#retryMaxMs, this.#retryMinMs * 2 ** Math.max(0, failures - 1));
    const jitter = 0.5 + crypto.getRandomValues(new Uint32Array(1))[0] / 2 ** 33; // 0.5..1
    this.#retry.delete(peer);
    this.#retry.set(peer, { failures, at: performance.now() + delay * jitter });
    if (this.#retry.size > RETRY_MAX_PEERS) this.#retry.delete(this.#retry.keys().next().value!);
  }
}
