/**
 * The Workers relay (`relay/workers.ts`) in workerd for tests: bundled with esbuild (as wrangler
 * would) and run by miniflare on loopback, its Durable Objects' storage in a temporary directory;
 * Node peers that dial it. `workerdHarness()`, called at the top of a test file, builds the bundle
 * once and disposes after each test of what it started.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { afterAll, afterEach, beforeAll } from "vitest";
import { createNode, dial, type GrapevineNode, type NodeOptions } from "../../mod.ts";
import { nodeWebSocket } from "../../src/transport/ws-node.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** A Node peer dialing a relay. */
export interface TestPeer {
  node: GrapevineNode;
  connected: () => boolean;
  /** The id of the relay it is linked to, or null. */
  peer: () => string | null;
  /** `link-up`, `link-down`, `link-failed`, in order. */
  events: string[];
  leave: () => Promise<void>;
}

export interface WorkerdHarness {
  /** Runs the Worker with `bindings` over the defaults; `onLine` gets each line it prints (else they are printed). */
  startWorkerd(bindings?: Record<string, string>, onLine?: (line: string) => void): Promise<{ http: string; ws: string }>;
  /** A node of `network` dialing `url`, its rounds every 100 ms unless `options` say otherwise. */
  peer(url: string, network?: string, options?: NodeOptions): Promise<TestPeer>;
  /** Run after each test, last first. */
  cleanups: (() => Promise<void> | void)[];
}

/** Registers the hooks and returns the helpers; `network` is `GRAPEVINE_NETWORK` and the peers' default. */
export function workerdHarness(network: string): WorkerdHarness {
  let script = "";
  const persistDir = mkdtempSync(join(tmpdir(), "grapevine-workers-"));
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(() => rmSync(persistDir, { recursive: true, force: true }));
  beforeAll(async () => {
    const out = await build({
      entryPoints: [join(ROOT, "relay/workers.ts")],
      bundle: true,
      format: "esm",
      platform: "neutral",
      mainFields: ["module", "main"],
      conditions: ["worker", "browser"],
      write: false,
      logLevel: "silent",
    });
    script = out.outputFiles[0].text;
  }, 60_000);

  async function startWorkerd(bindings: Record<string, string> = {}, onLine?: (line: string) => void): Promise<{ http: string; ws: string }> {
    const mf = new Miniflare({
      modules: true,
      script,
      compatibilityDate: "2025-09-01",
      durableObjects: { RELAY: { className: "RelayObject", useSQLite: true }, REGISTRY: { className: "NetworkRegistry", useSQLite: true } },
      durableObjectsPersist: persistDir,
      bindings: { GRAPEVINE_NETWORK: network, ...bindings },
      host: "127.0.0.1",
      port: 0,
      ...(onLine ? { handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
        for (const stream of [stdout, stderr]) {
          let rest = "";
          stream.setEncoding("utf8");
          stream.on("data", (chunk: string) => {
            const lines = (rest + chunk).split("\n");
            rest = lines.pop()!;
            for (const line of lines) onLine(line);
          });
        }
      } } : {}),
    });
    cleanups.push(() => mf.dispose());
    const url = await mf.ready;
    return { http: url.href, ws: url.href.replace(/^http/, "ws") };
  }

  async function peer(url: string, peerNetwork = network, options: NodeOptions = {}): Promise<TestPeer> {
    const node = await createNode({ network: peerNetwork, intervalMs: 100, ...options });
    const events: string[] = [];
    for (const type of ["link-up", "link-down", "link-failed"]) node.addEventListener(type, () => events.push(type));
    const d = dial(node, url, { WebSocket: nodeWebSocket, backoffMinMs: 50, backoffMaxMs: 500 });
    const leave = async () => {
      d.close();
      await node.close({ leave: false });
    };
    cleanups.push(leave);
    return { node, connected: () => d.connected, peer: () => d.peer, events, leave };
  }

  return { startWorkerd, peer, cleanups };
}

/** The JSON of `GET path` (`/healthz` by default) on the Worker at `http`. */
export async function healthOf(http: string, path = "/healthz"): Promise<Record<string, any>> {
  return (await (await fetch(new URL(path, http))).json()) as Record<string, any>;
}
