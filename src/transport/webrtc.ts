/**
 * A {@link Link} over one WebRTC `RTCDataChannel`. The `RTCPeerConnection` is the caller's: the
 * browser's own, or `node-datachannel/polyfill`'s on Node (`RTCPeerConnection` is injected, never
 * looked up here). Signalling is not this module's job: see `src/runtime/direct.ts`.
 *
 * Binding (PROTOCOL.md §8.5): one ordered, reliable channel; a frame travels as one or more binary
 * messages of at most `chunkBytes`, each starting with one flag byte, `1` when more of the frame
 * follows and `0` on its last message (implementations cap messages at 16 KiB to 256 KiB; 16 KiB
 * passes everywhere). A text message, an empty message, an unknown flag, a frame growing past
 * `frameBytesMax`, or one arriving in more messages than {@link webrtcPartsMax} allows closes the
 * link before more is buffered. `bufferedAmount` is the channel's plus
 * what waits for the channel to open.
 *
 * Invariants: `onclose` fires exactly once, whether the channel closes, the peer connection fails
 * or stays disconnected past `disconnectedCloseMs`, or `close()` is called; closing the link
 * closes the channel and the peer connection, so a link never leaks its `RTCPeerConnection`.
 *
 * @module
 */

import { localError } from "../errors.ts";
import type { Link } from "./link.ts";

/**
 * The part of an `RTCDataChannel` this module uses (browsers' and node-datachannel's fit).
 *
 * @example
 * ```ts
 * const channel: RTCDataChannelLike = pc.createDataChannel("grapevine", { ordered: true });
 * ```
 */
export interface RTCDataChannelLike {
  binaryType: string;
  readonly label: string;
  readonly readyState: string;
  readonly bufferedAmount: number;
  send(data: Uint8Array<ArrayBuffer>): void;
  close(): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}

