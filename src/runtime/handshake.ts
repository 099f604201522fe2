/**
 * The link handshake: runs on any {@link Link} before the engine sees it, and ends with the link
 * authenticated (both sides proved they hold the key they announced, for this network and protocol
 * version, and each admitted the other) or closed with a reason.
 *
 * Both sides send HELLO at once. On the peer's HELLO a side checks version, network, identity and
 * admission, then signs the peer's nonce and its own and the peer's keys and sends PROOF. On the
 * peer's PROOF it verifies the signature. The link is authenticated when our PROOF is sent and the
 * peer's has verified. A side that finishes first starts gossiping at once, so frames arriving
 * after the peer's PROOF, while our verdict is still being computed, are kept (bounded) and handed
 * to the driver with the result.
 *
 * Any failure sends CLOSE with a reason (unless the link is already gone or the peer closed it),
 * closes the link and rejects with a `GrapevineError` `LINK_CLOSED` carrying the reason.
 *
 * The handshake's work takes its turn in this thread's time slice (`slice.ts`), as a linked
 * peer's frames do: when a hundred peers link at once, our HELLOs, the handling of theirs (each a
 * signature to make), their PROOFs and the attaching of each authenticated link (the node's first
 * frames to it) run a slice at a time, with timers and other I/O in between, instead of in one
 * stretch.
 *
 * @module
 */

import { bytesEqual } from "../bytes.ts";
import { nodeIdToText } from "../crypto/identity.ts";
import type { KeyPair, SignatureSuite } from "../crypto/types.ts";
import { type ErrorCode, GrapevineError } from "../errors.ts";
import type { Link } from "../transport/link.ts";
import {
  clipUtf8,
  CLOSE_CODE,
  CLOSE_REASON_BYTES_MAX,
  type CredentialWire,
  decodeLinkFrame,
  encodeLinkFrame,
  handshakeSigningBytes,
  type HelloFrame,
  isLinkFrameType,
  LINK_FRAME,
  peekFrameType,
} from "../wire/link-frames.ts";
import { credentialProblem } from "./credential.ts";
import { Inbox } from "./inbox.ts";
import { ownTurn } from "./slice.ts";

/** Who may link to this node. Without a policy, anyone who proves its key is admitted. */
export interface AdmissionPolicy {
  /** Node ids admitted by name. */
  allow: ReadonlySet<string> | null;
  /** Key of an authority whose credentials admit their holders. */
  authority: Uint8Array | null;
}

/** Everything one handshake needs; the driver builds it from the node's options. */
export interface HandshakeConfig {
  keyPair: KeyPair;
  suite: SignatureSuite;
  network: string;
  protocolVersion: number;
  /** Our own credential, shown in HELLO. */
  credential: CredentialWire | null;
  admission: AdmissionPolicy | null;
  timeoutMs: number;
  frameBytesMax: number;
  /** When set, only this peer is accepted. */
  expectedPeer: Uint8Array | null;
  /** Wall-clock milliseconds since the epoch, for credential expiry. */
  wallClock: () => number;
  random: (n: number) => Uint8Array;
  /** Frames kept between the peer's PROOF and our verdict, at most (count and bytes). */
  earlyFramesMax: number;
  earlyBytesMax: number;
  /** Called when the peer provably misbehaved (a PROOF that does not verify). */
  onPenalty?: (code: ErrorCode, message: string, peer: Uint8Array | null) => void;
}

/** What a finished handshake hands to the driver. */
export interface HandshakeResult {
  /** The authenticated peer's public key. */
  peer: Uint8Array;
  /**
   * Frames that arrived after the peer's PROOF, in order. The handshake keeps appending to this
   * array until the driver installs its own `onmessage`.
   */
  early: Uint8Array[];
  /** Set if the link closed after the handshake resolved but before the driver took it over. */
  lateClose: string | null;
  /**
   * When an authority's credential admitted the peer (and the allow-list did not): the credential's
   * expiry (wall-clock ms since the epoch). Null when the peer was admitted by name or no
   * admission is configured.
   */
  admittedUntilMs: number | null;
}

