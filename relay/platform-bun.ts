/**
 * The part of Bun's API that `relay/bun.ts` uses, as plain types: Bun's own declarations (the
 * `bun` module, the `Bun` global) exist only where Bun's types are installed, and that module also
 * type-checks, and publishes, without them. Names and signatures follow Bun's documentation; only
 * the members the relay uses are declared. The globals are reached through `globalThis` as
 * {@link BunGlobals}.
 *
 * @module
 */

/** The remote end of a connection (`server.requestIP`). */
export interface SocketAddress {
  address: string;
  port: number;
  family: "IPv4" | "IPv6";
}

/** A WebSocket accepted by `Bun.serve`; its events go to the server's {@link WebSocketHandler}. */
export interface ServerWebSocket<T> {
  /** What `server.upgrade` attached to it. */
  data: T;
  /** Bytes sent; -1 if queued under backpressure; 0 if dropped (the socket is gone). */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob, compress?: boolean): number;
  close(code?: number, reason?: string): void;
  /** Bytes queued by `send` and not yet written to the socket. */
  getBufferedAmount(): number;
}

/** The server-side WebSocket handlers of `Bun.serve`. */
export interface WebSocketHandler<T> {
  /** Larger messages are refused (close 1009) before they are buffered. */
  maxPayloadLength?: number;
  open?(ws: ServerWebSocket<T>): void | Promise<void>;
  message?(ws: ServerWebSocket<T>, message: string | Uint8Array): void | Promise<void>;
  close?(ws: ServerWebSocket<T>, code: number, reason: string): void | Promise<void>;
}

/** A server started by `Bun.serve`. */
export interface Server<T> {
  readonly port: number | undefined;
  /** Takes over a WebSocket upgrade request, attaching `data` to the socket; false if it is not one. */
  upgrade(request: Request, options: { headers?: HeadersInit; data: T }): boolean;
  requestIP(request: Request): SocketAddress | null;
  stop(closeActiveConnections?: boolean): Promise<void>;
}

/** Options of `Bun.serve` with WebSockets. */
export interface ServeOptions<T> {
  port?: number;
  hostname?: string;
  /** Answers a request, or upgrades it (`server.upgrade`) and returns undefined. */
  fetch(request: Request, server: Server<T>): Response | undefined | Promise<Response | undefined>;
  websocket: WebSocketHandler<T>;
}

/** The `Bun` global. */
export interface BunNamespace {
  serve<T>(options: ServeOptions<T>): Server<T>;
  readonly argv: string[];
  readonly env: Record<string, string | undefined>;
  file(path: string): { text(): Promise<string> };
}

/** The globals of Bun that `relay/bun.ts` uses: `Bun`, and the Node-compatible `process`. */
export interface BunGlobals {
  Bun: BunNamespace;
  process: {
    once(signal: "SIGINT" | "SIGTERM", listener: () => void): unknown;
    exit(code?: number): never;
  };
}

/** `import.meta` on Bun: `main` is true in the module Bun was asked to run. */
export interface BunImportMeta {
  readonly main: boolean;
}
