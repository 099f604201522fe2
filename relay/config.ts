/**
 * A relay's settings, in one table: each has a command-line flag and an environment variable, so
 * every adapter takes the same ones — `grapevine relay` (Node), `deno run relay/deno.ts`,
 * `bun relay/bun.ts` read flags first and the environment where a flag is absent; Deno Deploy,
 * Cloudflare Workers and containers pass the environment alone. Runtime-neutral: flag values come
 * in already split (`relay/args.ts` parses an argument list), the environment through a lookup.
 *
 * Invariants: every value is checked here, before anything starts, and a bad one is a
 * {@link RelayUsageError} naming the flag; limits are finite and positive; node ids parse.
 *
 * @module
 */

import { DEFAULT_OPTIONS } from "../src/core/options.ts";
import { nodeIdFromText } from "../src/crypto/identity.ts";
import type { Credential } from "../src/runtime/credential.ts";
import type { RelayLimits } from "./limits.ts";
import { LOG_LEVELS, type LogLevel } from "./log.ts";
import { PROXY_HEADERS, type ProxyHeader } from "./proxy.ts";

/** Thrown for a bad flag or environment value; the message is meant for the operator. */
export class RelayUsageError extends Error {
  override readonly name = "RelayUsageError";
}

/** How a setting's text is read. */
type Kind = "port" | "text" | "positive" | "list" | "choice";

/** One setting: its flag (without `--`), its environment variable, and its help line. */
export interface RelaySetting {
  flag: string;
  env: string;
  kind: Kind;
  /** Placeholder in the help text. */
  value: string;
  help: string;
  /** A flag that may be given several times (environment: space- or comma-separated). */
  multiple?: boolean;
  /** The allowed values of a `choice`. */
  choices?: readonly string[];
}

/** Limits with a flag each, by option name. */
const LIMIT_SETTINGS: Record<keyof RelayLimits | "handshakeTimeoutMs", [flag: string, help: string]> = {
  connectionsMax: ["connections-max", "open connections in all (default 10000)"],
  connectionsPerIpMax: ["connections-per-ip-max", "open connections from one address (default 32)"],
  connectionsPerIpPerSecond: ["connections-per-ip-per-second", "new connections per second from one address (default 10)"],
  linkBytesPerSecondMax: ["link-bytes-per-second-max", "bytes per second one link may send (default 1048576)"],
  frameBytesMax: ["frame-bytes-max", "largest frame, either way (default 1048576)"],
  forwardsPerSecondMax: ["forwards-per-second-max", "FORWARD frames per second one link may have relayed (default 200)"],
  handshakeTimeoutMs: ["handshake-timeout-ms", "a link not authenticated by then is closed (default 10000)"],
};

const envName = (flag: string) => `GRAPEVINE_${flag.toUpperCase().replace(/-/g, "_")}`;

/** Every relay setting, in the order of the help text. */
export const RELAY_SETTINGS: readonly RelaySetting[] = [
  { flag: "port", env: "GRAPEVINE_PORT", kind: "port", value: "N", help: "TCP port (default 8787; 0 picks a free one; also read from PORT)" },
  { flag: "host", env: "GRAPEVINE_HOST", kind: "text", value: "H", help: "interface to listen on (default 127.0.0.1; 0.0.0.0 when the port comes from PORT)" },
  { flag: "network", env: "GRAPEVINE_NETWORK", kind: "text", value: "NAME", help: "network name (default grapevine)" },
  { flag: "peer", env: "GRAPEVINE_PEERS", kind: "list", value: "URL", multiple: true, help: "another relay to dial and keep dialed (ws:// or wss://); repeatable" },
  { flag: "key", env: "GRAPEVINE_KEY", kind: "text", value: "gvsk1.…", help: "the relay's secret key (default: a new key, so a new id, per run)" },
  { flag: "key-file", env: "GRAPEVINE_KEY_FILE", kind: "text", value: "PATH", help: "read the secret key from a file (grapevine keygen --out PATH makes one)" },
  { flag: "allow", env: "GRAPEVINE_ALLOW", kind: "list", value: "ID", multiple: true, help: "admit only these node ids (with --authority: either admits); repeatable" },
  { flag: "authority", env: "GRAPEVINE_AUTHORITY", kind: "text", value: "ID", help: "admit peers showing a credential signed by this authority's key" },
  { flag: "credential", env: "GRAPEVINE_CREDENTIAL", kind: "text", value: "JSON", help: "the relay's own credential (JSON, from issueCredential), shown to peers" },
  { flag: "trust-proxy", env: "GRAPEVINE_TRUST_PROXY", kind: "choice", value: "HEADER", choices: PROXY_HEADERS, help: `take the client address from this header of a trusted reverse proxy: ${PROXY_HEADERS.join(", ")} (default: the TCP peer's)` },
  ...Object.values(LIMIT_SETTINGS).map(([flag, help]): RelaySetting => ({ flag, env: envName(flag), kind: "positive", value: "N", help })),
  { flag: "interval-ms", env: "GRAPEVINE_INTERVAL_MS", kind: "positive", value: "MS", help: "time between the relay's gossip rounds (default 1000)" },
  { flag: "probe-interval-ms", env: "GRAPEVINE_PROBE_INTERVAL_MS", kind: "positive", value: "MS", help: "time between the relay's membership probes (default 1000)" },
  { flag: "shuffle-interval-ms", env: "GRAPEVINE_SHUFFLE_INTERVAL_MS", kind: "positive", value: "MS", help: "time between the relay's membership view shuffles (default 10000)" },
  { flag: "store-bytes-max", env: "GRAPEVINE_STORE_BYTES_MAX", kind: "positive", value: "N", help: "memory the state of the nodes it carries may take at the relay, bytes (default 134217728: about 40,000 presence tabs)" },
  { flag: "log-level", env: "GRAPEVINE_LOG_LEVEL", kind: "choice", value: "LEVEL", choices: LOG_LEVELS, help: `JSON log lines on stderr at or above: ${LOG_LEVELS.join(", ")} (default info)` },
];