type Step = "hello" | "proving" | "done" | "failed";

/**
 * Runs the handshake on `link`. Resolves once the link is authenticated; rejects with a
 * `GrapevineError` `LINK_CLOSED` (the reason in its message) after closing the link.
 *
 * `attach`, if given, takes the link over as the handshake ends, in the same task (so no frame
 * can come between): the promise resolves with what it returns, or rejects with what it throws.
 *
 * @example
 * ```ts
 * const { peer, early } = await runHandshake(link, config);
 * link.onmessage = myHandler; // take the link over, then replay `early`
 * ```
 */
export function runHandshake(link: Link, config: HandshakeConfig): Promise<HandshakeResult>;
export function runHandshake<T>(link: Link, config: HandshakeConfig, attach: (result: HandshakeResult) => T): Promise<T>;
export function runHandshake<T>(link: Link, config: HandshakeConfig, attach?: (result: HandshakeResult) => T): Promise<T | HandshakeResult> {
  return new Handshake<T | HandshakeResult>(link, config, attach ?? ((r) => r)).promise;
}

class Handshake<T> {
  readonly promise: Promise<T>;
  #link: Link;
  #c: HandshakeConfig;
  #attach: (result: HandshakeResult) => T;
  #nonce: Uint8Array;
  #step: Step = "hello";
  #peer: HelloFrame | null = null;
  #proofSent = false;
  #peerProven = false;
  #proofReceived = false;
  #helloSent = false;
  /** The end is due (both proofs are in): it waits for a share of a turn. */
  #ending = false;
  #result: HandshakeResult = { peer: new Uint8Array(32), early: [], lateClose: null, admittedUntilMs: null };
  #earlyBytes = 0;
  /** Frames received before the end, handled within the thread's slice. */
  #inbox: Inbox;
  #timer: ReturnType<typeof setTimeout>;
  #resolve!: (r: T) => void;
  #reject!: (e: unknown) => void;

  constructor(link: Link, config: HandshakeConfig, attach: (result: HandshakeResult) => T) {
    this.#link = link;
    this.#c = config;
    this.#attach = attach;
    this.#nonce = config.random(32);
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#inbox = new Inbox((bytes) => this.#onFrame(bytes), config.frameBytesMax);
    // Once done, frames go straight to `early` (and nothing waits in the inbox: the end flushed it).
    link.onmessage = (bytes) => (this.#step === "done" ? this.#keepEarly(bytes) : this.#inbox.receive(bytes));
    link.onclose = (reason) => this.#onClose(reason);
    this.#timer = setTimeout(() => this.#fail(CLOSE_CODE.TIMEOUT, `handshake timeout after ${config.timeoutMs} ms`), config.timeoutMs);
    (this.#timer as { unref?: () => void }).unref?.();
    ownTurn(() => this.#sendHello());
  }

  /** Our HELLO, once: on its turn, or before anything answers the peer's HELLO (so before our PROOF). */
  #sendHello(): void {
    if (this.#helloSent || this.#isOver()) return;
    this.#helloSent = true;
    const c = this.#c;
    this.#send(encodeLinkFrame({
      type: LINK_FRAME.HELLO, protocolVersion: c.protocolVersion, network: c.network,
      nonce: this.#nonce, publicKey: c.keyPair.publicKey, credential: c.credential,
    }));
  }

