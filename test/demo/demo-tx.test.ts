/**
 * `grapevine demo-tx`, the transaction-flooding demo: its pieces on in-memory links (a mempool as
 * the `tx` validator, blocks from one producer, hostile transactions stopped at the first hop), its
 * bookkeeping (deliveries, latencies), its routes, and the whole demo for real — a relay and peer
 * processes on loopback, headless (`--json`), bounded by `--duration`.
 */
import { describe, expect, it } from "vitest";
import { createMemoryLinkPair, createNode, type GrapevineNode } from "../../mod.ts";
import { runCli } from "../helpers/cli.ts";
import { hostileSchedule } from "../../cli/demo-tx.ts";
import { attachTx, BLOCK_TOPIC, blockPayload, parseBlock, TX_TOPIC } from "../../cli/tx/flood.ts";
import { BlockProducer, LoadGenerator } from "../../cli/tx/load.ts";
import { Mempool } from "../../cli/tx/mempool.ts";
import { txRoutes } from "../../cli/tx/routes.ts";
import { signTx, txToWire, verifyTx } from "../../cli/tx/tx.ts";
import { percentiles, TxView } from "../../cli/tx/tx-view.ts";
import { keyPair, suite } from "../core/harness.ts";
import { until } from "../helpers/until.ts";

describe("grapevine demo-tx (command line)", () => {
  it("floods signed transactions from peer processes to every node; forged and stale ones stop at their first hop", async () => {
    const { code, out } = await runCli(["demo-tx", "--peers", "4", "--duration", "24", "--rate", "40", "--interval", "150", "--json"]);
    const s = JSON.parse(out[out.length - 1]);
    const report = JSON.stringify(s);
    expect(code, report).toBe(0);
    expect(s, report).toMatchObject({ peers: 4, nodes: 5, converged: true, not_taken: 0 });
    expect(s.txs_submitted, report).toBeGreaterThan(100);
    expect(s.delivered_fraction, report).toBe(1); // every valid tx at every node
    expect(s.deliveries, report).toBe(s.txs_submitted * 5);
    expect(s.txs_complete, report).toBe(s.txs_submitted);
    for (const k of ["latency_ms_p50", "latency_ms_p99", "latency_to_all_ms_p50", "latency_to_all_ms_p99"]) expect(s[k], k).toBeGreaterThanOrEqual(0);
    expect(s.latency_to_all_ms_p99).toBeGreaterThanOrEqual(s.latency_to_all_ms_p50);
    expect(Object.keys(s.mempool_sizes).sort()).toEqual(["peer-1", "peer-2", "peer-3", "peer-4", "relay"]);
    expect(s.blocks, report).toBeGreaterThan(0);
    // Hostile: forged ones rejected by the honest peer they were sent to, stale ones ignored, pushed
    // ones rejected by the relay (penalising the hostile node's link); none delivered anywhere.
    const h = s.hostile;
    expect(h.forged, report).toBe(3);
    expect(h.forged_rejected_first_hop, report).toBe(h.forged);
    expect(h.stale, report).toBeGreaterThanOrEqual(1);
    expect(h.stale_ignored_first_hop, report).toBe(h.stale);
    expect(h.pushed, report).toBeGreaterThanOrEqual(1);
    expect(h.pushed_rejected_by_relay, report).toBe(h.pushed);
    expect(h.penalties, report).toBe(h.pushed);
    expect(h.deliveries, report).toBe(0);
    expect(s.rejected, report).toBe(h.forged + h.pushed);
    expect(s.wall_ms).toBeLessThan(40_000);
  }, 60_000);

  it("refuses unknown options", async () => {
    const { code, err } = await runCli(["demo-tx", "--browser"]);
    expect(code).toBe(2);
    expect(err.join("\n")).toMatch(/Unknown option '--browser'/);
  });
});

