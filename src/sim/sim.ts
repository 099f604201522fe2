/**
 * The deterministic simulator: many real engines on one virtual clock.
 *
 * Time jumps from event to event (frame deliveries, engine wake-ups, crypto completions), held in
 * one heap ordered by (time, sequence). Every random choice — the overlay, each engine's randomness,
 * every frame's fate, node keys — derives from one root seed, so a seed reproduces a run exactly.
 * Crypto is real Ed25519 through the injected {@link SignatureSuite} unless the run names another
 * mode; its results re-enter each engine as inputs at a fixed virtual delay.
 *
 * @module
 */

import { Engine } from "../core/engine.ts";
import type { CryptoJob, EngineEvent, JobResult } from "../core/events.ts";
import type { Delivery, Verdict } from "../core/broadcast.ts";
import type { EngineOptions } from "../core/options.ts";
import { deriveSeed, seededRng, type Rng } from "../core/random.ts";
import type { KeyPair, SignatureSuite } from "../crypto/types.ts";
import { EventHeap } from "./heap.ts";
import { DEFAULT_NETWORK, frameFate, randomOverlay, type NetworkOptions, type Overlay } from "./network.ts";

/** How a simulation is set up. */
export interface SimOptions {
  nodes: number;
  seed: number;
  /** Mean links per node; the full mesh when ≥ nodes − 1. */
  degree: number;
  engine: Partial<EngineOptions>;
  network: Partial<NetworkOptions>;
  /** Signs and verifies. */
  suite: SignatureSuite;
  /** Named in reports: `"ed25519"` for real signatures. */
  cryptoName: string;
  /** A node's key pair from its index (deterministic). */
  keyPair: (index: number) => KeyPair;
  /** Virtual time a signature check or signing takes, ms. */
  cryptoDelayMs: number;
  /** The application's broadcast validator (every message accepted when absent). */
  validate?: (message: Delivery) => Verdict;
}

interface SimNode {
  index: number;
  engine: Engine | null;
  keyPair: KeyPair;
  generation: number;
  wakeAt: number;
}

type SimEvent =
  | { time: number; seq: number; kind: "deliver"; node: number; link: number; bytes: Uint8Array; generation: number }
  | { time: number; seq: number; kind: "wake"; node: number }
  | { time: number; seq: number; kind: "crypto"; node: number; generation: number; job: number; result: Promise<JobResult> };

type Unsequenced<T> = T extends unknown ? Omit<T, "seq"> : never;

/** Called for every engine event, with the node index and virtual time. */
export type SimObserver = (node: number, event: EngineEvent, now: number) => void;

/** Counters over a window of the run. */
export interface TrafficCounters {
  frames: number;
  bytes: number;
}

/**
 * A running simulation.
 *
 * @example
 * ```ts
 * const sim = new Simulation({ nodes: 100, seed: 1, ... });
 * sim.write(0, "k", new Uint8Array([1]));
 * await sim.runUntil(() => everyoneHasIt(), 60_000);
 * ```
 */
export class Simulation {
  readonly options: SimOptions;
  readonly overlay: Overlay;
  readonly nodes: SimNode[];
  now = 0;
  readonly traffic: TrafficCounters = { frames: 0, bytes: 0 };
  /** Frames and bytes sent, by frame type number. */
  readonly trafficByType = new Map<number, TrafficCounters>();
  /** Partition groups: a frame between different groups is dropped. Null when whole. */
  partition: Int32Array | null = null;
  #heap = new EventHeap<SimEvent>();
  #seq = 0;
  #netRng: Rng;
  #net: NetworkOptions;
  #observers: SimObserver[] = [];

  constructor(options: SimOptions) {
    this.options = options;
    const { nodes, seed } = options;
    if (!(Number.isInteger(nodes) && nodes >= 2)) throw new RangeError("a simulation needs at least 2 nodes");
    this.#net = { ...DEFAULT_NETWORK, ...options.network };
    this.#netRng = seededRng(deriveSeed(seed, 1));
    this.overlay = randomOverlay(seededRng(deriveSeed(seed, 2)), nodes, options.degree);
    this.nodes = [];
    for (let i = 0; i < nodes; i++) {
      this.nodes.push({ index: i, engine: null, keyPair: options.keyPair(i), generation: 0, wakeAt: Infinity });
    }
    for (let i = 0; i < nodes; i++) this.#boot(i);
  }

  /** Registers an observer of engine events. */
  observe(fn: SimObserver): void {
    this.#observers.push(fn);
  }

  /** The engine of a live node (throws for a crashed one). */
  engine(i: number): Engine {
    const e = this.nodes[i].engine;
    if (!e) throw new Error(`node ${i} is down`);
    return e;
  }

  /** Whether node i is up. */
  alive(i: number): boolean {
    return this.nodes[i].engine !== null;
  }

  /** Writes a key on node i now. */
  write(i: number, key: string, value: Uint8Array | null): void {
    const e = this.engine(i);
    if (value === null) e.delete(this.now, key);
    else e.set(this.now, key, value);
    this.#drain(i);
  }

  /** Moves node i's pending outputs into the world, after calling its engine directly. */
  flush(i: number): void {
    this.#drain(i);
  }

  /** Publishes a broadcast message from node i now. */
  publish(i: number, topic: string, payload: Uint8Array, ttlMs?: number): void {
    this.engine(i).publish(this.now, topic, payload, ttlMs);
    this.#drain(i);
  }

