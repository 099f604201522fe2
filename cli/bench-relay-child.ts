/**
 * The processes of `grapevine bench relay` (`cli/bench-relay.ts` starts them and drives them over
 * Node's IPC channel). One script, three roles, chosen by the first argument:
 *
 * - `relay`: a Node relay (`relay/node.ts`) with the bench's limits; answers `stats` with its
 *   authenticated links, RSS and heap (after a full GC) and CPU time.
 * - `bare`: the baseline, a bare `ws` broadcast server: every binary message from a client goes to
 *   every other client, nothing else (no handshake, no decoding, no limits).
 * - `client`: opens links and keeps them. `idle` links complete a real handshake (a fresh key pair
 *   per link, HELLO/PROOF both ways) and then only count what arrives. `subscriber` links do the
 *   same against a relay (or just connect, against the bare server) and record, for each frame
 *   carrying the bench marker, the time since its publisher stamped it. `publish` makes the process
 *   a publisher: a full node dialing the relay, publishing with `node.publish` (or, against the bare
 *   server, a socket sending same-sized frames), paced by a probe link it opens last.
 *
 * Latency uses `performance.timeOrigin + performance.now()` on both ends, less each process's
 * offset from the parent's clock (the parent measures it over IPC and sends it: `clock`, `offset`),
 * so that a publisher's stamp and a subscriber's clock agree.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { createNode, dial, PROTOCOL_VERSION } from "../mod.ts";
import { createSignatureSuite } from "../src/crypto/ed25519.ts";
import { generateKeyPair } from "../src/crypto/keys.ts";
import type { SignatureSuite } from "../src/crypto/types.ts";
import { type HandshakeConfig, runHandshake } from "../src/runtime/handshake.ts";
import type { Link } from "../src/transport/link.ts";
import { websocketLink } from "../src/transport/websocket.ts";
import { nodeWebSocketWith, wsReceiveLimits } from "../src/transport/ws-node.ts";
import { Histogram, MARKER } from "./bench-relay.ts";
import { LoopDelay } from "./loop-delay.ts";
import { scopeIdOf } from "../src/core/scopes.ts";
import { encodeFrame, FRAME, SUBSCRIBE_FLAG } from "../src/wire/frames.ts";

const FRAME_BYTES_MAX = 1_048_576;
const random = (n: number) => globalThis.crypto.getRandomValues(new Uint8Array(n));
/** This process's clock minus the parent's, measured by the parent (`clock`, `offset`); subtracted from every stamp. */
let clockOffset = 0;
const now = () => performance.timeOrigin + performance.now() - clockOffset;

/** A message from the parent: `id` pairs the reply. */
interface Request {
  id: number;
  op: string;
  [k: string]: unknown;
}

/** This process's open-files limit, from /proc (Linux), or null. */
export function nofileLimit(): { soft: number | null; hard: number | null } | null {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
    const [soft, hard] = line!.replace("Max open files", "").trim().split(/\s+/);
    const n = (s: string) => (s === "unlimited" ? null : Number(s));
    return { soft: n(soft), hard: n(hard) };
  } catch {
    return null;
  }
}

function reply(req: Request, body: Record<string, unknown>): void {
  process.send!({ id: req.id, ...body });
}

function serve(handlers: Record<string, (req: Request) => Promise<Record<string, unknown>> | Record<string, unknown>>): void {
  process.on("message", (req: Request) => {
    const handler = handlers[req.op];
    if (!handler) return reply(req, { error: `unknown op ${req.op}` });
    Promise.resolve()
      .then(() => handler(req))
      .then((body) => reply(req, body), (e) => reply(req, { error: e instanceof Error ? e.message : String(e) }));
  });
  process.on("disconnect", () => process.exit(0)); // the parent is gone
  process.on("SIGTERM", () => process.exit(0)); // exit handlers run (e.g. node --cpu-prof writes its profile)
}

function usage(): { rss: number; heapUsed: number; cpuUs: number; t: number } {
  const m = process.memoryUsage();
  const cpu = process.cpuUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, cpuUs: cpu.user + cpu.system, t: performance.now() };
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}

// ── relay ───────────────────────────────────────────────────────────────────────────────────────

async function relayRole(limits: Record<string, number>): Promise<void> {
  const { serveRelay } = await import("../relay/node.ts");
  const served = await serveRelay({ port: 0, network: "bench", ...limits });
  // The relay's event-loop delay since the last `loop` request: how long new keys connecting hold it.
  const loop = new LoopDelay(1);
  loop.enable();
  serve({
    stats: (req) => {
      const delay = { loop_delay_p99_ms: loop.percentileMs(99), loop_delay_max_ms: loop.maxMs() };
      if (req.loop) loop.reset();
      if (req.gc) collect();
      return { links: served.relay.node.linkCount, ...usage(), ...delay };
    },
  });
  process.send!({ ready: true, url: served.url, id: served.relay.id, nofile: nofileLimit(), ...usage() });
}

