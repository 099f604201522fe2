/**
 * `grapevine demo` for real: a relay and peer processes on loopback, headless (`--json`), bounded
 * by `--duration`; plus the demo's bookkeeping (who holds whose newest status) and its HTTP routes.
 */
import { describe, expect, it } from "vitest";
import { demoRoutes } from "../../cli/demo/routes.ts";
import { MeshView } from "../../cli/demo/mesh-view.ts";
import { documentFrom, documentOfScope, documentsOfPeer } from "../../cli/demo/documents.ts";
import { RoomTraffic } from "../../cli/demo/room-traffic.ts";
import { toHex } from "../../src/bytes.ts";
import { scopeIdOf } from "../../mod.ts";
import { runCli } from "../helpers/cli.ts";

describe("grapevine demo (command line)", () => {
  it("runs a relay and peer processes over WebSocket that converge, then prints one JSON summary", async () => {
    const { code, out } = await runCli(["demo", "--peers", "5", "--duration", "40", "--interval", "100", "--json"]);
    const summary = JSON.parse(out[out.length - 1]);
    expect(summary, JSON.stringify(summary)).toMatchObject({ peers: 5, runtimes: ["node"], converged: true, members: 6 });
    expect(code).toBe(0);
    expect(summary.peers).toBeGreaterThanOrEqual(3);
    expect(summary.ms_to_converge).toBeGreaterThanOrEqual(0);
    expect(summary.ms_to_spread_update).toBeGreaterThanOrEqual(0);
    expect(summary.direct_links).toBeGreaterThan(0); // peers found each other through the mesh
    expect(summary.relay).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);
    expect(summary.frames).toBeGreaterThan(0);
    // The peers' documents (peers 1-5: doc-1, doc-2, doc-3 + doc-4, doc-4, doc-1): the relay carries
    // each room, holds its members' presence, and relays their cursors.
    const rooms = Object.fromEntries(summary.rooms.map((r: { name: string }) => [r.name, r]));
    expect(Object.keys(rooms).sort(), JSON.stringify(summary.rooms)).toEqual(["doc-1", "doc-2", "doc-3", "doc-4"]);
    expect([rooms["doc-1"].members, rooms["doc-2"].members, rooms["doc-3"].members, rooms["doc-4"].members]).toEqual([2, 1, 1, 2]);
    for (const r of summary.rooms) {
      expect(r.messages, JSON.stringify(r)).toBeGreaterThan(0);
      expect(r.messages_per_s, JSON.stringify(r)).toBeGreaterThan(0);
    }
    expect(summary.wall_ms).toBeLessThan(40_000);
  }, 60_000);

  it("refuses unknown options", async () => {
    const { code, err } = await runCli(["demo", "--nodes", "3"]);
    expect(code).toBe(2);
    expect(err.join("\n")).toMatch(/Unknown option '--nodes'/);
  });
});

const A = "A".repeat(43);
const B = "B".repeat(43);
const R = "R".repeat(43);
const T = "T".repeat(43);

describe("MeshView", () => {
  it("counts (holder, owner) pairs holding the newest status; peers still starting count as missing", () => {
    const v = new MeshView({ expectedPeers: 2 });
    v.join(0, { id: R, name: "relay", role: "relay" });
    v.wrote(0, R, 1, null);
    expect(v.sample(0)).toEqual({ fresh: 1, pairs: 9 }); // the relay alone is not a converged mesh
    v.join(1, { id: A, name: "a", role: "node" });
    v.join(1, { id: B, name: "b", role: "node" });
    v.wrote(2, A, 1, null);
    v.wrote(3, B, 1, null);
    v.saw(A, R, 1);
    v.saw(A, B, 1);
    v.saw(B, R, 1);
    v.saw(R, A, 1);
    v.saw(R, B, 1);
    expect(v.sample(5)).toEqual({ fresh: 8, pairs: 9 });
    expect(v.convergedAt).toBeNull();
    v.saw(B, A, 1);
    expect(v.sample(10)).toEqual({ fresh: 9, pairs: 9 });
    expect(v.convergedAt).toBe(10);
    expect(v.msToConverge).toBe(7); // from the last peer's first write (3) to 10
    v.wrote(12, A, 2, null); // an update: stale everywhere until it spreads
    expect(v.convergedNow(12)).toBe(false);
    v.links(A, [R, B, A]);
    const s = v.snapshot(12);
    expect(s.edges).toHaveLength(2);
    expect(s.members.find((m) => m.id === A)?.peers).toEqual([R, B]);
  });

  it("counts a browser only while it reports, and forgets one that went silent", () => {
    const v = new MeshView({ expectedPeers: 0, browserStaleMs: 1_000 });
    v.join(0, { id: R, name: "relay", role: "relay" });
    v.wrote(0, R, 1, null);
    v.join(null, { id: T, name: "tab", role: "browser" }); // heard of through the relay
    expect(v.sample(0)).toEqual({ fresh: 1, pairs: 1 });
    v.join(100, { id: T, name: "tab", role: "browser" }); // its first report
    v.wrote(100, T, 1, null);
    v.sawAll(T, { [R]: 1 });
    v.saw(R, T, 1);
    expect(v.sample(100)).toEqual({ fresh: 4, pairs: 4 });
    expect(v.sample(1_500)).toEqual({ fresh: 1, pairs: 1 }); // stale: not counted
    v.forgetSilentBrowsers(40_000, 30_000);
    expect(v.has(T)).toBe(false);
  });
});

