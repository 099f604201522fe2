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

import { Engine, releaseForProfile } from "../core/engine.ts";
import type { CryptoJob, EngineEvent, JobResult } from "../core/events.ts";
import type { Delivery, Verdict } from "../core/broadcast.ts";
import type { EngineOptions } from "../core/options.ts";
import { deriveSeed, seededRng, type Rng } from "../core/random.ts";
import type { KeyPair, SignatureSuite } from "../crypto/types.ts";
import { EventHeap } from "./heap.ts";
import { DEFAULT_NETWORK, frameFate, randomOverlay, type NetworkOptions, type Overlay } from "./network.ts";
import { DEFAULT_SLOW, SlowClock, type SlowProfile } from "./slow.ts";
import { toHex } from "../bytes.ts";
import { memoryProfile, type MemoryMeasure, type MemoryProfile } from "./memory.ts";

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
  /** Called with each engine as it boots (or restarts), before its links come up. */
  onBoot?: (index: number, engine: Engine) => void;
  /** Called for every frame as it reaches a live node, before its engine reads it (a tap for reports). */
  onDeliver?: (node: number, linkId: number, bytes: Uint8Array, now: number) => void;
  /** Called for every crypto job a node's engine hands out (sign, verify, validate), for reports. */
  onJob?: (node: number, job: CryptoJob) => void;
}

/** One end of a link: the peer's index and the link's id at the peer. */
interface SimLink {
  peer: number;
  remote: number;
}

interface SimNode {
  index: number;
  engine: Engine | null;
  keyPair: KeyPair;
  generation: number;
  wakeAt: number;
  /** Link id at this node → the other end. Starts as the overlay; engines add and drop links. */
  links: Map<number, SimLink>;
  nextLinkId: number;
  /** Set for a slow (CPU-starved) node. */
  slow: SlowClock | null;
}

