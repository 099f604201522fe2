/**
 * The command line: one parser for every command (`--name value` and `--name=value`, `--help`
 * everywhere, unknown options are usage errors with exit 2), `--version`, `keygen`, and
 * `grapevine relay`: its flags and their environment variables, the listening line first, JSON log
 * lines for connects and refusals, and a clean close on SIGINT.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main, version } from "../../cli/grapevine.ts";
import { createNode, dial, exportSecretKey, generateKeyPair, importSecretKey, nodeIdToText } from "../../mod.ts";
import { nodeWebSocket } from "../../src/transport/ws-node.ts";
import { joinFlagValues, parseRelayArgs, RelayUsageError } from "../../relay/args.ts";
import { keyPairFromSeed } from "../../src/crypto/keys.ts";
import { RELAY_SETTINGS, relayOptionsOf } from "../../relay/config.ts";
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

/** The JSON log lines written so far. */
const logLines = () => err.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
const ID = (c: string) => nodeIdToText(new Uint8Array(32).fill(c.charCodeAt(0)));

describe("relay settings", () => {
  const none = () => undefined;

  it("parse with defaults, repeatable --peer, --flag=value, and the environment as a fallback", () => {
    expect(parseRelayArgs([], none)).toEqual({ port: 8787, host: "127.0.0.1", network: "grapevine", peers: [], trustProxy: null, limits: {}, timing: {}, state: {}, logLevel: "info" });
    expect(parseRelayArgs(["--port=0", "--peer", "ws://a:1/", "--peer=wss://b/", "--network", "n"], none)).toMatchObject({ port: 0, peers: ["ws://a:1/", "wss://b/"], network: "n" });
    const env: Record<string, string> = { GRAPEVINE_PEERS: "wss://x/, wss://y/", GRAPEVINE_NETWORK: "lobby", GRAPEVINE_KEY: " gvsk1.abc ", GRAPEVINE_PORT: "9000" };
    expect(parseRelayArgs([], (k) => env[k])).toMatchObject({ port: 9000, host: "127.0.0.1", peers: ["wss://x/", "wss://y/"], network: "lobby", key: "gvsk1.abc" });
    // A flag wins over its variable.
    expect(parseRelayArgs(["--network", "flag"], (k) => env[k])).toMatchObject({ network: "flag" });
  });

  it("take a node id that begins with '-' as the value of the flag before it (one id in 64 does)", () => {
    const id = nodeIdToText(keyPairFromSeed(new Uint8Array(32).fill(1)).publicKey).replace(/^./, "-");
    expect(parseRelayArgs(["--allow", id, "--port", "0"], none)).toMatchObject({ port: 0, admission: { allow: [id] } });
    // A flag where a value should be is still a missing value, not the value.
    expect(() => parseRelayArgs(["--network", "--port", "0"], none)).toThrow(RelayUsageError);
    expect(joinFlagValues(["--allow", "-x", "-h"], { allow: { type: "string" }, help: { type: "boolean", short: "h" } })).toEqual(["--allow=-x", "-h"]);
  });

  it("listen on 0.0.0.0 when the platform gives the port in PORT, unless a host is named", () => {
    expect(parseRelayArgs([], (k) => ({ PORT: "8080" })[k])).toMatchObject({ port: 8080, host: "0.0.0.0" });
    expect(parseRelayArgs(["--host", "::1"], (k) => ({ PORT: "8080" })[k])).toMatchObject({ port: 8080, host: "::1" });
    expect(parseRelayArgs(["--port", "1"], (k) => ({ PORT: "8080" })[k])).toMatchObject({ port: 1, host: "127.0.0.1" });
  });

  it("take every limit as a flag and as an environment variable", () => {
    const limits = ["connections-max", "connections-per-ip-max", "connections-per-ip-per-second", "link-bytes-per-second-max", "frame-bytes-max", "forwards-per-second-max", "handshake-timeout-ms"];
    const argv = limits.flatMap((flag, i) => [`--${flag}`, String(100 + i)]);
    const fromFlags = parseRelayArgs(argv, none)!.limits;
    const env: Record<string, string> = {};
    limits.forEach((flag, i) => (env[`GRAPEVINE_${flag.toUpperCase().replace(/-/g, "_")}`] = String(100 + i)));
    const fromEnv = parseRelayArgs([], (k) => env[k])!.limits;
    const expected = { connectionsMax: 100, connectionsPerIpMax: 101, connectionsPerIpPerSecond: 102, linkBytesPerSecondMax: 103, frameBytesMax: 104, forwardsPerSecondMax: 105, handshakeTimeoutMs: 106 };
    expect(fromFlags).toEqual(expected);
    expect(fromEnv).toEqual(expected);
    for (const s of RELAY_SETTINGS) expect(s.env, s.flag).toMatch(/^GRAPEVINE_[A-Z_]+$/);
  });

  it("take the memory others' state may take (--store-bytes-max), as a whole number of bytes no less than one origin's cap", () => {
    const c = parseRelayArgs(["--store-bytes-max", "67108864"], none)!;
    expect(c.state).toEqual({ storeBytesMax: 67_108_864 });
    expect(relayOptionsOf(c)).toMatchObject({ storeBytesMax: 67_108_864 });
    expect(parseRelayArgs([], (k) => ({ GRAPEVINE_STORE_BYTES_MAX: "1e9" })[k])!.state).toEqual({ storeBytesMax: 1e9 });
    expect(relayOptionsOf(parseRelayArgs([], none)!)).not.toHaveProperty("storeBytesMax");
    expect(() => parseRelayArgs(["--store-bytes-max", "4096"], none)).toThrow(/--store-bytes-max: .*at least 131072/);
    expect(() => parseRelayArgs(["--store-bytes-max", "200000.5"], none)).toThrow(/--store-bytes-max: expected a whole number/);
  });

  it("take admission, a trusted proxy header and a log level; options for the relay follow", () => {
    const c = parseRelayArgs(["--allow", ID("A"), "--allow", ID("B"), "--authority", ID("C"), "--trust-proxy", "X-Forwarded-For", "--log-level", "warn"], none)!;
    expect(c).toMatchObject({ admission: { allow: [ID("A"), ID("B")], authority: ID("C") }, trustProxy: "x-forwarded-for", logLevel: "warn" });
    expect(relayOptionsOf(c)).toMatchObject({ admission: { allow: [ID("A"), ID("B")], authority: ID("C") }, trustProxy: "x-forwarded-for" });
    expect(parseRelayArgs([], (k) => ({ GRAPEVINE_ALLOW: `${ID("A")},${ID("B")}` })[k])!.admission).toEqual({ allow: [ID("A"), ID("B")] });
  });

  it("refuse bad values with the flag named", () => {
    const bad: [string[], RegExp][] = [
      [["--port", "70000"], /--port/],
      [["--port", "1.5"], /--port/],
      [["--peer", "http://x/"], /ws:\/\//],
      [["--key", "a", "--key-file", "b"], /not both/],
      [["--bogus", "1"], /Unknown option '--bogus'/],
      [["--network"], /argument missing/],
      [["--connections-max", "0"], /--connections-max: expected a positive number/],
      [["--frame-bytes-max", "lots"], /--frame-bytes-max/],
      [["--allow", "nobody"], /--allow: not a node id/],
      [["--trust-proxy", "x-real-ip"], /--trust-proxy: expected one of/],
      [["--log-level", "loud"], /--log-level/],
      [["stray"], /Unexpected argument/],
    ];
    for (const [argv, message] of bad) expect(() => parseRelayArgs(argv, none), argv.join(" ")).toThrow(message);
    expect(() => parseRelayArgs([], (k) => ({ GRAPEVINE_CONNECTIONS_MAX: "-3" })[k])).toThrow(RelayUsageError);
    expect(parseRelayArgs(["--help"], none)).toBeNull();
  });
});

describe("every command", () => {
  const commands = [["demo"], ["demo-tx"], ["relay"], ["keygen"], ["sim"], ["bench", "size"], ["bench", "relay"], ["bench", "broadcast"], ["bench", "held"]];

  it("answers --help with its own usage (exit 0)", async () => {
    captureConsole();
    for (const command of commands) {
      out.length = 0;
      expect(await main([...command, "--help"]), command.join(" ")).toBe(0);
      expect(out.join("\n"), command.join(" ")).toMatch(new RegExp(`^Usage: ${command[0] === "relay" ? "grapevine relay" : `grapevine ${command.join(" ")}`} `));
      expect(out.join("\n")).toMatch(/--help/);
    }
    out.length = 0;
    expect(await main(["help", "relay"])).toBe(0);
    for (const s of RELAY_SETTINGS) expect(out.join("\n")).toContain(`--${s.flag}`);
    for (const s of RELAY_SETTINGS) expect(out.join("\n")).toContain(s.env);
  });

  it("treats an unknown option as a usage error (exit 2)", async () => {
    captureConsole();
    for (const command of commands) {
      err.length = 0;
      expect(await main([...command, "--no-such-option"]), command.join(" ")).toBe(2);
      expect(err.join("\n")).toMatch(/Unknown option '--no-such-option'/);
    }
    expect(await main(["frobnicate"])).toBe(2);
    expect(await main(["sim", "--nodes", "one"])).toBe(2);
    expect(err.join("\n")).toMatch(/--nodes: expected an integer/);
  });

  it("takes --name=value and --name value alike (the simulator too)", async () => {
    captureConsole();
    expect(await main(["sim", "--nodes=8", "--seed=3", "--crypto", "insecure-hash", "--json"])).toBe(0);
    const a = JSON.parse(out.at(-1)!);
    out.length = 0;
    expect(await main(["sim", "--nodes", "8", "--seed", "3", "--crypto=insecure-hash", "--json"])).toBe(0);
    const b = JSON.parse(out.at(-1)!);
    expect(a.nodes).toBe(8);
    expect({ ...a, wall_ms: 0, keys_ms: 0, peak_rss_mb: 0 }).toEqual({ ...b, wall_ms: 0, keys_ms: 0, peak_rss_mb: 0 });
    expect(out[0]).toMatch(/^seed: 3 {2}\(replay: grapevine sim .*--seed 3/);
  });

  it("prints the package's version", async () => {
    captureConsole();
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(await main(["--version"])).toBe(0);
    expect(out).toEqual([pkg.version]);
    expect(version()).toBe(pkg.version);
  });
});

describe("grapevine keygen", () => {
  it("prints a secret key whose id goes to stderr; --out writes a new file (0600) and never overwrites", async () => {
    captureConsole();
    expect(await main(["keygen"])).toBe(0);
    const keyPair = importSecretKey(out[0]);
    expect(err[0]).toBe(`node id: ${nodeIdToText(keyPair.publicKey)}`);
    out.length = 0;
    expect(await main(["keygen", "--json"])).toBe(0);
    const j = JSON.parse(out[0]) as { id: string; secretKey: string };
    expect(nodeIdToText(importSecretKey(j.secretKey).publicKey)).toBe(j.id);

    const dir = mkdtempSync(join(tmpdir(), "gv-keygen-"));
    const file = join(dir, "relay.key");
    out.length = 0;
    expect(await main(["keygen", "--out", file])).toBe(0);
    expect(nodeIdToText(importSecretKey(readFileSync(file, "utf8").trim()).publicKey)).toBe(out[0]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await main(["keygen", "--out", file])).toBe(2);
    expect(err.join("\n")).toMatch(/exists/);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("grapevine relay", () => {
  it("bad flags and bad keys are usage errors (exit 2)", async () => {
    captureConsole();
    expect(await main(["relay", "--port", "x"])).toBe(2);
    expect(await main(["relay", "--key", "gvsk1.nope"])).toBe(2);
    expect(err.join("\n")).toMatch(/--key: not a secret key/);
  });

  it("a port already taken: exit 1 with one line saying so", async () => {
    captureConsole();
    const running = main(["relay", "--port", "0", "--network", "cli-test"]);
    await until(() => out.length > 0, 10_000, "listening line");
    const port = /:(\d+)\/ /.exec(out[0])![1];
    expect(await main(["relay", "--port", port])).toBe(1);
    expect(err.join("\n")).toMatch(/grapevine relay: cannot start: .*EADDRINUSE/);
    process.emit("SIGINT");
    expect(await running).toBe(0);
  });

  it("prints its id (from --key-file) and URL, logs connects and refusals as JSON, closes on SIGINT with exit 0", async () => {
    captureConsole();
    const dir = mkdtempSync(join(tmpdir(), "gv-relay-"));
    const keyPair = generateKeyPair((n) => crypto.getRandomValues(new Uint8Array(n)));
    writeFileSync(join(dir, "relay.key"), `${exportSecretKey(keyPair)}\n`);
    process.env.GRAPEVINE_CONNECTIONS_PER_IP_MAX = "1"; // from the environment, as on a platform
    let running: Promise<number>;
    try {
      running = main(["relay", "--port", "0", "--network", "cli-test", "--key-file", join(dir, "relay.key")]);
      await until(() => out.length > 0, 10_000, "listening line");
    } finally {
      delete process.env.GRAPEVINE_CONNECTIONS_PER_IP_MAX;
    }
    const m = /^relay (\S+) listening on (ws:\/\/127\.0\.0\.1:\d+\/) \(network cli-test\)$/.exec(out[0]);
    expect(m, out[0]).not.toBeNull();
    expect(m![1]).toBe(nodeIdToText(keyPair.publicKey));
    expect(logLines()[0]).toMatchObject({ level: "info", event: "start", id: m![1], limits: { connectionsPerIpMax: 1 } });

    const node = await createNode({ network: "cli-test" });
    const d = dial(node, m![2], { WebSocket: nodeWebSocket });
    await until(() => d.connected, 10_000, "peer linked");
    expect(d.peer).toBe(m![1]);
    await until(() => logLines().some((l) => l.event === "link_up"), 5000, "link_up logged");
    expect(logLines().find((l) => l.event === "link_up")).toMatchObject({ level: "info", peer: node.id, ip: "127.0.0.1" });

    // A second connection from the same address is over the limit: refused, and the log says why.
    const other = await createNode({ network: "cli-test" });
    const d2 = dial(other, m![2], { WebSocket: nodeWebSocket, backoffMinMs: 5_000, backoffMaxMs: 5_000 });
    await until(() => logLines().some((l) => l.event === "refused"), 5000, "refusal logged");
    expect(logLines().find((l) => l.event === "refused")).toMatchObject({ level: "warn", reason: "per_ip", ip: "127.0.0.1" });
    d2.close();
    await other.close();

    process.emit("SIGINT");
    expect(await running).toBe(0);
    expect(out).toContain("relay closed");
    await until(() => !d.connected, 5000, "link down after the relay closed");
    d.close();
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
