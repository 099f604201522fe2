// Hostile peers on real sockets: an admitted key pair speaking the real handshake to a Node relay
// over loopback, then GRAFTs for every message the relay holds; and the one penalty ledger a link
// has, link-layer faults and gossip faults together.
import { PROTOCOL_VERSION } from "../../src/core/engine.ts";
import { afterEach, describe, expect, it } from "vitest";
import { fromHex } from "../../src/bytes.ts";
import { createMemoryLinkPair, createNode, dial, type GrapevineNode } from "../../mod.ts";
import { serveRelay, type ServedRelay } from "../../relay/node.ts";
import { createSignatureSuite } from "../../src/crypto/ed25519.ts";
import { generateKeyPair } from "../../src/crypto/keys.ts";
import type { KeyPair } from "../../src/crypto/types.ts";
import { runHandshake } from "../../src/runtime/handshake.ts";
import type { Link } from "../../src/transport/link.ts";
import { websocketLink } from "../../src/transport/websocket.ts";
import { nodeWebSocketWith } from "../../src/transport/ws-node.ts";
import { encodeFrame, FRAME, SUBSCRIBE_FLAG } from "../../src/wire/frames.ts";
import { scopeIdOf } from "../../src/core/scopes.ts";
import { encodeLinkFrame, LINK_FRAME } from "../../src/wire/link-frames.ts";
import { until } from "../relay/helpers.ts";
import { report } from "./helpers.ts";

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const suiteReady = createSignatureSuite({ subtle: globalThis.crypto.subtle });

/** Runs the real handshake on `link` as `keyPair` (taking the link over at once), then hands the raw link over. */
async function handshakeAs(link: Link, keyPair: KeyPair, network: string): Promise<Link> {
  const suite = await suiteReady;
  await runHandshake(link, {
    keyPair, suite, network, protocolVersion: PROTOCOL_VERSION, credential: null, admission: null, timeoutMs: 5000,
    frameBytesMax: 1 << 20, expectedPeer: null, wallClock: () => Date.now(), random, earlyFramesMax: 64, earlyBytesMax: 2 << 20,
  });
  return link;
}

describe("adversarial: on real sockets against a Node relay", () => {
  it("GRAFTs for every message the relay holds get answers within the link's answer budget; the relay's memory stays flat", async () => {
    const network = "adversarial";
    const served: ServedRelay = await serveRelay({ port: 0, network });
    cleanup.push(() => served.close());
    const { WebSocket } = await import("ws");
    const publisher: GrapevineNode = await createNode({ network, intervalMs: 200 });
    cleanup.push(() => publisher.close());
    const ids: Uint8Array[] = [];
    publisher.subscribe("bulk", (m) => ids.push(fromHex(m.id)));
    const d = dial(publisher, served.url, { WebSocket: WebSocket as never });
    cleanup.push(() => d.close());
    await until(() => publisher.linkCount > 0, 8000, "publisher linked");
    // Messages go to the topic's swarm as it is when they are published: wait for the relay to join
    // it (its SUBSCRIBE answers the publisher's), or the first ones reach nobody but the publisher.
    const bulk = scopeIdOf("bulk");
    await until(() => (publisher.engine.scope(bulk)?.links ?? 0) > 0, 8000, "relay in the topic's swarm");
    const payload = new Uint8Array(32_768).fill(5);
    // Within what the relay takes from one link per second (broadcastBytesPerSecondMax).
    for (let i = 0; i < 150; i++) {
      publisher.publish("bulk", payload);
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 1000));
    }
    await until(() => ids.length === 150, 15_000, "published");
    // The relay carries the topic for its client (a scope of its own) and holds its messages there.
    await until(() => (served.relay.node.engine.scope(bulk)?.broadcast?.stats.delivered ?? 0) >= 150, 8000, "relay holds the messages");

    await suiteReady;
    const socket = new (nodeWebSocketWith(1 << 20))(served.url);
    const link = await handshakeAs(websocketLink(socket, { frameBytesMax: 1 << 20 }), generateKeyPair(random), network);
    let received = 0;
    link.onmessage = (bytes) => (received += bytes.length);
    cleanup.push(() => link.close("done"));
    (globalThis as { gc?: () => void }).gc?.();
    const rssBefore = process.memoryUsage().rss;
    const started = Date.now();
    // The attacker joins the topic (so its GRAFTs are read) and asks for everything, again and again.
    link.send(encodeFrame({ type: FRAME.SUBSCRIBE, flags: SUBSCRIBE_FLAG.RESET, add: [bulk], remove: [] }));
    const graft = encodeFrame({ type: FRAME.SCOPED, scope: bulk, frame: encodeFrame({ type: FRAME.GRAFT, ids }) });
    let sent = 0;
    let peakRss = rssBefore;
    for (let s = 0; s < 5; s++) {
      for (let k = 0; k < 18; k++) {
        link.send(graft);
        sent += graft.length;
      }
      const until = Date.now() + 1000;
      while (Date.now() < until) {
        await new Promise((r) => setTimeout(r, 50));
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
      }
    }
    const seconds = (Date.now() - started) / 1000;
    const budget = served.relay.node.options.answerBytesPerSecondMax;
    report("graft-amplification-sockets", {
      seconds: +seconds.toFixed(1), graft_bytes_sent: sent, bytes_received: received, ratio: +(received / sent).toFixed(2),
      held_messages_bytes: 150 * 32_768, rss_growth_mb: +((peakRss - rssBefore) / 1e6).toFixed(1),
    });
    expect(received).toBeLessThanOrEqual(budget * (seconds + 1) + 100_000);
    expect(peakRss - rssBefore).toBeLessThan(200e6); // was 1.1 GB for this attack
  });

  it("link-layer faults and gossip faults add up in one ledger: the link is closed at the threshold", async () => {
    const network = "ledger";
    const victim = await createNode({ network });
    cleanup.push(() => victim.close());
    const [mine, theirs] = createMemoryLinkPair();
    const attacker = generateKeyPair(random);
    await suiteReady;
    const rawReady = handshakeAs(theirs, attacker, network);
    const handle = await victim.connect(mine);
    const raw = await rawReady;
    let closedWith = "";
    handle.closed.then((r) => (closedWith = r));
    const penalties: string[] = [];
    victim.addEventListener("penalty", (e) => penalties.push((e as CustomEvent<{ code: string }>).detail.code));
    // Two link-layer faults (a first-hop FORWARD that names someone else: 25 points each) ...
    const forged = encodeLinkFrame({ type: LINK_FRAME.FORWARD, to: victim.publicKey, from: new Uint8Array(32).fill(9), hops: 0, payload: new Uint8Array(1) });
    raw.send(forged);
    raw.send(forged);
    // ... and two gossip faults (not CBOR: 25 points each). Apart, neither reaches 100.
    raw.send(new Uint8Array([0x82, 0x01, 0xff]));
    raw.send(new Uint8Array([0x82, 0x01, 0xff]));
    await until(() => closedWith !== "", 3000, "link closed");
    report("one-penalty-ledger", { penalties, closed: closedWith });
    expect(penalties.length).toBe(4);
    expect(closedWith).toMatch(/penalty score 100/);
  });
});
