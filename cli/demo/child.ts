/**
 * One peer of `grapevine demo`, run as its own `node` process. It creates a node, dials the relay
 * (`dial` + `nodeWebSocket`), writes its status, and also listens on a loopback WebSocket port it
 * publishes in the mesh (key `dial`), so that peers, having learnt each other's addresses through
 * the relay, link directly: the overlay becomes a mesh, not a star. Browsers cannot listen; they
 * stay linked to the relay alone.
 *
 * It reports to the demo on stdout, one JSON object per line (`ready`, `wrote`, `saw`, `links`,
 * `stats`), and takes commands on stdin (`{"cmd":"update"}` writes a new status, `{"cmd":"quit"}`
 * leaves). It leaves the mesh gracefully on SIGINT/SIGTERM or when stdin closes (the demo ended).
 *
 * With `--rooms doc-1,doc-3` it also opens those documents' presence rooms and moves a cursor in
 * each (`peer-rooms.ts`).
 *
 * Usage: `node child.js --relay ws://127.0.0.1:8787/ --name peer-1 --network N --interval MS --links K [--rooms D,…]`
 *
 * With `--tx PRODUCER_ID` (`grapevine demo-tx`) it also runs the flooding demo's mempool
 * (`../tx/flood.ts`, `--capacity N --window W`): it takes `{"cmd":"tx","w":BASE64URL}`, submits
 * that transaction (reported as `sub` with the verdict), and reports arrivals (`arr`) and its
 * mempool (`pool`).
 *
 * @module
 */

import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { WebSocketServer } from "ws";
import { createSignatureSuite } from "../../src/crypto/ed25519.ts";
import { createNode } from "../../src/runtime/create.ts";
import { type GrapevineNode } from "../../src/runtime/node.ts";
import { dial, type Dialer } from "../../src/runtime/dial.ts";
import { websocketLink } from "../../src/transport/websocket.ts";
import { nodeWebSocket, wsReceiveLimits } from "../../src/transport/ws-node.ts";
import { fromBase64Url } from "../../src/bytes.ts";
import { attachTx, type TxNode } from "../tx/flood.ts";
import { openDocuments } from "./peer-rooms.ts";
import { type DemoStatus, nextMood, statusCounter } from "./status.ts";

interface ChildArgs {
  relay: string;
  name: string;
  network: string;
  intervalMs: number;
  links: number;
  /** The tx demo: the block producer's id and the mempool's settings. */
  tx: { producer: string; capacity: number; nonceWindow: number } | null;
  /** Documents whose presence rooms it opens. */
  rooms: string[];
}

function childArgs(argv: string[]): ChildArgs {
  const text = { type: "string" } as const;
  const { values: v } = parseArgs({
    args: argv,
    options: { relay: text, name: text, network: text, interval: text, links: text, tx: text, capacity: text, window: text, rooms: text },
    strict: true,
    allowPositionals: false,
  });
  if (!v.relay || !v.name) throw new TypeError("usage: child --relay URL --name NAME [--network N] [--interval MS] [--links K]");
  const tx = v.tx ? { producer: v.tx, capacity: Number(v.capacity ?? 1000), nonceWindow: Number(v.window ?? 64) } : null;
  return { relay: v.relay, name: v.name, network: v.network ?? "grapevine-demo", intervalMs: Number(v.interval ?? 250), links: Number(v.links ?? 2), tx, rooms: v.rooms ? v.rooms.split(",").filter(Boolean) : [] };
}

