/**
 * Memory per simulated node, by structure: what `grapevine sim --profile-memory` reports.
 *
 * The simulator has no view of the heap (it is sans-I/O), so the caller injects `measure`: the
 * bytes in use after a full garbage collection (the command line passes V8's heap plus external
 * memory). At the end of a run {@link Simulation.profileMemory} releases the simulation's
 * structures one at a time, in a fixed order, measuring after each; a structure's figure is what
 * its release gave back, divided by the node count. The run is over afterwards. The order matters
 * for what is shared: key material referenced by engines is counted under `keys`, released last.
 *
 * @module
 */

import { type Engine, releaseForProfile } from "../core/engine.ts";
import type { Simulation } from "./sim.ts";

/** Heap bytes in use after a full collection (injected; the simulator has no runtime access). */
export type MemoryMeasure = () => number;

/** The structures, in the order they are released. */
export const MEMORY_PARTS = [
  /** Pending events: frames in flight, wake-ups, crypto results. */
  "queues",
  /** Plumtree state of every engine (seen ids, message cache, per-link eager/lazy state). */
  "broadcast",
  /** SWIM state of every engine (member table, claim queue, per-link probe state). */
  "membership",
  /** Every engine's per-link state (digests sent, rumor bookkeeping) and the simulator's link tables. */
  "links",
  /** Replicated state of every engine (origins, entries, signed roots, digest trie). */
  "store",
  /** The rest of each engine: options, output queues, crypto callbacks, randomness. */
  "engine",
  /** Node key material (public keys, signing seeds). */
  "keys",
] as const;

export type MemoryPart = (typeof MEMORY_PARTS)[number];

/** Bytes per simulated node, by structure, at the end of a run. */
export interface MemoryProfile {
  method: string;
  nodes: number;
  /** Links per node when measured. */
  links_per_node: number;
  /** Everything the simulation held right after every node booted (the first exchange in flight). */
  bytes_per_node_at_boot: number | null;
  /** Everything the simulation held at the end of the run. */
  bytes_per_node: number;
  by_structure: Record<MemoryPart | "other", number>;
  /** `links` split: engines' per-link state and the simulator's link tables. */
  links_split: { engine: number; simulator: number };
  /** `links` (both sides) per link end. */
  bytes_per_link_end: number;
}

/** The method line of every profile. */
export const MEMORY_METHOD =
  "heap + external bytes after a full GC; at the end of the run each structure is released in turn and its figure is what that gave back, per node";

/** Turns the measurements into a profile. `released` holds bytes given back per part (links split in two). */
export function memoryProfile(
  nodes: number,
  linkEnds: number,
  atBoot: number | null,
  total: number,
  released: Record<Exclude<MemoryPart, "links">, number> & { linksEngine: number; linksSim: number },
): MemoryProfile {
  const per = (b: number) => Math.round(b / nodes);
  const links = released.linksEngine + released.linksSim;
  const parts = { ...released, links };
  let named = 0;
  const by = {} as Record<MemoryPart | "other", number>;
  for (const p of MEMORY_PARTS) {
    by[p] = per(parts[p]);
    named += parts[p];
  }
  by.other = per(total - named);
  return {
    method: MEMORY_METHOD,
    nodes,
    links_per_node: Math.round((linkEnds / nodes) * 100) / 100,
    bytes_per_node_at_boot: atBoot === null ? null : per(atBoot),
    bytes_per_node: per(total),
    by_structure: by,
    links_split: { engine: per(released.linksEngine), simulator: per(released.linksSim) },
    bytes_per_link_end: linkEnds > 0 ? Math.round(links / linkEnds) : 0,
  };
}

/**
 * Releases a finished simulation's structures one at a time and measures what each gave back (see
 * `Simulation.profileMemory`); `releaseQueue` and `releaseKeys` drop the simulation's own queue and key
 * material.
 */
export function profileSimulation(sim: Simulation, measure: MemoryMeasure, baseline: number, atBoot: number | null, releaseQueue: () => void, releaseKeys: () => void): MemoryProfile {
  let last = measure();
  const total = last - baseline;
  const released = (release: () => void): number => {
    release();
    const now = measure();
    const freed = last - now;
    last = now;
    return freed;
  };
  const engines = sim.nodes.map((n) => n.engine).filter((e): e is Engine => e !== null);
  let linkEnds = 0;
  for (const n of sim.nodes) linkEnds += sim.peersOf(n.index).length;
  const queues = released(releaseQueue);
  const broadcast = released(() => engines.forEach((e) => releaseForProfile(e, "broadcast")));
  const membership = released(() => engines.forEach((e) => releaseForProfile(e, "membership")));
  const linksEngine = released(() => engines.forEach((e) => e.links().forEach((l) => e.linkDown(sim.now, l))));
  const linksSim = released(() => {
    for (const n of sim.nodes) {
      n.table = null;
      n.linkCount = 0;
    }
    const o = sim.overlay;
    o.offsets = o.peers = o.rev = new Int32Array(0);
  });
  const store = released(() => engines.forEach((e) => releaseForProfile(e, "store")));
  const engine = released(() => {
    engines.length = 0;
    for (const n of sim.nodes) n.engine = null;
  });
  const keys = released(() => {
    for (const n of sim.nodes) (n as unknown as { publicKey: Uint8Array | null }).publicKey = null;
    releaseKeys();
  });
  return memoryProfile(sim.nodes.length, linkEnds, atBoot === null ? null : atBoot - baseline, total, {
    queues, broadcast, membership, linksEngine, linksSim, store, engine, keys,
  });
}