/** A relay's settings, resolved and checked. */
export interface RelayConfig {
  port: number;
  host: string;
  network: string;
  peers: string[];
  /** Secret key in text form (`gvsk1.…`), if given. */
  key?: string;
  /** Path of a file holding the secret key, if given (read by the adapter). */
  keyFile?: string;
  /** Admission policy, if any. */
  admission?: { allow?: string[]; authority?: string };
  /** The relay's own credential, if given. */
  credential?: Credential;
  /** Header of a trusted proxy that carries the client's address, or null. */
  trustProxy: ProxyHeader | null;
  /** Limits given (the rest keep their defaults). */
  limits: Partial<RelayLimits> & { handshakeTimeoutMs?: number };
  /** The relay's own timing, where given (engine options): rounds, probes, view shuffles. */
  timing: { intervalMs?: number; probeIntervalMs?: number; shuffleIntervalMs?: number };
  /** The memory the state it carries may take (`storeBytesMax`, an engine option), where given. */
  state: { storeBytesMax?: number };
  logLevel: LogLevel;
}

/** Flag values as an argument parser returns them (strings; lists for repeatable flags). */
export type RelayFlagValues = Partial<Record<string, string | string[] | boolean | undefined>>;

/**
 * Resolves the settings: each flag, else its environment variable, else the default. Throws
 * {@link RelayUsageError} for a bad value.
 *
 * @example
 * ```ts
 * resolveRelayConfig({ port: "9000", peer: ["wss://b.example/"] }, (name) => process.env[name]);
 * // { port: 9000, host: "127.0.0.1", network: "grapevine", peers: ["wss://b.example/"], … }
 * ```
 */