describe("tx demo on in-memory links", () => {
  async function trio(): Promise<{ nodes: GrapevineNode[]; close(): Promise<void> }> {
    const s = await suite();
    const nodes = await Promise.all([11, 12, 13].map((i) => createNode({ network: "t", intervalMs: 50, keyPair: keyPair(i), seed: i, suite: s })));
    // A line a — b — c: c hears of a's transactions only through b.
    for (const [x, y] of [[0, 1], [1, 2]]) {
      const [l1, l2] = createMemoryLinkPair();
      await Promise.all([nodes[x].connect(l1), nodes[y].connect(l2)]);
    }
    return { nodes, close: async () => void (await Promise.all(nodes.map((n) => n.close({ leave: false })))) };
  }

  it("a valid transaction floods; forged and stale ones stop at the entry node; malformed or forged payloads published unchecked are rejected by the next hop", async () => {
    const s = await suite();
    const { nodes, close } = await trio();
    try {
      const [a, b, c] = nodes;
      const txs = nodes.map((n) => attachTx(n, s, { producer: a.id, capacity: 100, nonceWindow: 8 }));
      const got = nodes.map(() => [] as string[]);
      nodes.forEach((n, i) => n.subscribe(TX_TOPIC, (m) => got[i].push(m.local ? "local" : "remote")));
      const alice = keyPair(21);
      const bob = keyPair(22).publicKey;
      const ok = await signTx(s, alice, { to: bob, amount: 5, nonce: 0, fee: 3 });
      expect(await txs[1].submit(txToWire(ok))).toEqual({ id: ok.id, verdict: "accept" });
      await until(() => got.every((g) => g.length === 1));
      expect(txs.map((t) => t.mempool.size)).toEqual([1, 1, 1]);
      expect(txs[0].takeArrivals().map(([id]) => id)).toEqual([ok.id]);

      // Forged at the entry: rejected there, never published.
      const forged = { ...(await signTx(s, keyPair(23), { to: bob, amount: 5, nonce: 1, fee: 3 })) };
      forged.tx = { ...forged.tx, from: alice.publicKey };
      const { encode } = await import("../../src/wire/cbor.ts");
      forged.body = encode([forged.tx.from, forged.tx.to, forged.tx.amount, forged.tx.nonce, forged.tx.fee]);
      expect(await verifyTx(s, forged)).toBe(false);
      expect((await txs[1].submit(txToWire(forged))).verdict).toBe("reject");

      // A block from the producer confirms nonce 0 everywhere; then nonce 0 again is stale.
      a.publish(BLOCK_TOPIC, blockPayload({ height: 1, confirms: [[alice.publicKey, 0]] }));
      await until(() => txs.every((t) => t.height === 1));
      expect(txs.map((t) => t.mempool.size)).toEqual([0, 0, 0]);
      const stale = await signTx(s, alice, { to: bob, amount: 9, nonce: 0, fee: 50 });
      expect((await txs[2].submit(txToWire(stale))).verdict).toBe("ignore");
      // Blocks from anyone else are rejected.
      c.publish(BLOCK_TOPIC, blockPayload({ height: 2, confirms: [[alice.publicKey, 5]] }));
      await new Promise((r) => setTimeout(r, 200));
      expect(txs[1].height).toBe(1);

      // A hostile node publishes without checking: the next hop rejects and does not forward.
      const penalties: string[] = [];
      b.addEventListener("penalty", (e) => penalties.push((e as CustomEvent<{ code: string }>).detail.code));
      c.publish(TX_TOPIC, txToWire(forged));
      c.publish(TX_TOPIC, new Uint8Array([1, 2, 3]));
      await until(() => penalties.length >= 1);
      await new Promise((r) => setTimeout(r, 200));
      expect(got.map((g) => g.length)).toEqual([1, 1, 3]); // c delivered its own two; a and b nothing new
      expect(txs[1].pool().rejected).toBeGreaterThanOrEqual(2);
      for (const t of txs) t.detach();
    } finally {
      await close();
    }
  });

  it("blocks parse strictly", () => {
    const account = keyPair(1).publicKey;
    expect(parseBlock(blockPayload({ height: 3, confirms: [[account, 7]] }))).toEqual({ height: 3, confirms: [[account, 7]] });
    expect(() => parseBlock([1])).toThrow();
    expect(() => parseBlock([1, [[new Uint8Array(5), 1]]])).toThrow();
    expect(() => parseBlock([1, [[account, -1]]])).toThrow();
  });
});

