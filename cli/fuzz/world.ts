/**
 * A small deterministic world of real engines for capturing frames: one virtual clock, frames
 * delivered in order after a fixed latency, crypto run through the real Ed25519 suite (signatures
 * are deterministic, so a seed gives the same bytes on every run), every frame sent recorded.
 *
 * Each engine's inputs are logged (link changes, frames, ticks, crypto results, writes), so the
 * fuzzer can rebuild any node as it stood at a marked moment without running the world again:
 * a fresh engine fed the same inputs in the same order is the same engine (the engine contract),
 * and {@link CaptureWorld.rebuild} checks that it sends the same frames while being rebuilt.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { Engine } from "../../src/core/engine.ts";
import type { EngineEvent, JobResult, LinkId } from "../../src/core/events.ts";
import type { EngineOptions } from "../../src/core/options.ts";
import type { EngineParts } from "../../src/core/parts.ts";
import { deriveSeed, seededRng } from "../../src/core/random.ts";
import type { KeyPair, SignatureSuite } from "../../src/crypto/types.ts";

/** One input an engine took, in order. */
export type Input =
  | { op: "linkUp"; now: number; link: LinkId; peer: Uint8Array }
  | { op: "linkDown"; now: number; link: LinkId }
  | { op: "receive"; now: number; link: LinkId; bytes: Uint8Array }
  | { op: "tick"; now: number }
  | { op: "job"; now: number; id: number; result: JobResult }
  | { op: "set"; now: number; key: string; value: Uint8Array | null; scope?: Uint8Array }
  | { op: "publish"; now: number; topic: string; payload: Uint8Array; scoped?: boolean }
  | { op: "joinScope"; now: number; scope: Uint8Array }
  | { op: "leave"; now: number };

/** A frame one engine sent to another. */
export interface SentFrame {
  at: number;
  from: number;
  to: number;
  bytes: Uint8Array;
}

interface WorldNode {
  index: number;
  key: KeyPair;
  seed: number;
  options: Partial<EngineOptions>;
  engine: Engine;
  log: Input[];
  /** Running hash of every frame this engine sent (link id and bytes), to check rebuilds. */
  sentHash: ReturnType<typeof createHash>;
  sentCount: number;
  /** Link id at this node → the peer's index. A link to peer j has id j. */
  links: Map<LinkId, number>;
}

interface Delivery {
  at: number;
  seq: number;
  from: number;
  to: number;
  bytes: Uint8Array;
}

/** A node's state at a marked moment: enough to rebuild its engine exactly. */
export interface Mark {
  node: number;
  at: number;
  logLength: number;
  sentCount: number;
  sentHash: string;
  links: [LinkId, number][];
}

const LATENCY_MS = 3;
/** Crypto and frames of one step are drained at most this often before the world is declared stuck. */
const DRAIN_ROUNDS_MAX = 10_000;

/** The world. Time only moves through {@link CaptureWorld.runUntil}. */
export class CaptureWorld {
  readonly nodes: WorldNode[] = [];
  readonly sent: SentFrame[] = [];
  now = 0;
  /** Return true to lose a frame (it is still recorded as sent). */
  drop: (from: number, to: number, bytes: Uint8Array) => boolean = () => false;
  /** A stalled node neither ticks nor reads until then (a starved process): its timers run late. */
  readonly stalledUntil: number[] = [];
  #deliveries: Delivery[] = [];
  #seq = 0;

  constructor(readonly suite: SignatureSuite, keys: readonly KeyPair[], optionsFor: (i: number) => Partial<EngineOptions>, seed: number) {
    keys.forEach((key, index) => {
      const options = optionsFor(index);
      const nodeSeed = deriveSeed(seed, 100 + index);
      const engine = new Engine({ publicKey: key.publicKey, generation: 1, random: seededRng(nodeSeed), now: 0, options });
      this.nodes.push({ index, key, seed: nodeSeed, options, engine, log: [], sentHash: createHash("sha256"), sentCount: 0, links: new Map() });
      this.stalledUntil.push(0);
    });
  }