function report(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

async function main(): Promise<void> {
  const args = childArgs(process.argv.slice(2));
  const suite = await createSignatureSuite({ subtle: globalThis.crypto.subtle });
  const node = await createNode({ network: args.network, intervalMs: args.intervalMs, suite });
  const server = await listen(node, node.options.frameBytesMax);
  const relay = dial(node, args.relay, { WebSocket: nodeWebSocket, backoffMinMs: 100, backoffMaxMs: 2_000 });
  /** Direct links this peer dialed, by the target's id. */
  const direct = new Map<string, Dialer>();

  let n = 0;
  let mood: string | undefined;
  const writeStatus = () => {
    n++;
    mood = nextMood(mood);
    const status: DemoStatus = { name: args.name, runtime: "node", mood, n };
    node.set("status", status);
    report({ ev: "wrote", n, status });
  };

  node.subscribe((c) => {
    if (c.local || c.key !== "status") return;
    report({ ev: "saw", origin: c.origin, n: c.deleted ? null : statusCounter(c.value) });
  });
  const tx: TxNode | null = args.tx ? attachTx(node, suite, args.tx) : null;
  report({ ev: "ready", id: node.id, name: args.name, crypto: suite.backend, pid: process.pid, listen: server.url });
  node.set("dial", server.url);
  writeStatus();
  const closeDocuments = openDocuments(node, args.name, args.rooms);

  // Links and counters, reported when they change (checked every 200 and 250 ms).
  let lastPeers = "";
  const linkDirect = () => {
    const have = new Set(node.peers());
    const key = [...have].sort().join(",");
    if (key !== lastPeers) {
      lastPeers = key;
      report({ ev: "links", peers: [...have] });
    }
    for (const [target, d] of direct) {
      if (typeof node.get("dial", target) === "string") continue;
      d.close(); // it left the mesh: stop redialing it
      direct.delete(target);
    }
    if (direct.size >= args.links) return;
    const candidates = node.origins().filter((o) => o !== node.id && !have.has(o) && !direct.has(o) && typeof node.get("dial", o) === "string");
    if (candidates.length === 0) return;
    const target = candidates[Math.floor(Math.random() * candidates.length)];
    direct.set(target, dial(node, node.get("dial", target) as string, { WebSocket: nodeWebSocket, peer: target, backoffMinMs: 200, backoffMaxMs: 5_000 }));
  };
  const linkTimer = setInterval(linkDirect, 200);
  let lastStats = "";
  const statsTimer = setInterval(() => {
    const s = node.engine.stats;
    const line = JSON.stringify({ ev: "stats", framesOut: s.framesOut, bytesOut: s.bytesOut, framesIn: s.framesIn, bytesIn: s.bytesIn });
    if (line !== lastStats) process.stdout.write(`${(lastStats = line)}\n`);
  }, 250);
  // The tx demo: arrivals every 100 ms, the mempool when it changes.
  let lastPool = "";
  const txTimer = tx && setInterval(() => {
    const a = tx.takeArrivals();
    if (a.length) report({ ev: "arr", a: a.map(([id, t]) => [id, Math.round(t * 100) / 100]) });
    const pool = JSON.stringify({ ev: "pool", ...tx.pool() });
    if (pool !== lastPool) process.stdout.write(`${(lastPool = pool)}\n`);
  }, 100);

  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    clearInterval(linkTimer);
    clearInterval(statsTimer);
    if (txTimer) clearInterval(txTimer);
    closeDocuments();
    await node.close({ graceMs: 100 }); // leave first, over the links still up; dialers stop with the node
    relay.close();
    for (const d of direct.values()) d.close();
    server.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown());
  process.on("SIGTERM", () => void shutdown());
  const input = createInterface({ input: process.stdin });
  input.on("line", (line) => {
    let message: { cmd?: unknown; w?: unknown };
    try {
      message = JSON.parse(line) as { cmd?: unknown; w?: unknown };
    } catch {
      return;
    }
    const cmd = message?.cmd;
    if (cmd === "update" && !closing) writeStatus();
    else if (cmd === "quit") void shutdown();
    else if (cmd === "tx" && tx && !closing && typeof message.w === "string") {
      let wire: Uint8Array;
      try {
        wire = fromBase64Url(message.w);
      } catch {
        return;
      }
      void tx.submit(wire).then(({ id, verdict }) => report({ ev: "sub", id, v: verdict }), () => {}); // the node closed meanwhile
    }
  });
  input.on("close", () => void shutdown());
}

/** A loopback WebSocket server whose connections become links of `node`. */
async function listen(node: GrapevineNode, frameBytesMax: number): Promise<{ url: string; close(): void }> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, ...wsReceiveLimits(frameBytesMax) });
  await new Promise<void>((resolve, reject) => {
    wss.once("listening", resolve);
    wss.once("error", reject);
  });
  wss.on("connection", (ws) => {
    node.connect(websocketLink(ws, { frameBytesMax })).catch(() => {}); // a failed handshake closes the link
  });
  const { port } = wss.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}/`,
    close: () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}

main().catch((e) => {
  process.stderr.write(`demo peer: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
