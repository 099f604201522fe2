/**
 * The part of the Cloudflare Workers runtime API that `relay/workers.ts` uses, declared against
 * the DOM lib for `tsc -p tsconfig.workers.json`. (`@cloudflare/workers-types` replaces the DOM lib
 * wholesale, and under it `globalThis.crypto`, which `src/` uses, is not typed.) Names and
 * signatures follow the Workers documentation; only members used here are declared.
 */

interface DurableObjectId {
  toString(): string;
}

interface DurableObjectStub {
  fetch(request: Request): Promise<Response>;
}

interface DurableObjectNamespace {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): DurableObjectStub;
}

interface DurableObjectStorage {
  get<T = unknown>(key: string): Promise<T | undefined>;
  put(entries: Record<string, unknown>): Promise<void>;
  getAlarm(): Promise<number | null>;
  setAlarm(scheduledTime: number | Date): Promise<void>;
  deleteAlarm(): Promise<void>;
}

interface DurableObjectState {
  readonly storage: DurableObjectStorage;
  /** Hands the socket to the runtime (hibernation API): events go to the object's handlers. */
  acceptWebSocket(ws: WebSocket, tags?: string[]): void;
  getWebSockets(tag?: string): WebSocket[];
}

interface WebSocket {
  /** Keeps a small value (at most 2,048 bytes serialised) with a hibernatable socket, across hibernation. */
  serializeAttachment(value: unknown): void;
  deserializeAttachment(): unknown;
}

declare class WebSocketPair {
  0: WebSocket;
  1: WebSocket;
}

interface ResponseInit {
  /** The client end of a `WebSocketPair`, with status 101. */
  webSocket?: WebSocket | null;
}
