/**
 * `grapevine bench held`: what holding other origins' state costs a node in heap, against what it
 * counts toward `storeBytesMax` (`Store.heldBytes`: leaf bytes, `ENTRY_HELD_BYTES` an entry,
 * `ORIGIN_HELD_BYTES` an origin). `storeBytesMax` bounds a relay's memory only while the count is
 * at least the heap; `heap_over_counted` above 1 says by how much a peer could make a node hold
 * more than its bound.
 *
 * One engine (no membership, budgets raised so the measure is of holding, not of pacing) takes
 * in, over one link, full maps of fresh origins, each a signed root and its entries as a rumor —
 * the signatures are taken as good (this measures what is held, not the checks) — in three shapes:
 *
 * - `presence`: one key of a presence-sized JSON value an origin (what a relay holds of a tab);
 * - `tiny_keys`: 200 keys of one byte an origin (the cheapest entries a peer can make);
 * - `large_values`: 8 keys of 4 KiB an origin (their buffers lie outside V8's heap, and are
 *   counted there).
 *
 * Each shape runs with the digest kept in one table (`digestRowsPart`, tabs) and in the trie
 * (`digestTreePart`, relays). Memory is the heap in use plus memory outside it (array buffers), read
 * after full collections until two readings agree (`heapMeasure`, as the simulator measures), before
 * and after; per origin is that growth divided by the origins taken in, the median of three runs.
 *
 * @module
 */

import { EngineCore } from "../src/core/engine-core.ts";
import { digestRowsPart } from "../src/core/digest-rows.ts";
import { digestTreePart } from "../src/core/digest-tree.ts";
import { seededRng } from "../src/core/random.ts";
import { ENTRY_HELD_BYTES, ORIGIN_HELD_BYTES } from "../src/core/held.ts";
import { leafHash, MerkleTree } from "../src/crypto/merkle.ts";
import { compareBytes } from "../src/bytes.ts";
import { DELTA_FLAG, encodeDeltaFrame, encodeOriginDelta } from "../src/wire/frames.ts";
import { encodeLeaf, encodeRootBody } from "../src/wire/records.ts";
import { heapMeasure } from "./sim-scale.ts";

/** One shape's run: what the engine took in and what it took. */
export interface HeldShape {
  origins: number;
  entries_per_origin: number;
  leaf_bytes_per_origin: number;
  /** Heap plus memory outside it (array buffers) per origin held, after full collections. */
  memory_bytes_per_origin: number;
  /** What `storeBytesMax` counts per origin (`heldBytes` / origins). */
  counted_bytes_per_origin: number;
  heap_over_counted: number;
}

/** The report `grapevine bench held` prints. */
export interface HeldReport {
  bench: "held";
  origin_held_bytes: number;
  entry_held_bytes: number;
  rows: Record<ShapeName, HeldShape>;
  tree: Record<ShapeName, HeldShape>;
  /** The largest `heap_over_counted` of all runs: at most 1 when `storeBytesMax` bounds memory. */
  heap_over_counted_max: number;
  node: string;
}

/** The shapes of map the bench feeds (see the module doc). */
export const HELD_SHAPES = {
  presence: { entries: 1, valueBytes: 0, json: true },
  tiny_keys: { entries: 200, valueBytes: 1, json: false },
  large_values: { entries: 8, valueBytes: 4096, json: false },
} as const;

type ShapeName = keyof typeof HELD_SHAPES;

const utf8 = new TextEncoder();

