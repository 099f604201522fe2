/**
 * Prepared frames on the Node relay's sockets: a message sent to many server-side `ws` sockets is
 * framed once (`serverFrame` returns the same buffer for the same bytes) and written straight to
 * each socket; real `ws` clients on loopback receive exactly the bytes sent, at every length class
 * of the frame header, in order with frames `ws` sends itself.
 */
import { afterEach, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import type { Link } from "../../src/transport/link.ts";
import { websocketLink } from "../../src/transport/websocket.ts";
import { preparedFrameWriter, serverFrame, wsReceiveLimits } from "../../src/transport/ws-node.ts";
import { until } from "./server.ts";

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

describe("serverFrame", () => {
  it("builds a frame once for the same bytes, and anew for other bytes", () => {
    const a = new Uint8Array([1, 2, 3]);
    const f = serverFrame(a);
    expect([...f]).toEqual([0x82, 3, 1, 2, 3]);
    expect(serverFrame(a)).toBe(f);
    const b = new Uint8Array([1, 2, 3]);
    expect(serverFrame(b)).not.toBe(f);
    expect([...serverFrame(new Uint8Array(126)).subarray(0, 4)]).toEqual([0x82, 126, 0, 126]);
    expect([...serverFrame(new Uint8Array(65_536)).subarray(0, 10)]).toEqual([0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
  });
});

describe("preparedFrameWriter over real sockets", () => {
  it("delivers every message intact to every client, at every header length, in order with ws's own sends", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, ...wsReceiveLimits(1 << 20) });
    await new Promise<void>((r) => wss.once("listening", r));
    closers.push(() => wss.close());
    const links: Link[] = [];
    wss.on("connection", (ws) => links.push(websocketLink(ws, { frameBytesMax: 1 << 20, write: preparedFrameWriter(ws) })));
    const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/`;
    const received: Uint8Array[][] = [];
    for (let i = 0; i < 3; i++) {
      const client = new WebSocket(url);
      client.binaryType = "nodebuffer";
      const got: Uint8Array[] = [];
      received.push(got);
      client.on("message", (data: Buffer) => got.push(new Uint8Array(data)));
      closers.push(() => client.terminate());
      await new Promise((r) => client.once("open", r));
    }
    await until(() => links.length === 3, 5000, "three server sockets");
    const lengths = [0, 1, 125, 126, 65_535, 65_536, 300_000];
    const messages = lengths.map((n, k) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + k) & 255));
    for (const m of messages) for (const link of links) link.send(m); // one encoding, every link in turn
    await until(() => received.every((r) => r.length === messages.length), 10_000, "every message at every client");
    for (const got of received) {
      expect(got.map((m) => m.length)).toEqual(lengths);
      got.forEach((m, k) => expect(Buffer.compare(Buffer.from(m), Buffer.from(messages[k]))).toBe(0));
    }
    // A send the writer declines (the socket is closing) goes through ws, which refuses it.
    links[0].close("done");
    expect(() => links[0].send(messages[1])).toThrow(/closed/);
  });

  it("frames written in one turn of the event loop leave in one write, in order with ws's own frames", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, ...wsReceiveLimits(1 << 20) });
    await new Promise<void>((r) => wss.once("listening", r));
    closers.push(() => wss.close());
    let server: { ws: WebSocket; link: Link } | null = null;
    wss.on("connection", (ws) => (server = { ws, link: websocketLink(ws, { frameBytesMax: 1 << 20, write: preparedFrameWriter(ws) }) }));
    const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}/`);
    closers.push(() => client.terminate());
    const seen: string[] = [];
    client.on("message", (data: Buffer) => seen.push(`m${data[0]}`));
    client.on("ping", () => seen.push("ping"));
    await until(() => server !== null, 5000, "server socket");
    const { ws, link } = server!;
    // Count the TCP socket's writes: one per system call (a corked socket hands them over together).
    const socket = (ws as unknown as { _socket: { _write: (...a: unknown[]) => void; _writev?: (...a: unknown[]) => void } })._socket;
    let writes = 0;
    const write = socket._write.bind(socket);
    socket._write = (...a) => (writes++, write(...a));
    const writev = socket._writev?.bind(socket);
    if (writev) socket._writev = (...a) => (writes++, writev(...a));
    for (let i = 0; i < 20; i++) {
      link.send(new Uint8Array([i, 1, 2, 3]));
      if (i === 9) ws.ping(); // ws writes its own frame to the same socket, between the two halves
    }
    await until(() => seen.length === 21, 5000, "twenty messages and a ping");
    expect(seen).toEqual([...Array.from({ length: 10 }, (_, i) => `m${i}`), "ping", ...Array.from({ length: 10 }, (_, i) => `m${i + 10}`)]);
    expect(writes).toBe(1);
  });
});
