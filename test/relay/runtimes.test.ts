/**
 * The Deno and Bun adapters as their users run them: `deno run -A relay/deno.ts --port 0` and
 * `bun relay/bun.ts --port 0` as child processes; two Node peers dial each relay over loopback and
 * converge through it; SIGTERM closes it cleanly. Every wait is bounded.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createNode, dial, type GrapevineNode } from "../../mod.ts";
import { nodeWebSocket } from "../../src/transport/ws-node.ts";
import { refusalsArePrompt, until } from "./helpers.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = (name: string) => resolve(ROOT, "node_modules/.bin", name);
const NETWORK = "relay-runtime-test";
const START_TIMEOUT_MS = 45_000;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Starts a relay process; resolves with its URL and id once it prints its listening line. */
function startRelay(command: string, args: string[]): Promise<{ url: string; id: string; child: ChildProcess; output: () => string }> {
  const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
  let output = "";
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not start within ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /relay (\S+) listening on (ws:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolvePromise({ id: m[1], url: m[2], child, output: () => output });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code}:\n${output}`));
    });
  });
}

async function peer(url: string): Promise<{ node: GrapevineNode; connected: () => boolean; peer: () => string | null }> {
  const node = await createNode({ network: NETWORK, intervalMs: 100 });
  const d = dial(node, url, { WebSocket: nodeWebSocket, backoffMinMs: 50, backoffMaxMs: 500 });
  cleanups.push(async () => {
    d.close();
    await node.close({ leave: false });
  });
  return { node, connected: () => d.connected, peer: () => d.peer };
}

async function convergeThrough(relay: { url: string; id: string; child: ChildProcess }): Promise<void> {
  const [a, b] = [await peer(relay.url), await peer(relay.url)];
  await until(() => a.connected() && b.connected(), 10_000, "both peers linked");
  expect(a.peer()).toBe(relay.id);
  a.node.set("greeting", "from a");
  b.node.set("greeting", "from b");
  await until(() => b.node.get("greeting", a.node.id) === "from a" && a.node.get("greeting", b.node.id) === "from b", 10_000, "convergence");
  const health = await (await fetch(new URL("/healthz", relay.url.replace(/^ws/, "http")))).json();
  expect(health).toMatchObject({ ok: true, id: relay.id, network: NETWORK, links: 2, origins: 2 });
  await refusalsArePrompt(relay.url);
  const exited = new Promise<number | null>((r) => relay.child.once("exit", (code) => r(code)));
  relay.child.kill("SIGTERM");
  expect(await exited).toBe(0);
}

describe("runtime adapters as child processes", () => {
  it.skipIf(!existsSync(BIN("deno")))("deno run relay/deno.ts: two Node peers converge through it; SIGTERM exits 0", async () => {
    const relay = await startRelay(BIN("deno"), ["run", "-A", "relay/deno.ts", "--port", "0", "--network", NETWORK]);
    await convergeThrough(relay);
  }, 90_000);

  it.skipIf(!existsSync(BIN("bun")))("bun relay/bun.ts: two Node peers converge through it; SIGTERM exits 0", async () => {
    const relay = await startRelay(BIN("bun"), ["relay/bun.ts", "--port", "0", "--network", NETWORK]);
    await convergeThrough(relay);
  }, 90_000);
});
