/**
 * A `Link` is the one thing a node needs from a transport: bytes in, bytes out, how much is still
 * queued, and close. WebSocket, WebRTC and in-memory links all take this shape, so the driver and
 * the engine never know which one they use.
 *
 * @module
 */

/** A bidirectional, message-oriented, ordered byte pipe to one peer. */
export interface Link {
  /** Queues one frame. Throws `GrapevineError` `LINK_CLOSED` after close. */
  send(bytes: Uint8Array): void;
  /** Closes the link; `onclose` fires once on both ends. */
  close(reason?: string): void;
  /** Bytes queued but not yet handed to the network (as WebSocket's `bufferedAmount`). */
  readonly bufferedAmount: number;
  /** Set by the node: called with every frame received. */
  onmessage: ((bytes: Uint8Array) => void) | null;
  /** Set by the node: called once when the link closes, from either end. */
  onclose: ((reason: string) => void) | null;
}
