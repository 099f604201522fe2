/**
 * The part of the Cloudflare Workers runtime API that `relay/workers.ts` uses, as plain types over
 * the DOM lib: that module then type-checks, and publishes, without the Workers type package
 * (which replaces the DOM lib wholesale). Names and signatures follow the Workers documentation;
 * only the members the relay uses are declared. Runtime values missing from the DOM lib
 * (`WebSocketPair`) are reached through `globalThis` as {@link WorkersGlobals}.
 *
 * @module
 */

/** A Worker's default export; the runtime calls its `fetch` with each request and the Worker's bindings. */
export interface ExportedHandler<Env> {
  fetch(request: Request, env: Env): Promise<Response>;
}

/** Identifies one Durable Object of a namespace. */
export interface DurableObjectId {
  toString(): string;
}

/** A client of one Durable Object: requests go to its `fetch`. */
export interface DurableObjectStub {
  fetch(request: Request): Promise<Response>;
}

/** A Durable Object binding (`[[durable_objects.bindings]]` in the Worker's configuration). */
export interface DurableObjectNamespace {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): DurableObjectStub;
}

/** A Durable Object's transactional storage, with its alarm. */
export interface DurableObjectStorage {
  get<T = unknown>(key: string): Promise<T | undefined>;
  put(entries: Record<string, unknown>): Promise<void>;
  getAlarm(): Promise<number | null>;
  setAlarm(scheduledTime: number | Date): Promise<void>;
  deleteAlarm(): Promise<void>;
}

/** What the runtime passes a Durable Object's constructor. */
export interface DurableObjectState {
  readonly storage: DurableObjectStorage;
  /** Hands the socket to the runtime (hibernation API): events go to the object's handlers. */
  acceptWebSocket(ws: WebSocket, tags?: string[]): void;
  getWebSockets(tag?: string): WebSocket[];
}

/** A WebSocket of the Workers runtime: an end of a {@link WebSocketPair}, or one the hibernation API hands back. */
export interface WebSocket {
  send(message: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  /** Keeps a small value (at most 2,048 bytes serialised) with a hibernatable socket, across hibernation. */
  serializeAttachment(value: unknown): void;
  deserializeAttachment(): unknown;
}

/** Two connected WebSockets: the client's end (returned in the 101 response) and the server's. */
export interface WebSocketPair {
  0: WebSocket;
  1: WebSocket;
}

/** `ResponseInit` as Workers takes it. */
export interface WorkersResponseInit extends ResponseInit {
  /** The client end of a {@link WebSocketPair}, with status 101. */
  webSocket?: WebSocket | null;
}

/** Globals of the Workers runtime that the DOM lib does not declare. */
export interface WorkersGlobals {
  WebSocketPair: new () => WebSocketPair;
}
