/**
 * One direct-link session: the record a `DirectLinks` manager keeps of an attempt or link
 * to one peer (probe, offer or answer; its peer connection, link and early ICE candidates), and
 * how a new one starts.
 *
 * @module
 */

import { nodeIdFromText } from "../crypto/identity.ts";
import type { Link } from "../transport/link.ts";
import type { RTCPeerConnectionLike } from "../transport/webrtc.ts";
import type { LinkHandle } from "./node.ts";
import { SESSION_BYTES, type SignalCandidate } from "./signal.ts";

/** A direct-link attempt or link to one peer. */
export interface Session {
  peer: string;
  key: Uint8Array;
  id: Uint8Array;
  /** `want`: probing, no peer connection yet; `offer`/`answer`: our role in the set-up. */
  role: "want" | "offer" | "answer";
  pc: RTCPeerConnectionLike | null;
  link: Link | null;
  handle: LinkHandle | null;
  /** Monotonic ms after which a session not yet up is given up. */
  deadline: number;
  remoteSet: boolean;
  /** The peer's candidates that came before its description was set. */
  candidates: SignalCandidate[];
  /** Our candidates gathered before our description went out (sent right after it); null once it has. */
  gathered: SignalCandidate[] | null;
  /** Signals go out one after another (signing is asynchronous): OFFER before its CANDIDATEs. */
  outbox: Promise<void>;
  up: boolean;
  ended: boolean;
}

/** A new session with `peer`, not yet up, given up after `timeoutMs` (monotonic clock). */
export function newSession(peer: string, role: Session["role"], id: Uint8Array, timeoutMs: number): Session {
  return {
    peer, key: nodeIdFromText(peer), id, role, pc: null, link: null, handle: null,
    deadline: performance.now() + timeoutMs, remoteSet: false, candidates: [], gathered: [], outbox: Promise.resolve(), up: false, ended: false,
  };
}

/** A fresh random session id. */
export function randomSession(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(SESSION_BYTES));
}
