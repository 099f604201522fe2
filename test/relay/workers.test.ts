/**
 * The Workers adapter (`relay/workers.ts`) running in workerd through miniflare: the Worker and its
 * Durable Object are bundled with esbuild (as wrangler would), two Node peers dial the local URL
 * over loopback and converge through the object; each network name gets its own object; the
 * relay's key pair persists in the object's storage across a restart of workerd.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createNode, dial, type GrapevineNode } from "../../mod.ts";
import { nodeWebSocket } from "../../src/transport/ws-node.ts";
import { serveRelay } from "../../relay/node.ts";
import { refusalsArePrompt, until } from "./helpers.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const NETWORK = "relay-workers-test";
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

async function startWorkerd(bindings: Record<string, string> = {}): Promise<{ http: string; ws: string }> {
  const mf = new Miniflare({
    modules: true,
    script,
    compatibilityDate: "2025-09-01",
    durableObjects: { RELAY: { className: "RelayObject", useSQLite: true } },
    durableObjectsPersist: persistDir,
    bindings: { GRAPEVINE_NETWORK: NETWORK, ...bindings },
    host: "127.0.0.1",
    port: 0,
  });
  cleanups.push(() => mf.dispose());
  const url = await mf.ready;
  return { http: url.href, ws: url.href.replace(/^http/, "ws") };
}

async function peer(url: string, network = NETWORK): Promise<{ node: GrapevineNode; connected: () => boolean; peer: () => string | null }> {
  const node = await createNode({ network, intervalMs: 100 });
  const d = dial(node, url, { WebSocket: nodeWebSocket, backoffMinMs: 50, backoffMaxMs: 500 });
  cleanups.push(async () => {
    d.close();
    await node.close({ leave: false });
  });
  return { node, connected: () => d.connected, peer: () => d.peer };
}

describe("relay/workers.ts in workerd (miniflare)", () => {
  it("two Node peers dial the Durable Object relay and converge through it", async () => {
    const { http, ws } = await startWorkerd();
    const [a, b] = [await peer(ws), await peer(ws)];
    await until(() => a.connected() && b.connected(), 15_000, "both peers linked");
    a.node.set("where", "workerd");
    b.node.set("where", "node");
    await until(() => b.node.get("where", a.node.id) === "workerd" && a.node.get("where", b.node.id) === "node", 15_000, "convergence");
    const health = await (await fetch(new URL("/healthz", http))).json();
    expect(health).toMatchObject({ ok: true, network: NETWORK, links: 2, origins: 2 });
    expect(health.id).toBe(a.peer());
    const metrics = await (await fetch(new URL("/metrics", http))).text();
    expect(metrics).toMatch(/^grapevine_links 2$/m);
    expect((await fetch(new URL("/nope", http))).status).toBe(404);
    await refusalsArePrompt(ws);
  }, 60_000);

  it("one object per network name; each keeps its key pair across a restart of workerd", async () => {
    let { http } = await startWorkerd();
    const idOf = async (path: string) => ((await (await fetch(new URL(path, http))).json()) as { id: string; network: string });
    const first = await idOf("/healthz");
    const other = await idOf("/other-net/healthz");
    expect(other.network).toBe("other-net");
    expect(other.id).not.toBe(first.id);
    const c = await peer(`${http.replace(/^http/, "ws")}other-net/`, "other-net");
    await until(() => c.connected(), 15_000, "peer linked to the second network");
    expect(c.peer()).toBe(other.id);
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    ({ http } = await startWorkerd());
    expect((await idOf("/healthz")).id).toBe(first.id);
    expect((await idOf("/other-net/healthz")).id).toBe(other.id);
  }, 60_000);

  it("dials a peer relay from the Durable Object (GRAPEVINE_PEERS): peers on either relay converge", async () => {
    const nodeRelay = await serveRelay({ port: 0, network: NETWORK, intervalMs: 100 });
    cleanups.push(() => nodeRelay.close());
    const { ws } = await startWorkerd({ GRAPEVINE_PEERS: nodeRelay.url });
    const [a, b] = [await peer(ws), await peer(nodeRelay.url)];
    await until(() => a.connected() && b.connected(), 15_000, "both peers linked");
    a.node.set("side", "workerd");
    b.node.set("side", "node");
    await until(() => b.node.get("side", a.node.id) === "workerd" && a.node.get("side", b.node.id) === "node", 20_000, "convergence across relays");
    expect(nodeRelay.relay.node.peers()).toContain(a.peer());
  }, 60_000);
});
