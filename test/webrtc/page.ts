/**
 * A browser peer for the WebRTC tests (bundled by esbuild, served on 127.0.0.1, driven by
 * browser.test.ts through `window.gv`). It dials the relay with the page's WebSocket and, when
 * asked, attaches direct links with the page's own `RTCPeerConnection`, wrapped to count the
 * connections it opens and closes. The counts live in `localStorage`, so they survive reloads:
 * `created - closed` is the number of connections this origin's pages left open.
 */
import { attachDirectLinks, createNode, dial, type DirectLinks, type GrapevineNode } from "../../mod.ts";
import { looksLikeSignal } from "../../src/runtime/signal.ts";

const counts = (): { created: number; closed: number } => JSON.parse(localStorage.getItem("gv-pcs") ?? '{"created":0,"closed":0}');
const count = (field: "created" | "closed") => {
  const c = counts();
  c[field]++;
  localStorage.setItem("gv-pcs", JSON.stringify(c));
};

/** The page's RTCPeerConnection, counting. */
class CountedPeerConnection extends RTCPeerConnection {
  #closed = false;
  constructor(config?: RTCConfiguration) {
    super(config);
    count("created");
  }
  override close(): void {
    if (!this.#closed) count("closed");
    this.#closed = true;
    super.close();
  }
}

let node: GrapevineNode;
let direct: DirectLinks | null = null;
const received: Record<string, number[]> = {};
const notes: string[] = [];

const gv = {
  async start(o: { url: string; network: string; intervalMs: number; direct: boolean }): Promise<string> {
    node = await createNode({ network: o.network, intervalMs: o.intervalMs });
    node.subscribe("t", (m) => (received[m.origin] ??= []).push(m.payload as number));
    node.addEventListener("direct", (e) => {
      const { from, payload } = (e as CustomEvent<{ from: string; payload: Uint8Array }>).detail;
      if (!looksLikeSignal(payload)) notes.push(`${from.slice(0, 6)}:${payload.length}`);
    });
    dial(node, o.url);
    if (o.direct) gv.direct();
    return node.id;
  },
  direct(): void {
    direct ??= attachDirectLinks(node, {
      RTCPeerConnection: CountedPeerConnection,
      max: 4, probeIntervalMs: 200, retryMinMs: 500, pageHide: window,
    });
  },
  set: (key: string, value: unknown) => node.set(key, value),
  get: (key: string, origin: string) => node.get(key, origin),
  publish: (value: number) => node.publish("t", value),
  received: (origin: string) => received[origin] ?? [],
  sendTo: (peer: string, n: number, size: number) => {
    for (let i = 0; i < n; i++) node.sendTo(peer, new Uint8Array(size).fill(i & 255));
  },
  notes: () => notes.length,
  peers: () => node.peers(),
  directPeers: () => direct?.peers() ?? [],
  stats: () => direct?.stats() ?? null,
  pcs: () => counts(),
};
(globalThis as unknown as { gv: typeof gv }).gv = gv;
