/**
 * The Workers adapter (`relay/workers.ts`) running in workerd through miniflare: the Worker and its
 * Durable Object are bundled with esbuild (as wrangler would), two Node peers dial the local URL
 * over loopback and converge through the object; each configured network name gets its own object
 * and no other name gets one; the relay's key pair persists in the object's storage across a
 * restart of workerd; an idle object hibernates (its rounds on the alarm, no timers) and wakes on a
 * message with its links intact; its alarm stops once nothing is connected.
 */
import { describe, expect, it } from "vitest";
import { WebSocket as WsClient } from "ws";
import { generateKeyPair, nodeIdToText } from "../../mod.ts";
import { serveRelay } from "../../relay/node.ts";
import { refusalsArePrompt, until } from "./helpers.ts";
import { healthOf, workerdHarness } from "./workerd.ts";

const NETWORK = "relay-workers-test";
const { startWorkerd, peer, cleanups } = workerdHarness(NETWORK);

describe("relay/workers.ts in workerd (miniflare)", () => {
  it("two Node peers dial the Durable Object relay and converge through it", async () => {
    // A low connection rate (from its variable), so the burst of refusalsArePrompt is refused
    // however slowly workerd takes the sockets in.
    const { http, ws } = await startWorkerd({ GRAPEVINE_CONNECTIONS_PER_IP_PER_SECOND: "2" });
    const [a, b] = [await peer(ws), await peer(ws)];
    await until(() => a.connected() && b.connected(), 15_000, "both peers linked");
    a.node.set("where", "workerd");
    b.node.set("where", "node");
    await until(() => b.node.get("where", a.node.id) === "workerd" && a.node.get("where", b.node.id) === "node", 15_000, "convergence");
    const health = await (await fetch(new URL("/healthz", http))).json();
    expect(health).toMatchObject({ ok: true, network: NETWORK, links: 2, origins: 2 });
    expect(health.id).toBe(a.peer());
    const metrics = await (await fetch(new URL("/metrics", http))).text();
    expect(metrics).toMatch(/^grapevine_links 2$/m);
    // An isolate has 128 MB in all: the state it may hold is bounded below that unless configured.
    expect(metrics).toMatch(new RegExp(`^grapevine_state_bytes_max ${48 * 1024 * 1024}$`, "m"));
    expect((await fetch(new URL("/nope", http))).status).toBe(404);
    await refusalsArePrompt(ws);
    await new Promise((r) => setTimeout(r, 1100)); // this address was refused: a second until it is upgraded again
    // A socket the relay closes (a text message is not part of the protocol) is let go of at once,
    // whether or not workerd then reports the close.
    const rude = new WsClient(ws);
    await new Promise((resolve, reject) => (rude.once("open", resolve), rude.once("error", reject)));
    rude.send("hello");
    await new Promise((resolve) => rude.once("close", resolve));
    await until(async () => (await healthOf(http)).sockets_held === 2, 15_000, "only the two peers' sockets held");
  }, 60_000);

  it("one object per network name; each keeps its key pair across a restart of workerd", async () => {
    let { http } = await startWorkerd({ GRAPEVINE_NETWORKS: "other-net" });
    const idOf = async (path: string) => ((await (await fetch(new URL(path, http))).json()) as { id: string; network: string });
    const first = await idOf("/healthz");
    const other = await idOf("/other-net/healthz");
    expect(other.network).toBe("other-net");
    expect(other.id).not.toBe(first.id);
    const c = await peer(`${http.replace(/^http/, "ws")}other-net/`, "other-net");
    await until(() => c.connected(), 15_000, "peer linked to the second network");
    expect(c.peer()).toBe(other.id);
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    ({ http } = await startWorkerd({ GRAPEVINE_NETWORKS: "other-net" }));
    expect((await idOf("/healthz")).id).toBe(first.id);
    expect((await idOf("/other-net/healthz")).id).toBe(other.id);
  }, 60_000);

  it("dials a peer relay from the Durable Object (GRAPEVINE_PEERS): peers on either relay converge", async () => {
    const nodeRelay = await serveRelay({ port: 0, network: NETWORK, intervalMs: 100 });
    cleanups.push(() => nodeRelay.close());
    const { ws, http } = await startWorkerd({ GRAPEVINE_PEERS: nodeRelay.url, GRAPEVINE_STORE_BYTES_MAX: "1000000" });
    const [a, b] = [await peer(ws), await peer(nodeRelay.url)];
    await until(() => a.connected() && b.connected(), 15_000, "both peers linked");
    a.node.set("side", "workerd");
    b.node.set("side", "node");
    await until(() => b.node.get("side", a.node.id) === "workerd" && a.node.get("side", b.node.id) === "node", 20_000, "convergence across relays");
    expect(nodeRelay.relay.node.peers()).toContain(a.peer());
    // The memory bound from the environment wins over the isolate's default.
    expect(await (await fetch(new URL("/metrics", http))).text()).toMatch(/^grapevine_state_bytes_max 1000000$/m);
  }, 60_000);

  it("serves only the networks configured: listed ones, and names of the pattern up to GRAPEVINE_NETWORKS_MAX", async () => {
    const { http, ws } = await startWorkerd({ GRAPEVINE_NETWORKS: "listed", GRAPEVINE_NETWORK_PATTERN: "room-[0-9]+", GRAPEVINE_NETWORKS_MAX: "2" });
    const status = async (path: string) => (await fetch(new URL(path, http))).status;
    expect(await status("/healthz")).toBe(200);
    expect(await status("/listed/healthz")).toBe(200);
    expect(await status("/stranger/healthz")).toBe(404);
    expect(await status("/room-1/healthz")).toBe(200);
    expect(await status("/room-2/healthz")).toBe(200);
    expect(await status("/room-3/healthz")).toBe(404); // the pattern's two names are taken
    expect(await status("/room-1/healthz")).toBe(200); // and stay served
    expect(await status("/room-x/healthz")).toBe(404);
    const c = await peer(`${ws}stranger/`, "stranger");
    await until(() => c.events.includes("link-failed"), 15_000, "a refused dial");
    expect(c.connected()).toBe(false);
  }, 60_000);

  it("takes its admission policy from the environment (GRAPEVINE_ALLOW): a stranger's dialer is told why", async () => {
    const friendKey = generateKeyPair((n) => crypto.getRandomValues(new Uint8Array(n)));
    const { ws } = await startWorkerd({ GRAPEVINE_ALLOW: nodeIdToText(friendKey.publicKey) });
    const friend = await peer(ws, NETWORK, { keyPair: friendKey });
    const stranger = await peer(ws);
    const reasons: (string | null)[] = [];
    stranger.node.addEventListener("link-failed", (e) => reasons.push((e as CustomEvent<{ remoteReason: string | null }>).detail.remoteReason));
    await until(() => friend.connected() && reasons.length > 0, 15_000, "friend linked, stranger refused");
    expect(reasons[0]).toBe("not admitted");
    expect(stranger.connected()).toBe(false);
  }, 60_000);

  it("an idle relay object hibernates and wakes on a message with its links intact; state is learnt again", async () => {
    // Everyone's own timers far apart, so that nothing happens on the links for well over workerd's
    // 10 s of inactivity; the relay's rounds are on its alarm, not on timers.
    const quiet = { intervalMs: 60_000, probeIntervalMs: 60_000, shuffleIntervalMs: 60_000 };
    const { http, ws } = await startWorkerd({ GRAPEVINE_INTERVAL_MS: "60000", GRAPEVINE_PROBE_INTERVAL_MS: "60000", GRAPEVINE_SHUFFLE_INTERVAL_MS: "60000" });
    // State moves when a link comes up (rounds are a minute apart): a's write reaches the relay as
    // a links, and b learns it from the relay as b links.
    const a = await peer(ws, NETWORK, quiet);
    a.node.set("who", "a");
    await until(a.connected, 15_000, "a linked");
    for (let i = 0; i < 100 && (await healthOf(http)).origins < 2; i++) await new Promise((r) => setTimeout(r, 100));
    const b = await peer(ws, NETWORK, quiet);
    b.node.set("who", "b");
    await until(b.connected, 15_000, "b linked");
    await until(() => b.node.get("who", a.node.id) === "a", 15_000, "b holds a's state");
    let first = await healthOf(http);
    for (let i = 0; i < 100 && first.origins < 2; i++) first = await new Promise((r) => setTimeout(r, 100)).then(() => healthOf(http));
    expect(first).toMatchObject({ links: 2, clients: 2, origins: 2 });
    expect(first.alarm_in_ms).not.toBeNull(); // the next wake-up, on the alarm
    // A change goes through at once, rounds a minute apart: the relay passes it on to its clients
    // (on a timer within the event that brought it, not an alarm).
    a.node.set("who", "a, again");
    await until(() => b.node.get("who", a.node.id) === "a, again", 10_000, "b gets a's change through the relay at once");

    // Idle windows of 13 s: workerd evicts an object after 10 s without events, and while the
    // members settle (claims, first probes) their events come seconds apart, so a window may be
    // cut short; a relay instance younger than its window proves the object was evicted during it.
    let before = first;
    let after = first;
    let windows = 0;
    do {
      before = await healthOf(http);
      await new Promise((r) => setTimeout(r, 13_000));
      after = await healthOf(http); // an event: the object wakes if it slept
      windows++;
    } while (after.uptime >= before.uptime + 12 && windows < 5);
    expect(after.uptime, `a new relay instance within ${windows} idle windows (the old one hibernated)`).toBeLessThan(before.uptime + 12);
    expect(after).toMatchObject({ links: 2, clients: 2 }); // both sockets taken back, no handshake
    expect(after.id).toBe(before.id);
    // The woken relay learns the state again from its links at once.
    let health = after;
    for (let i = 0; i < 100 && health.origins < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      health = await healthOf(http);
    }
    expect(health.origins).toBe(2); // a's and b's, learnt by a relay that started empty
    // Routing works over the adopted links: a FORWARD from a reaches b through the woken relay.
    const got: string[] = [];
    b.node.addEventListener("direct", (e) => got.push(new TextDecoder().decode((e as CustomEvent<{ payload: Uint8Array }>).detail.payload)));
    a.node.sendTo(b.node.id, new TextEncoder().encode("after hibernation"));
    await until(() => got.includes("after hibernation"), 10_000, "a FORWARD through the woken relay");
    // Neither peer noticed: one link-up each, no link-down, no failed attempt.
    expect(a.events).toEqual(["link-up"]);
    expect(b.events).toEqual(["link-up"]);
  }, 120_000);

  it("keeps an alarm only while something is connected", async () => {
    const { http, ws } = await startWorkerd();
    const a = await peer(ws);
    await until(a.connected, 15_000, "peer linked");
    const linked = await healthOf(http);
    expect(linked).toMatchObject({ clients: 1 });
    expect(linked.alarm_in_ms).not.toBeNull();
    await a.leave(); // the peer leaves…
    let health = await healthOf(http);
    for (let i = 0; i < 50 && health.clients > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      health = await healthOf(http);
    }
    expect(health).toMatchObject({ clients: 0, alarm_in_ms: null }); // …and the alarm with it
  }, 60_000);
});
