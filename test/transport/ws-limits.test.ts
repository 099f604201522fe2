/**
 * The `ws` receive limits on real loopback sockets, both ways: the Node relay's server sockets and
 * the `ws` client that `dial` uses on Node 20. A peer that splits one message into more fragments
 * than `wsReceiveLimits` admits is cut off (1008) — one fragment over the limit is enough, where
 * `ws`'s own default would have taken 16,384 — and a million one-byte fragments cost the relay
 * almost nothing; a message announced above `frameBytesMax` is refused (1009) from its header.
 */
import { createHash } from "node:crypto";
import { createServer, connect, type Server, type Socket } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { serveRelay, type ServedRelay } from "../../relay/node.ts";
import { nodeWebSocketWith, wsReceiveLimits } from "../../src/transport/ws-node.ts";

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Heap and array buffers after a full collection, in bytes. */
function retainedBytes(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** One WebSocket frame; `mask` for client-to-server frames. */
function frame(opcode: number, fin: boolean, payload: Uint8Array, mask: boolean): Buffer {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65_536 ? 2 : 8;
  const out = Buffer.alloc(2 + ext + (mask ? 4 : 0) + len);
  out[0] = (fin ? 0x80 : 0) | opcode;
  out[1] = (mask ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) out.writeUInt16BE(len, 2);
  if (ext === 8) out.writeBigUInt64BE(BigInt(len), 2);
  let at = 2 + ext;
  if (mask) {
    const key = [0x37, 0xfa, 0x21, 0x3d];
    out.set(key, at);
    at += 4;
    for (let i = 0; i < len; i++) out[at + i] = payload[i] ^ key[i % 4];
  } else out.set(payload, at);
  return out;
}

/** A frame header announcing `length` bytes, with no payload after it (masked). */
function header(opcode: number, length: number): Buffer {
  const out = Buffer.alloc(14);
  out[0] = 0x80 | opcode;
  out[1] = 0x80 | 127;
  out.writeBigUInt64BE(BigInt(length), 2);
  return out; // the last four bytes are the (zero) mask key
}

/** What a raw client reads back: the close code of the first close frame, if one came. */
interface RawClient {
  socket: Socket;
  closeCode: Promise<number | null>;
}

/** Opens a raw WebSocket connection to `port` (the upgrade done by hand). */
async function rawClient(port: number): Promise<RawClient> {
  const socket = connect(port, "127.0.0.1");
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.write(["GET / HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13", "", ""].join("\r\n"));
  let buffered = Buffer.alloc(0);
  let upgraded = false;
  let resolveUpgrade!: () => void;
  const upgrade = new Promise<void>((r) => (resolveUpgrade = r));
  const closeCode = new Promise<number | null>((resolve) => {
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!upgraded) {
        const end = buffered.indexOf("\r\n\r\n");
        if (end === -1) return;
        expect(buffered.subarray(0, 12).toString()).toBe("HTTP/1.1 101");
        buffered = buffered.subarray(end + 4);
        upgraded = true;
        resolveUpgrade();
      }
      // Skip whole frames (the relay's HELLO comes first) until a close frame.
      for (;;) {
        if (buffered.length < 2) return;
        const short = buffered[1] & 0x7f;
        const ext = short === 126 ? 2 : short === 127 ? 8 : 0;
        if (buffered.length < 2 + ext) return;
        const length = ext === 0 ? short : ext === 2 ? buffered.readUInt16BE(2) : Number(buffered.readBigUInt64BE(2));
        if (buffered.length < 2 + ext + length) return;
        if ((buffered[0] & 0x0f) === 0x8) return resolve(length >= 2 ? buffered.readUInt16BE(2 + ext) : null);
        buffered = buffered.subarray(2 + ext + length);
      }
    });
    socket.on("close", () => resolve(null));
    socket.on("error", () => {}); // a reset after the server cut us off
  });
  await upgrade;
  return { socket, closeCode };
}

/** Writes `count` one-byte fragments of one binary message (never finished), in batches, until the socket closes. */
async function writeFragments(socket: Socket, count: number): Promise<number> {
  const one = new Uint8Array([7]);
  const first = frame(0x2, false, one, true);
  const next = frame(0x0, false, one, true);
  let written = 0;
  const batch = 4096;
  while (written < count && !socket.destroyed && socket.writable) {
    const n = Math.min(batch, count - written);
    const chunk = Buffer.alloc(next.length * n);
    for (let i = 0; i < n; i++) chunk.set(written + i === 0 ? first : next, i * next.length);
    written += n;
    if (!socket.write(chunk)) await new Promise<void>((r) => { socket.once("drain", r); socket.once("close", r); });
  }
  return written;
}

