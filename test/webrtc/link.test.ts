/**
 * The WebRTC link binding over a fake data channel (chunking, the frame cap on receive, text and
 * malformed messages, close exactly once and the peer connection with it), and the signalling
 * codec (round trips, the prefix check, hostile bytes).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { webrtcLink, type RTCDataChannelLike, type RTCPeerConnectionLike } from "../../mod.ts";
import { GrapevineError } from "../../src/errors.ts";
import { webrtcPartsMax } from "../../src/transport/webrtc.ts";
import {
  decodeSignal,
  decodeSignalBody,
  encodeSignal,
  encodeSignalBody,
  looksLikeSignal,
  SIGNAL,
  type SignalBody,
} from "../../src/runtime/signal.ts";
import { encode } from "../../src/wire/cbor.ts";

class FakeChannel implements RTCDataChannelLike {
  binaryType = "blob";
  label = "grapevine";
  readyState = "connecting";
  bufferedAmount = 0;
  sent: Uint8Array[] = [];
  onopen: ((e: unknown) => void) | null = null;
  onmessage: ((e: unknown) => void) | null = null;
  onclose: ((e: unknown) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  send(data: Uint8Array<ArrayBuffer>): void {
    this.sent.push(data.slice());
    this.bufferedAmount += data.length;
  }
  close(): void {
    this.readyState = "closed";
  }
  open(): void {
    this.readyState = "open";
    this.onopen?.({});
  }
  deliver(data: unknown): void {
    this.onmessage?.({ data });
  }
}

function fakePc(): RTCPeerConnectionLike & { closed: number } {
  return {
    closed: 0, connectionState: "connecting", localDescription: null,
    createDataChannel: () => new FakeChannel(), createOffer: async () => ({ type: "offer" }), createAnswer: async () => ({ type: "answer" }),
    setLocalDescription: async () => {}, setRemoteDescription: async () => {}, addIceCandidate: async () => {},
    close() {
      this.closed++;
    },
    onicecandidate: null, ondatachannel: null, onconnectionstatechange: null,
  };
}

function linkPair(options = {}) {
  const channel = new FakeChannel();
  const pc = fakePc();
  const link = webrtcLink(pc, channel, options);
  const got: Uint8Array[] = [];
  const closes: string[] = [];
  link.onmessage = (b) => got.push(b);
  link.onclose = (r) => closes.push(r);
  return { channel, pc, link, got, closes };
}

describe("webrtcLink", () => {
  it("splits frames into flagged messages of at most chunkBytes, queued until the channel opens", () => {
    const { channel, link } = linkPair({ chunkBytes: 4 });
    link.send(Uint8Array.of(1, 2, 3, 4, 5, 6, 7));
    expect(channel.sent).toEqual([]);
    expect(link.bufferedAmount).toBe(10); // 7 bytes and 3 flag bytes
    channel.open();
    expect(channel.sent).toEqual([Uint8Array.of(1, 1, 2, 3), Uint8Array.of(1, 4, 5, 6), Uint8Array.of(0, 7)]);
    expect(channel.binaryType).toBe("arraybuffer");
  });

  it("reassembles frames, whatever the chunking (property)", () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 8 }), fc.integer({ min: 2, max: 64 }), (frames, chunk) => {
      const a = linkPair({ chunkBytes: chunk });
      const b = linkPair();
      a.channel.open();
      for (const f of frames) a.link.send(f);
      for (const m of a.channel.sent) b.channel.deliver(m.buffer);
      expect(b.got).toEqual(frames);
      expect(b.closes).toEqual([]);
    }));
  });

  it("closes on a frame past frameBytesMax before buffering it whole", () => {
    const { channel, got, closes, pc } = linkPair({ frameBytesMax: 10 });
    channel.open();
    channel.deliver(Uint8Array.of(1, ...new Array(6).fill(9)).buffer);
    channel.deliver(Uint8Array.of(1, ...new Array(6).fill(9)).buffer);
    expect(got).toEqual([]);
    expect(closes).toHaveLength(1);
    expect(closes[0]).toMatch(/frameBytesMax/);
    expect(channel.readyState).toBe("closed");
    expect(pc.closed).toBe(1);
  });

  it("closes on a frame in more messages than webrtcPartsMax, however small they are, before holding more", () => {
    const { channel, got, closes } = linkPair({ frameBytesMax: 1 << 20 });
    channel.open();
    const partsMax = webrtcPartsMax(1 << 20);
    expect(partsMax).toBe(2048);
    for (let i = 0; i < 3 * partsMax && closes.length === 0; i++) channel.deliver(Uint8Array.of(1).buffer); // "more follows", nothing else
    expect(got).toEqual([]);
    expect(closes).toEqual([`frame in more than ${partsMax} messages`]);
    // A frame in exactly that many messages is taken (a small frameBytesMax allows 16).
    const ok = linkPair({ frameBytesMax: 100 });
    ok.channel.open();
    for (let i = 0; i < webrtcPartsMax(100) - 1; i++) ok.channel.deliver(Uint8Array.of(1, i).buffer);
    ok.channel.deliver(Uint8Array.of(0, 99).buffer);
    expect(ok.got).toEqual([Uint8Array.of(...Array.from({ length: 15 }, (_, i) => i), 99)]);
    expect(ok.closes).toEqual([]);
    const over = linkPair({ frameBytesMax: 100 });
    over.channel.open();
    for (let i = 0; i < webrtcPartsMax(100); i++) over.channel.deliver(Uint8Array.of(1, i).buffer);
    expect(over.closes).toHaveLength(1);
  });

  it("closes on text, empty and unflagged messages", () => {
    for (const bad of ["hello", new ArrayBuffer(0), Uint8Array.of(7, 1).buffer]) {
      const { channel, closes, got } = linkPair();
      channel.open();
      channel.deliver(bad);
      expect(got).toEqual([]);
      expect(closes).toHaveLength(1);
    }
  });

  it("reports close once, from whichever end, and refuses to send after", () => {
    const { channel, link, closes, pc } = linkPair();
    channel.open();
    link.close("bye");
    channel.onclose?.({});
    link.close("again");
    expect(closes).toEqual(["bye"]);
    expect(pc.closed).toBe(1);
    expect(() => link.send(Uint8Array.of(1))).toThrow(GrapevineError);
  });

  it("gives up on a peer connection that fails, or stays disconnected", async () => {
    const failed = linkPair();
    (failed.pc as { connectionState: string }).connectionState = "failed";
    failed.pc.onconnectionstatechange?.({});
    expect(failed.closes).toEqual(["peer connection failed"]);
    const dropped = linkPair({ disconnectedCloseMs: 20 });
    (dropped.pc as { connectionState: string }).connectionState = "disconnected";
    dropped.pc.onconnectionstatechange?.({});
    await new Promise((r) => setTimeout(r, 60));
    expect(dropped.closes[0]).toMatch(/disconnected for 20 ms/);
  });
});

describe("signalling payloads", () => {
  const from = new Uint8Array(32).fill(1);
  const to = new Uint8Array(32).fill(2);
  const session = new Uint8Array(8).fill(3);
  const bodies: SignalBody[] = [
    { from, to, sentAtMs: 1_700_000_000_000, session, type: SIGNAL.WANT },
    { from, to, sentAtMs: 1, session, type: SIGNAL.OFFER, sdp: "v=0\r\n" },
    { from, to, sentAtMs: 2, session, type: SIGNAL.ANSWER, sdp: "v=0\r\n" },
    { from, to, sentAtMs: 3, session, type: SIGNAL.CANDIDATE, candidate: { candidate: "candidate:1 1 UDP 1 127.0.0.1 5000 typ host", sdpMid: "0", sdpMLineIndex: null } },
    { from, to, sentAtMs: 4, session, type: SIGNAL.BYE, reason: "busy" },
  ];

  it("round-trip, and are told from other FORWARD payloads by their first bytes", () => {
    for (const b of bodies) {
      const bytes = encodeSignalBody(b);
      expect(decodeSignalBody(bytes)).toEqual(b);
      const payload = encodeSignal(bytes, new Uint8Array(64));
      expect(looksLikeSignal(payload)).toBe(true);
      expect(decodeSignal(payload)).toEqual({ body: bytes, signature: new Uint8Array(64) });
    }
    expect(looksLikeSignal(encode(["gv/rtd", 1, 2]))).toBe(false);
    expect(looksLikeSignal(new TextEncoder().encode("hello"))).toBe(false);
  });

  it("refuse bad shapes with a remote error, and random bytes never crash", () => {
    const bad = [
      encode([from, to, 1, session, 9, null]), // unknown type
      encode([from, to, 1, new Uint8Array(7), 0, null]), // short session
      encode([from, to, 1, session, 1, "x".repeat(20_000)]), // SDP too long
      encode([from, to, -1, session, 0, null]),
    ];
    for (const b of bad) expect(() => decodeSignalBody(b)).toThrow(GrapevineError);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      for (const f of [decodeSignal, decodeSignalBody]) {
        try {
          f(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(GrapevineError);
        }
      }
    }));
  });
});