// ── bare ws broadcast server ────────────────────────────────────────────────────────────────────

async function bareRole(): Promise<void> {
  const { WebSocketServer } = await import("ws");
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, ...wsReceiveLimits(FRAME_BYTES_MAX) });
  await new Promise<void>((resolve) => wss.once("listening", resolve));
  wss.on("connection", (ws) => {
    ws.on("message", (data, isBinary) => {
      if (!isBinary) return;
      for (const other of wss.clients) if (other !== ws && other.readyState === 1) other.send(data, { binary: true });
    });
  });
  serve({
    stats: (req) => {
      if (req.gc) collect();
      return { links: wss.clients.size, ...usage() };
    },
  });
  const port = (wss.address() as { port: number }).port;
  process.send!({ ready: true, url: `ws://127.0.0.1:${port}/`, nofile: nofileLimit(), ...usage() });
}

// ── clients: idle links, subscribers, a publisher ───────────────────────────────────────────────

const WS = nodeWebSocketWith(FRAME_BYTES_MAX);
let suite: SignatureSuite | null = null;

function handshakeConfig(network: string): HandshakeConfig {
  return {
    keyPair: generateKeyPair(random),
    suite: suite!,
    network,
    protocolVersion: PROTOCOL_VERSION,
    credential: null,
    admission: null,
    timeoutMs: 30_000,
    frameBytesMax: FRAME_BYTES_MAX,
    expectedPeer: null,
    wallClock: () => Date.now(),
    random,
    earlyFramesMax: 64,
    earlyBytesMax: 2 * FRAME_BYTES_MAX,
  };
}

/** What the links of one tag (e.g. the relay's subscribers, the bare server's) received. */
interface Tally {
  frames: number;
  closed: number;
  hist: Histogram;
}

function clientRole(): void {
  const links: Link[] = [];
  const tallies = new Map<string, Tally>();
  let failures: string[] = [];

  const tally = (tag: string) => {
    let t = tallies.get(tag);
    if (!t) tallies.set(tag, (t = { frames: 0, closed: 0, hist: new Histogram() }));
    return t;
  };
  /** Counts every frame carrying the marker, and how long ago its publisher stamped it. */
  const subscriber = (t: Tally) => (bytes: Uint8Array) => {
    const at = markerAt(bytes);
    if (at < 0) return;
    t.frames++;
    t.hist.add(now() - new DataView(bytes.buffer, bytes.byteOffset + at + MARKER.length, 8).getFloat64(0, true));
  };

  serve({
    /** Opens `count` links, `concurrency` at a time; replies when all are up or failed. */
    open: async (req) => {
      suite ??= await createSignatureSuite({ subtle: globalThis.crypto.subtle });
      const { url, count, concurrency, authenticate, network, kind, tag } = req as unknown as {
        url: string; count: number; concurrency: number; authenticate: boolean; network: string; kind: "idle" | "subscriber"; tag: string;
      };
      const t = tally(tag);
      const t0 = performance.now();
      let next = 0;
      let opened = 0;
      let failed = 0;
      const worker = async () => {
        while (next < count) {
          next++;
          try {
            const link = await openLink(url, authenticate, network, kind === "subscriber");
            link.onmessage = kind === "subscriber" ? subscriber(t) : () => void t.frames++;
            link.onclose = () => void t.closed++;
            links.push(link);
            opened++;
          } catch (e) {
            failed++;
            if (failures.length < 5) failures.push(e instanceof Error ? e.message : String(e));
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
      return { opened, failed, failures: failures.splice(0), ms: performance.now() - t0 };
    },
    /** Counters per tag now, with this process's clock; `reset` starts new latency histograms. */
    mark: (req) => {
      const out: Record<string, { frames: number; closed: number; histogram: [number, number][] }> = {};
      for (const [tag, t] of tallies) {
        out[tag] = { frames: t.frames, closed: t.closed, histogram: [...t.hist.counts] };
        if (req.reset) t.hist = new Histogram();
      }
      return { t: performance.now(), tallies: out };
    },
    close: async () => {
      for (const l of links.splice(0)) l.close("bench done");
      await pub?.close();
      pub = null;
      tallies.clear();
      failures = [];
      return { ok: true };
    },
    /** This process's raw clock, for the parent to measure the offset between the two. */
    clock: () => ({ now: performance.timeOrigin + performance.now() }),
    offset: (req) => {
      clockOffset = Number(req.ms);
      return { ok: true };
    },
    publisher: (req) => publisherStart(req),
    run: (req) => publisherRun(req),
    stop: () => publisherStop(),
  });
  process.send!({ ready: true, nofile: nofileLimit() });
}

/**
 * Opens one link to `url`. `authenticate`: runs the handshake with a new key pair (resolves when
 * both proofs verified); else resolves once the socket is open.
 */
/** The bench topic's scope: a subscriber link wants it, so the relay carries the topic to it. */
const BENCH_SUBSCRIBE = encodeFrame({ type: FRAME.SUBSCRIBE, flags: SUBSCRIBE_FLAG.RESET, add: [scopeIdOf("bench")], remove: [] });

async function openLink(url: string, authenticate: boolean, network: string, subscribe = false): Promise<Link> {
  const socket = new WS(url);
  const link = websocketLink(socket, { frameBytesMax: FRAME_BYTES_MAX });
  if (authenticate) {
    await runHandshake(link, handshakeConfig(network));
    if (subscribe) link.send(BENCH_SUBSCRIBE);
    return link;
  }
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (socket.readyState === 1) {
        clearInterval(poll);
        resolve();
      } else if (socket.readyState > 1) {
        clearInterval(poll);
        reject(new Error("socket closed before it opened"));
      }
    }, 2);
  });
  return link;
}

