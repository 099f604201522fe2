/**
 * The demo's peer processes: spawns `node child.js …` for each, reads the JSON lines it writes,
 * sends it commands, and stops it (a `quit` command, then SIGKILL after a grace period). A child
 * whose stdin closes leaves by itself, so a demo that dies does not leave orphans behind.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** A line a peer process reported (see `child.ts`). */
export type ChildMessage = { ev: string } & Record<string, unknown>;

/** One running peer process. */
export interface PeerProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Its node id, once it said `ready`. */
  id: string | null;
  /** Resolves with the exit code (null if killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Sends a command (`update`, `quit`; `tx` with its fields in the tx demo); ignored once the process is gone. */
  command(cmd: string, fields?: Record<string, unknown>): void;
}

/** Starts `script` with `args` under the current `node`; `onMessage` gets each JSON line. */
export function spawnPeer(name: string, script: string, args: string[], onMessage: (p: PeerProcess, m: ChildMessage) => void): PeerProcess {
  const child = spawn(process.execPath, [script, ...args], { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.stdin!.on("error", () => {}); // writing to a process that just exited: nothing to do
  const peer: PeerProcess = {
    name,
    child,
    id: null,
    exited,
    command(cmd: string, fields?: Record<string, unknown>) {
      if (child.exitCode === null && child.signalCode === null && child.stdin!.writable) child.stdin!.write(`${JSON.stringify({ ...fields, cmd })}\n`);
    },
  };
  createInterface({ input: child.stdout! }).on("line", (line) => {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      return; // not ours (a stray log line)
    }
    if (message && typeof (message as ChildMessage).ev === "string") onMessage(peer, message as ChildMessage);
  });
  return peer;
}

/** Asks every process to leave, then kills the ones still running after `graceMs`. */
export async function stopPeers(peers: PeerProcess[], graceMs = 3_000): Promise<void> {
  for (const p of peers) {
    p.command("quit");
    p.child.stdin!.end();
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
  await Promise.race([Promise.all(peers.map((p) => p.exited)), late]);
  clearTimeout(timer);
  for (const p of peers) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
  await Promise.all(peers.map((p) => p.exited));
}

/**
 * The relay a demo runs on 127.0.0.1 (with its signature suite): every peer process of the demo
 * connects from that one address, at once, so the per-address limits are raised to fit them.
 */
export async function serveDemoRelay(o: { network: string; port: number; intervalMs: number; peers: number }) {
  const { createSignatureSuite } = await import("../../src/crypto/ed25519.ts");
  const { serveRelay } = await import("../../relay/node.ts");
  const suite = await createSignatureSuite({ subtle: globalThis.crypto.subtle });
  const served = await serveRelay({
    port: o.port,
    host: "127.0.0.1",
    network: o.network,
    intervalMs: o.intervalMs,
    suite,
    connectionsPerIpMax: Math.max(64, 4 * o.peers + 32),
    connectionsPerIpPerSecond: 1_000,
  });
  return { served, suite };
}
