#!/usr/bin/env node
// The Dockerfile and compose.yaml without Docker (no daemon here, and base images cannot be
// pulled): every stage's steps run in a clean directory standing in for the image's file system —
// WORKDIR and COPY map the image's absolute paths under it, RUN runs its shell command there, ENV
// sets variables — and then the two relays of compose.yaml start with the image's CMD, their
// environment, and each other's service names mapped to loopback ports. They must listen, link to
// each other (each /healthz shows its peer connected), and stop cleanly on SIGTERM.
//   node test/pack/dockerfile.mjs      (CI runs it; about 3–5 minutes, mostly npm ci)
// One JSON line at the end; exit 1 with the failing step named otherwise. Bounded: 20 minutes in
// all, each wait its own deadline; every process it starts is killed on the way out.

import { execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const TOTAL_MS = 20 * 60_000;
const started = Date.now();
const result = { ok: false, stages: [], relays: {} };
const children = [];
let step = "parse";

function fail(message) {
  throw Object.assign(new Error(message), { step });
}

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(text) {
  const out = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (!pending && (line.trim() === "" || line.trimStart().startsWith("#"))) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = "";
    const m = /^([A-Z]+)\s+(.*)$/.exec(full);
    if (!m) fail(`cannot read Dockerfile line: ${full}`);
    out.push({ op: m[1], arg: m[2] });
  }
  return out;
}