describe("ws receive limits", () => {
  it("admit a largest message in parts of 512 bytes, and no smaller ones", () => {
    expect(wsReceiveLimits(1_048_576)).toEqual({ maxPayload: 1_048_576, maxFragments: 2048, maxBufferedChunks: 2112, perMessageDeflate: false });
    expect(wsReceiveLimits(100).maxFragments).toBe(16);
    expect(() => wsReceiveLimits(0)).toThrow(RangeError);
    expect(() => wsReceiveLimits(1.5)).toThrow(RangeError);
  });
});

describe("the Node relay's sockets", { timeout: 60_000 }, () => {
  let served: ServedRelay | null = null;
  afterEach(async () => {
    await served?.close();
    served = null;
  });

  it("cut off a message one fragment over the limit (1008)", async () => {
    served = await serveRelay({ port: 0, network: "limits" });
    const { maxFragments } = wsReceiveLimits(served.relay.limits.frameBytesMax);
    const client = await rawClient(served.port);
    await writeFragments(client.socket, maxFragments);
    // Exactly at the limit the message is still being assembled: nothing has closed.
    const early = await Promise.race([client.closeCode, new Promise((r) => setTimeout(() => r("open"), 300))]);
    expect(early).toBe("open");
    client.socket.write(frame(0x0, false, new Uint8Array([7]), true));
    expect(await client.closeCode).toBe(1008);
    client.socket.destroy();
  });

  it("refuse a message announced above frameBytesMax from its header (1009)", async () => {
    served = await serveRelay({ port: 0, network: "limits", frameBytesMax: 65_536, deltaBytesMax: 32_768 });
    const client = await rawClient(served.port);
    client.socket.write(header(0x2, 65_537));
    expect(await client.closeCode).toBe(1009);
    client.socket.destroy();
  });

  it("hold memory bounded while a client sends a million one-byte fragments", async () => {
    served = await serveRelay({ port: 0, network: "limits" });
    const before = retainedBytes();
    const client = await rawClient(served.port);
    const closed = client.closeCode;
    await writeFragments(client.socket, 1_000_000);
    expect(await closed).toBe(1008);
    client.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const grown = retainedBytes() - before;
    // Unbounded, the fragments alone held over 150 MB; the relay may keep a few buffers of reads.
    expect(grown, `retained growth ${grown} bytes`).toBeLessThan(8 * 1024 * 1024);
  });
});

describe("the ws client dial uses on Node 20", { timeout: 30_000 }, () => {
  let server: Server | null = null;
  afterEach(() => {
    server?.close();
    server = null;
  });

  /** A raw WebSocket server that accepts the upgrade, then runs `send` on the socket. */
  async function rawServer(send: (socket: Socket) => void): Promise<{ port: number; closeCode: Promise<number | null> }> {
    let resolveCode!: (code: number | null) => void;
    const closeCode = new Promise<number | null>((r) => (resolveCode = r));
    server = createServer((socket) => {
      let buffered = Buffer.alloc(0);
      let upgraded = false;
      socket.on("error", () => {});
      socket.on("close", () => resolveCode(null));
      socket.on("data", (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (!upgraded) {
          const end = buffered.indexOf("\r\n\r\n");
          if (end === -1) return;
          const key = /sec-websocket-key: *(\S+)/i.exec(buffered.subarray(0, end).toString())![1];
          const accept = createHash("sha1").update(key + WS_GUID).digest("base64");
          buffered = buffered.subarray(end + 4);
          upgraded = true;
          socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
          send(socket);
        }
        // The client's close frame is masked: two header bytes, four of mask, then the code.
        if (buffered.length >= 8 && (buffered[0] & 0x0f) === 0x8) {
          resolveCode(((buffered[6] ^ buffered[2]) << 8) | (buffered[7] ^ buffered[3]));
        }
      });
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    return { port: (server.address() as { port: number }).port, closeCode };
  }

  it("closes on one fragment over the limit (1008)", async () => {
    const { maxFragments } = wsReceiveLimits(1_048_576);
    const one = new Uint8Array([1]);
    const { port, closeCode } = await rawServer((socket) => {
      const parts = [frame(0x2, false, one, false)];
      for (let i = 1; i <= maxFragments; i++) parts.push(frame(0x0, false, one, false));
      socket.write(Buffer.concat(parts));
    });
    const Ctor = nodeWebSocketWith(1_048_576);
    const ws = new Ctor(`ws://127.0.0.1:${port}/`);
    ws.onerror = () => {};
    expect(await closeCode).toBe(1008);
    ws.close();
  });

  it("closes on a message announced above maxPayload (1009)", async () => {
    const { port, closeCode } = await rawServer((socket) => {
      const h = Buffer.alloc(10);
      h[0] = 0x82;
      h[1] = 127;
      h.writeBigUInt64BE(65_537n, 2);
      socket.write(h);
    });
    const Ctor = nodeWebSocketWith(65_536);
    const ws = new Ctor(`ws://127.0.0.1:${port}/`);
    ws.onerror = () => {};
    expect(await closeCode).toBe(1009);
    ws.close();
  });
});