describe("load generator and block producer", () => {
  it("signs valid transactions within the nonce window, forged ones that fail, and stale ones once a block settled", async () => {
    const s = await suite();
    const g = new LoadGenerator(s, { accounts: 1, nonceWindow: 8, settleMs: 100, rng: () => 0 });
    const first: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = await g.valid(0);
      if (t) first.push(t.tx.nonce);
    }
    expect(first).toEqual([0, 1, 2, 3]); // half the window ahead of nothing confirmed (-1 + 4)
    expect(await g.stale(0)).toBeNull();
    const forged = await g.forged();
    expect(await verifyTx(s, forged)).toBe(false);
    g.published(1_000, { height: 1, confirms: [[g.accounts[0].key.publicKey, 3]] });
    expect(await g.valid(1_050)).toBeNull(); // not settled yet: still the old window
    const next = await g.valid(1_100);
    expect(next?.tx.nonce).toBe(4);
    const stale = await g.stale(1_100);
    expect(stale && stale.tx.nonce <= 3).toBe(true);
    expect(await verifyTx(s, stale!)).toBe(true);
    // A nonce the entry node did not take is signed again first.
    g.notTaken(next!);
    expect((await g.valid(1_200))?.tx.nonce).toBe(4);
  });

  it("confirms consecutive nonces that the producer's pool has held for the lag", async () => {
    const s = await suite();
    const pool = new Mempool(s, { capacity: 100, nonceWindow: 16 });
    const a = keyPair(31);
    const to = keyPair(32).publicKey;
    const p = new BlockProducer(1_000);
    for (const [nonce, at] of [[0, 0], [1, 500], [3, 0]]) {
      const t = await signTx(s, a, { to, amount: 1, nonce, fee: 1 });
      expect(await pool.offer(t)).toBe("accept");
      p.arrived(t.id, at);
    }
    expect(p.next(pool, 900)).toBeNull(); // nothing held for 1 s yet
    expect(p.next(pool, 1_000)?.confirms).toEqual([[a.publicKey, 0]]);
    const b = p.next(pool, 1_600); // nonce 1 now old enough; 2 is missing, so 3 waits
    expect(b).toMatchObject({ height: 2, confirms: [[a.publicKey, 1]] });
  });
});

