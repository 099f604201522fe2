/**
 * Helpers for the relay tests: polling, a small Prometheus text parser, and peers attached to a
 * relay over in-memory links.
 */
import { expect } from "vitest";
import WebSocket from "ws";
import { createMemoryLinkPair, createNode, type GrapevineNode, type Link, type NodeOptions } from "../../mod.ts";
import type { Relay } from "../../relay/core.ts";
import { decodeLinkFrame, LINK_FRAME } from "../../src/wire/link-frames.ts";

export { until } from "../helpers/until.ts";

/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses Prometheus text format 0.0.4 strictly enough for tests: every sample's family must have
 * been announced by `# TYPE` first, label values are quoted and unescaped, values are numbers.
 */
export function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string>; help: Map<string, string> } {
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  for (const line of text.slice(0, -1).split("\n")) {
    let m;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line))) help.set(m[1], m[2]);
    else if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line))) types.set(m[1], m[2]);
    else if ((m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([-+]?(?:[0-9.eE+-]+|Inf|NaN))$/.exec(line))) {
      const labels: Record<string, string> = {};
      if (m[2]) {
        for (const lm of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/g)) labels[lm[1]] = lm[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
      }
      if (!types.has(m[1])) throw new Error(`sample before its TYPE line: ${line}`);
      samples.push({ name: m[1], labels, value: Number(m[3]) });
    } else throw new Error(`not a Prometheus line: ${JSON.stringify(line)}`);
  }
  return { samples, types, help };
}

/** The value of `name` (with `labels`), or undefined. */
export function sample(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/** A new node linked to `relay` over an in-memory link; resolves after the handshake. */
export async function attach(relay: Relay, ip: string, options: NodeOptions = {}): Promise<{ node: GrapevineNode; link: Link; closed: Promise<string> }> {
  const node = await createNode({ network: relay.node.options.network, intervalMs: 100, ...options });
  const [mine, theirs] = createMemoryLinkPair();
  const connected = node.connect(mine);
  await relay.accept(theirs, { ip });
  const handle = await connected;
  return { node, link: mine, closed: handle.closed };
}

/** Tries to link a new node to `relay`; resolves with the error message when refused. */
export async function refusedWith(relay: Relay, ip: string): Promise<string> {
  const node = await createNode({ network: relay.node.options.network });
  const [mine, theirs] = createMemoryLinkPair();
  const connected = node.connect(mine);
  await relay.accept(theirs, { ip });
  try {
    await connected;
    return "accepted";
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    await node.close();
  }
}

/**
 * A burst of sockets from one address passes connectionsPerIpPerSecond (10): the ones refused must
 * be told so at once — with a CLOSE frame naming the reason, or, once the address was refused,
 * an HTTP 429 before the upgrade — not left open until a handshake timeout. (The transport close
 * follows the CLOSE frame; workerd's hibernatable sockets do not end the TCP connection after the
 * close handshake, so the frame is what is checked.)
 */
export async function refusalsArePrompt(url: string): Promise<void> {
  const started = performance.now();
  const outcomes = await Promise.all(Array.from({ length: 14 }, () => new Promise<string>((resolve) => {
    const ws = new WebSocket(url);
    const done = (outcome: string) => {
      clearTimeout(timer);
      ws.terminate();
      resolve(outcome);
    };
    const timer = setTimeout(() => done("left waiting"), 3000);
    ws.on("message", (data: Buffer) => {
      const frame = decodeLinkFrame(new Uint8Array(data), 4096);
      if (frame.type === LINK_FRAME.HELLO) done("admitted");
      else if (frame.type === LINK_FRAME.CLOSE) done(`refused: ${frame.reason}`);
    });
    ws.on("unexpected-response", (_req, res) => done(`http ${res.statusCode}`)); // screened before the upgrade
    ws.on("close", (_code, reason) => done(`closed: ${reason.toString()}`));
    ws.on("error", () => {});
  })));
  const told = outcomes.filter((o) => o === "refused: connecting too fast").length;
  const screened = outcomes.filter((o) => o === "http 429").length;
  expect(told, outcomes.join(" | ")).toBeGreaterThanOrEqual(1); // the first refusal of the burst says why
  expect(told + screened, outcomes.join(" | ")).toBeGreaterThanOrEqual(4);
  expect(outcomes.filter((o) => o !== "admitted" && !o.startsWith("refused") && o !== "http 429"), outcomes.join(" | ")).toEqual([]);
  expect(performance.now() - started).toBeLessThan(2500);
}
