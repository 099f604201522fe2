// Real sockets on loopback: two nodes in this process linked through websocketLink over a `ws`
// server; oversize, text and garbage frames; a client that stops reading. Bounded in time.
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket as WsWebSocket } from "ws";
import { createNode, type GrapevineNode, type NodeOptions } from "../../mod.ts";
import { websocketLink, type WebSocketLike } from "../../src/transport/websocket.ts";
import { keyPair } from "../core/harness.ts";
import { ClientWebSocket, startServer, type TestServer, until } from "./server.ts";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function node(i: number, options: NodeOptions = {}): Promise<GrapevineNode> {
  const n = await createNode({ network: "ws", intervalMs: 50, keyPair: keyPair(i), seed: i, ...options });
  cleanup.push(() => n.close({ leave: false }));
  return n;
}

async function server(n: GrapevineNode, frameBytesMax?: number): Promise<TestServer> {
  const s = await startServer(n, 0, frameBytesMax);
  cleanup.push(() => s.kill());
  return s;
}

/** A client socket (connecting) and its close event, for tests that poke at the raw socket. */
function client(url: string, Ctor: new (url: string) => WebSocketLike = ClientWebSocket) {
  const socket = new Ctor(url);
  cleanup.push(() => {
    const t = (socket as { terminate?: () => void }).terminate;
    if (t) t.call(socket);
    else socket.close();
  });
  return socket;
}

function closeCode(socket: WebSocketLike): Promise<{ code: number; reason: string }> {
  // websocketLink owns `onclose`; wrap it so the link still hears the close.
  return new Promise((resolve) => {
    const prev = socket.onclose;
    socket.onclose = (e: { code: number; reason: string }) => {
      prev?.(e);
      resolve({ code: e.code, reason: e.reason });
    };
  });
}

describe("websocketLink over a real loopback socket", () => {
  it("two nodes converge; the link is made while the socket is still connecting", async () => {
    const [a, b] = await Promise.all([node(0), node(1)]);
    const srv = await server(a);
    const socket = client(srv.url);
    expect(socket.readyState).toBe(0); // CONNECTING: HELLO waits in the link's queue
    const handle = await b.connect(websocketLink(socket));
    expect(handle.peer).toBe(a.id);
    await until(() => srv.handles.length === 1);
    expect(srv.handles[0].peer).toBe(b.id);
    a.set("greeting", { text: "hello over ws" });
    b.set("cursor", [1, 2]);
    await until(() => b.get("greeting", a.id) !== undefined && a.get("cursor", b.id) !== undefined);
    expect(b.get("greeting", a.id)).toEqual({ text: "hello over ws" });
    expect(a.get("cursor", b.id)).toEqual([1, 2]);
    const got: string[] = [];
    a.addEventListener("direct", (e) => got.push(new TextDecoder().decode((e as CustomEvent).detail.payload)));
    b.sendTo(a.id, new TextEncoder().encode("direct"));
    await until(() => got.length === 1);
    handle.close("bye");
    expect(await srv.handles[0].closed).toBe("closed by peer: bye");
  });

  it("a frame over frameBytesMax closes the socket with 1009 and says why", async () => {
    const [a, b] = await Promise.all([node(0), node(1)]);
    const srv = await server(a, 65_536);
    const socket = client(srv.url);
    await b.connect(websocketLink(socket));
    await until(() => srv.handles.length === 1);
    const closed = closeCode(socket);
    socket.send(new Uint8Array(65_537));
    expect((await closed).code).toBe(1009);
    expect(await srv.handles[0].closed).toBe("frame of 65537 bytes exceeds frameBytesMax 65536");
    expect(a.linkCount).toBe(0);
  });

  it("a text message closes the socket with 1003", async () => {
    const [a, b] = await Promise.all([node(0), node(1)]);
    const srv = await server(a);
    const socket = client(srv.url);
    await b.connect(websocketLink(socket));
    await until(() => srv.handles.length === 1);
    const closed = closeCode(socket);
    (socket as unknown as { send(s: string): void }).send("{\"hello\":1}");
    expect((await closed).code).toBe(1003);
    expect(await srv.handles[0].closed).toBe("text messages are not part of the protocol");
  });

  it("garbage bytes after the handshake are penalised (and enough of them close the link)", async () => {
    const [a, b] = await Promise.all([node(0), node(1)]);
    const srv = await server(a);
    const socket = client(srv.url);
    await b.connect(websocketLink(socket));
    await until(() => srv.handles.length === 1);
    const penalties: { code: string; peer: string | null }[] = [];
    a.addEventListener("penalty", (e) => penalties.push((e as CustomEvent).detail));
    socket.send(new Uint8Array([0xff, 0xfe, 0x00, 0x13]));
    await until(() => penalties.length === 1);
    expect(penalties[0]).toMatchObject({ code: "WIRE_MALFORMED", peer: b.id });
    for (let i = 0; i < 3; i++) socket.send(new Uint8Array([0x1c]));
    expect(await srv.handles[0].closed).toMatch(/^penalty score 100: WIRE_/);
  });

  it("a peer on another network is refused over a socket too", async () => {
    const [a, b] = await Promise.all([node(0), node(1, { network: "elsewhere" })]);
    const srv = await server(a);
    await expect(b.connect(websocketLink(client(srv.url)))).rejects.toThrow('network mismatch: expected "elsewhere", got "ws"');
    await until(() => srv.failures.length === 1);
    expect(srv.failures[0]).toContain('network mismatch: expected "ws", got "elsewhere"');
  });

  it("a client that stops reading: the link is marked congested, then closed after linkCongestedCloseMs", async () => {
    const a = await node(0, { linkHighWaterBytes: 256 * 1024, linkCongestedCloseMs: 300 });
    const b = await node(1);
    const srv = await server(a);
    // `ws` on purpose: it can stop reading its TCP socket (pause), which no WHATWG socket can.
    const socket = client(srv.url, WsWebSocket as never) as unknown as WsWebSocket & WebSocketLike;
    await b.connect(websocketLink(socket));
    await until(() => srv.handles.length === 1);
    socket.pause();
    const congestion: boolean[] = [];
    a.addEventListener("congestion", (e) => congestion.push((e as CustomEvent).detail.congested));
    const started = Date.now();
    const chunk = new Uint8Array(512 * 1024);
    for (let i = 0; i < 48 && srv.handles[0] && a.linkCount === 1; i++) a.sendTo(b.id, chunk); // 24 MiB: past any kernel buffer
    expect(congestion[0]).toBe(true);
    expect(await srv.handles[0].closed).toBe("peer not reading");
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(congestion).toEqual([true]);
    expect(a.linkCount).toBe(0);
    expect(a.engine.links()).toEqual([]);
  });
});
