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
 * An undirected overlay. `adj[i]` lists node i's neighbours; link id k at node i leads to
 * `adj[i][k]`, where the same link has id `rev[i][k]`.
 */
export interface Overlay {
  adj: number[][];
  rev: number[][];
}

/**
 * A random overlay: each node opens links to `ceil(degree / 2)` distinct random others, so the
 * mean degree is about `degree` (the full mesh when `degree ≥ n − 1`).
 */
export function randomOverlay(rng: Rng, n: number, degree: number): Overlay {
  const adj: number[][] = Array.from({ length: n }, () => []);
  const seen: Set<number>[] = Array.from({ length: n }, () => new Set());
  const connect = (a: number, b: number) => {
    if (a === b || seen[a].has(b)) return;
    seen[a].add(b);
    seen[b].add(a);
    adj[a].push(b);
    adj[b].push(a);
  };
  if (degree >= n - 1) {
    for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) connect(a, b);
  } else {
    const out = Math.ceil(degree / 2);
    for (let a = 0; a < n; a++) {
      let tries = 0;
      let made = 0;
      while (made < out && tries++ < out * 20) {
        const b = randomBelow(rng, n);
        if (b !== a && !seen[a].has(b)) {
          connect(a, b);
          made++;
        }
      }
    }
  }
  const rev = adj.map((peers, a) => peers.map((b) => adj[b].indexOf(a)));
  return { adj, rev };
}

/** What happens to one frame: the delivery delays of its copies (empty when lost). */
export function frameFate(rng: Rng, o: NetworkOptions): number[] {
  if (o.loss > 0 && randomUnit(rng) < o.loss) return [];
  const delay = () => o.latencyMinMs + randomUnit(rng) * (o.latencyMaxMs - o.latencyMinMs);
  const first = delay();
  if (o.duplicate > 0 && randomUnit(rng) < o.duplicate) return [first, delay()];
  return [first];
}
