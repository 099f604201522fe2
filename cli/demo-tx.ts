/**
 * `grapevine demo-tx`: the transaction-flooding demo. The same mesh as `grapevine demo` (a relay on
 * 127.0.0.1 and peer processes that link directly, `demo/child.ts`), where every node also keeps a
 * mempool (`tx/mempool.ts`) as the validator of the `tx` broadcast topic (`tx/flood.ts`):
 *
 * - accounts with Ed25519 keys sign transfers `{from, to, amount, nonce, fee}` (`tx/tx.ts`); a
 *   load generator in this process (`tx/load.ts`) submits them at `rate` per second, each through
 *   a random peer process, which offers it to its own mempool and, if accepted, floods it;
 * - the relay produces a block every second that confirms each account's nonces (those its
 *   mempool has held for two seconds), so mempools drain and nonces move on;
 * - a few hostile transactions: forged (bad signature) and stale (confirmed nonce) ones submitted
 *   through honest peers, which must stop them at once, and forged ones pushed unchecked by a
 *   hostile node linked to the relay, which must reject them (and cut that link after two);
 * - every node reports when each transaction reached it; {@link TxView} turns that into delivery
 *   and latency figures, and the relay serves the tx dashboard at `/tx` (the mesh dashboard stays at
 *   `/`), whose tab joins as a peer with its own mempool.
 *
 * With `json`, it waits for the mesh to converge, loads it until `durationS` minus a short drain,
 * waits for the last transactions to arrive, and resolves with {@link DemoTxSummary}.
 *
 * @module
 */

import { toBase64Url } from "../src/bytes.ts";
import { createNode } from "../src/runtime/create.ts";
import { dial } from "../src/runtime/dial.ts";
import { nodeWebSocket } from "../src/transport/ws-node.ts";
import { nodeScript } from "./bundle.ts";
import { until, waitForEnd } from "./demo.ts";
import { MeshView } from "./demo/mesh-view.ts";
import { type ChildMessage, type PeerProcess, serveDemoRelay, spawnPeer, stopPeers } from "./demo/processes.ts";
import { demoRoutes } from "./demo/routes.ts";
import { type DemoStatus, statusCounter } from "./demo/status.ts";
import { attachTx, BLOCK_TOPIC, blockPayload, type PoolReport, TX_TOPIC, TX_TTL_MS, wallClock } from "./tx/flood.ts";
import { BlockProducer, LoadGenerator } from "./tx/load.ts";
import { txRoutes } from "./tx/routes.ts";
import { type SignedTx, txToWire } from "./tx/tx.ts";
import { type TxRecordKind, TxView } from "./tx/tx-view.ts";

/** Options of the tx demo. */
export interface DemoTxOptions {
  peers: number;
  /** Seconds to run; `undefined`: until Ctrl-C (or, with `json`, 20 s). */
  durationS?: number;
  json: boolean;
  intervalMs: number;
  port: number;
  links: number;
  /** Valid transactions submitted per second. */
  rate: number;
  /** Mempool capacity of every node. */
  capacity: number;
  /** Submit hostile transactions (forged, stale, pushed by a hostile node). Default true. */
  hostile?: boolean;
  onListening?: (demo: RunningDemoTx) => void;
  signal?: AbortSignal;
  quiet?: boolean;
}

/** A tx demo that is running. */
export interface RunningDemoTx {
  /** The tx dashboard, `http://127.0.0.1:PORT/tx`. */
  readonly dashboard: string;
  readonly relayUrl: string;
  readonly relayId: string;
  readonly view: TxView;
  /** Resolves once the load has started (the mesh converged first). */
  readonly loading: Promise<void>;
}

