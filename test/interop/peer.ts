/**
 * One interop peer, the same code in every runtime (Node, Deno, Bun, Chromium): a node that dials a
 * list of relays (the first, then the others as fallbacks) and talks to the orchestrator
 * (`run.mjs`) over plain HTTP on loopback, which every runtime has as `fetch`:
 * - `POST /report`: what the peer sees — its id, whether it is linked, the relay it is linked to,
 *   and the value of key `v` of every origin it holds — sent on every link change and state change;
 * - `GET /cmd?name=…`: a long poll for the next command (`set`, `exit`, or `none` on a timeout).
 *
 * Rooms (rooms.mjs): `join` opens `node.room(id)` with presence `{ name }`, a hold on its scope
 * `room/<id>`, and listens to the room's `msg` broadcasts (topic `room/<id>`, the same scope);
 * `room-set` writes a key in the scope, `room-publish` broadcasts there. Reports then carry, per
 * room, what the peer sees of it (key `v` per origin, presence names, messages) and `frames`: every
 * frame received on the socket is tapped before the node reads it (see {@link tapFrames}), SCOPED
 * ones counted by scope id, and any frame holding one of `config.markers` counted by marker, so a
 * room's payloads cannot reach a peer outside it unnoticed, inside an envelope or not.
 *
 * The orchestrator timestamps reports as they arrive; the peer keeps no clock of its own.
 */
import { createNode, dial, type GrapevineNode, type Room, type WebSocketConstructor } from "../../mod.ts";
import type { ScopeHandle } from "../../src/runtime/scopes.ts";
import { frameLimitsFor } from "../../src/core/engine.ts";
import { toHex } from "../../src/bytes.ts";
import { decodeFrame, FRAME } from "../../src/wire/frames.ts";
import { peekFrameType } from "../../src/wire/link-frames.ts";

/** What the orchestrator hands a peer. */
export interface PeerConfig {
  /** Peer name, also its runtime's name in the report (node, deno, bun, chromium). */
  name: string;
  /** Orchestrator base URL, `http://127.0.0.1:P/`. */
  control: string;
  /** Relay URLs: the first is dialed first, the rest are fallbacks in order. */
  urls: string[];
  network: string;
  intervalMs: number;
  /** Strings whose bytes are counted in every frame received (each room's payloads carry one). */
  markers?: string[];
}

interface Command {
  op: "set" | "join" | "room-set" | "room-publish" | "report" | "exit" | "none";
  key?: string;
  value?: string;
  room?: string;
  /** Echoed in the report that answers `report`, so the orchestrator knows it is fresh. */
  seq?: number;
}

/** What the tap counted: frames received, SCOPED frames by scope id (hex), frames by marker. */
interface FrameCounts {
  total: number;
  scoped: Record<string, number>;
  marked: Record<string, number>;
}

/** One joined room: the presence handle, the scope hold, and the messages heard. */
interface JoinedRoom {
  room: Room<{ name: string }>;
  scope: ScopeHandle;
  /** Sender id → payloads in arrival order. */
  messages: Record<string, unknown[]>;
}

/**
 * Wraps a WebSocket constructor so that `onFrame` sees every binary message each socket receives,
 * before (and whatever) the node does with it: a listener added at construction, next to the
 * `onmessage` the link sets.
 */
