/**
 * One interop peer, the same code in every runtime (Node, Deno, Bun, Chromium): a node that dials a
 * list of relays (the first, then the others as fallbacks) and talks to the orchestrator
 * (`run.mjs`) over plain HTTP on loopback, which every runtime has as `fetch`:
 * - `POST /report`: what the peer sees — its id, whether it is linked, the relay it is linked to,
 *   and the value of key `v` of every origin it holds — sent on every link change and state change;
 * - `GET /cmd?name=…`: a long poll for the next command (`set`, `exit`, or `none` on a timeout).
 *
 * The orchestrator timestamps reports as they arrive; the peer keeps no clock of its own.
 */
import { createNode, dial, type WebSocketConstructor } from "../../mod.ts";

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
}

interface Command {
  op: "set" | "exit" | "none";
  key?: string;
  value?: string;
}

/** Runs the peer until the orchestrator says `exit`; `version` names the runtime in reports. */
export async function runPeer(config: PeerConfig, version: string, WebSocket?: WebSocketConstructor): Promise<void> {
  const node = await createNode({ network: config.network, intervalMs: config.intervalMs });
  const dialer = dial(node, config.urls[0], {
    urls: config.urls.slice(1),
    backoffMinMs: 100,
    backoffMaxMs: 1000,
    ...(WebSocket ? { WebSocket } : {}),
  });
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
      return post("report", { name: config.name, version, id: node.id, connected: dialer.connected, relay: dialer.connected ? dialer.peer : null, url: dialer.url, seen });
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
    else if (cmd.op === "exit") break;
  }
  dialer.close();
  await node.close({ leave: false });
}

/** Reports an error that stopped the peer, then rethrows it. */
export async function failed(config: PeerConfig, error: unknown): Promise<never> {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  await fetch(new URL("report", config.control), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: config.name, error: message }) }).catch(() => {});
  throw error;
}
