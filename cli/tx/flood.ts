/**
 * The `tx` topic on one node of the transaction-flooding demo (`grapevine demo-tx`), the same in a
 * peer process, in the relay and in a browser tab:
 *
 * - the node's {@link Mempool} is the `tx` topic's validator: a payload that does not parse
 *   (`txFromWire`) is `reject`, otherwise the mempool decides (bad signature `reject`; stale, too
 *   far ahead, duplicate, or a full pool of higher fees `ignore`), so a node forwards only what it
 *   keeps;
 * - a transaction submitted to this node (by the load generator, or typed into a tab) goes through
 *   the same `offer` first, and is published only if accepted: a local publish skips validators, so
 *   this check is what makes the entry node the first hop that stops bad transactions;
 * - blocks come from one producer (the relay) on the `block` topic: `[height, [[account, nonce],
 *   …]]`, each confirming an account's transactions up to a nonce; any other origin is `reject`;
 * - every `tx` delivery (local or remote) is recorded with this process's clock, for the demo to
 *   compute propagation latencies.
 *
 * @module
 */

import type { Verdict } from "../../src/core/broadcast.ts";
import type { SignatureSuite } from "../../src/crypto/types.ts";
import type { BroadcastMessage, GrapevineNode } from "../../src/runtime/node.ts";
import { asArray, asBytes, asUint } from "../../src/wire/shape.ts";
import { Mempool, type MempoolStats } from "./mempool.ts";
import { type SignedTx, txFromWire } from "./tx.ts";

export const TX_TOPIC = "tx";
export const BLOCK_TOPIC = "block";
/** Validity of a transaction message; the mesh forgets its id after that. */
export const TX_TTL_MS = 30_000;
/** Accounts one block may confirm. */
export const BLOCK_ENTRIES_MAX = 4_096;

/** Milliseconds on a clock shared by the processes of one machine (the wall clock, sub-ms). */
export function wallClock(): number {
  return performance.timeOrigin + performance.now();
}

/** A block: the producer confirms each account's transactions up to a nonce. */
export interface Block {
  height: number;
  confirms: [account: Uint8Array, nonce: number][];
}

/** The payload of a block message (published as CBOR by `node.publish`). */
export function blockPayload(b: Block): unknown {
  return [b.height, b.confirms.map(([a, n]) => [a, n])];
}

/** Parses a block payload; throws (`WIRE_*` or `TypeError`) when malformed. */
export function parseBlock(payload: unknown): Block {
  const [h, list] = asArray(payload, "block", 2, 2);
  const confirms = asArray(list, "block.confirms", 0, BLOCK_ENTRIES_MAX).map((e, i) => {
    const [a, n] = asArray(e, `block.confirms[${i}]`, 2, 2);
    return [asBytes(a, "block.account", 32), asUint(n, "block.nonce")] as [Uint8Array, number];
  });
  return { height: asUint(h, "block.height"), confirms };
}

/** The parsed transaction of a `tx` message, or null if its payload is malformed. */
export function txOfMessage(m: BroadcastMessage): SignedTx | null {
  if (!(m.payload instanceof Uint8Array)) return null;
  try {
    return txFromWire(m.payload);
  } catch {
    return null;
  }
}

/** What a node reports about its mempool. */
export interface PoolReport extends MempoolStats {
  /** Height of the newest block applied. */
  height: number;
  capacity: number;
}

/** Options of {@link attachTx}. */
export interface TxNodeOptions {
  /** Node id of the block producer (the relay). */
  producer: string;
  /** Mempool capacity and nonce window. */
  capacity: number;
  nonceWindow: number;
  /** Clock for arrival times (default {@link wallClock}). */
  clock?: () => number;
  /** Called on every arrival (besides being queued for {@link TxNode.takeArrivals}). */
  onArrival?: (id: string, t: number, hops: number, local: boolean) => void;
  /** Called with this node's verdict on every `tx` message from a peer (`id` null: malformed). */
  onVerdict?: (id: string | null, verdict: Verdict, origin: string) => void;
  /** Called after a block was applied. */
  onBlock?: (b: Block) => void;
}

/** The demo's transaction logic attached to a node. */
export interface TxNode {
  readonly mempool: Mempool;
  /** Newest block height applied (0: none). */
  readonly height: number;
  /**
   * A transaction submitted to this node: parsed, offered to its mempool, and published if
   * accepted. `id` is null when the bytes do not parse (`malformed`).
   */
  submit(wire: Uint8Array): Promise<{ id: string | null; verdict: Verdict | "malformed" }>;
  /** Arrivals since the last call: `[tx id, time, hops]`, oldest first. */
  takeArrivals(): [string, number, number][];
  pool(): PoolReport;
  /** Removes the validators and subscriptions. */
  detach(): void;
}

/** Wires a mempool, blocks and arrival records to `node`. */
export function attachTx(node: GrapevineNode, suite: SignatureSuite, o: TxNodeOptions): TxNode {
  const clock = o.clock ?? wallClock;
  const mempool = new Mempool(suite, { capacity: o.capacity, nonceWindow: o.nonceWindow });
  let height = 0;
  let arrivals: [string, number, number][] = [];

  node.validate(TX_TOPIC, async (m) => {
    const s = txOfMessage(m);
    if (!s) mempool.stats.rejected++;
    const verdict = s ? await mempool.offer(s) : "reject";
    o.onVerdict?.(s?.id ?? null, verdict, m.origin);
    return verdict;
  });
  node.validate(BLOCK_TOPIC, (m) => {
    if (m.origin !== o.producer) return "reject"; // only the producer makes blocks
    try {
      const b = parseBlock(m.payload);
      return b.height > height ? "accept" : "ignore";
    } catch {
      return "reject";
    }
  });
  const offTx = node.subscribe(TX_TOPIC, (m) => {
    const s = txOfMessage(m);
    if (!s) return; // cannot happen: validated, or published by submit()
    const t = clock();
    arrivals.push([s.id, t, m.hops]);
    if (arrivals.length > 100_000) arrivals.shift(); // nobody is collecting: stay bounded
    o.onArrival?.(s.id, t, m.hops, m.local);
  });
  const offBlock = node.subscribe(BLOCK_TOPIC, (m) => {
    let b: Block;
    try {
      b = parseBlock(m.payload);
    } catch {
      return;
    }
    if (b.height <= height) return;
    height = b.height;
    for (const [account, nonce] of b.confirms) mempool.confirm(account, nonce);
    o.onBlock?.(b);
  });

  return {
    mempool,
    get height() {
      return height;
    },
    async submit(wire) {
      let s: SignedTx;
      try {
        s = txFromWire(wire);
      } catch {
        mempool.stats.rejected++;
        return { id: null, verdict: "malformed" };
      }
      const verdict = await mempool.offer(s);
      if (verdict === "accept") node.publish(TX_TOPIC, wire, { ttlMs: TX_TTL_MS });
      return { id: s.id, verdict };
    },
    takeArrivals() {
      const out = arrivals;
      arrivals = [];
      return out;
    },
    pool() {
      return { ...mempool.stats, size: mempool.size, height, capacity: o.capacity };
    },
    detach() {
      node.validate(TX_TOPIC, null);
      node.validate(BLOCK_TOPIC, null);
      offTx();
      offBlock();
    },
  };
}