function tapFrames(Ctor: WebSocketConstructor, onFrame: (bytes: Uint8Array) => void): WebSocketConstructor {
  return function Tapped(url: string, protocols?: string | string[]) {
    const socket = new Ctor(url, protocols) as InstanceType<WebSocketConstructor> & { addEventListener(type: "message", fn: (e: { data: unknown }) => void): void };
    socket.addEventListener("message", (e) => {
      const d = e.data;
      if (d instanceof ArrayBuffer) onFrame(new Uint8Array(d));
      else if (ArrayBuffer.isView(d)) onFrame(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    });
    return socket;
  } as unknown as WebSocketConstructor;
}

/** Counts one received frame into `counts` (see {@link FrameCounts}). */
function countFrame(node: GrapevineNode, counts: FrameCounts, markers: Uint8Array[], names: string[], bytes: Uint8Array): void {
  counts.total++;
  if (peekFrameType(bytes) === FRAME.SCOPED) {
    try {
      const f = decodeFrame(bytes, frameLimitsFor(node.options));
      if (f.type === FRAME.SCOPED) {
        const id = toHex(f.scope);
        counts.scoped[id] = (counts.scoped[id] ?? 0) + 1;
      }
    } catch {
      counts.scoped.malformed = (counts.scoped.malformed ?? 0) + 1;
    }
  }
  markers.forEach((m, i) => {
    if (contains(bytes, m)) counts.marked[names[i]] = (counts.marked[names[i]] ?? 0) + 1;
  });
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** Runs the peer until the orchestrator says `exit`; `version` names the runtime in reports. */
export async function runPeer(config: PeerConfig, version: string, WebSocket?: WebSocketConstructor): Promise<void> {
  const node = await createNode({ network: config.network, intervalMs: config.intervalMs });
  const counts: FrameCounts = { total: 0, scoped: {}, marked: {} };
  const markerNames = config.markers ?? [];
  const markers = markerNames.map((m) => new TextEncoder().encode(m));
  const Ctor = WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket!;
  const dialer = dial(node, config.urls[0], {
    urls: config.urls.slice(1),
    backoffMinMs: 100,
    backoffMaxMs: 1000,
    WebSocket: tapFrames(Ctor, (bytes) => countFrame(node, counts, markers, markerNames, bytes)),
  });
  const rooms = new Map<string, JoinedRoom>();
  let ack: number | null = null;
  const post = (path: string, body: unknown) =>
    fetch(new URL(path, config.control), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  let scheduled = false;
  let sending: Promise<unknown> = Promise.resolve();
  const report = () => {
    if (scheduled) return;
    scheduled = true;
    // Coalesce bursts of changes into one report, sent after the previous one (in order).
    sending = sending.then(() => new Promise((r) => setTimeout(r, 5))).then(() => {
      scheduled = false;
      const seen: Record<string, unknown> = {};
      for (const origin of node.origins()) {
        const v = node.get("v", origin);
        if (v !== undefined) seen[origin] = v;
      }
      return post("report", {
        name: config.name,
        version,
        id: node.id,
        connected: dialer.connected,
        relay: dialer.connected ? dialer.peer : null,
        url: dialer.url,
        seen,
        rooms: Object.fromEntries([...rooms].map(([id, r]) => [id, roomReport(r)])),
        frames: counts,
        ack,
      });
    }).catch(() => {});
  };
  node.addEventListener("link-up", report);
  node.addEventListener("link-down", report);
  node.subscribe(report);
  report();

  for (;;) {
    let cmd: Command;
    try {
      cmd = (await (await fetch(new URL(`cmd?name=${encodeURIComponent(config.name)}`, config.control))).json()) as Command;
    } catch {
      break; // the orchestrator is gone
    }
    if (cmd.op === "set") node.set(cmd.key!, cmd.value);
    else if (cmd.op === "join" && !rooms.has(cmd.room!)) {
      const room = node.room<{ name: string }>(cmd.room!, { presence: { name: cmd.value ?? config.name } });
      const joined: JoinedRoom = { room, scope: node.scope(`room/${cmd.room}`), messages: {} };
      room.subscribe("msg", (m) => {
        (joined.messages[m.peer] ??= []).push(m.payload);
        report();
      });
      room.presence.subscribe(report);
      rooms.set(cmd.room!, joined);
      report();
    } else if (cmd.op === "room-set") rooms.get(cmd.room!)!.scope.set(cmd.key!, cmd.value);
    else if (cmd.op === "room-publish") rooms.get(cmd.room!)!.room.broadcast("msg", cmd.value);
    else if (cmd.op === "report") {
      ack = cmd.seq!;
      report();
    } else if (cmd.op === "exit") break;
  }
  for (const r of rooms.values()) r.room.close(), r.scope.close();
  dialer.close();
  await node.close({ leave: false });
}

/** What a peer sees of one room: key `v` per origin in its scope, presence names, messages. */
function roomReport(r: JoinedRoom) {
  const seen: Record<string, unknown> = {};
  for (const origin of r.scope.origins()) {
    const v = r.scope.get("v", origin);
    if (v !== undefined) seen[origin] = v;
  }
  const presence: Record<string, unknown> = {};
  for (const e of r.room.presence.others) presence[e.peer] = e.state?.name;
  return { links: r.scope.links, seen, presence, messages: r.messages };
}

/** Reports an error that stopped the peer, then rethrows it. */
export async function failed(config: PeerConfig, error: unknown): Promise<never> {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  await fetch(new URL("report", config.control), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: config.name, error: message }) }).catch(() => {});
  throw error;
}
