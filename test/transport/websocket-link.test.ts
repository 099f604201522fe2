// websocketLink against a scripted socket: the corners real sockets rarely show on demand.
import { describe, expect, it } from "vitest";
import { GrapevineError } from "../../mod.ts";
import { websocketLink, type WebSocketLike } from "../../src/transport/websocket.ts";

/** A WHATWG-strict fake: close() accepts only 1000 and 3000–4999, as browsers and undici do. */
class FakeSocket implements WebSocketLike {
  binaryType = "blob";
  readyState = 0;
  bufferedAmount = 0;
  sent: Uint8Array[] = [];
  closedWith: [number | undefined, string | undefined] | null = null;
  onopen: ((e: unknown) => void) | null = null;
  onmessage: ((e: unknown) => void) | null = null;
  onclose: ((e: unknown) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  send(data: Uint8Array): void {
    if (this.readyState !== 1) throw new Error("InvalidStateError");
    this.sent.push(data);
  }
  close(code?: number, reason?: string): void {
    if (code !== undefined && code !== 1000 && (code < 3000 || code > 4999)) throw new Error("InvalidAccessError");
    this.closedWith = [code, reason];
    this.readyState = 2;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  message(data: unknown): void {
    this.onmessage?.({ data });
  }
}

describe("websocketLink", () => {
  it("queues while connecting (counted in bufferedAmount), flushes in order on open", () => {
    const s = new FakeSocket();
    const link = websocketLink(s, { frameBytesMax: 100 });
    expect(s.binaryType).toBe("arraybuffer");
    link.send(new Uint8Array([1]));
    link.send(new Uint8Array([2, 3]));
    expect(link.bufferedAmount).toBe(3);
    s.open();
    expect(s.sent.map((b) => [...b])).toEqual([[1], [2, 3]]);
    expect(link.bufferedAmount).toBe(0);
  });

  it("a connect queue past its bound closes the link", () => {
    const s = new FakeSocket();
    const link = websocketLink(s, { frameBytesMax: 10, connectQueueBytesMax: 15 });
    link.send(new Uint8Array(10));
    expect(() => link.send(new Uint8Array(10))).toThrow(GrapevineError);
    expect(s.closedWith?.[0]).toBe(1000);
  });

  it("delivers ArrayBuffers and views; refuses oversize with 4009 where 1009 is not allowed", () => {
    const s = new FakeSocket();
    const link = websocketLink(s, { frameBytesMax: 4 });
    const got: number[][] = [];
    const closes: string[] = [];
    link.onmessage = (b) => got.push([...b]);
    link.onclose = (r) => closes.push(r);
    s.open();
    s.message(new Uint8Array([1, 2]).buffer);
    s.message(new Uint8Array([9, 3, 4, 9]).subarray(1, 3));
    s.message(new ArrayBuffer(5));
    expect(got).toEqual([[1, 2], [3, 4]]);
    expect(s.closedWith).toEqual([4009, "frame of 5 bytes exceeds frameBytesMax 4"]);
    s.message(new Uint8Array([7]).buffer); // after close: ignored
    expect(got).toHaveLength(2);
    s.onclose?.({ code: 4009, reason: "whatever the socket says" });
    s.onclose?.({ code: 1006 });
    expect(closes).toEqual(["frame of 5 bytes exceeds frameBytesMax 4"]);
    expect(() => link.send(new Uint8Array(1))).toThrow(/closed/);
  });

  it("an error while connecting ends the link even if no close event follows", () => {
    const s = new FakeSocket();
    const link = websocketLink(s);
    const closes: string[] = [];
    link.onclose = (r) => closes.push(r);
    s.onerror?.({});
    expect(closes).toEqual(["websocket failed to connect"]);
    s.onclose?.({ code: 1006 });
    expect(closes).toHaveLength(1);
  });

  it("a remote close reports the peer's reason and code", () => {
    const s = new FakeSocket();
    const link = websocketLink(s);
    const closes: string[] = [];
    link.onclose = (r) => closes.push(r);
    s.open();
    s.onclose?.({ code: 1001, reason: "going away" });
    expect(closes).toEqual(["going away (code 1001)"]);
  });

  it("close reasons are clipped to 123 UTF-8 bytes", () => {
    const s = new FakeSocket();
    const link = websocketLink(s);
    s.open();
    link.close("é".repeat(100));
    expect(new TextEncoder().encode(s.closedWith?.[1]).length).toBe(122);
  });
});
