/**
 * The simulator's parts around {@link Simulation}: its options and progress, one simulated node's
 * record, a crypto result still being computed, and the interning of identical tiny frames.
 *
 * @module
 */

import type { EngineCore, EngineParts } from "../core/engine-core.ts";
import type { Delivery, Verdict } from "../core/broadcast.ts";
import type { CryptoJob, EngineEvent, JobResult } from "../core/events.ts";
import type { EngineOptions } from "../core/options.ts";
import type { KeyPair, SignatureSuite } from "../crypto/types.ts";
import { bytesEqual } from "../bytes.ts";
import type { MemoryMeasure } from "./memory.ts";
import type { NetworkOptions } from "./network.ts";
import type { SlowClock, SlowProfile } from "./slow.ts";

/** How a simulation is set up. */
export interface SimOptions {
  nodes: number;
  seed: number;
  /** Mean links per node; the full mesh when ≥ nodes − 1. */
  degree: number;
  engine: Partial<EngineOptions>;
  network: Partial<NetworkOptions>;
  /**
   * Signs and verifies. A {@link VerifyMemo} shares verdicts across nodes (crypto mode
   * `ed25519-memoized`); any other suite is asked once per check of every node.
   */
  suite: SignatureSuite;
  /** Named in reports: `"ed25519"` for real signatures checked by every node. */
  cryptoName: string;
  /** A node's key pair from its index (deterministic); called once per node, its bytes kept. */
  keyPair: (index: number) => KeyPair;
  /** Virtual time a signature check or signing takes, ms. */
  cryptoDelayMs: number;
  /** The application's broadcast validator (every message accepted when absent). */
  validate?: (message: Delivery) => Verdict;
  /**
   * The engine parts every node runs (`core/parts.ts`); default both. A scenario that measures one
   * layer leaves out what it does not use: no node then holds state for a part that never runs.
   */
  parts?: EngineParts;
  /** Called with each engine as it boots (or restarts), before its links come up. */
  onBoot?: (index: number, engine: EngineCore) => void;
  /** Called for every frame as it reaches a live node, before its engine reads it (a tap for reports). */
  onDeliver?: (node: number, linkId: number, bytes: Uint8Array, now: number) => void;
  /** Called for every crypto job a node's engine hands out (sign, verify, validate), for reports. */
  onJob?: (node: number, job: CryptoJob) => void;
  /** Told how far a large run has got, now and then (see {@link SimProgress}). */
  progress?: (p: SimProgress) => void;
}

/**
 * How far a run has got: while the nodes' keys are made and the nodes boot (`done` of `total`),
 * then every 65,536 events while it runs; scenarios add what they track (`round`, `informed`).
 */
export interface SimProgress {
  stage: "keys" | "boot" | "run";
  done?: number;
  total?: number;
  virtualMs: number;
  events: number;
  round?: number;
  /** Fraction of nodes informed (spread) or of deliveries made (broadcast). */
  informed?: number;
}

/** Nodes between progress reports while building, and events (a power of two) while running. */
export const PROGRESS_NODES = 16_384;
export const PROGRESS_EVENTS_MASK = 0xffff;

/** Key bytes per node in the simulation's key buffer: the public key, then the signing seed. */
export const KEY_STRIDE = 64;

/**
 * One simulated node. Its links are numbered from 0 in the order they were made; while they are
 * still the overlay's, they are read from the overlay (no table of its own).
 */
export class SimNode {
  engine: EngineCore | null = null;
  generation = 0;
  /** The wake-up scheduled for its engine (Infinity when none). */
  wakeAt = Infinity;
  /** Set for a slow (CPU-starved) node, through `Simulation.setSlow`. */
  slow: SlowClock | null = null;
  /** The next link id: ids below it were handed out (some may be closed). */
  linkCount: number;
  /**
   * Its own link table once its links changed: per link id, the peer and the link's id at the
   * peer, peer −1 once closed. Null while its links are the overlay's.
   */
  table: Int32Array | null = null;
  /** Its outputs are being moved into the world (re-entrant drains are left to that loop). */
  draining = false;

  constructor(
    readonly index: number,
    /** Its public key: a view into the simulation's key buffer, shared by every engine that links to it. */
    readonly publicKey: Uint8Array,
    linkCount: number,
  ) {
    this.linkCount = linkCount;
  }

  /** Its key pair, as views into the simulation's key buffer. */
  get keyPair(): KeyPair {
    const k = this.publicKey;
    return { publicKey: k, secretKey: new Uint8Array(k.buffer, k.byteOffset + 32, 32) };
  }
}

/** A crypto event whose result is not ready yet: `runUntil` waits for it. */
export interface Stall {
  engine: EngineCore;
  node: number;
  job: number;
  pending: PendingResult;
}

/** A crypto result still being computed when its event was queued. */
export class PendingResult {
  done = false;
  value: JobResult = false;
  readonly settled: Promise<void>;

  constructor(p: Promise<JobResult>) {
    this.settled = p.then(
      (v) => void ((this.done = true), (this.value = v)),
      (err: unknown) => void ((this.done = true), (this.value = err instanceof Error ? err : new Error(String(err)))),
    );
  }
}

/**
 * Frames every node sends alike (the first digest on each link, at boot: about ten bytes, the same
 * for link k of every node) are shared while in flight: a frame equal to one seen recently is
 * replaced by that one. Only frames that small: larger ones differ from node to node and would
 * cost a hash each for nothing. The table is cleared when full, which only costs sharing.
 */
export class FrameIntern {
  #table = new Map<number, Uint8Array>();

  intern(b: Uint8Array): Uint8Array {
    if (b.length > INTERN_BYTES_MAX) return b;
    let h = 0x811c9dc5 ^ b.length;
    for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
    const c = this.#table.get(h);
    if (c !== undefined && bytesEqual(c, b)) return c;
    if (this.#table.size >= INTERN_ENTRIES_MAX) this.#table.clear();
    this.#table.set(h, b);
    return b;
  }
}

export const INTERN_BYTES_MAX = 24;
export const INTERN_ENTRIES_MAX = 4096;

/** Called for every engine event, with the node index and virtual time. */
export type SimObserver = (node: number, event: EngineEvent, now: number) => void;

/** Counters over a window of the run. */
export interface TrafficCounters {
  frames: number;
  bytes: number;
}