/** An ICE server (STUN or TURN), as `RTCPeerConnection` takes it. */
export interface RTCIceServerLike {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** A session description (`{ type: "offer" | "answer", sdp }`). */
export interface RTCSessionDescriptionLike {
  type: string;
  sdp?: string;
}

/** An ICE candidate as it travels in signalling. */
export interface RTCIceCandidateLike {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

/**
 * The part of an `RTCPeerConnection` the WebRTC links and {@link attachDirectLinks} use.
 *
 * @example
 * ```ts
 * const pc: RTCPeerConnectionLike = new RTCPeerConnection({ iceServers: [{ urls: "stun:stun.example:3478" }] });
 * ```
 */
export interface RTCPeerConnectionLike {
  readonly connectionState: string;
  readonly localDescription: RTCSessionDescriptionLike | null;
  createDataChannel(label: string, init?: { ordered?: boolean }): RTCDataChannelLike;
  createOffer(): Promise<RTCSessionDescriptionLike>;
  createAnswer(): Promise<RTCSessionDescriptionLike>;
  setLocalDescription(description?: any): Promise<void>;
  setRemoteDescription(description: any): Promise<void>;
  addIceCandidate(candidate?: any): Promise<void>;
  close(): void;
  onicecandidate: ((event: any) => void) | null;
  ondatachannel: ((event: any) => void) | null;
  onconnectionstatechange: ((event: any) => void) | null;
}

/**
 * An `RTCPeerConnection` constructor: the browser's global, or `node-datachannel/polyfill`'s.
 *
 * @example
 * ```ts
 * import { RTCPeerConnection } from "node-datachannel/polyfill"; // Node
 * const Ctor: RTCPeerConnectionConstructor = RTCPeerConnection; // browsers: globalThis.RTCPeerConnection
 * ```
 */
export type RTCPeerConnectionConstructor = new (config?: { iceServers?: RTCIceServerLike[] }) => RTCPeerConnectionLike;

/**
 * Options of {@link webrtcLink}.
 *
 * @example
 * ```ts
 * webrtcLink(pc, channel, { frameBytesMax: 1 << 20, chunkBytes: 16_384 });
 * ```
 */
export interface WebRTCLinkOptions {
  /** Largest frame accepted, in bytes, counted as its messages arrive. Default 1 MiB. */
  frameBytesMax?: number;
  /**
   * Largest data channel message sent, in bytes, flag byte included. Default 16,384. A receiver
   * takes a frame in at most {@link webrtcPartsMax} messages, so below 513 a large frame may be refused.
   */
  chunkBytes?: number;
  /** Bytes that may wait for the channel to open; beyond, the link closes. Default 4 × frameBytesMax. */
  openQueueBytesMax?: number;
  /** A peer connection "disconnected" this long is given up (closed), in ms. Default 5,000. */
  disconnectedCloseMs?: number;
}

const FLAG_LAST = 0;
const FLAG_MORE = 1;

/**
 * The smallest part a sender is expected to split frames into, bytes: a frame of `frameBytesMax`
 * may arrive in `frameBytesMax / 512` messages (any frame in 16). Every message waiting for the rest
 * of its frame is a buffer of its own however small, so without a count a peer sending empty "more
 * follows" messages would make this end hold one object each, without end; senders use
 * `chunkBytes` of 16 KiB.
 */
export const WEBRTC_PART_BYTES_MIN = 512;

/** The messages one frame may arrive in, for a link that accepts frames of `frameBytesMax` bytes. */
export function webrtcPartsMax(frameBytesMax: number): number {
  return Math.max(16, Math.ceil(frameBytesMax / WEBRTC_PART_BYTES_MIN));
}

/**
 * Wraps a data channel (and the peer connection that owns it) as a {@link Link}. Takes over the
 * channel's `binaryType` and `on*` handlers and the connection's `onconnectionstatechange`.
 *
 * @example
 * ```ts
 * import { createNode, webrtcLink } from "grapevine";
 * const pc = new RTCPeerConnection();
 * const channel = pc.createDataChannel("grapevine", { ordered: true });
 * // … offer and answer exchanged through signalling …
 * const { peer } = await node.connect(webrtcLink(pc, channel), { peer: expectedId });
 * ```
 */
export function webrtcLink(pc: RTCPeerConnectionLike, channel: RTCDataChannelLike, options: WebRTCLinkOptions = {}): Link {
  return new WebRTCLink(pc, channel, options);
}

class WebRTCLink implements Link {
  onmessage: ((bytes: Uint8Array) => void) | null = null;
  onclose: ((reason: string) => void) | null = null;
  #pc: RTCPeerConnectionLike;
  #channel: RTCDataChannelLike;
  #frameBytesMax: number;
  #chunkBytes: number;
  /** Messages one frame may arrive in (`webrtcPartsMax`). */
  #partsMax: number;
  #queueBytesMax: number;
  #disconnectedCloseMs: number;
  #queue: Uint8Array<ArrayBuffer>[] = [];
  #queuedBytes = 0;
  #parts: Uint8Array[] = [];
  #partBytes = 0;
  #disconnectedTimer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;