  link(a: number, b: number): void {
    for (const [x, y] of [[a, b], [b, a]]) {
      const n = this.nodes[x];
      if (n.links.has(y)) continue;
      n.links.set(y, y);
      this.#input(n, { op: "linkUp", now: this.now, link: y, peer: this.nodes[y].key.publicKey });
    }
  }

  unlink(a: number, b: number): void {
    for (const [x, y] of [[a, b], [b, a]]) {
      const n = this.nodes[x];
      if (!n.links.delete(y)) continue;
      this.#input(n, { op: "linkDown", now: this.now, link: y });
    }
  }

  write(i: number, key: string, value: Uint8Array | null, scope?: Uint8Array): void {
    this.#input(this.nodes[i], { op: "set", now: this.now, key, value, scope });
  }

  publish(i: number, topic: string, payload: Uint8Array, scoped = false): void {
    this.#input(this.nodes[i], { op: "publish", now: this.now, topic, payload, scoped });
  }

  joinScope(i: number, scope: Uint8Array): void {
    this.#input(this.nodes[i], { op: "joinScope", now: this.now, scope });
  }

  leave(i: number): void {
    this.#input(this.nodes[i], { op: "leave", now: this.now });
  }

  /** A frame crafted outside any engine, sent as if from node `from` (recorded like any other). */
  inject(from: number, to: number, bytes: Uint8Array): void {
    this.sent.push({ at: this.now, from, to, bytes });
    this.#deliveries.push({ at: this.now + LATENCY_MS, seq: this.#seq++, from, to, bytes });
  }

  /** Where node `i` stands now: its rebuild point. Call between steps (after a drain). */
  mark(i: number): Mark {
    const n = this.nodes[i];
    return { node: i, at: this.now, logLength: n.log.length, sentCount: n.sentCount, sentHash: n.sentHash.copy().digest("hex"), links: [...n.links] };
  }

  /**
   * A fresh engine (with `parts`; default: every part, as the run's) fed node `m.node`'s inputs up
   * to the mark. Throws if it sends other frames than the original did: then the engine is not
   * deterministic (or the parts given change what it sends), and no fuzz finding could be replayed.
   */
  rebuild(m: Mark, parts?: EngineParts): Engine {
    const n = this.nodes[m.node];
    const engine = new Engine({ publicKey: n.key.publicKey, generation: 1, random: seededRng(n.seed), now: 0, options: n.options, parts });
    const hash = createHash("sha256");
    let count = 0;
    for (let k = 0; k < m.logLength; k++) {
      applyInput(engine, n.log[k]);
      for (let t; (t = engine.pollTransmit()); ) {
        hashFrame(hash, t.linkId, t.bytes);
        count++;
      }
      while (engine.pollJob());
      while (engine.pollEvent());
    }
    const digest = hash.digest("hex");
    if (count !== m.sentCount || digest !== m.sentHash) {
      throw new Error(`rebuilding node ${m.node} gave ${count} frames (hash ${digest.slice(0, 12)}) where the run sent ${m.sentCount} (${m.sentHash.slice(0, 12)}): the engine is not deterministic`);
    }
    return engine;
  }

  /** Advances virtual time to `t`, ticking engines at their wake-up times and delivering frames. */
  async runUntil(t: number): Promise<void> {
    let spins = 0;
    for (let last = -1; ; ) {
      await this.#drainAll();
      let next = t;
      for (const d of this.#deliveries) next = Math.min(next, Math.max(d.at, this.stalledUntil[d.to]));
      for (const n of this.nodes) next = Math.min(next, Math.max(n.engine.nextWakeAt(), this.stalledUntil[n.index]));
      next = Math.max(next, this.now);
      if (next > t) break; // asked for a time already passed: nothing to do
      spins = next === last ? spins + 1 : 0;
      if (spins > DRAIN_ROUNDS_MAX) {
        const late = this.nodes.filter((n) => n.engine.nextWakeAt() <= next).map((n) => `node ${n.index}`);
        throw new Error(`capture world: stuck at ${next} ms (t ${t}, now ${this.now}); engines that keep asking to be woken now: ${late.join(", ")}; deliveries ${this.#deliveries.length} first at ${this.#deliveries[0]?.at}; wakes ${this.nodes.map((n) => n.engine.nextWakeAt()).join(",")}`);
      }
      last = next;
      this.now = next;
      const due = this.#deliveries.filter((d) => Math.max(d.at, this.stalledUntil[d.to]) <= next);
      this.#deliveries = this.#deliveries.filter((d) => Math.max(d.at, this.stalledUntil[d.to]) > next);
      // Timers before frames, as an event loop runs them after a stall: a node that wakes late
      // sees its own lateness before a frame arriving at the same moment re-arms it.
      for (const n of this.nodes) {
        if (this.stalledUntil[n.index] <= this.now && n.engine.nextWakeAt() <= this.now) this.#input(n, { op: "tick", now: this.now });
      }
      for (const d of due) {
        const n = this.nodes[d.to];
        if (n.links.has(d.from)) this.#input(n, { op: "receive", now: this.now, link: d.from, bytes: d.bytes });
      }
      if (next === t && !due.length) break;
    }
    this.now = Math.max(this.now, t);
    await this.#drainAll();
  }

  #input(n: WorldNode, input: Input): void {
    n.log.push(input);
    applyInput(n.engine, input);
  }