/** The one JSON line of `--json`. */
export interface DemoTxSummary {
  peers: number;
  /** Nodes every transaction should reach: the relay and the peer processes. */
  nodes: number;
  rate: number;
  /** Valid transactions submitted, and per second of load. */
  txs_submitted: number;
  rate_achieved: number;
  load_ms: number;
  /** Valid transactions every node has. */
  txs_complete: number;
  /** tx × node deliveries over those expected (valid transactions only). */
  delivered_fraction: number;
  deliveries: number;
  expected_deliveries: number;
  /** Submission → each node other than the entry one, ms. */
  latency_ms_p50: number | null;
  latency_ms_p90: number | null;
  latency_ms_p99: number | null;
  /** Submission → the last node, ms. */
  latency_to_all_ms_p50: number | null;
  latency_to_all_ms_p90: number | null;
  latency_to_all_ms_p99: number | null;
  /** Submission → each node, [p50, p99] ms, by node name. */
  latency_ms_by_node: Record<string, [number | null, number | null]>;
  mempool_sizes: Record<string, number>;
  mempool_capacity: number;
  blocks: number;
  /** Validator verdicts summed over the nodes' mempools. */
  rejected: number;
  ignored: number;
  evicted: number;
  /** Valid transactions their entry node did not take (its pool full of higher fees). */
  not_taken: number;
  hostile: {
    forged: number;
    forged_rejected_first_hop: number;
    stale: number;
    stale_ignored_first_hop: number;
    pushed: number;
    pushed_rejected_by_relay: number;
    /** Penalties the relay gave the hostile node's links, and links it cut. */
    penalties: number;
    links_cut: number;
    /** Deliveries of any hostile transaction at any honest node: 0. */
    deliveries: number;
  };
  converged: boolean;
  crypto: string[];
  relay: string;
  dashboard: string;
  wall_ms: number;
}

const NETWORK = "grapevine-demo-tx";
const NONCE_WINDOW = 64;
const BLOCK_MS = 1_000;
/** A transaction is confirmed only once it has been in the producer's pool this long. */
const CONFIRM_LAG_MS = 2_000;
/** After this long, a block counts as applied everywhere (for the generator's nonces). */
const SETTLE_MS = 1_000;
const DRAIN_MS = 3_000;

