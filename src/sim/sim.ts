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

import { ALL_PARTS, EngineCore } from "../core/engine.ts";
import type { BroadcastView } from "../core/broadcast.ts";
import type { ReadonlyMembership } from "../core/membership/membership.ts";
import type { CryptoJob, EngineEvent, JobResult } from "../core/events.ts";
import type { EngineOptions } from "../core/options.ts";
import { deriveSeed, randomUnit, seededRng, type Rng } from "../core/random.ts";
import type { KeyPair, SignatureSuite } from "../crypto/types.ts";
import { toHex } from "../bytes.ts";
import { profileSimulation, type MemoryMeasure, type MemoryProfile } from "./memory.ts";
import { VerifyMemo } from "./memo.ts";
import { DEFAULT_NETWORK, neighbours, randomOverlay, type NetworkOptions, type Overlay } from "./network.ts";
import { EVENT, EventQueue } from "./queue.ts";
import { DEFAULT_SLOW, SlowClock, type SlowProfile } from "./slow.ts";
import { FrameIntern, INTERN_BYTES_MAX, INTERN_ENTRIES_MAX, KEY_STRIDE, PROGRESS_EVENTS_MASK, PROGRESS_NODES, PendingResult, SimNode, type SimObserver, type SimOptions, type SimProgress, type Stall, type TrafficCounters } from "./sim-parts.ts";
export type { SimOptions, SimProgress, SimObserver, TrafficCounters } from "./sim-parts.ts";
export { SimNode } from "./sim-parts.ts";

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
  /** Events run so far (for progress reports). */
  eventsRun = 0;
  readonly traffic: TrafficCounters = { frames: 0, bytes: 0 };
  /** Frames and bytes sent, by frame type number. */
  readonly trafficByType: Map<number, TrafficCounters> = new Map<number, TrafficCounters>();
  /** Partition groups: a frame between different groups is dropped. Null when whole. */
  partition: Int32Array | null = null;
  /** Links made and dropped at engines' request (`want-link`, `drop-link`), and refused. */
  readonly linkChanges = { made: 0, dropped: 0, refused: 0 };
  #queue: EventQueue;
  #seq = 0;
  #netRng: Rng;
  #net: NetworkOptions;
  #observers: SimObserver[] = [];
  /** Node index by public key (hex), built when first asked for. */
  #byKey: Map<string, number> | null = null;
  /** Public key and signing seed of every node, `KEY_STRIDE` bytes each. */
  #keys: Uint8Array;
  /** One options object for every engine: engines that are given the same frozen object share it. */
  #engineOptions: Readonly<Partial<EngineOptions>>;
  #memo: VerifyMemo | null;
  #frames = new FrameIntern();
  /** Whether any node was made slow (else no event needs its node's clock). */
  #anySlow = false;
  /** `trafficByType`'s counters by type + 1 (−1 for a type that is not one byte): no lookup per frame. */
  #typeCounters: TrafficCounters[] = [];

  constructor(options: SimOptions) {
    this.options = options;
    const { nodes, seed } = options;
    if (!(Number.isInteger(nodes) && nodes >= 2)) throw new RangeError("a simulation needs at least 2 nodes");
    this.#net = { ...DEFAULT_NETWORK, ...options.network };
    this.#netRng = seededRng(deriveSeed(seed, 1));
    // Simulated nodes leave on the virtual clock, where signing the farewell then is as good.
    this.#engineOptions = Object.freeze({ presignFarewell: false, ...options.engine });
    this.#memo = options.suite instanceof VerifyMemo ? options.suite : null;
    this.overlay = randomOverlay(seededRng(deriveSeed(seed, 2)), nodes, options.degree);
    const { offsets } = this.overlay;
    // At boot every link end sends a digest at once: room for that burst from the start.
    this.#queue = new EventQueue(offsets[nodes] + 2 * nodes);
    this.#keys = new Uint8Array(nodes * KEY_STRIDE);
    this.nodes = [];
    const progress = options.progress;
    for (let i = 0; i < nodes; i++) {
      if (progress && i % PROGRESS_NODES === 0) progress({ stage: "keys", done: i, total: nodes, virtualMs: 0, events: 0 });
      const kp = options.keyPair(i);
      if (kp.publicKey.length !== 32 || kp.secretKey.length !== 32) throw new TypeError("keyPair: keys must be 32 bytes");
      this.#keys.set(kp.publicKey, i * KEY_STRIDE);
      this.#keys.set(kp.secretKey, i * KEY_STRIDE + 32);
      this.nodes.push(new SimNode(i, this.#keys.subarray(i * KEY_STRIDE, i * KEY_STRIDE + 32), offsets[i + 1] - offsets[i]));
    }
    for (let i = 0; i < nodes; i++) {
      if (progress && i % PROGRESS_NODES === 0) progress({ stage: "boot", done: i, total: nodes, virtualMs: 0, events: 0 });
      this.#boot(i);
    }
  }

  /** Registers an observer of engine events. */
  observe(fn: SimObserver): void {
    this.#observers.push(fn);
  }

  /** The engine of a live node (throws for a crashed one). */
  engine(i: number): EngineCore {
    const e = this.nodes[i].engine;
    if (!e) throw new Error(`node ${i} is down`);
    return e;
  }

  /** Membership's view on live node i (throws unless the simulation runs membership). */
  membership(i: number): ReadonlyMembership {
    const m = this.engine(i).membership;
    if (!m) throw new Error("this simulation runs no membership");
    return m;
  }

  /** Broadcast's counters on live node i (throws unless the simulation runs broadcast). */
  broadcast(i: number): BroadcastView {
    const b = this.engine(i).broadcast;
    if (!b) throw new Error("this simulation runs no broadcast");
    return b;
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
    const n = this.nodes[i];
    if (n.engine) return;
    this.#boot(i);
    // Links made or closed by the drains below are seen (or skipped) as the loop reaches them.
    for (let k = 0; k < n.linkCount; k++) {
      const j = this.#peerOf(n, k);
      if (j < 0) continue;
      const e = this.nodes[j].engine;
      if (!e) continue;
      const remote = this.#remoteOf(n, k);
      e.linkDown(this.now, remote);
      e.linkUp(this.now, remote, n.publicKey);
      this.#drain(j);
    }
    for (const j of neighbours(this.overlay, i)) this.link(i, j);
  }

  /** Node index by public key, or undefined. */
  indexOf(publicKey: Uint8Array): number | undefined {
    if (!this.#byKey) this.#byKey = new Map(this.nodes.map((n) => [toHex(n.publicKey), n.index]));
    return this.#byKey.get(toHex(publicKey));
  }

  /** Peers node i holds links to, in the order the links were made. */
  peersOf(i: number): number[] {
    const n = this.nodes[i];
    const peers: number[] = [];
    for (let k = 0; k < n.linkCount; k++) {
      const j = this.#peerOf(n, k);
      if (j >= 0) peers.push(j);
    }
    return peers;
  }

  /** The peer node i reaches over its link `linkId`, or −1 when that link is closed or was never made. */
  peerOfLink(i: number, linkId: number): number {
    return this.#peerOf(this.nodes[i], linkId);
  }

  /**
   * Links nodes a and b now, as a driver would after dialing: both engines see `linkUp`. Refused
   * (returns false) when either is down, they are on two sides of a partition, or already linked.
   * `client`: a or b, a client the other end serves (as a relay serves its tabs: `ConnectOptions.client`).
   */
  link(a: number, b: number, client = -1): boolean {
    const na = this.nodes[a];
    const nb = this.nodes[b];
    const apart = this.partition !== null && this.partition[a] !== this.partition[b];
    if (a === b || !na.engine || !nb.engine || apart || this.#linked(na, b)) return false;
    const ka = na.linkCount;
    const kb = nb.linkCount;
    this.#setLink(na, ka, b, kb);
    this.#setLink(nb, kb, a, ka);
    na.engine.linkUp(this.now, ka, nb.publicKey, false, client === b);
    nb.engine.linkUp(this.now, kb, na.publicKey, false, client === a);
    this.#drain(a);
    this.#drain(b);
    return true;
  }

  /** Closes node i's link `linkId`: both ends go down (a crashed end just loses it). */
  unlink(i: number, linkId: number): void {
    const n = this.nodes[i];
    const j = this.#peerOf(n, linkId);
    if (j < 0) return;
    const remote = this.#remoteOf(n, linkId);
    this.#setLink(n, linkId, -1, -1);
    this.#setLink(this.nodes[j], remote, -1, -1);
    n.engine?.linkDown(this.now, linkId);
    const other = this.nodes[j].engine;
    if (other) {
      other.linkDown(this.now, remote);
      this.#drain(j);
    }
  }

  /**
   * Makes node i slow from now on (a CPU-starved process, see `slow.ts`): its wake-ups, frame
   * deliveries and crypto results are held through random stalls and jittered outside them.
   */
  setSlow(i: number, profile: Partial<SlowProfile> = {}): void {
    this.#anySlow = true;
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
   * `until`. Returns whether `done()` held. Awaits only for a crypto result not ready yet.
   */
  async runUntil(done: () => boolean, until: number): Promise<boolean> {
    for (;;) {
      const r = this.#run(done, until);
      if (typeof r === "boolean") return r;
      // A crypto result not ready yet: wait for it, hand it to the engine, go on.
      await r.pending.settled;
      r.engine.completeJob(this.now, r.job, r.pending.value);
      this.#drain(r.node);
      if (this.#stepDone(done)) return true;
    }
  }

  /**
   * Runs events synchronously (no await per event) until `runUntil` would return, or until a crypto
   * result is not ready yet: then returns what waits for it, the event already taken.
   */
  #run(done: () => boolean, until: number): boolean | Stall {
    const q = this.#queue;
    for (;;) {
      if (q.size === 0 || q.peekTime() > until) {
        this.now = Math.max(this.now, until);
        return done();
      }
      const ev = q.pop()!;
      const { node, kind, arg, generation, ref } = ev;
      this.now = ev.time;
      if ((++this.eventsRun & PROGRESS_EVENTS_MASK) === 0) this.options.progress?.({ stage: "run", virtualMs: this.now, events: this.eventsRun });
      const n = this.nodes[node];
      const e = n.engine;
      if (e) {
        if (kind === EVENT.WAKE) {
          if (ref === n.wakeAt) {
            n.wakeAt = Infinity;
            e.tick(this.now);
            this.#drain(node);
          } // else superseded
        } else if (generation === n.generation) {
          if (kind === EVENT.DELIVER) {
            this.options.onDeliver?.(node, arg, ref as Uint8Array, this.now);
            e.receive(this.now, arg, ref as Uint8Array);
          }
          else {
            let result = ref as JobResult | PendingResult;
            if (result instanceof PendingResult) {
              if (!result.done) return { engine: e, node, job: arg, pending: result };
              result = result.value;
            }
            e.completeJob(this.now, arg, result);
          }
          this.#drain(node);
        }
      }
      if (this.#stepDone(done)) return true;
    }
  }

  /** After an event: when the next one is later (or none is left), whether `done()` holds. */
  #stepDone(done: () => boolean): boolean {
    const q = this.#queue;
    return (q.size === 0 || q.peekTime() > this.now) && done();
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
    return profileSimulation(this, measure, baseline, atBoot, () => (this.#queue = new EventQueue(16)), () => {
      this.#keys = new Uint8Array(0);
      this.#byKey = null;
    });
  }

  // ------------------------------------------------------------------ links

  /** The peer behind node n's link k, or −1 (closed or never made). */
  #peerOf(n: SimNode, k: number): number {
    if (!(k >= 0 && k < n.linkCount)) return -1;
    return n.table ? n.table[2 * k] : this.overlay.peers[this.overlay.offsets[n.index] + k];
  }

  /** The id of node n's link k at its peer. */
  #remoteOf(n: SimNode, k: number): number {
    return n.table ? n.table[2 * k + 1] : this.overlay.rev[this.overlay.offsets[n.index] + k];
  }

  #linked(n: SimNode, peer: number): boolean {
    for (let k = 0; k < n.linkCount; k++) if (this.#peerOf(n, k) === peer) return true;
    return false;
  }

  /** Sets node n's link k (k ≤ linkCount; k = linkCount makes a new one), giving n a table of its own. */
  #setLink(n: SimNode, k: number, peer: number, remote: number): void {
    let t = n.table;
    const need = 2 * Math.max(k + 1, n.linkCount);
    if (!t || t.length < need) {
      const grown = new Int32Array(Math.max(16, need + (need >> 1)));
      if (t) grown.set(t);
      else {
        const { offsets, peers, rev } = this.overlay;
        for (let m = 0, o = offsets[n.index]; m < n.linkCount; m++) {
          grown[2 * m] = peers[o + m];
          grown[2 * m + 1] = rev[o + m];
        }
      }
      n.table = t = grown;
    }
    t[2 * k] = peer;
    t[2 * k + 1] = remote;
    if (k >= n.linkCount) n.linkCount = k + 1;
  }

  // ------------------------------------------------------------------ running engines

  #boot(i: number): void {
    const n = this.nodes[i];
    n.generation++;
    const engine = new EngineCore({
      parts: this.options.parts ?? ALL_PARTS,
      publicKey: n.publicKey,
      generation: n.generation,
      random: seededRng(deriveSeed(this.options.seed, 1000 + i * 7919 + n.generation)),
      now: this.now,
      options: this.#engineOptions,
    });
    n.engine = engine;
    this.options.onBoot?.(i, engine);
    for (let k = 0; k < n.linkCount; k++) {
      const j = this.#peerOf(n, k);
      if (j >= 0) engine.linkUp(this.now, k, this.nodes[j].publicKey);
    }
    this.#drain(i);
  }

  #push(time: number, kind: number, node: number, arg: number, generation: number, ref: unknown): void {
    const slow = this.#anySlow ? this.nodes[node].slow : null;
    if (slow) time = slow.defer(time, kind === EVENT.WAKE ? "wake" : "io", this.now);
    this.#queue.push(time, this.#seq++, kind, node, arg, generation, ref);
  }

  /**
   * Moves an engine's outputs into the world: frames onto the network, jobs to crypto, events out,
   * until it has none (acting on an event, such as dropping a link, can make more). Re-entrant
   * calls for the node being drained are left to the loop already running.
   */
  #drain(i: number): void {
    const n = this.nodes[i];
    const e = n.engine;
    if (n.draining || !e) return;
    n.draining = true;
    try {
      while (this.#drainOnce(i, n, e));
    } finally {
      n.draining = false;
    }
    if (!n.engine) return;
    // A wake-up already due is scheduled now; remembering the scheduled time (not the past one)
    // keeps the event from looking superseded when it fires.
    const w = Math.max(e.nextWakeAt(), this.now);
    if (w !== n.wakeAt && w !== Infinity) {
      n.wakeAt = w;
      this.#push(w, EVENT.WAKE, i, 0, 0, w);
    }
  }

  /**
   * One pass over an engine's outputs. Another is needed only if it had events: acting on one (or
   * an observer) may call the engine again; jobs and frames alone give it no input.
   */
  #drainOnce(i: number, n: SimNode, e: EngineCore): boolean {
    let again = false;
    for (let job: CryptoJob | undefined; (job = e.pollJob()); ) {
      this.options.onJob?.(i, job);
      this.#push(this.now + this.options.cryptoDelayMs, EVENT.CRYPTO, i, job.id, n.generation, this.#runJob(n, job));
    }
    const net = this.#net;
    for (let t; (t = e.pollTransmit()); ) {
      this.traffic.frames++;
      this.traffic.bytes += t.bytes.length;
      const type = t.bytes[1] < 24 ? t.bytes[1] : -1; // [type, …]: one-byte head for small types
      let c = this.#typeCounters[type + 1];
      if (!c) this.trafficByType.set(type, (this.#typeCounters[type + 1] = c = { frames: 0, bytes: 0 }));
      c.frames++;
      c.bytes += t.bytes.length;
      const j = this.#peerOf(n, t.linkId);
      if (j < 0) continue;
      if (this.partition && this.partition[i] !== this.partition[j]) continue;
      const to = this.nodes[j];
      if (!to.engine) continue;
      // The frame's fate, drawn as `frameFate` draws it: lost, or one copy, or two.
      const rng = this.#netRng;
      if (net.loss > 0 && randomUnit(rng) < net.loss) continue;
      const remote = this.#remoteOf(n, t.linkId);
      const bytes = this.#frames.intern(t.bytes);
      const span = net.latencyMaxMs - net.latencyMinMs;
      this.#push(this.now + net.latencyMinMs + randomUnit(rng) * span, EVENT.DELIVER, j, remote, to.generation, bytes);
      if (net.duplicate > 0 && randomUnit(rng) < net.duplicate) {
        this.#push(this.now + net.latencyMinMs + randomUnit(rng) * span, EVENT.DELIVER, j, remote, to.generation, bytes);
      }
    }
    for (let ev; (ev = e.pollEvent()); ) {
      again = true;
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
    return again && n.engine === e;
  }

  /** Starts a job; its result, or a placeholder the result fills in when the work is async. */
  #runJob(n: SimNode, job: CryptoJob): JobResult | PendingResult {
    if (job.kind === "validate") return this.options.validate?.(job.message) ?? "accept";
    let p: Promise<JobResult>;
    if (job.kind === "sign") p = this.options.suite.sign(n.keyPair, job.message);
    else {
      const v = this.#memo ? this.#memo.verifyNow(job.publicKey, job.message, job.signature) : this.options.suite.verify(job.publicKey, job.message, job.signature);
      if (typeof v === "boolean") return v;
      p = v;
    }
    return new PendingResult(p);
  }
}