/** Where the marker starts in `bytes`, or -1. */
function markerAt(bytes: Uint8Array): number {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(MARKER);
}

// ── publisher ───────────────────────────────────────────────────────────────────────────────────

interface Publisher {
  send(seq: number): void;
  probe: Link;
  acked: number;
  frameBytes: number;
  close(): Promise<void>;
}

let pub: Publisher | null = null;
let published = 0;
let running = false;
let window = 0;
let timer: ReturnType<typeof setInterval> | null = null;

function payload(bytes: number, seq: number): Uint8Array {
  const p = new Uint8Array(Math.max(bytes, MARKER.length + 12));
  p.set(MARKER);
  const view = new DataView(p.buffer, MARKER.length, 12);
  view.setFloat64(0, now(), true);
  view.setUint32(8, seq, true);
  return p;
}

/**
 * Connects a publisher: against the relay, a full node dialing it (signing every message); against
 * the bare server, a plain socket. Then the probe, opened last, so that the server sends it each
 * message after every subscriber: the probe's count paces a windowed run.
 */
async function publisherStart(req: Request): Promise<Record<string, unknown>> {
  suite ??= await createSignatureSuite({ subtle: globalThis.crypto.subtle });
  const { url, mode, payloadBytes, frameBytes, network } = req as unknown as { url: string; mode: "relay" | "bare"; payloadBytes: number; frameBytes: number; network: string };
  let send: (seq: number) => void;
  let closeSender: () => Promise<void>;
  if (mode === "relay") {
    const node = await createNode({ network, intervalMs: 1000 });
    const dialer = dial(node, url, { WebSocket: WS, backoffMinMs: 50, backoffMaxMs: 500 });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("publisher: no link to the relay within 10 s")), 10_000);
      node.addEventListener("link-up", () => {
        clearTimeout(t);
        resolve();
      }, { once: true });
    });
    send = (seq) => node.publish("bench", payload(payloadBytes, seq));
    closeSender = async () => {
      dialer.close();
      await node.close({ leave: false });
    };
  } else {
    const link = await openLink(url, false, network);
    send = (seq) => link.send(payload(frameBytes, seq));
    closeSender = async () => link.close("bench done");
  }
  const probe = await openLink(url, mode === "relay", network, mode === "relay");
  const p: Publisher = { send, probe, acked: 0, frameBytes: 0, close: async () => {
    probe.close("bench done");
    await closeSender();
  } };
  probe.onmessage = (bytes) => {
    if (markerAt(bytes) < 0) return;
    p.frameBytes = bytes.byteLength;
    p.acked++;
    if (running && window > 0) pump();
  };
  pub = p;
  return { ok: true };
}

function pump(): void {
  while (running && published - pub!.acked < window) pub!.send(published++);
}

/** Publishes with at most `window` messages in flight (probe-paced), or at `rate` per second. */
function publisherRun(req: Request): Record<string, unknown> {
  if (!pub) throw new Error("no publisher");
  running = true;
  published = 0;
  pub.acked = 0;
  window = Number(req.window ?? 0);
  if (window > 0) pump();
  else {
    const rate = Number(req.rate);
    const count = Number(req.count);
    const t0 = performance.now();
    timer = setInterval(() => {
      const due = Math.min(count, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
      while (running && published < due) pub!.send(published++);
      if (published >= count) running = false;
    }, 1);
  }
  return { ok: true };
}

async function publisherStop(): Promise<Record<string, unknown>> {
  running = false;
  if (timer) clearInterval(timer);
  timer = null;
  // Let the probe catch up (bounded), so acked says what went through.
  const end = performance.now() + 3000;
  while (pub && pub.acked < published && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
  return { published, acked: pub?.acked ?? 0, frame_bytes: pub?.frameBytes ?? 0 };
}

// ── entry ───────────────────────────────────────────────────────────────────────────────────────

const role = process.argv[2];
if (!process.send) {
  console.error("bench-relay-child: run by grapevine bench relay (needs an IPC channel)");
  process.exit(2);
}
if (role === "relay") await relayRole(JSON.parse(process.argv[3] ?? "{}"));
else if (role === "bare") await bareRole();
else if (role === "client") clientRole();
else {
  console.error(`bench-relay-child: unknown role ${role}`);
  process.exit(2);
}