/** Runs the tx demo; resolves with its summary when it ends. */
export async function runDemoTx(o: DemoTxOptions): Promise<DemoTxSummary> {
  const origin = wallClock();
  const now = wallClock;
  const rel = () => Math.round(now() - origin);
  const hostileOn = o.hostile !== false;
  const mesh = new MeshView({ expectedPeers: o.peers });
  const view = new TxView({ origin, rate: o.rate });
  const { served, suite } = await serveDemoRelay({ network: NETWORK, port: o.port, intervalMs: o.intervalMs, peers: o.peers });
  const relay = served.relay;
  const base = `http://127.0.0.1:${served.port}/`;
  const dashboard = `${base}tx`;

  // The relay: a member of the mesh view (for the convergence that gates the load), a counted
  // node of the tx view with its own mempool, and the block producer.
  const producer = new BlockProducer(CONFIRM_LAG_MS);
  let malloryId: string | null = null;
  const relayTx = attachTx(relay.node, suite, {
    producer: relay.id,
    capacity: o.capacity,
    nonceWindow: NONCE_WINDOW,
    onArrival: (id, t) => {
      view.arrived(relay.id, id, t);
      producer.arrived(id, t);
    },
    onVerdict: (id, verdict, from) => {
      if (id !== null && from === malloryId) view.verdict(id, verdict); // the relay is the pushed forgeries' first hop
    },
  });
  view.join(now(), { id: relay.id, name: "relay", role: "relay", crypto: suite.backend }, true);
  mesh.join(rel(), { id: relay.id, name: "relay", role: "relay", crypto: suite.backend, pid: process.pid });
  const processes: PeerProcess[] = [];
  relay.node.subscribe((c) => {
    if (c.key !== "status" || c.local) return;
    if (c.deleted) {
      mesh.saw(relay.id, c.origin, null);
      return;
    }
    mesh.saw(relay.id, c.origin, statusCounter(c.value));
  });
  const relayStatus: DemoStatus = { name: "relay", runtime: "relay", mood: "producing blocks", n: 1 };
  relay.node.set("status", relayStatus);
  mesh.wrote(rel(), relay.id, 1, { ...relayStatus });

  const routes = demoRoutes({ network: NETWORK, intervalMs: o.intervalMs, relayUrl: served.url, view: mesh, now: rel });
  const tx = txRoutes({
    network: NETWORK, intervalMs: o.intervalMs, relayUrl: served.url, relayId: relay.id, capacity: o.capacity, nonceWindow: NONCE_WINDOW, view, now,
  });
  const relayHandle = relay.handle.bind(relay);
  relay.handle = async (request) => (await tx(request)) ?? (await routes(request)) ?? relayHandle(request);

  // Peer processes: the demo's child with its mempool switched on.
  const generator = new LoadGenerator(suite, { accounts: Math.max(16, Math.ceil(o.rate / 4)), nonceWindow: NONCE_WINDOW, settleMs: SETTLE_MS });
  const accountName = new Map(generator.accounts.map((a, i) => [toBase64Url(a.key.publicKey), `#${i + 1}`]));
  const signedBy = new Map<string, SignedTx>(); // id → valid tx awaiting its entry verdict
  const onMessage = (p: PeerProcess, m: ChildMessage) => {
    if (m.ev === "ready" && typeof m.id === "string") {
      p.id = m.id;
      mesh.join(rel(), { id: m.id, name: p.name, role: "node", crypto: String(m.crypto), pid: Number(m.pid) });
      view.join(now(), { id: m.id, name: p.name, role: "node", crypto: String(m.crypto) }, true);
      return;
    }
    if (p.id === null) return;
    const id = p.id;
    switch (m.ev) {
      case "arr":
        if (Array.isArray(m.a)) for (const [txId, t] of m.a as [string, number][]) view.arrived(id, txId, t);
        return;
      case "sub":
        if (typeof m.id === "string") {
          view.verdict(m.id, String(m.v));
          const s = signedBy.get(m.id);
          signedBy.delete(m.id);
          if (s && m.v !== "accept") generator.notTaken(s);
        }
        return;
      case "pool":
        view.pool(id, m as unknown as PoolReport);
        return;
      case "wrote":
        mesh.wrote(rel(), id, Number(m.n), m.status as Record<string, unknown>);
        return;
      case "saw":
        if (typeof m.origin === "string") mesh.saw(id, m.origin, m.n === null ? null : Number(m.n));
        return;
      case "links":
        if (Array.isArray(m.peers)) {
          mesh.links(id, m.peers as string[]);
          view.links(id, m.peers as string[]);
        }
        return;
      case "stats":
        mesh.stats(id, { framesOut: Number(m.framesOut), bytesOut: Number(m.bytesOut), framesIn: Number(m.framesIn), bytesIn: Number(m.bytesIn) });
        return;
    }
  };
  let stopping = false;
  const script = await nodeScript("demo/child");
  for (let i = 1; i <= o.peers; i++) {
    const p = spawnPeer(`peer-${i}`, script, [
      "--relay", served.url, "--name", `peer-${i}`, "--network", NETWORK, "--interval", String(o.intervalMs), "--links", String(o.links),
      `--tx=${relay.id}`, "--capacity", String(o.capacity), "--window", String(NONCE_WINDOW),
    ], onMessage);
    processes.push(p);
    void p.exited.then((code) => {
      if (p.id) {
        mesh.leave(p.id);
        view.leave(p.id);
      }
      if (!stopping && !o.json && !o.quiet) process.stderr.write(`\n${p.name} exited (code ${code})\n`);
    });
  }

  // The hostile node: linked to the relay only, it publishes forged transactions without checking them.
  const hostile = { penalties: 0, linksCut: 0 };
  const mallory = hostileOn ? await createNode({ network: NETWORK, intervalMs: o.intervalMs, suite }) : null;
  const malloryDialer = mallory ? dial(mallory, served.url, { WebSocket: nodeWebSocket, backoffMinMs: 200, backoffMaxMs: 2_000 }) : null;
  if (mallory) {
    malloryId = mallory.id;
    view.join(now(), { id: mallory.id, name: "mallory", role: "hostile", crypto: suite.backend }, false);
    mallory.addEventListener("link-down", () => hostile.linksCut++);
    relay.node.addEventListener("penalty", (e) => {
      if ((e as CustomEvent<{ peer: string | null }>).detail.peer === mallory.id) hostile.penalties++;
    });
  }

  let loadStarted!: () => void;
  const loading = new Promise<void>((r) => (loadStarted = r));
  if (!o.json && !o.quiet) printBanner(o, dashboard, base, served.url);
  o.onListening?.({ dashboard, relayUrl: served.url, relayId: relay.id, view, loading });

  // Sampling: links, pools, the mesh's convergence, the latency history, the progress line.
  let lastSecond = now();
  const progress = o.json || o.quiet ? null : new TxProgressLine();
  const sampler = setInterval(() => {
    const t = now();
    const peers = relay.node.peers();
    mesh.links(relay.id, peers);
    view.links(relay.id, peers);
    view.pool(relay.id, relayTx.pool());
    if (mallory) view.links(mallory.id, mallory.peers());
    mesh.sample(rel());
    view.forgetSilentBrowsers(t, 10_000);
    if (t - lastSecond >= 1_000) {
      lastSecond = t;
      view.sample(t);
      progress?.draw(view, t);
    }
  }, 250);

  // Blocks, from the relay's mempool.
  const blocks = setInterval(() => {
    const b = producer.next(relayTx.mempool, now());
    if (!b) return;
    relay.node.publish(BLOCK_TOPIC, blockPayload(b), { ttlMs: 30_000 });
    generator.published(now(), b);
    view.block(b.height);
  }, BLOCK_MS);

  const ended = waitForEnd(o);
  const live = () => processes.filter((p) => p.id !== null && p.child.exitCode === null);
  const submit = (s: SignedTx, kind: TxRecordKind, entry: PeerProcess) => {
    view.submitted({
      id: s.id, kind, entry: entry.id!, at: now(), from: accountName.get(toBase64Url(s.tx.from)) ?? "?",
      to: accountName.get(toBase64Url(s.tx.to)) ?? "?", amount: s.tx.amount, fee: s.tx.fee, nonce: s.tx.nonce,
    });
    entry.command("tx", { w: toBase64Url(txToWire(s)) });
  };

  // The load: valid transactions at `rate`, through random peers; hostile ones on a schedule.
  let loadTimer: ReturnType<typeof setInterval> | null = null;
  let loadStart = 0;
  let loadStop = Infinity;
  let loadEnd = 0;
  const startLoad = (stopAt: number) => {
    loadStart = now();
    loadStop = stopAt;
    const endless = stopAt === Infinity;
    let cycle = 0;
    const schedule = !hostileOn ? [] : endless ? hostileCycle(cycle++) : hostileSchedule(stopAt - loadStart);
    let issued = 0;
    let busy = false;
    loadTimer = setInterval(() => {
      if (busy) return;
      busy = true;
      void (async () => {
        const t = now();
        if (t >= loadStop) {
          if (loadTimer) clearInterval(loadTimer);
          loadTimer = null;
          loadEnd = t;
          return;
        }
        const due = Math.min(Math.floor(((t - loadStart) * o.rate) / 1000) - issued, Math.max(10, o.rate / 5));
        for (let i = 0; i < due; i++) {
          const peers = live();
          if (!peers.length) break;
          const s = await generator.valid(now());
          issued++; // skipped when no account has room: the rate is what the nonce window allows
          if (!s) continue;
          signedBy.set(s.id, s);
          submit(s, "valid", peers[Math.floor(Math.random() * peers.length)]);
        }
        while (schedule.length && t - loadStart >= schedule[0].at) {
          const peers = live();
          const kind = schedule[0].kind;
          if (kind === "pushed") {
            if (mallory && malloryDialer?.connected) {
              const s = await generator.forged();
              view.submitted({
                id: s.id, kind, entry: mallory.id, at: now(), from: accountName.get(toBase64Url(s.tx.from)) ?? "?",
                to: accountName.get(toBase64Url(s.tx.to)) ?? "?", amount: s.tx.amount, fee: s.tx.fee, nonce: s.tx.nonce,
              });
              mallory.publish(TX_TOPIC, txToWire(s), { ttlMs: TX_TTL_MS });
            } else if (t < loadStop - 1_000) break; // redialing after its link was cut: a little later
          } else if (peers.length) {
            const s = kind === "forged" ? await generator.forged() : await generator.stale(now());
            if (!s) break; // stale: no block has settled yet; try again on the next tick
            submit(s, kind, peers[Math.floor(Math.random() * peers.length)]);
          }
          schedule.shift();
          if (endless && !schedule.length) schedule.push(...hostileCycle(cycle++));
        }
      })().finally(() => (busy = false));
    }, 10);
    loadStarted();
  };

  let converged = false;
  if (o.json) {
    const deadline = origin + (o.durationS ?? 20) * 1000;
    converged = await until(() => mesh.convergedAt !== null, ended.signal);
    if (converged) {
      startLoad(Math.max(now(), deadline - DRAIN_MS));
      await until(() => loadTimer === null, ended.signal);
      await until(() => view.drained(), ended.signal); // the deadline ends the drain
      await new Promise((r) => setTimeout(r, 250)); // the peers' last pool reports
    }
  } else {
    void until(() => mesh.convergedAt !== null, ended.signal).then((ok) => {
      converged = ok;
      if (ok) startLoad(Infinity);
    });
    await ended.promise;
  }

  stopping = true;
  ended.cancel();
  if (loadTimer) clearInterval(loadTimer);
  if (!loadEnd) loadEnd = now();
  clearInterval(sampler);
  clearInterval(blocks);
  progress?.end();
  view.pool(relay.id, relayTx.pool());
  const lat = view.runLatency();
  const totals = view.totals;
  const loadMs = loadStart ? Math.round(loadEnd - loadStart) : 0;
  const hostileRecords = view.snapshot(now(), 0, 10_000).hostile;
  const stopped = (kind: TxRecordKind, verdict: string) => hostileRecords.filter((r) => r.kind === kind && r.verdict === verdict).length;
  const summary: DemoTxSummary = {
    peers: o.peers,
    nodes: view.counted().length,
    rate: o.rate,
    txs_submitted: totals.submitted,
    rate_achieved: loadMs ? Math.round((totals.submitted / loadMs) * 10_000) / 10 : 0,
    load_ms: loadMs,
    txs_complete: totals.complete,
    delivered_fraction: totals.expected ? Math.round((totals.delivered / totals.expected) * 1e6) / 1e6 : 0,
    deliveries: totals.delivered,
    expected_deliveries: totals.expected,
    latency_ms_p50: lat.node.p50,
    latency_ms_p90: lat.node.p90,
    latency_ms_p99: lat.node.p99,
    latency_to_all_ms_p50: lat.all.p50,
    latency_to_all_ms_p90: lat.all.p90,
    latency_to_all_ms_p99: lat.all.p99,
    latency_ms_by_node: Object.fromEntries(Object.entries(view.runLatencyByMember()).map(([name, p]) => [name, [p.p50, p.p99]])),
    mempool_sizes: view.poolSizes(),
    mempool_capacity: o.capacity,
    blocks: totals.blocks,
    rejected: view.poolTotal("rejected"),
    ignored: view.poolTotal("ignored"),
    evicted: view.poolTotal("evicted"),
    not_taken: totals.notTaken,
    hostile: {
      forged: totals.forged,
      forged_rejected_first_hop: stopped("forged", "reject"),
      stale: totals.stale,
      stale_ignored_first_hop: stopped("stale", "ignore"),
      pushed: totals.pushed,
      pushed_rejected_by_relay: stopped("pushed", "reject"),
      penalties: hostile.penalties,
      links_cut: hostile.linksCut,
      deliveries: totals.hostileDeliveries,
    },
    converged,
    crypto: [suite.backend],
    relay: served.url,
    dashboard,
    wall_ms: 0,
  };
  malloryDialer?.close();
  await mallory?.close({ graceMs: 0 }).catch(() => {});
  await stopPeers(processes);
  relayTx.detach();
  await served.close();
  summary.wall_ms = rel();
  return summary;
}

