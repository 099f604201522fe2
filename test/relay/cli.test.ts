/**
 * `grapevine relay`: prints id and URL first, serves peers until SIGINT/SIGTERM, then closes
 * cleanly with exit code 0; bad flags are usage errors (exit 2); the help text lists the command.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../cli/grapevine.ts";
import { createNode, dial, exportSecretKey, generateKeyPair, nodeIdToText } from "../../mod.ts";
import { nodeWebSocket } from "../../src/transport/ws-node.ts";
import { parseRelayArgs, RelayUsageError } from "../../relay/args.ts";
import { until } from "./helpers.ts";

const out: string[] = [];
const err: string[] = [];
function captureConsole(): void {
  vi.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")));
  vi.spyOn(console, "error").mockImplementation((...a) => void err.push(a.join(" ")));
}
afterEach(() => {
  vi.restoreAllMocks();
  out.length = 0;
  err.length = 0;
});

describe("relay flags", () => {
  it("parse with defaults, repeatable --peer, --flag=value, and the environment as a fallback", () => {
    expect(parseRelayArgs([])).toEqual({ port: 8787, host: "127.0.0.1", peers: [], network: "grapevine" });
    expect(parseRelayArgs(["--port=0", "--peer", "ws://a:1/", "--peer", "wss://b/", "--network", "n"])).toMatchObject({ port: 0, peers: ["ws://a:1/", "wss://b/"], network: "n" });
    const env: Record<string, string> = { GRAPEVINE_PEERS: "wss://x/, wss://y/", GRAPEVINE_NETWORK: "lobby", GRAPEVINE_KEY: " gvsk1.abc ", PORT: "9000" };
    expect(parseRelayArgs([], (k) => env[k])).toEqual({ port: 9000, host: "127.0.0.1", peers: ["wss://x/", "wss://y/"], network: "lobby", key: "gvsk1.abc" });
    expect(() => parseRelayArgs(["--port", "70000"])).toThrow(RelayUsageError);
    expect(() => parseRelayArgs(["--peer", "http://x/"])).toThrow(/ws:\/\//);
    expect(() => parseRelayArgs(["--key", "a", "--key-file", "b"])).toThrow(/not both/);
    expect(() => parseRelayArgs(["--bogus", "1"])).toThrow(/unknown argument/);
    expect(() => parseRelayArgs(["--network"])).toThrow(/needs a value/);
  });
});

describe("grapevine relay", () => {
  it("is in the help text", async () => {
    captureConsole();
    expect(await main(["help"])).toBe(0);
    expect(out.join("\n")).toMatch(/grapevine relay \[options\]/);
    expect(out.join("\n")).toMatch(/--key-file PATH/);
  });

  it("bad flags and bad keys are usage errors (exit 2)", async () => {
    captureConsole();
    expect(await main(["relay", "--port", "x"])).toBe(2);
    expect(await main(["relay", "--key", "gvsk1.nope"])).toBe(2);
    expect(err.join("\n")).toMatch(/--key: not a secret key/);
  });

  it("prints its id (from --key-file) and URL, serves peers, and closes on SIGINT with exit 0", async () => {
    captureConsole();
    const dir = mkdtempSync(join(tmpdir(), "gv-relay-"));
    const keyPair = generateKeyPair((n) => crypto.getRandomValues(new Uint8Array(n)));
    writeFileSync(join(dir, "relay.key"), `${exportSecretKey(keyPair)}\n`);
    const running = main(["relay", "--port", "0", "--network", "cli-test", "--key-file", join(dir, "relay.key")]);
    await until(() => out.length > 0, 10_000, "listening line");
    const m = /^relay (\S+) listening on (ws:\/\/127\.0\.0\.1:\d+\/) \(network cli-test\)$/.exec(out[0]);
    expect(m, out[0]).not.toBeNull();
    expect(m![1]).toBe(nodeIdToText(keyPair.publicKey));
    const node = await createNode({ network: "cli-test" });
    const d = dial(node, m![2], { WebSocket: nodeWebSocket });
    await until(() => d.connected, 10_000, "peer linked");
    expect(d.peer).toBe(m![1]);
    process.emit("SIGINT");
    expect(await running).toBe(0);
    expect(out).toContain("relay closed");
    await until(() => !d.connected, 5000, "link down after the relay closed");
    d.close();
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