  #onFrame(bytes: Uint8Array): void {
    if (this.#step === "failed") return;
    if (this.#step === "done" || (this.#proofReceived && peekFrameType(bytes) !== LINK_FRAME.CLOSE)) {
      this.#keepEarly(bytes);
      return;
    }
    const type = peekFrameType(bytes);
    if (!isLinkFrameType(type)) {
      this.#fail(CLOSE_CODE.PROTOCOL, `unexpected frame before the handshake finished (type ${type ?? "unreadable"})`);
      return;
    }
    let frame;
    try {
      frame = decodeLinkFrame(bytes, this.#c.frameBytesMax);
    } catch (e) {
      this.#fail(CLOSE_CODE.PROTOCOL, `bad handshake frame: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    switch (frame.type) {
      case LINK_FRAME.HELLO:
        return this.#onHello(frame);
      case LINK_FRAME.PROOF:
        return this.#onProof(frame.signature);
      case LINK_FRAME.CLOSE:
        return this.#fail(frame.code, `closed by peer: ${frame.reason}`, false);
      case LINK_FRAME.FORWARD:
        return this.#fail(CLOSE_CODE.PROTOCOL, "FORWARD before the handshake finished");
      default:
        return; // an unknown link-layer frame: a newer peer may send some
    }
  }

  #keepEarly(bytes: Uint8Array): void {
    const r = this.#result;
    this.#earlyBytes += bytes.length;
    // Past the verdict nothing is capped: the driver takes over within the same task.
    if (this.#step !== "done" && (r.early.length >= this.#c.earlyFramesMax || this.#earlyBytes > this.#c.earlyBytesMax)) {
      this.#fail(CLOSE_CODE.PROTOCOL, "too many frames before the handshake finished");
      return;
    }
    r.early.push(bytes);
  }

  #onHello(hello: HelloFrame): void {
    this.#sendHello();
    const c = this.#c;
    if (this.#peer) return this.#fail(CLOSE_CODE.PROTOCOL, "HELLO sent twice");
    if (hello.protocolVersion !== c.protocolVersion) {
      return this.#fail(CLOSE_CODE.VERSION, `protocol version mismatch: expected ${c.protocolVersion}, got ${hello.protocolVersion}`);
    }
    if (hello.network !== c.network) {
      return this.#fail(CLOSE_CODE.NETWORK, `network mismatch: expected ${JSON.stringify(c.network)}, got ${JSON.stringify(hello.network)}`);
    }
    if (bytesEqual(hello.publicKey, c.keyPair.publicKey)) return this.#fail(CLOSE_CODE.WRONG_PEER, "peer claims our own node id");
    if (c.expectedPeer && !bytesEqual(hello.publicKey, c.expectedPeer)) {
      return this.#fail(CLOSE_CODE.WRONG_PEER, `unexpected peer: expected ${nodeIdToText(c.expectedPeer)}, got ${nodeIdToText(hello.publicKey)}`);
    }
    this.#peer = hello;
    this.#step = "proving";
    this.#admitAndProve(hello).catch((e) => this.#fail(CLOSE_CODE.PROTOCOL, `handshake failed: ${e instanceof Error ? e.message : String(e)}`));
  }