/** A rumor frame carrying origin `i`'s whole map in `shape`, signed (as far as the engine checks here) by nobody. */
function originFrame(i: number, shape: (typeof HELD_SHAPES)[ShapeName]): { frame: Uint8Array; leafBytes: number } {
  const origin = new Uint8Array(32);
  new DataView(origin.buffer).setUint32(0, i + 1);
  const keys = Array.from({ length: shape.entries }, (_, k) => (shape.json ? "presence" : `k${String(k).padStart(4, "0")}`));
  const leaves = keys.map((key, k) => {
    const value = shape.json ? utf8.encode(JSON.stringify({ name: `user ${i}`, status: "online", cursor: { x: i % 1000, y: 17 } })) : new Uint8Array(shape.valueBytes).fill(k & 0xff);
    return encodeLeaf({ key, version: k + 1, value });
  });
  const byKey = leaves.map((leaf, k) => ({ leaf, key: utf8.encode(keys[k]) })).sort((a, b) => compareBytes(a.key, b.key));
  const tree = MerkleTree.fromLeafHashes(byKey.map((l) => leafHash(l.leaf)));
  const rootBody = encodeRootBody({ origin, generation: 1, version: leaves.length, root: tree.root, count: leaves.length, floor: 0, flags: 0 });
  const entries = byKey.map((l, index) => ({ leaf: l.leaf, index, proof: [] }));
  const delta = encodeOriginDelta({ rootBody, signature: new Uint8Array(64).fill(1), from: 0, through: leaves.length, full: true, entries });
  return { frame: encodeDeltaFrame(DELTA_FLAG.RUMOR, [delta], 0), leafBytes: leaves.reduce((n, l) => n + l.length, 0) };
}

/** Feeds one engine `origins` maps of `shape` and measures what it holds: the median of three runs (a full GC now and then leaves a run short). */
function runShape(name: ShapeName, origins: number, tree: boolean): HeldShape {
  const runs = [0, 1, 2].map(() => runShapeOnce(name, origins, tree)).sort((a, b) => a.memory_bytes_per_origin - b.memory_bytes_per_origin);
  return runs[1];
}

function runShapeOnce(name: ShapeName, origins: number, tree: boolean): HeldShape {
  const shape = HELD_SHAPES[name];
  const e = new EngineCore({
    publicKey: new Uint8Array(32).fill(7), generation: 1, random: seededRng(1), now: 0,
    parts: { digest: tree ? digestTreePart : digestRowsPart },
    options: { membership: false, newOriginsPerLinkPerSecondMax: 1e9, stateBytesPerLinkPerSecondMax: 1e12, storeBytesMax: 2 ** 40, originsMax: 1e9 },
  });
  const drain = () => {
    for (let j; (j = e.pollJob()); ) e.completeJob(0, j.id, j.kind === "sign" ? new Uint8Array(64) : true);
    while (e.pollTransmit());
    while (e.pollEvent());
  };
  e.linkUp(0, 1, new Uint8Array(32).fill(9));
  drain();
  let leafBytes = 0;
  const memory = heapMeasure();
  const before = memory();
  for (let i = 0; i < origins; i++) {
    const { frame, leafBytes: n } = originFrame(i, shape);
    leafBytes += n;
    e.receive(i, 1, frame);
    drain();
  }
  const after = memory();
  let held = 0;
  for (const o of e.store.origins.values()) if (o.id !== e.store.selfId && o.entries.size === shape.entries) held++;
  if (held !== origins) throw new Error(`bench held: the engine holds ${held} of ${origins} ${name} origins`);
  const taken = (after - before) / origins;
  const counted = e.store.heldBytes / origins;
  return {
    origins, entries_per_origin: shape.entries, leaf_bytes_per_origin: Math.round(leafBytes / origins),
    memory_bytes_per_origin: Math.round(taken), counted_bytes_per_origin: Math.round(counted), heap_over_counted: Math.round((taken / counted) * 100) / 100,
  };
}

/** Runs every shape with both digest parts. `scale` multiplies the origins of each (1: about 30 MB a run). */
export function runHeldBench(options: { scale?: number } = {}): HeldReport {
  const scale = options.scale ?? 1;
  if (!(scale > 0)) throw new RangeError("scale must be positive");
  const counts: Record<ShapeName, number> = { presence: Math.ceil(5000 * scale), tiny_keys: Math.ceil(200 * scale), large_values: Math.ceil(500 * scale) };
  const run = (tree: boolean) => Object.fromEntries((Object.keys(HELD_SHAPES) as ShapeName[]).map((n) => [n, runShape(n, counts[n], tree)])) as Record<ShapeName, HeldShape>;
  const rows = run(false);
  const trie = run(true);
  const all = [...Object.values(rows), ...Object.values(trie)];
  return {
    bench: "held", origin_held_bytes: ORIGIN_HELD_BYTES, entry_held_bytes: ENTRY_HELD_BYTES, rows, tree: trie,
    heap_over_counted_max: Math.max(...all.map((s) => s.heap_over_counted)), node: process.version,
  };
}
