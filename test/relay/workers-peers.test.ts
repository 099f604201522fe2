/**
 * Peer-relay links on demand in the Workers adapter (`relay/workers.ts`, `GRAPEVINE_PEER_IDLE_MS`),
 * in workerd through miniflare, with a Node relay on loopback as the peer: the object dials it only
 * once a client speaks; once its clients have been quiet for the idle time it closes that link (the
 * Node relay sees it go) and hibernates; a client's next message wakes it and the link comes back.
 * With the setting off the link stays up; a bad value is a misconfiguration.
 */
import { describe, expect, it } from "vitest";
import { serveRelay } from "../../relay/node.ts";
import { until } from "./helpers.ts";
import { healthOf, type TestPeer, workerdHarness } from "./workerd.ts";

const NETWORK = "relay-workers-peers-test";
const { startWorkerd, peer } = workerdHarness(NETWORK);

/**
 * The own rounds of the Workers relay and its client an hour apart (each timer at a random phase),
 * so that they are quiet between their messages and the object can idle for workerd's 10 s.
 */
const QUIET = { intervalMs: 3_600_000, probeIntervalMs: 3_600_000, shuffleIntervalMs: 3_600_000 };
const QUIET_RELAY = { GRAPEVINE_INTERVAL_MS: "3600000", GRAPEVINE_PROBE_INTERVAL_MS: "3600000", GRAPEVINE_SHUFFLE_INTERVAL_MS: "3600000" };

const TOPIC = "news";

/**
 * Has `from` publish `text` on {@link TOPIC} every 100 ms until `to` gets it: a client speaking until
 * it is heard. Both subscribe, so each relay carries the topic and the message crosses the link
 * between them (a topic message needs no trust between relays, unlike a FORWARD's second hop).
 */
async function deliver(from: TestPeer, to: TestPeer, text: string, what: string): Promise<number> {
  const got: unknown[] = [];
  const off = to.node.subscribe(TOPIC, (m) => got.push(m.payload));
  let sentAt = 0;
  try {
    return await until(() => {
      if (Date.now() - sentAt >= 100) {
        from.node.publish(TOPIC, text, { ttlMs: 2000 }); // a relay holding messages sweeps them every second: short-lived ones let it idle
        sentAt = Date.now();
      }
      return got.includes(text);
    }, 15_000, what);
  } finally {
    off();
  }
}