  async #admitAndProve(hello: HelloFrame): Promise<void> {
    const c = this.#c;
    const problem = await this.#admissionProblem(hello);
    if (this.#isOver()) return;
    if (problem !== null) {
      // The peer learns only "not admitted"; the local error says why.
      this.#fail(CLOSE_CODE.NOT_ADMITTED, "not admitted", true, `not admitted: ${problem}`);
      return;
    }
    const toSign = handshakeSigningBytes(c.network, c.protocolVersion, hello.nonce, c.keyPair.publicKey, hello.publicKey);
    const signature = await c.suite.sign(c.keyPair, toSign);
    if (this.#isOver()) return; // failed (timeout, close) while signing
    this.#send(encodeLinkFrame({ type: LINK_FRAME.PROOF, signature }));
    this.#proofSent = true;
    this.#maybeFinish();
  }

  async #admissionProblem(hello: HelloFrame): Promise<string | null> {
    const a = this.#c.admission;
    if (!a || (!a.allow && !a.authority)) return null;
    if (a.allow?.has(nodeIdToText(hello.publicKey))) return null;
    if (!a.authority) return "not on the allow-list";
    const problem = await credentialProblem(this.#c.suite, this.#c.network, a.authority, hello.publicKey, hello.credential, this.#c.wallClock());
    if (problem === null) this.#result.admittedUntilMs = hello.credential!.expiresAtMs;
    return problem === null ? null : a.allow ? `not on the allow-list and ${problem}` : problem;
  }

  #onProof(signature: Uint8Array): void {
    const c = this.#c;
    const hello = this.#peer;
    if (!hello) return this.#fail(CLOSE_CODE.PROTOCOL, "PROOF before HELLO");
    if (this.#proofReceived) return this.#fail(CLOSE_CODE.PROTOCOL, "PROOF sent twice");
    this.#proofReceived = true;
    const signed = handshakeSigningBytes(c.network, c.protocolVersion, this.#nonce, hello.publicKey, c.keyPair.publicKey);
    c.suite.verify(hello.publicKey, signed, signature).then(
      (ok) => {
        if (this.#step === "failed") return;
        if (!ok) {
          c.onPenalty?.("CRYPTO_BAD_SIGNATURE", "CRYPTO_BAD_SIGNATURE: handshake proof does not verify", hello.publicKey);
          this.#fail(CLOSE_CODE.BAD_PROOF, "bad handshake proof");
          return;
        }
        this.#peerProven = true;
        this.#maybeFinish();
      },
      (e) => this.#fail(CLOSE_CODE.PROTOCOL, `handshake failed: ${e instanceof Error ? e.message : String(e)}`),
    );
  }

  #isOver(): boolean {
    return this.#step === "failed" || this.#step === "done";
  }

  /** Both proofs are in: the end takes its turn in the slice (attaching a link is the node's work). */
  #maybeFinish(): void {
    if (this.#step !== "proving" || !this.#proofSent || !this.#peerProven || this.#ending) return;
    this.#ending = true;
    ownTurn(() => this.#finish());
  }

  #finish(): void {
    if (this.#isOver()) return; // failed (timeout, close) while it waited
    this.#inbox.flush(); // frames that came after the peer's PROOF, into `early` in order
    if (this.#isOver()) return; // a CLOSE among them
    this.#step = "done";
    clearTimeout(this.#timer);
    this.#result.peer = this.#peer!.publicKey;
    let taken: T;
    try {
      taken = this.#attach(this.#result);
    } catch (e) {
      this.#reject(e);
      return;
    }
    this.#resolve(taken);
  }

  #onClose(reason: string): void {
    if (this.#step === "done") {
      this.#result.lateClose ??= reason;
      return;
    }
    this.#inbox.flush(); // what the peer sent before it closed (its CLOSE and reason) comes first
    this.#fail(CLOSE_CODE.NORMAL, `link closed during the handshake: ${reason}`, false);
  }

  /**
   * Ends the handshake: tells the peer why (unless `tellPeer` is false), closes the link and
   * rejects. `localReason` is what the caller sees when it says more than the peer is told.
   */
  #fail(code: number, reason: string, tellPeer = true, localReason = reason): void {
    if (this.#step === "failed" || this.#step === "done") return;
    this.#step = "failed";
    clearTimeout(this.#timer);
    this.#inbox.clear();
    const link = this.#link;
    link.onmessage = null;
    link.onclose = null;
    const wire = clipUtf8(reason, CLOSE_REASON_BYTES_MAX);
    if (tellPeer) this.#send(encodeLinkFrame({ type: LINK_FRAME.CLOSE, code, reason: wire }));
    try {
      link.close(wire);
    } catch {
      // a link that throws on close is closed enough
    }
    this.#reject(new GrapevineError("LINK_CLOSED", "remote", localReason));
  }

  #send(bytes: Uint8Array): void {
    try {
      this.#link.send(bytes);
    } catch (e) {
      if (!(e instanceof GrapevineError)) throw e;
      // The link is gone; its onclose (or the timeout) ends the handshake.
    }
  }
}