export function resolveRelayConfig(flags: RelayFlagValues, env: (name: string) => string | undefined = () => undefined): RelayConfig {
  const read = (s: RelaySetting): string | string[] | undefined => {
    const v = flags[s.flag];
    if (typeof v === "boolean") throw new RelayUsageError(`--${s.flag} needs a value`);
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) return v;
    const e = env(s.env);
    if (e === undefined || e.trim() === "") return undefined;
    return s.kind === "list" ? e.split(/[\s,]+/).filter((p) => p !== "") : e.trim();
  };
  const setting = (flag: string) => RELAY_SETTINGS.find((s) => s.flag === flag)!;
  const text = (flag: string): string | undefined => {
    const v = read(setting(flag));
    if (Array.isArray(v)) throw new RelayUsageError(`--${flag} may be given once`);
    if (v !== undefined && v.trim() === "") throw new RelayUsageError(`--${flag} needs a value`);
    return v;
  };
  const list = (flag: string): string[] => {
    const v = read(setting(flag));
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  };
  const positive = (flag: string): number | undefined => {
    const v = text(flag);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || !/^[0-9.e+]+$/i.test(v)) throw new RelayUsageError(`--${flag}: expected a positive number, got ${v}`);
    return n;
  };
  const choice = <T extends string>(flag: string): T | undefined => {
    const v = text(flag);
    const s = setting(flag);
    if (v !== undefined && !s.choices!.includes(v.toLowerCase())) throw new RelayUsageError(`--${flag}: expected one of ${s.choices!.join(", ")}, got ${v}`);
    return v?.toLowerCase() as T | undefined;
  };

  const fromPlatform = text("port") === undefined && env("PORT") !== undefined && env("PORT")!.trim() !== "";
  const portText = text("port") ?? env("PORT")?.trim() ?? "8787";
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new RelayUsageError(`--port: expected 0 to 65535, got ${portText}`);

  const peers = list("peer");
  for (const url of peers) {
    if (!/^wss?:\/\/[^/]/.test(url)) throw new RelayUsageError(`--peer: expected a ws:// or wss:// URL, got ${url}`);
  }
  const key = text("key");
  const keyFile = text("key-file");
  if (key !== undefined && keyFile !== undefined) throw new RelayUsageError("give --key or --key-file, not both");

  const allow = list("allow");
  const authority = text("authority");
  for (const [flag, id] of [...allow.map((id) => ["allow", id]), ...(authority ? [["authority", authority]] : [])]) {
    try {
      nodeIdFromText(id);
    } catch {
      throw new RelayUsageError(`--${flag}: not a node id: ${id}`);
    }
  }
  const credentialText = text("credential");
  let credential: Credential | undefined;
  if (credentialText !== undefined) {
    try {
      credential = JSON.parse(credentialText) as Credential;
    } catch {
      throw new RelayUsageError("--credential: not JSON");
    }
    if (typeof credential !== "object" || credential === null || typeof credential.member !== "string") throw new RelayUsageError("--credential: not a credential ({ member, authority, expiresAtMs, signature })");
  }

  const limits: RelayConfig["limits"] = {};
  for (const [name, [flag]] of Object.entries(LIMIT_SETTINGS)) {
    const v = positive(flag);
    if (v !== undefined) (limits as Record<string, number>)[name] = v;
  }
  const config: RelayConfig = {
    port,
    host: text("host") ?? (fromPlatform ? "0.0.0.0" : "127.0.0.1"),
    network: text("network") ?? "grapevine",
    peers,
    trustProxy: choice<ProxyHeader>("trust-proxy") ?? null,
    limits,
    timing: {},
    state: {},
    logLevel: choice<LogLevel>("log-level") ?? "info",
  };
  if (key !== undefined) config.key = key;
  if (keyFile !== undefined) config.keyFile = keyFile;
  if (allow.length > 0 || authority !== undefined) config.admission = { ...(allow.length ? { allow } : {}), ...(authority ? { authority } : {}) };
  if (credential) config.credential = credential;
  for (const [flag, name] of [["interval-ms", "intervalMs"], ["probe-interval-ms", "probeIntervalMs"], ["shuffle-interval-ms", "shuffleIntervalMs"]] as const) {
    const v = positive(flag);
    if (v !== undefined) config.timing[name] = v;
  }
  if (config.timing.probeIntervalMs !== undefined && config.timing.probeIntervalMs < 500) {
    throw new RelayUsageError("--probe-interval-ms: at least 500 (the probe timeout)");
  }
  const storeBytesMax = positive("store-bytes-max");
  if (storeBytesMax !== undefined) {
    // At least one origin's cap (originBytesMax): a node must be able to hold any one valid map.
    const least = DEFAULT_OPTIONS.originBytesMax;
    if (!Number.isInteger(storeBytesMax) || storeBytesMax < least) throw new RelayUsageError(`--store-bytes-max: expected a whole number of bytes, at least ${least} (one origin's cap), got ${storeBytesMax}`);
    config.state.storeBytesMax = storeBytesMax;
  }
  return config;
}

/**
 * The options of `createRelay`/`serveRelay` that a resolved config sets (everything but the key,
 * which the adapter reads, and the listening address).
 */
export function relayOptionsOf(config: RelayConfig): Record<string, unknown> {
  return {
    network: config.network,
    peers: config.peers,
    trustProxy: config.trustProxy,
    ...config.limits,
    ...config.timing,
    ...config.state,
    ...(config.admission ? { admission: config.admission } : {}),
    ...(config.credential ? { credential: config.credential } : {}),
  };
}

/** The settings' help lines: `--flag VALUE   help [ENV]`. */
export function relaySettingsHelp(): string {
  return RELAY_SETTINGS.map((s) => {
    const left = `  --${s.flag} ${s.value}`;
    return `${left.padEnd(40)} ${s.help}\n${"".padEnd(41)} env ${s.env}`;
  }).join("\n");
}
