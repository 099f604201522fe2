/**
 * The simulated network: a seeded random overlay (who links to whom) and the fate of every frame
 * (latency, loss, duplication, partitions). Pure and deterministic given its seed.
 *
 * @module
 */

import { randomBelow, randomUnit, type Rng } from "../core/random.ts";

/** Knobs of the simulated network. Probabilities in [0, 1], times in ms. */
export interface NetworkOptions {
  /** Shortest one-way delay. */
  latencyMinMs: number;
  /** Longest one-way delay; delays are uniform in between, so frames reorder. */
  latencyMaxMs: number;
  /** Chance a frame is lost. */
  loss: number;
  /** Chance a frame is delivered twice. */
  duplicate: number;
}

/** Defaults: 5–50 ms one way, no loss, no duplication. */
export const DEFAULT_NETWORK: Readonly<NetworkOptions> = Object.freeze({
  latencyMinMs: 5,
  latencyMaxMs: 50,
  loss: 0,
  duplicate: 0,
});

/**
 * An undirected overlay in compressed form: node i's neighbours are `peers[offsets[i] .. offsets[i + 1])`,
 * so link id k at node i leads to `peers[offsets[i] + k]`, where the same link has id
 * `rev[offsets[i] + k]`. Three typed arrays for the whole mesh, a few bytes per link end.
 */
export interface Overlay {
  offsets: Int32Array;
  peers: Int32Array;
  rev: Int32Array;
}

/** Node i's neighbours in an overlay (a copy). */
export function neighbours(o: Overlay, i: number): number[] {
  return Array.from(o.peers.subarray(o.offsets[i], o.offsets[i + 1]));
}

/**
 * A random overlay: each node opens links to `ceil(degree / 2)` distinct random others, so the
 * mean degree is about `degree` (the full mesh when `degree ≥ n − 1`). Link ids follow the order
 * in which links were made. Edges are made into a list first (a node's picks are contiguous), so no
 * per-node set is needed to refuse a second link between the same two nodes.
 */
export function randomOverlay(rng: Rng, n: number, degree: number): Overlay {
  const full = degree >= n - 1;
  const out = full ? n - 1 : Math.ceil(degree / 2);
  // dst[picked[a] .. picked[a + 1]) are the nodes a linked to, in order.
  const picked = new Int32Array(n + 1);
  const dst = new Int32Array(full ? (n * (n - 1)) / 2 : n * out);
  let edges = 0;
  const linked = (a: number, b: number): boolean => {
    for (let e = picked[a]; e < edges; e++) if (dst[e] === b) return true; // a's own picks so far
    if (b < a) for (let e = picked[b]; e < picked[b + 1]; e++) if (dst[e] === a) return true;
    return false;
  };
  for (let a = 0; a < n; a++) {
    picked[a] = edges;
    if (full) {
      for (let b = a + 1; b < n; b++) dst[edges++] = b;
      continue;
    }
    let tries = 0;
    let made = 0;
    while (made < out && tries++ < out * 20) {
      const b = randomBelow(rng, n);
      if (b !== a && !linked(a, b)) {
        dst[edges++] = b;
        made++;
      }
    }
  }
  picked[n] = edges;
  const offsets = new Int32Array(n + 1);
  for (let a = 0; a < n; a++) {
    for (let e = picked[a]; e < picked[a + 1]; e++) {
      offsets[a + 1]++;
      offsets[dst[e] + 1]++;
    }
  }
  for (let a = 0; a < n; a++) offsets[a + 1] += offsets[a];
  const fill = offsets.slice(0, n);
  const peers = new Int32Array(2 * edges);
  const rev = new Int32Array(2 * edges);
  // Edges in the order they were made, so each node's link ids follow that order.
  for (let a = 0; a < n; a++) {
    for (let e = picked[a]; e < picked[a + 1]; e++) {
      const b = dst[e];
      const pa = fill[a]++;
      const pb = fill[b]++;
      peers[pa] = b;
      peers[pb] = a;
      rev[pa] = pb - offsets[b];
      rev[pb] = pa - offsets[a];
    }
  }
  return { offsets, peers, rev };
}

/** What happens to one frame: the delivery delays of its copies (empty when lost). */
export function frameFate(rng: Rng, o: NetworkOptions): number[] {
  if (o.loss > 0 && randomUnit(rng) < o.loss) return [];
  const delay = () => o.latencyMinMs + randomUnit(rng) * (o.latencyMaxMs - o.latencyMinMs);
  const first = delay();
  if (o.duplicate > 0 && randomUnit(rng) < o.duplicate) return [first, delay()];
  return [first];
}