describe("relay/workers.ts: peer relays on demand (GRAPEVINE_PEER_IDLE_MS)", () => {
  it("dials its peer relay when a client speaks, closes it when clients are quiet, hibernates, and dials again on the next message", async () => {
    const nodeRelay = await serveRelay({ port: 0, network: NETWORK, intervalMs: 100 });
    const lines: string[] = [];
    const { http, ws } = await startWorkerd({ ...QUIET_RELAY, GRAPEVINE_PEERS: nodeRelay.url, GRAPEVINE_PEER_IDLE_MS: "300" }, (line) => lines.push(line));
    const events = () => lines.flatMap((l) => (/"event":"(peer_relay\w*)"/.exec(l) ?? []).slice(1));
    const resumedSince = (t: number) => lines.some((l) => l.includes('"event":"peer_relays_resumed"') && Date.parse(JSON.parse(l).ts) >= t);
    const linkedToWorkers = (id: string) => nodeRelay.relay.node.peers().includes(id);
    try {
      const b = await peer(nodeRelay.url); // on the Node side
      b.node.subscribe(TOPIC, () => {});
      await until(b.connected, 15_000, "b linked to the Node relay");
      const before = await healthOf(http); // no client yet: nothing dialed
      expect(before.peers).toEqual([{ url: nodeRelay.url, connected: false }]);

      // (1) A client connects with a write: the object dials the Node relay, and a's state, which a
      // sends as it links, reaches b. (State rather than a topic message here: a relay that holds
      // messages sweeps them every second until they expire, which would keep it awake in (2).)
      const a = await peer(ws, NETWORK, QUIET);
      a.node.subscribe(TOPIC, () => {});
      a.node.set("who", "a");
      await until(a.connected, 15_000, "a linked to the Workers relay");
      const workersId = a.peer()!;
      const firstMs = await until(() => b.node.get("who", a.node.id) === "a", 15_000, "a's state at b through both relays");
      console.log(`a's state at b ${firstMs} ms after a linked`);

      // (2) a is quiet: the link is closed after 300 ms, the Node relay sees it go, the object hibernates.
      const downMs = await until(() => !linkedToWorkers(workersId), 10_000, "the Node relay sees the Workers relay's link go");
      console.log(`peer link down ${downMs} ms after that`);
      await until(() => events().length >= 3, 5000, "the relay's log lines");
      expect(events().slice(0, 3)).toEqual(["peer_relays_resumed", "peer_relay_up", "peer_relays_paused"]);
      // Windows of 13 s (workerd evicts after 10 s without events); a new relay instance, younger than
      // its window, proves the object was evicted during it. Settling members (claims, first probes)
      // may speak within a window and cut it short, hence several.
      let quietBefore = await healthOf(http);
      let quietAfter = quietBefore;
      let windows = 0;
      do {
        quietBefore = await healthOf(http);
        await new Promise((r) => setTimeout(r, 13_000));
        quietAfter = await healthOf(http);
        windows++;
      } while (quietAfter.uptime >= quietBefore.uptime + 12 && windows < 5);
      console.log(`hibernated within ${windows} idle window(s); health after: ${JSON.stringify(quietAfter)}`);
      expect(quietAfter.uptime, `a new relay instance within ${windows} idle windows (the old one hibernated)`).toBeLessThan(quietBefore.uptime + 12);
      expect(quietAfter).toMatchObject({ clients: 1 }); // a's socket kept

      // (3) Left alone again (no health check) until it hibernates, the object is woken by a's next
      // message: it dials the Node relay at once and the message reaches b, which only that link can
      // carry. (A woken object's state exchange with its clients may have dialed it for a moment.)
      // As in (2), what the last health check woke may still speak early in a window and keep the
      // object from being evicted within it (seen under a loaded CI run: the instance that answered
      // was the one that check started), hence up to three windows, each ended by a message.
      let quietFrom = 0;
      let sentAt = 0;
      let startedAt = 0;
      let attempts = 0;
      do {
        quietFrom = Date.now();
        await new Promise((r) => setTimeout(r, 13_000));
        sentAt = Date.now();
        const againMs = await deliver(a, b, `after hibernation ${attempts}`, "a's message at b after the object woke");
        console.log(`message across ${againMs} ms after a's first send to the hibernated object`);
        const woken = await healthOf(http);
        startedAt = Date.now() - (woken.uptime + 1) * 1000; // uptime is in whole seconds: the earliest the instance could have started
        attempts++;
      } while (startedAt <= quietFrom && attempts < 3);
      console.log(`woken from hibernation by a's message in window ${attempts}`);
      expect(startedAt, `a relay instance started after the quiet stretch began (${attempts} windows)`).toBeGreaterThan(quietFrom);
      await until(() => resumedSince(sentAt - 50), 5000, "peer_relays_resumed logged after a spoke"); // workerd's output comes through a pipe
      expect(a.events).toEqual(["link-up"]); // the client never noticed
      console.log(`relay events: ${events().join(" ")}`);
    } finally {
      await nodeRelay.close();
    }
  }, 120_000);

  it.each(["off", "0"])("keeps its peer links up while clients are connected when GRAPEVINE_PEER_IDLE_MS is %s", async (setting) => {
    const nodeRelay = await serveRelay({ port: 0, network: NETWORK, intervalMs: 100 });
    try {
      const { http, ws } = await startWorkerd({ ...QUIET_RELAY, GRAPEVINE_PEERS: nodeRelay.url, GRAPEVINE_PEER_IDLE_MS: setting });
      const a = await peer(ws, NETWORK, QUIET);
      await until(a.connected, 15_000, "a linked to the Workers relay");
      await until(() => nodeRelay.relay.node.peers().includes(a.peer()!), 15_000, "the Workers relay's link at the Node relay");
      // a quiet for five times the 300 ms after which the other test sees the link go (a fixed wait,
      // for something that must not happen).
      await new Promise((r) => setTimeout(r, 1500));
      expect(nodeRelay.relay.node.peers()).toContain(a.peer());
      expect((await healthOf(http)).peers).toEqual([{ url: nodeRelay.url, connected: true }]);
    } finally {
      await nodeRelay.close();
    }
  }, 60_000);

  it("refuses a GRAPEVINE_PEER_IDLE_MS that is not a number of ms", async () => {
    const { http } = await startWorkerd({ GRAPEVINE_PEER_IDLE_MS: "soon" });
    const response = await fetch(new URL("/healthz", http));
    expect(response.status).toBe(500);
    expect(await response.text()).toMatch(/relay misconfigured: GRAPEVINE_PEER_IDLE_MS/);
  }, 60_000);
});