  async #drainAll(): Promise<void> {
    for (let round = 0; round < DRAIN_ROUNDS_MAX; round++) {
      let moved = false;
      for (const n of this.nodes) if (await this.#drain(n)) moved = true;
      if (!moved) return;
    }
    throw new Error("capture world: crypto and events keep coming without time passing");
  }

  /** Runs a node's crypto, sends its frames, and acts on its link events. True if anything moved. */
  async #drain(n: WorldNode): Promise<boolean> {
    let moved = false;
    const e = n.engine;
    for (let job; (job = e.pollJob()); ) {
      moved = true;
      const result: JobResult = job.kind === "sign"
        ? await this.suite.sign(n.key, job.message)
        : job.kind === "verify"
        ? await this.suite.verify(job.publicKey, job.message, job.signature)
        : "accept";
      this.#input(n, { op: "job", now: this.now, id: job.id, result });
    }
    for (let t; (t = e.pollTransmit()); ) {
      moved = true;
      hashFrame(n.sentHash, t.linkId, t.bytes);
      n.sentCount++;
      const to = n.links.get(t.linkId);
      if (to === undefined) continue;
      this.sent.push({ at: this.now, from: n.index, to, bytes: t.bytes });
      if (!this.drop(n.index, to, t.bytes)) this.#deliveries.push({ at: this.now + LATENCY_MS, seq: this.#seq++, from: n.index, to, bytes: t.bytes });
    }
    for (let ev; (ev = e.pollEvent()); ) {
      moved = true;
      this.#onEvent(n, ev);
    }
    return moved;
  }

  #onEvent(n: WorldNode, ev: EngineEvent): void {
    // Links go where engines ask them to go; new links are the scenario's to make (want-link is
    // left alone, so the topology only shrinks and the run stays short).
    if (ev.type === "drop-link" || ev.type === "disconnect") {
      const peer = n.links.get(ev.linkId);
      if (peer !== undefined) this.unlink(n.index, peer);
    }
  }
}

/** Feeds one logged input to an engine. */
export function applyInput(engine: Engine, input: Input): void {
  switch (input.op) {
    case "linkUp":
      return engine.linkUp(input.now, input.link, input.peer);
    case "linkDown":
      return engine.linkDown(input.now, input.link);
    case "receive":
      return engine.receive(input.now, input.link, input.bytes);
    case "tick":
      return engine.tick(input.now);
    case "job":
      return engine.completeJob(input.now, input.id, input.result);
    case "set":
      return input.value === null ? engine.delete(input.now, input.key, input.scope) : engine.set(input.now, input.key, input.value, input.scope);
    case "publish":
      if (input.scoped) return void engine.publishScoped(input.now, input.topic, input.payload);
      return engine.publish(input.now, input.topic, input.payload);
    case "joinScope":
      return engine.joinScope(input.now, input.scope);
    case "leave":
      return engine.leave(input.now);
  }
}

function hashFrame(hash: ReturnType<typeof createHash>, linkId: LinkId, bytes: Uint8Array): void {
  hash.update(`${linkId}:${bytes.length}:`);
  hash.update(bytes);
}