  constructor(pc: RTCPeerConnectionLike, channel: RTCDataChannelLike, options: WebRTCLinkOptions) {
    const max = options.frameBytesMax ?? 1_048_576;
    const chunk = options.chunkBytes ?? 16_384;
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError("webrtcLink: frameBytesMax must be a positive integer");
    if (!Number.isSafeInteger(chunk) || chunk < 2) throw new RangeError("webrtcLink: chunkBytes must be an integer ≥ 2");
    this.#pc = pc;
    this.#channel = channel;
    this.#frameBytesMax = max;
    this.#partsMax = webrtcPartsMax(max);
    this.#chunkBytes = chunk;
    this.#queueBytesMax = options.openQueueBytesMax ?? 4 * max;
    this.#disconnectedCloseMs = options.disconnectedCloseMs ?? 5_000;
    channel.binaryType = "arraybuffer";
    channel.onopen = () => this.#flush();
    channel.onmessage = (event: { data: unknown }) => this.#onMessage(event.data);
    channel.onclose = () => this.#finish("data channel closed");
    channel.onerror = (event: { error?: { message?: string } }) => this.close(`data channel error${event?.error?.message ? `: ${event.error.message}` : ""}`);
    pc.onconnectionstatechange = () => this.#onState(pc.connectionState);
    if (channel.readyState === "closing" || channel.readyState === "closed") queueMicrotask(() => this.#finish("data channel already closed"));
    else this.#onState(pc.connectionState);
  }

  get bufferedAmount(): number {
    return this.#closed ? 0 : this.#channel.bufferedAmount + this.#queuedBytes;
  }

  send(bytes: Uint8Array): void {
    if (this.#closed || this.#channel.readyState === "closing" || this.#channel.readyState === "closed") {
      throw localError("LINK_CLOSED", "webrtc link is closed");
    }
    const open = this.#channel.readyState === "open";
    const room = this.#chunkBytes - 1;
    for (let at = 0; at < bytes.length || at === 0; at += room) {
      const end = Math.min(bytes.length, at + room);
      const message = new Uint8Array(1 + end - at);
      message[0] = end < bytes.length ? FLAG_MORE : FLAG_LAST;
      message.set(bytes.subarray(at, end), 1);
      if (open) this.#write(message);
      else this.#enqueue(message);
      if (end === bytes.length) break;
    }
  }

  close(reason = "closed"): void {
    if (this.#closed) return;
    try {
      this.#channel.close();
    } catch {
      // closed enough
    }
    this.#finish(reason);
  }

  #enqueue(message: Uint8Array<ArrayBuffer>): void {
    if (this.#queuedBytes + message.length > this.#queueBytesMax) {
      this.close(`more than ${this.#queueBytesMax} bytes queued before the data channel opened`);
      throw localError("LINK_BACKPRESSURE", "data channel never opened and its queue is full");
    }
    this.#queue.push(message);
    this.#queuedBytes += message.length;
  }

  #flush(): void {
    const queued = this.#queue;
    this.#queue = [];
    this.#queuedBytes = 0;
    if (this.#closed) return;
    try {
      for (const message of queued) this.#write(message);
    } catch {
      // #write closed the link
    }
  }

  /** Sends one message; a channel that refuses (closed under us) closes the link. */
  #write(message: Uint8Array<ArrayBuffer>): void {
    try {
      this.#channel.send(message);
    } catch (e) {
      this.close(`data channel send failed: ${e instanceof Error ? e.message : String(e)}`);
      throw localError("LINK_CLOSED", "webrtc link is closed", e);
    }
  }

  #onMessage(data: unknown): void {
    if (this.#closed) return;
    let bytes: Uint8Array;
    if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else return this.close("text messages are not part of the protocol");
    const flag = bytes[0];
    if (bytes.length === 0 || (flag !== FLAG_LAST && flag !== FLAG_MORE)) return this.close("malformed data channel message");
    const size = this.#partBytes + bytes.length - 1;
    if (size > this.#frameBytesMax) return this.close(`frame of more than ${this.#frameBytesMax} bytes exceeds frameBytesMax`);
    const body = bytes.subarray(1);
    if (flag === FLAG_MORE) {
      if (this.#parts.length + 1 >= this.#partsMax) return this.close(`frame in more than ${this.#partsMax} messages`);
      this.#parts.push(body.slice());
      this.#partBytes = size;
      return;
    }
    let frame = body;
    if (this.#parts.length > 0) {
      frame = new Uint8Array(size);
      let at = 0;
      for (const part of this.#parts) {
        frame.set(part, at);
        at += part.length;
      }
      frame.set(body, at);
      this.#parts = [];
      this.#partBytes = 0;
    }
    this.onmessage?.(frame);
  }

  #onState(state: string): void {
    if (this.#closed) return;
    if (state === "failed" || state === "closed") return this.close(`peer connection ${state}`);
    if (state === "disconnected") {
      this.#disconnectedTimer ??= setTimeout(() => this.close(`peer connection disconnected for ${this.#disconnectedCloseMs} ms`), this.#disconnectedCloseMs);
      return;
    }
    if (this.#disconnectedTimer !== null) clearTimeout(this.#disconnectedTimer);
    this.#disconnectedTimer = null;
  }

  #finish(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#disconnectedTimer !== null) clearTimeout(this.#disconnectedTimer);
    this.#disconnectedTimer = null;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#parts = [];
    this.#partBytes = 0;
    this.#channel.onmessage = null;
    this.#pc.onconnectionstatechange = null;
    try {
      this.#pc.close();
    } catch {
      // closed enough
    }
    this.onclose?.(reason);
  }
}