type SimEvent =
  | { time: number; seq: number; kind: "deliver"; node: number; link: number; bytes: Uint8Array; generation: number }
  | { time: number; seq: number; kind: "wake"; node: number; due: number }
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
  readonly trafficByType: Map<number, TrafficCounters> = new Map<number, TrafficCounters>();
  /** Partition groups: a frame between different groups is dropped. Null when whole. */
  partition: Int32Array | null = null;
  /** Links made and dropped at engines' request (`want-link`, `drop-link`), and refused. */
  readonly linkChanges = { made: 0, dropped: 0, refused: 0 };
  #heap = new EventHeap<SimEvent>();
  #seq = 0;
  #netRng: Rng;
  #net: NetworkOptions;
  #observers: SimObserver[] = [];
  #byKey = new Map<string, number>();
  #draining = new Set<number>();

  constructor(options: SimOptions) {
    this.options = options;
    const { nodes, seed } = options;
    if (!(Number.isInteger(nodes) && nodes >= 2)) throw new RangeError("a simulation needs at least 2 nodes");
    this.#net = { ...DEFAULT_NETWORK, ...options.network };
    this.#netRng = seededRng(deriveSeed(seed, 1));
    this.overlay = randomOverlay(seededRng(deriveSeed(seed, 2)), nodes, options.degree);
    this.nodes = [];
    const { adj, rev } = this.overlay;
    for (let i = 0; i < nodes; i++) {
      const links = new Map<number, SimLink>(adj[i].map((j, k) => [k, { peer: j, remote: rev[i][k] }]));
      this.nodes.push({ index: i, engine: null, keyPair: options.keyPair(i), generation: 0, wakeAt: Infinity, links, nextLinkId: adj[i].length, slow: null });
      this.#byKey.set(toHex(this.nodes[i].keyPair.publicKey), i);
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

  /**
   * Restarts a crashed node with a new generation and empty state; its links come up again, and
   * it re-dials its original overlay peers whose links were dropped meanwhile (as a driver re-dials
   * the peers it was configured with).
   */
  restart(i: number): void {
    if (this.nodes[i].engine) return;
    this.#boot(i);
    for (const l of this.nodes[i].links.values()) {
      const e = this.nodes[l.peer].engine;
      if (!e) continue;
      e.linkDown(this.now, l.remote);
      e.linkUp(this.now, l.remote, this.nodes[i].keyPair.publicKey);
      this.#drain(l.peer);
    }
    for (const j of this.overlay.adj[i]) this.link(i, j);
  }

  /** Node index by public key (hex), or undefined. */
  indexOf(publicKey: Uint8Array): number | undefined {
    return this.#byKey.get(toHex(publicKey));
  }

  /** Peers node i holds links to. */
  peersOf(i: number): number[] {
    return [...this.nodes[i].links.values()].map((l) => l.peer);
  }

  /**
   * Links nodes a and b now, as a driver would after dialing: both engines see `linkUp`. Refused
   * (returns false) when either is down, they are on two sides of a partition, or already linked.
   */
  link(a: number, b: number): boolean {
    const na = this.nodes[a];
    const nb = this.nodes[b];
    const apart = this.partition !== null && this.partition[a] !== this.partition[b];
    if (a === b || !na.engine || !nb.engine || apart || this.peersOf(a).includes(b)) return false;
    const ka = na.nextLinkId++;
    const kb = nb.nextLinkId++;
    na.links.set(ka, { peer: b, remote: kb });
    nb.links.set(kb, { peer: a, remote: ka });
    na.engine.linkUp(this.now, ka, nb.keyPair.publicKey);
    nb.engine.linkUp(this.now, kb, na.keyPair.publicKey);
    this.#drain(a);
    this.#drain(b);
    return true;
  }

  /** Closes node i's link `linkId`: both ends go down (a crashed end just loses it). */
  unlink(i: number, linkId: number): void {
    const l = this.nodes[i].links.get(linkId);
    if (!l) return;
    this.nodes[i].links.delete(linkId);
    this.nodes[l.peer].links.delete(l.remote);
    this.nodes[i].engine?.linkDown(this.now, linkId);
    const other = this.nodes[l.peer].engine;
    if (other) {
      other.linkDown(this.now, l.remote);
      this.#drain(l.peer);
    }
  }

  /**
   * Makes node i slow from now on (a CPU-starved process, see `slow.ts`): its wake-ups, frame
   * deliveries and crypto results are held through random stalls and jittered outside them.
   */
  setSlow(i: number, profile: Partial<SlowProfile> = {}): void {
    this.nodes[i].slow = new SlowClock(seededRng(deriveSeed(this.options.seed, 3_000_000 + i)), { ...DEFAULT_SLOW, ...profile }, this.now);
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

  /**
   * Ends the simulation and says how much memory each structure held per node (see `memory.ts`):
   * releases them one at a time and measures what each gave back. `baseline` is `measure()` taken
   * before the simulation was built; `atBoot` is `measure()` taken right after (or null).
   */
  profileMemory(measure: MemoryMeasure, baseline: number, atBoot: number | null = null): MemoryProfile {
    let last = measure();
    const total = last - baseline;
    const released = (release: () => void): number => {
      release();
      const now = measure();
      const freed = last - now;
      last = now;
      return freed;
    };
    const engines = this.nodes.map((n) => n.engine).filter((e): e is Engine => e !== null);
    let linkEnds = 0;
    for (const n of this.nodes) linkEnds += n.links.size;
    const queues = released(() => (this.#heap = new EventHeap<SimEvent>()));
    const broadcast = released(() => engines.forEach((e) => releaseForProfile(e, "broadcast")));
    const membership = released(() => engines.forEach((e) => releaseForProfile(e, "membership")));
    const linksEngine = released(() => engines.forEach((e) => e.links().forEach((l) => e.linkDown(this.now, l))));
    const linksSim = released(() => {
      for (const n of this.nodes) n.links = new Map();
      this.overlay.adj.length = 0;
      this.overlay.rev.length = 0;
    });
    const store = released(() => engines.forEach((e) => releaseForProfile(e, "store")));
    const engine = released(() => {
      engines.length = 0;
      for (const n of this.nodes) n.engine = null;
    });
    const keys = released(() => {
      for (const n of this.nodes) (n as { keyPair: KeyPair | null }).keyPair = null;
      this.#byKey.clear();
    });
    return memoryProfile(this.nodes.length, linkEnds, atBoot === null ? null : atBoot - baseline, total, {
      queues, broadcast, membership, linksEngine, linksSim, store, engine, keys,
    });
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
    this.options.onBoot?.(i, engine);
    for (const [k, l] of n.links) engine.linkUp(this.now, k, this.nodes[l.peer].keyPair.publicKey);
    this.#drain(i);
  }

  async #dispatch(ev: SimEvent): Promise<void> {
    const n = this.nodes[ev.node];
    const e = n.engine;
    if (!e) return;
    switch (ev.kind) {
      case "wake":
        if (ev.due !== n.wakeAt) return; // superseded
        n.wakeAt = Infinity;
        e.tick(this.now);
        break;
      case "deliver":
        if (ev.generation !== n.generation) return;
        this.options.onDeliver?.(ev.node, ev.link, ev.bytes, this.now);
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
    const slow = this.nodes[ev.node].slow;
    if (slow) ev.time = slow.defer(ev.time, ev.kind === "wake" ? "wake" : "io", this.now);
    (ev as SimEvent).seq = this.#seq++;
    this.#heap.push(ev as SimEvent);
  }

  /**
   * Moves an engine's outputs into the world: frames onto the network, jobs to crypto, events out,
   * until it has none (acting on an event, such as dropping a link, can make more). Re-entrant
   * calls for the node being drained are left to the loop already running.
   */
  #drain(i: number): void {
    if (this.#draining.has(i)) return;
    const n = this.nodes[i];
    const e = n.engine;
    if (!e) return;
    this.#draining.add(i);
    try {
      while (this.#drainOnce(i, n, e));
    } finally {
      this.#draining.delete(i);
    }
    if (!n.engine) return;
    // A wake-up already due is scheduled now; remembering the scheduled time (not the past one)
    // keeps the event from looking superseded when it fires.
    const w = Math.max(e.nextWakeAt(), this.now);
    if (w !== n.wakeAt && w !== Infinity) {
      n.wakeAt = w;
      this.#push({ time: w, kind: "wake", node: i, due: w });
    }
  }

  #drainOnce(i: number, n: SimNode, e: Engine): boolean {
    let moved = false;
    for (let job: CryptoJob | undefined; (job = e.pollJob()); ) {
      this.options.onJob?.(i, job);
      const result = this.#runJob(n.keyPair, job);
      this.#push({ time: this.now + this.options.cryptoDelayMs, kind: "crypto", node: i, generation: n.generation, job: job.id, result });
      moved = true;
    }
    for (let t; (t = e.pollTransmit()); ) {
      moved = true;
      this.traffic.frames++;
      this.traffic.bytes += t.bytes.length;
      const type = t.bytes[1] < 24 ? t.bytes[1] : -1; // [type, …]: one-byte head for small types
      let c = this.trafficByType.get(type);
      if (!c) this.trafficByType.set(type, (c = { frames: 0, bytes: 0 }));
      c.frames++;
      c.bytes += t.bytes.length;
      const l = n.links.get(t.linkId);
      if (!l) continue;
      const j = l.peer;
      if (this.partition && this.partition[i] !== this.partition[j]) continue;
      if (!this.nodes[j].engine) continue;
      for (const delay of frameFate(this.#netRng, this.#net)) {
        this.#push({ time: this.now + delay, kind: "deliver", node: j, link: l.remote, bytes: t.bytes, generation: this.nodes[j].generation });
      }
    }
    for (let ev; (ev = e.pollEvent()); ) {
      moved = true;
      if (ev.type === "disconnect" || ev.type === "drop-link") {
        if (ev.type === "drop-link") this.linkChanges.dropped++;
        this.unlink(i, ev.linkId);
      } else if (ev.type === "want-link") {
        const j = this.indexOf(ev.peer);
        if (j !== undefined && this.link(i, j)) this.linkChanges.made++;
        else this.linkChanges.refused++;
      }
      for (const fn of this.#observers) fn(i, ev, this.now);
    }
    return moved && n.engine === e;
  }

  #runJob(kp: KeyPair, job: CryptoJob): Promise<JobResult> {
    const suite = this.options.suite;
    if (job.kind === "validate") return Promise.resolve(this.options.validate?.(job.message) ?? "accept");
    const p = job.kind === "sign" ? suite.sign(kp, job.message) : suite.verify(job.publicKey, job.message, job.signature);
    return p.catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
  }
}