  /** Crashes node i: its state is lost and frames to it vanish. */
  crash(i: number): void {
    const n = this.nodes[i];
    if (!n.engine) return;
    n.engine.close();
    n.engine = null;
    n.wakeAt = Infinity;
  }

  /** Restarts a crashed node with a new generation and empty state; its links come up again. */
  restart(i: number): void {
    if (this.nodes[i].engine) return;
    this.#boot(i);
    const { adj, rev } = this.overlay;
    for (let k = 0; k < adj[i].length; k++) {
      const j = adj[i][k];
      const e = this.nodes[j].engine;
      if (!e) continue;
      e.linkDown(this.now, rev[i][k]);
      e.linkUp(this.now, rev[i][k], this.nodes[i].keyPair.publicKey);
      this.#drain(j);
    }
  }

  /** Splits the nodes into groups (`group[i]`); frames between groups are dropped until `heal()`. */
  split(group: (i: number) => number): void {
    this.partition = Int32Array.from(this.nodes, (_, i) => group(i));
  }

  /** Ends a partition. */
  heal(): void {
    this.partition = null;
  }

  /**
   * Runs events until `done()` holds (checked after each event time step) or virtual time passes
   * `until`. Returns whether `done()` held.
   */
  async runUntil(done: () => boolean, until: number): Promise<boolean> {
    for (;;) {
      const ev = this.#heap.peek();
      if (!ev || ev.time > until) {
        this.now = Math.max(this.now, until);
        return done();
      }
      this.#heap.pop();
      this.now = ev.time;
      await this.#dispatch(ev);
      const next = this.#heap.peek();
      if ((!next || next.time > this.now) && done()) return true;
    }
  }

  /** Runs until virtual time `t`. */
  async runTo(t: number): Promise<void> {
    await this.runUntil(() => false, t);
  }

  #boot(i: number): void {
    const n = this.nodes[i];
    n.generation++;
    const engine = new Engine({
      publicKey: n.keyPair.publicKey,
      generation: n.generation,
      random: seededRng(deriveSeed(this.options.seed, 1000 + i * 7919 + n.generation)),
      now: this.now,
      options: this.options.engine,
    });
    n.engine = engine;
    const { adj } = this.overlay;
    for (let k = 0; k < adj[i].length; k++) engine.linkUp(this.now, k, this.nodes[adj[i][k]].keyPair.publicKey);
    this.#drain(i);
  }

  async #dispatch(ev: SimEvent): Promise<void> {
    const n = this.nodes[ev.node];
    const e = n.engine;
    if (!e) return;
    switch (ev.kind) {
      case "wake":
        if (ev.time !== n.wakeAt) return; // superseded
        n.wakeAt = Infinity;
        e.tick(this.now);
        break;
      case "deliver":
        if (ev.generation !== n.generation) return;
        e.receive(this.now, ev.link, ev.bytes);
        break;
      case "crypto":
        if (ev.generation !== n.generation) return;
        e.completeJob(this.now, ev.job, await ev.result);
        break;
    }
    this.#drain(ev.node);
  }

  #push(ev: Unsequenced<SimEvent>): void {
    (ev as SimEvent).seq = this.#seq++;
    this.#heap.push(ev as SimEvent);
  }

  /** Moves an engine's outputs into the world: frames onto the network, jobs to crypto, events out. */
  #drain(i: number): void {
    const n = this.nodes[i];
    const e = n.engine;
    if (!e) return;
    for (let job: CryptoJob | undefined; (job = e.pollJob()); ) {
      const result = this.#runJob(n.keyPair, job);
      this.#push({ time: this.now + this.options.cryptoDelayMs, kind: "crypto", node: i, generation: n.generation, job: job.id, result });
    }
    const { adj, rev } = this.overlay;
    for (let t; (t = e.pollTransmit()); ) {
      this.traffic.frames++;
      this.traffic.bytes += t.bytes.length;
      const type = t.bytes[1] < 24 ? t.bytes[1] : -1; // [type, …]: one-byte head for small types
      let c = this.trafficByType.get(type);
      if (!c) this.trafficByType.set(type, (c = { frames: 0, bytes: 0 }));
      c.frames++;
      c.bytes += t.bytes.length;
      const j = adj[i][t.linkId];
      if (this.partition && this.partition[i] !== this.partition[j]) continue;
      if (!this.nodes[j].engine) continue;
      for (const delay of frameFate(this.#netRng, this.#net)) {
        this.#push({ time: this.now + delay, kind: "deliver", node: j, link: rev[i][t.linkId], bytes: t.bytes, generation: this.nodes[j].generation });
      }
    }
    for (let ev; (ev = e.pollEvent()); ) {
      if (ev.type === "disconnect") e.linkDown(this.now, ev.linkId);
      for (const fn of this.#observers) fn(i, ev, this.now);
    }
    const w = e.nextWakeAt();
    if (w !== n.wakeAt && w !== Infinity) {
      n.wakeAt = w;
      this.#push({ time: Math.max(w, this.now), kind: "wake", node: i });
    }
  }

  #runJob(kp: KeyPair, job: CryptoJob): Promise<JobResult> {
    const suite = this.options.suite;
    if (job.kind === "validate") return Promise.resolve(this.options.validate?.(job.message) ?? "accept");
    const p = job.kind === "sign" ? suite.sign(kp, job.message) : suite.verify(job.publicKey, job.message, job.signature);
    return p.catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
  }
}