describe("demo documents and room traffic", () => {
  it("give each peer its documents, name the demo's rooms by scope id, and read ?doc=", () => {
    expect([1, 2, 3, 4, 5, 6].map(documentsOfPeer)).toEqual([["doc-1"], ["doc-2"], ["doc-3", "doc-4"], ["doc-4"], ["doc-1"], ["doc-2", "doc-3"]]);
    expect(documentOfScope(toHex(scopeIdOf("room/doc-3")))).toBe("doc-3");
    expect(documentOfScope(toHex(scopeIdOf("room/elsewhere")))).toBeUndefined();
    expect([documentFrom("?doc=doc-4"), documentFrom("?doc=nope"), documentFrom("")]).toEqual(["doc-4", "doc-1", "doc-1"]);
  });

  it("turn counters into rates over the window, named rooms first, and forget rooms no longer carried", () => {
    const t = new RoomTraffic(2_000);
    const reading = (scope: string, name: string | null, delivered: number) => ({ scope, name, members: 1, links: 1, delivered, payloadsReceived: 2 * delivered, ihaveIdsSent: 0 });
    t.sample(0, [reading("ff", null, 0), reading("aa", "doc-2", 0)]);
    t.sample(1_000, [reading("ff", null, 5), reading("aa", "doc-2", 3)]);
    const rows = t.sample(2_000, [reading("ff", null, 10), reading("aa", "doc-2", 6)]);
    expect(rows.map((r) => [r.name, r.messagesPerS, r.payloadsPerS])).toEqual([["doc-2", 3, 6], [null, 5, 10]]);
    expect(t.sample(4_000, [reading("aa", "doc-2", 6)]).map((r) => [r.scope, r.messagesPerS])).toEqual([["aa", 0]]); // ff gone; aa idle for 2 s
  });
});

describe("demo routes", () => {
  const view = new MeshView({ expectedPeers: 0 });
  const routes = demoRoutes({ network: "n", intervalMs: 100, relayUrl: "ws://127.0.0.1:1/", view, now: () => 5 });
  const post = (body: unknown) => routes(new Request("http://x/demo/state", { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body) }));

  it("leave other paths to the relay", async () => {
    expect(await routes(new Request("http://x/healthz"))).toBeNull();
    expect(await routes(new Request("http://x/metrics"))).toBeNull();
  });

  it("take a browser's report and answer with the snapshot", async () => {
    const r = await post({ id: T, name: "tab", crypto: "webcrypto", n: 1, status: { mood: "idle", n: 1 }, knows: {}, peers: [R], stats: {} });
    expect(r?.status).toBe(200);
    const s = await r!.json();
    expect(s.members).toMatchObject([{ id: T, role: "browser", counted: true, n: 1 }]);
  });

  it("refuse malformed reports with 400", async () => {
    expect((await post("{not json"))?.status).toBe(400);
    for (const notAnObject of ["null", "5", "[1]", '"text"']) {
      const r = await post(notAnObject);
      expect(r?.status, notAnObject).toBe(400);
      expect(await r!.json()).toEqual({ error: "report must be an object" });
    }
    expect((await post({ id: "short", n: 1, knows: {}, peers: [] }))?.status).toBe(400);
    expect((await post({ id: T, n: -1, knows: {}, peers: [] }))?.status).toBe(400);
    expect((await post("x".repeat(300_000)))?.status).toBe(400);
  });

  it("stop reading a report without a length once it passes the bound", async () => {
    // A body that never ends, 64 KiB a pull: the route must not wait for its end.
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled += 65_536;
        c.enqueue(new Uint8Array(65_536).fill(0x20));
      },
    });
    const r = await routes(new Request("http://x/demo/state", { method: "POST", body: endless, duplex: "half" } as RequestInit));
    expect(r?.status).toBe(400);
    expect(await r!.json()).toEqual({ error: "report too large" });
    expect(pulled).toBeLessThanOrEqual(262_144 + 3 * 65_536); // the bound, and the chunks the stream had queued
  });
});
