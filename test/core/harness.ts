// A tiny in-process world for engine tests: engines linked by index, frames delivered in order,
// crypto run through the real Ed25519 suite. Link id at node i for node j is j.
import { Engine } from "../../src/core/engine.ts";
import type { EngineEvent } from "../../src/core/events.ts";
import type { Delivery, Verdict } from "../../src/core/broadcast.ts";
import type { EngineOptions } from "../../src/core/options.ts";
import type { EngineParts } from "../../src/core/parts.ts";
import { seededRng } from "../../src/core/random.ts";
import { createSignatureSuite } from "../../src/crypto/ed25519.ts";
import { keyPairFromSeed } from "../../src/crypto/keys.ts";
import type { KeyPair, SignatureSuite } from "../../src/crypto/types.ts";

export const enc = (s: string) => new TextEncoder().encode(s);
export const dec = (b: Uint8Array | null | undefined) => (b ? new TextDecoder().decode(b) : b);

let suitePromise: Promise<SignatureSuite> | null = null;
export function suite(): Promise<SignatureSuite> {
  return (suitePromise ??= createSignatureSuite({ subtle: globalThis.crypto.subtle }));
}

export function keyPair(i: number): KeyPair {
  const seed = new Uint8Array(32);
  seed[0] = i + 1;
  seed[31] = 0x5a;
  return keyPairFromSeed(seed);
}

export class World {
  engines: Engine[] = [];
  keys: KeyPair[] = [];
  events: { node: number; event: EngineEvent }[] = [];
  /** Frames in flight: [from, to, bytes]. */
  wire: [number, number, Uint8Array][] = [];
  /** The validator every node runs for broadcast messages. */
  validate: (node: number, message: Delivery) => Verdict = () => "accept";
  /** Optional tap: return false to drop a frame. */
  filter: (from: number, to: number, bytes: Uint8Array) => boolean = () => true;
  now = 0;

  /**
   * @param options every node's options, or node `i`'s from a function
   * @param partsOf the parts node `i` runs (undefined: every part, as `Engine` has them)
   */
  constructor(n: number, options: Partial<EngineOptions> | ((i: number) => Partial<EngineOptions>) = {}, seed = 1, partsOf: (i: number) => EngineParts | undefined = () => undefined) {
    for (let i = 0; i < n; i++) {
      this.keys.push(keyPair(i));
      const o = typeof options === "function" ? options(i) : options;
      this.engines.push(new Engine({ publicKey: this.keys[i].publicKey, generation: 1, random: seededRng(seed * 100 + i), now: 0, options: o, parts: partsOf(i) }));
    }
  }

  /** Links a and b; `client` (a or b): a client the other end serves (`ConnectOptions.client`). */
  link(a: number, b: number, client = -1): void {
    this.engines[a].linkUp(this.now, b, this.keys[b].publicKey, false, client === b);
    this.engines[b].linkUp(this.now, a, this.keys[a].publicKey, false, client === a);
  }

  /** Settles, then ticks every engine due now (without moving the clock), until none is. */
  async settleDue(maxSteps = 100): Promise<void> {
    for (let step = 0; step < maxSteps; step++) {
      await this.settle();
      const due = this.engines.filter((e) => e.nextWakeAt() <= this.now);
      if (due.length === 0) return;
      for (const e of due) e.tick(this.now);
    }
    throw new Error("engines stayed due");
  }

  linkAll(): void {
    for (let a = 0; a < this.engines.length; a++) for (let b = a + 1; b < this.engines.length; b++) this.link(a, b);
  }

  /** Runs crypto and delivers frames until nothing moves. */
  async settle(maxSteps = 10_000): Promise<void> {
    const s = await suite();
    for (let step = 0; step < maxSteps; step++) {
      let moved = false;
      for (let i = 0; i < this.engines.length; i++) {
        const e = this.engines[i];
        const jobs = [];
        for (let j; (j = e.pollJob()); ) jobs.push(j);
        for (const job of jobs) {
          moved = true;
          const r = job.kind === "sign"
            ? await s.sign(this.keys[i], job.message)
            : job.kind === "verify"
            ? await s.verify(job.publicKey, job.message, job.signature)
            : this.validate(i, job.message);
          e.completeJob(this.now, job.id, r);
        }
        for (let t; (t = e.pollTransmit()); ) this.wire.push([i, t.linkId, t.bytes]);
        for (let ev; (ev = e.pollEvent()); ) this.events.push({ node: i, event: ev });
      }
      const batch = this.wire.splice(0);
      for (const [from, to, bytes] of batch) {
        moved = true;
        if (this.filter(from, to, bytes)) this.engines[to].receive(this.now, from, bytes);
      }
      if (!moved) return;
    }
    throw new Error("world did not settle");
  }

  /** Advances time by one interval and ticks everyone. */
  async round(ms = 1000): Promise<void> {
    this.now += ms;
    for (const e of this.engines) e.tick(this.now);
    await this.settle();
  }

  get(i: number, origin: number, key: string): string | null | undefined {
    return dec(this.engines[i].store.get(this.engines[origin].store.selfId, key));
  }

  penalties(node?: number) {
    return this.events.filter((x) => x.event.type === "penalty" && (node === undefined || x.node === node)).map((x) => x.event as Extract<EngineEvent, { type: "penalty" }>);
  }
}