describe("TxView", () => {
  const at0 = 1_000_000;
  it("counts deliveries against the nodes counted at submission, and latencies from submission", () => {
    const v = new TxView({ origin: at0, rate: 10 });
    v.join(at0, { id: "R", name: "relay", role: "relay" }, true);
    v.join(at0, { id: "A", name: "peer-1", role: "node" }, true);
    v.join(at0, { id: "B", name: "peer-2", role: "node" }, true);
    v.join(at0, { id: "T", name: "tab", role: "browser" }, false);
    v.arrived("R", "tx1", at0 + 12); // before its submission was recorded: kept aside
    v.submitted({ id: "tx1", kind: "valid", entry: "A", at: at0 + 10, from: "#1", to: "#2", amount: 1, fee: 1, nonce: 0 });
    v.verdict("tx1", "accept");
    v.arrived("A", "tx1", at0 + 10.5);
    v.arrived("T", "tx1", at0 + 30); // a tab: shown, not counted
    expect(v.drained()).toBe(false);
    v.arrived("B", "tx1", at0 + 20);
    expect(v.drained()).toBe(true);
    expect(v.totals).toMatchObject({ submitted: 1, delivered: 3, expected: 3, complete: 1 });
    expect(v.runLatency().node).toMatchObject({ p50: 2, p99: 10, n: 2 }); // the entry node is not a sample
    expect(v.runLatency().all).toMatchObject({ p50: 10, n: 1 });

    v.submitted({ id: "bad", kind: "forged", entry: "B", at: at0 + 40, from: "#1", to: "#2", amount: 1, fee: 1, nonce: 1 });
    v.verdict("bad", "reject");
    expect(v.totals).toMatchObject({ forged: 1, stoppedFirstHop: 1, hostileDeliveries: 0 });
    v.arrived("R", "bad", at0 + 50);
    expect(v.totals.hostileDeliveries).toBe(1);

    const s = v.snapshot(at0 + 100);
    expect(s.recent.map((r) => [r.id, r.reached, r.expected, r.toAllMs])).toEqual([["tx1", 3, 3, 10]]);
    expect(s.recent[0].arrivals.map(([n]) => n)).toEqual(["A", "R", "B", "T"]);
    expect(s.hostile.map((r) => r.id)).toEqual(["bad"]);
    expect(v.poolSizes()).toEqual({});
    v.sample(at0 + 6_000);
    expect(v.totals).toMatchObject({ settledDelivered: 3, settledExpected: 3 });
  });

  it("percentiles are nearest-rank", () => {
    expect(percentiles([])).toEqual({ p50: null, p90: null, p99: null, n: 0 });
    expect(percentiles(Array.from({ length: 100 }, (_, i) => i + 1))).toEqual({ p50: 50, p90: 90, p99: 99, n: 100 });
  });

  it("the hostile schedule of a run spreads three forged, three stale and two pushed transactions over it", () => {
    const s = hostileSchedule(10_000);
    expect(s.map((e) => e.kind).sort()).toEqual(["forged", "forged", "forged", "pushed", "pushed", "stale", "stale", "stale"]);
    expect(s.every((e, i) => e.at >= 0 && e.at < 10_000 && (i === 0 || e.at >= s[i - 1].at))).toBe(true);
  });
});

describe("tx demo routes", () => {
  const v = new TxView({ origin: 0, rate: 1 });
  const routes = txRoutes({ network: "n", intervalMs: 100, relayUrl: "ws://127.0.0.1:1/", relayId: "R".repeat(43), capacity: 10, nonceWindow: 4, view: v, now: () => 5 });
  const post = (body: unknown) => routes(new Request("http://x/demo/tx-state", { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body) }));
  const T = "T".repeat(43);

  it("leave other paths alone", async () => {
    expect(await routes(new Request("http://x/"))).toBeNull();
    expect(await routes(new Request("http://x/demo/state"))).toBeNull();
  });

  it("take a tab's report and answer with the snapshot", async () => {
    const r = await post({ id: T, name: "tab", crypto: "webcrypto", peers: ["R".repeat(43)], pool: { size: 2, capacity: 10, height: 1 }, arrivals: [["abcdefghijkl", 4]] });
    expect(r?.status).toBe(200);
    const s = await r!.json();
    expect(s.members).toMatchObject([{ id: T, role: "browser", counted: false, pool: { size: 2, capacity: 10, height: 1 } }]);
  });

  it("refuse malformed reports with 400", async () => {
    expect((await post("{not json"))?.status).toBe(400);
    for (const notAnObject of ["null", "5", "[1]", '"text"']) {
      const r = await post(notAnObject);
      expect(r?.status, notAnObject).toBe(400);
      expect(await r!.json()).toEqual({ error: "report must be an object" });
    }
    expect((await post({ id: "short", peers: [], arrivals: [] }))?.status).toBe(400);
    expect((await post({ id: T, peers: [] }))?.status).toBe(400);
    expect((await post({ id: T, peers: [], arrivals: Array.from({ length: 10_001 }, () => ["abcdefghijkl", 1]) }))?.status).toBe(400);
    expect((await post("x".repeat(600_000)))?.status).toBe(400);
  });
});