/** The services of compose.yaml: ports and environment (the simple form it uses). */
function composeServices(text) {
  const services = {};
  let current = null;
  let list = null;
  for (const line of text.split("\n")) {
    if (/^\s*#/.test(line) || line.trim() === "") continue;
    let m;
    if ((m = /^ {2}([a-z0-9-]+):\s*$/.exec(line))) services[(current = m[1])] = { ports: [], environment: [] };
    else if (current && (m = /^ {4}(ports|environment):\s*$/.exec(line))) list = m[1];
    else if (current && (m = /^ {4}[a-z]+:/.exec(line))) list = null;
    else if (current && list && (m = /^ {6}- "?([^"]*)"?\s*$/.exec(line))) services[current][list].push(m[1]);
  }
  return services;
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

async function until(what, ms, check) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function health(port) {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
    return await r.json();
  } catch {
    return null;
  }
}

async function main() {
  const stages = [];
  for (const ins of instructions(readFileSync(join(ROOT, "Dockerfile"), "utf8"))) {
    if (ins.op === "FROM") stages.push({ from: ins.arg, name: /\bAS\s+(\S+)/i.exec(ins.arg)?.[1] ?? null, steps: [] });
    else if (!stages.length) fail(`${ins.op} before FROM`);
    else stages.at(-1).steps.push(ins);
  }
  const services = composeServices(readFileSync(join(ROOT, "compose.yaml"), "utf8"));
  if (Object.keys(services).length < 2) fail("compose.yaml names fewer than two services");

  const fsRoot = mkdtempSync(join(tmpdir(), "grapevine-image-"));
  result.root = fsRoot;
  const at = (path) => join(fsRoot, path);
  let final = null;
  for (const stage of stages) {
    step = `stage ${stage.name ?? stage.from}`;
    const t = Date.now();
    let cwd = at("/");
    const env = {};
    let cmd = null;
    for (const { op, arg } of stage.steps) {
      if (op === "WORKDIR") {
        cwd = at(arg);
        mkdirSync(cwd, { recursive: true });
      } else if (op === "COPY") {
        const from = /^--from=(\S+)\s+(\S+)\s+(\S+)$/.exec(arg);
        if (from) cpSync(at(from[2]), resolve(cwd, from[3]), { recursive: true });
        else if (arg === ". .") {
          // The build context: the repository's tracked files (what .dockerignore leaves is not tracked).
          const files = execFileSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8" }).split("\0").filter(Boolean);
          for (const f of files) {
            if (!existsSync(join(ROOT, f))) continue;
            mkdirSync(dirname(join(cwd, f)), { recursive: true });
            cpSync(join(ROOT, f), join(cwd, f));
          }
        } else fail(`COPY form not handled: ${arg}`);
      } else if (op === "RUN") {
        step = `RUN ${arg.slice(0, 80)}`;
        execFileSync("bash", ["-c", arg], { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "inherit"], timeout: 10 * 60_000 });
      } else if (op === "ENV") {
        for (const m of arg.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]] = m[2].replace(/^"|"$/g, "");
      } else if (op === "CMD") cmd = JSON.parse(arg);
      else if (!["EXPOSE", "USER", "HEALTHCHECK"].includes(op)) fail(`instruction not handled: ${op}`);
    }
    result.stages.push({ stage: stage.name ?? stage.from, ms: Date.now() - t });
    final = { cwd, env, cmd };
  }
  if (!final?.cmd) fail("the last stage has no CMD");

  step = "compose: two relays";
  const names = Object.keys(services);
  const ports = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await freePort()])));
  const containerPort = (n) => Number(services[n].ports[0]?.split(":").pop() ?? final.env.PORT);
  const relays = {};
  for (const name of names) {
    const env = { ...process.env, ...final.env, PORT: String(ports[name]), GRAPEVINE_LOG_LEVEL: "warn" };
    delete env.GRAPEVINE_PEERS;
    for (const kv of services[name].environment) {
      const eq = kv.indexOf("=");
      let value = kv.slice(eq + 1);
      // Service names resolve to loopback, each on the port it got here.
      for (const other of names) value = value.replaceAll(`//${other}:${containerPort(other)}`, `//127.0.0.1:${ports[other]}`);
      env[kv.slice(0, eq)] = value;
    }
    const child = spawn(final.cmd[0], final.cmd.slice(1), { cwd: final.cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    children.push(child);
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    relays[name] = { child, output: () => output, exited: new Promise((r) => child.once("exit", (code, signal) => r(code ?? signal))) };
  }
  for (const name of names) {
    const line = await until(`${name} listening`, 60_000, () => /relay (\S+) listening on (\S+)/.exec(relays[name].output()));
    result.relays[name] = { id: line[1], url: line[2], port: ports[name] };
    if (!line[2].startsWith("ws://0.0.0.0:")) fail(`${name} listens on ${line[2]}, not 0.0.0.0 (PORT is set)`);
  }
  step = "compose: relays peer each other";
  const t = Date.now();
  await until("both relays linked to each other", 30_000, async () => {
    const all = await Promise.all(names.map((n) => health(ports[n])));
    return all.every((h) => h && h.peers.length === names.length - 1 && h.peers.every((p) => p.connected));
  });
  result.mesh_ms = Date.now() - t;

  step = "SIGTERM";
  for (const name of names) process.kill(-relays[name].child.pid, "SIGTERM");
  for (const name of names) {
    await until(`${name} closed`, 15_000, () => /^relay closed$/m.test(relays[name].output()));
    result.relays[name].exit = await relays[name].exited;
    if (result.relays[name].exit !== 0) fail(`${name} exited with ${result.relays[name].exit} after SIGTERM, not 0`);
  }
  result.ok = true;
}

const deadline = setTimeout(() => finish(Object.assign(new Error(`over ${TOTAL_MS} ms`), { step })), TOTAL_MS);
async function finish(error) {
  clearTimeout(deadline);
  for (const c of children) {
    try {
      process.kill(-c.pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  if (result.root) rmSync(result.root, { recursive: true, force: true });
  delete result.root;
  result.total_ms = Date.now() - started;
  if (error) {
    result.ok = false;
    result.step = error.step ?? step;
    result.error = error.message;
    console.error(`dockerfile: FAILED at ${result.step}: ${error.message}`);
  }
  console.log(JSON.stringify(result));
  process.exit(result.ok ? 0 : 1);
}
main().then(() => finish(), (e) => finish(e));
