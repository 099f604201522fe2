/**
 * A browser peer: what a web page needs to join a Grapevine mesh through a relay, and nothing more
 * — a node (engine, CBOR codec, Ed25519 through the browser's WebCrypto, noble where it lacks
 * Ed25519) and a dialer that keeps a WebSocket link to the relay up, with the global `WebSocket`.
 * The demo's dashboard is built on it, and `grapevine bench size` measures its bundle.
 *
 * @example
 * ```ts
 * import { startBrowserPeer } from "./peer.ts";
 * const peer = await startBrowserPeer(`ws://${location.host}/`, { network: "grapevine-demo" });
 * peer.node.set("status", { text: "hello from a tab" });
 * peer.node.subscribe((c) => console.log(c.origin.slice(0, 8), c.key, c.value));
 * ```
 *
 * @module
 */

import { createSignatureSuite } from "../../src/crypto/ed25519.ts";
import { createNode } from "../../src/runtime/create.ts";
import { type GrapevineNode } from "../../src/runtime/node.ts";
import { dial, type Dialer } from "../../src/runtime/dial.ts";

/** Options of {@link startBrowserPeer}. */
export interface BrowserPeerOptions {
  /** Mesh name; must match the relay's. */
  network: string;
  /** Gossip interval, ms. Default 1,000. */
  intervalMs?: number;
}

/** A running browser peer. */
export interface BrowserPeer {
  node: GrapevineNode;
  dialer: Dialer;
  /** The Ed25519 backend in use: `node:crypto`, `webcrypto` or `noble`. */
  crypto: string;
  /** Leaves the mesh (peers drop this node's keys at once) and stops redialing. */
  close(): Promise<void>;
}

/** Creates a node with the page's WebCrypto and keeps it linked to the relay at `url`. */
export async function startBrowserPeer(url: string, options: BrowserPeerOptions): Promise<BrowserPeer> {
  const suite = await createSignatureSuite({ subtle: globalThis.crypto?.subtle });
  const node = await createNode({ network: options.network, intervalMs: options.intervalMs ?? 1_000, suite });
  const dialer = dial(node, url, { backoffMinMs: 250, backoffMaxMs: 10_000 });
  return {
    node,
    dialer,
    crypto: suite.backend,
    async close() {
      await node.close({ graceMs: 50 });
      dialer.close();
    },
  };
}