type HostileEvent = { at: number; kind: "forged" | "stale" | "pushed" };

/**
 * When the hostile transactions go, in ms after the load started, over a run of `loadMs`: three
 * forged and three stale ones through honest peers and two pushed by the hostile node, spread over
 * the run (a stale one waits for a block to settle).
 */
export function hostileSchedule(loadMs: number): HostileEvent[] {
  const f = (x: number) => Math.round(x * loadMs);
  return [
    { at: f(0.15), kind: "forged" as const },
    { at: f(0.25), kind: "pushed" as const },
    { at: f(0.35), kind: "forged" as const },
    { at: f(0.45), kind: "stale" as const },
    { at: f(0.55), kind: "forged" as const },
    { at: f(0.6), kind: "pushed" as const },
    { at: f(0.65), kind: "stale" as const },
    { at: f(0.75), kind: "stale" as const },
  ];
}

/** Without an end: cycle `k` of 15 s has a forged and a stale one; every other cycle, a push by the hostile node. */
export function hostileCycle(k: number): HostileEvent[] {
  const t = k * 15_000;
  const out: HostileEvent[] = [{ at: t + 5_000, kind: "forged" }, { at: t + 10_000, kind: "stale" }];
  if (k % 2 === 1) out.push({ at: t + 15_000, kind: "pushed" });
  return out;
}

function printBanner(o: DemoTxOptions, dashboard: string, base: string, relayUrl: string): void {
  const until = o.durationS === undefined ? "Ctrl-C to stop" : `runs for ${o.durationS} s (Ctrl-C stops it sooner)`;
  process.stdout.write([
    `grapevine demo-tx — a relay and ${o.peers} peer processes flooding ${o.rate} signed transactions per second`,
    `  tx dashboard  ${dashboard}   ← open it: your browser joins with its own mempool`,
    `  mesh view     ${base}   relay ${relayUrl}   (also /healthz, /metrics, /demo/tx-state)`,
    `  ${until}`,
    "",
  ].join("\n"));
}

/** The terminal's line: redrawn in place on a TTY, one line every 5 s elsewhere. */
class TxProgressLine {
  #tty = process.stdout.isTTY === true;
  #printedAt = 0;

  draw(view: TxView, t: number): void {
    const s = view.snapshot(t, 0, 0);
    const tot = s.totals;
    const f = tot.settledExpected ? (100 * tot.settledDelivered) / tot.settledExpected : 0;
    const ms = (v: number | null) => (v === null ? "—" : `${v}`);
    const pools = s.members.filter((m) => m.pool).map((m) => m.pool!.size);
    const line = `  ${tot.submitted} txs · delivered ${f.toFixed(2)}% (after 5 s) · p50/p99 to a node ${ms(s.latency.node.p50)}/${ms(s.latency.node.p99)} ms · to all ${ms(s.latency.all.p50)}/${ms(s.latency.all.p99)} ms`
      + ` · pools ${pools.length ? `${Math.min(...pools)}–${Math.max(...pools)}` : "—"} · block ${tot.height} · hostile stopped ${tot.stoppedFirstHop}/${tot.forged + tot.stale + tot.pushed}`;
    if (this.#tty) {
      process.stdout.write(`\r${line}\x1b[K`);
      return;
    }
    if (t - this.#printedAt < 5_000) return;
    this.#printedAt = t;
    process.stdout.write(`${line}\n`);
  }

  end(): void {
    if (this.#tty) process.stdout.write("\n");
  }
}
