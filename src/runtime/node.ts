/**
 * The runtime driver and the public node: it runs one {@link Engine} with the real clock, real
 * timers, platform randomness and a {@link SignatureSuite}, moving bytes between the engine and
 * its {@link Link}s. Values are any CBOR-encodable data (JSON-like values and `Uint8Array`), encoded
 * once on write and decoded, within the value cap, on read.
 *
 * @module
 */

import { toHex, fromHex } from "../bytes.ts";
import { Engine, PROTOCOL_VERSION } from "../core/engine.ts";
import type { EngineEvent, LinkId } from "../core/events.ts";
import { resolveOptions, type EngineOptions } from "../core/options.ts";
import { seededRng } from "../core/random.ts";
import type { Change } from "../core/store.ts";
import { createSignatureSuite, generateKeyPair } from "../crypto/ed25519.ts";
import { importSecretKey, nodeIdFromText, nodeIdToText } from "../crypto/identity.ts";
import type { KeyPair, SignatureSuite } from "../crypto/types.ts";
import { GrapevineError, localError } from "../errors.ts";
import type { Link } from "../transport/link.ts";
import { decode, encode } from "../wire/cbor.ts";
import { DEFAULT_DECODE_LIMITS } from "../wire/limits.ts";

export { PROTOCOL_VERSION };

/** Options of {@link createNode}: engine options plus identity and capabilities. */
export interface NodeOptions extends Partial<EngineOptions> {
  /** The node's key pair, or its secret key in text form (`gvsk1.…`). A new one by default. */
  keyPair?: KeyPair | string;
  /** Signature suite; by default Ed25519 through WebCrypto (noble where WebCrypto lacks it). */
  suite?: SignatureSuite;
  /** Generation of this run; must grow across restarts of one key. Default: the wall clock in ms. */
  generation?: number;
  /** Seed for peer selection; random by default. Fix it only for reproducible tests. */
  seed?: number;
}

/** A change to some node's key, as subscribers see it. */
export interface ChangeEvent {
  /** Id (base64url public key) of the node that owns the key. */
  origin: string;
  key: string;
  /** The new value, or `undefined` when deleted. */
  value: unknown;
  deleted: boolean;
  version: number;
  /** Made by this node. */
  local: boolean;
}

/** Events a node dispatches (as `CustomEvent`s; `detail` holds the payload). */
export interface NodeEventMap {
  change: ChangeEvent;
  penalty: { link: number; peer: string | null; code: string; message: string };
  error: GrapevineError;
}

/** Cheap clock: monotonic milliseconds. */
function monotonicNow(): number {
  return performance.timeOrigin + performance.now();
}

function randomSeed(): number {
  const a = new Uint32Array(2);
  crypto.getRandomValues(a);
  return a[0] * 0x200000 + (a[1] & 0x1fffff);
}

/**
 * Creates a node: an identity, an engine and its driver. Connect it to peers with
 * {@link GrapevineNode.connect}.
 *
 * @example
 * ```ts
 * import { createNode, createMemoryLinkPair } from "grapevine";
 * const a = await createNode({ network: "example" });
 * const b = await createNode({ network: "example" });
 * const [la, lb] = createMemoryLinkPair();
 * a.connect(la);
 * b.connect(lb);
 * a.set("status", { text: "online" });
 * b.addEventListener("change", (e) => console.log((e as CustomEvent).detail));
 * ```
 */
export async function createNode(options: NodeOptions = {}): Promise<GrapevineNode> {
  const { keyPair, suite, generation, seed, ...engineOptions } = options;
  resolveOptions(engineOptions); // fail fast on bad options, before any key work
  const kp = typeof keyPair === "string"
    ? importSecretKey(keyPair)
    : keyPair ?? generateKeyPair((n) => crypto.getRandomValues(new Uint8Array(n)));
  const s = suite ?? (await createSignatureSuite({ subtle: globalThis.crypto?.subtle }));
  return new GrapevineNode(kp, s, engineOptions, generation ?? Date.now(), seed ?? randomSeed());
}

/** A running node. Create it with {@link createNode}. */
export class GrapevineNode extends EventTarget {
  /** The node id: its public key in base64url. */
  readonly id: string;
  readonly publicKey: Uint8Array;
  readonly engine: Engine;
  #keyPair: KeyPair;
  #suite: SignatureSuite;
  #links = new Map<LinkId, Link>();
  #nextLinkId = 1;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #timerAt = Infinity;
  #closed = false;
  #jobsInFlight = 0;
  #idleWaiters: (() => void)[] = [];
  #valueLimits;

  /** @internal Use {@link createNode}. */
  constructor(keyPair: KeyPair, suite: SignatureSuite, options: Partial<EngineOptions>, generation: number, seed: number) {
    super();
    this.#keyPair = keyPair;
    this.#suite = suite;
    this.publicKey = keyPair.publicKey;
    this.id = nodeIdToText(keyPair.publicKey);
    this.engine = new Engine({ publicKey: keyPair.publicKey, generation, random: seededRng(seed), now: monotonicNow(), options });
    this.#valueLimits = { ...DEFAULT_DECODE_LIMITS, frameBytesMax: this.engine.options.valueBytesMax, bytesLengthMax: this.engine.options.valueBytesMax };
    this.#pump();
  }

  /** Engine options in force. */
  get options(): Readonly<EngineOptions> {
    return this.engine.options;
  }

  /** Attaches a link to a peer; gossip starts over it at once. Returns a function that closes it. */
  connect(link: Link, peerId: string | null = null): () => void {
    this.#assertOpen();
    const id = this.#nextLinkId++;
    this.#links.set(id, link);
    link.onmessage = (bytes) => {
      if (this.#closed) return;
      this.engine.receive(monotonicNow(), id, bytes);
      this.#pump();
    };
    link.onclose = () => {
      this.#links.delete(id);
      if (this.#closed) return;
      this.engine.linkDown(monotonicNow(), id);
      this.#pump();
    };
    this.engine.linkUp(monotonicNow(), id, peerId ? nodeIdFromText(peerId) : null);
    this.#pump();
    return () => link.close("closed by application");
  }

  /** Number of attached links. */
  get linkCount(): number {
    return this.#links.size;
  }

  /** Sets one of this node's keys to any CBOR-encodable value. Throws `RangeError` past a cap. */
  set(key: string, value: unknown): void {
    this.#assertOpen();
    if (value === undefined) throw new TypeError("value must not be undefined; use delete()");
    this.engine.set(monotonicNow(), key, encode(value));
    this.#pump();
  }

  /** Deletes one of this node's keys. */
  delete(key: string): void {
    this.#assertOpen();
    this.engine.delete(monotonicNow(), key);
    this.#pump();
  }

  /** Reads a key of `origin` (a node id; this node by default). `undefined` when absent or deleted. */
  get(key: string, origin: string = this.id): unknown {
    const bytes = this.engine.store.get(toHex(nodeIdFromText(origin)), key);
    return bytes ? decode(bytes, this.#valueLimits) : undefined;
  }

  /** Every live key of `origin` (this node by default) with its value. */
  entries(origin: string = this.id): Map<string, unknown> {
    const out = new Map<string, unknown>();
    const hex = toHex(nodeIdFromText(origin));
    if (hex === this.engine.store.selfId) {
      for (const e of this.engine.store.localEntries()) out.set(e.key, decode(e.value!, this.#valueLimits));
      return out;
    }
    const st = this.engine.store.origins.get(hex);
    for (const e of st?.entries.values() ?? []) if (e.value) out.set(e.key, decode(e.value, this.#valueLimits));
    return out;
  }

  /** Ids of every node whose state this node holds (itself included once it has written). */
  origins(): string[] {
    return [...this.engine.store.origins.values()].filter((o) => o.entries.size > 0 || o.id === this.engine.store.selfId).map((o) => nodeIdToText(fromHex(o.id)));
  }

  /**
   * Calls `listener` for every change (remote and local) until the returned function is called.
   */
  subscribe(listener: (change: ChangeEvent) => void): () => void {
    const h = (e: Event) => listener((e as CustomEvent<ChangeEvent>).detail);
    this.addEventListener("change", h);
    return () => this.removeEventListener("change", h);
  }

  /**
   * Changes as an async iterator, subscribed from the moment of the call. At most `bufferMax`
   * changes wait unread; beyond that the oldest are dropped, so a slow reader cannot grow memory
   * without bound. Ends when the node closes, the signal aborts, or the loop breaks.
   */
  changes(options: { bufferMax?: number; signal?: AbortSignal } = {}): AsyncIterableIterator<ChangeEvent> {
    const max = options.bufferMax ?? 1024;
    const buffer: ChangeEvent[] = [];
    let wake: (() => void) | null = null;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      unsubscribe();
      options.signal?.removeEventListener("abort", finish);
      this.removeEventListener("close", finish);
      wake?.();
    };
    const unsubscribe = this.subscribe((c) => {
      if (buffer.length >= max) buffer.shift();
      buffer.push(c);
      wake?.();
    });
    options.signal?.addEventListener("abort", finish);
    this.addEventListener("close", finish);
    if (this.#closed || options.signal?.aborted) finish();
    const iterator: AsyncIterableIterator<ChangeEvent> = {
      next: async (): Promise<IteratorResult<ChangeEvent>> => {
        while (!buffer.length && !done) await new Promise<void>((r) => (wake = r));
        wake = null;
        if (buffer.length) return { value: buffer.shift()!, done: false };
        return { value: undefined, done: true };
      },
      return: async (): Promise<IteratorResult<ChangeEvent>> => {
        finish();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Resolves when no crypto work is pending (useful in tests and before close). */
  idle(): Promise<void> {
    if (this.#jobsInFlight === 0) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  /**
   * Leaves the mesh gracefully (peers drop this node's keys at once), then closes every link.
   * `leave: false` just closes, and peers keep the last state.
   */
  async close(options: { leave?: boolean; graceMs?: number } = {}): Promise<void> {
    if (this.#closed) return;
    if (options.leave !== false && this.#links.size > 0) {
      this.engine.leave(monotonicNow());
      this.#pump();
      await this.idle();
      await new Promise((r) => setTimeout(r, options.graceMs ?? 50));
    }
    this.#closed = true;
    this.engine.close();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    for (const link of this.#links.values()) link.close("node closed");
    this.#links.clear();
    this.dispatchEvent(new Event("close"));
  }

  /** `await using node = await createNode()` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw localError("ENGINE_CLOSED", "this node is closed");
  }

  /** Moves the engine's outputs out: crypto to the suite, frames to links, events to listeners. */
  #pump(): void {
    if (this.#closed) return;
    const e = this.engine;
    for (let job; (job = e.pollJob()); ) {
      const j = job;
      this.#jobsInFlight++;
      const work = j.kind === "sign"
        ? this.#suite.sign(this.#keyPair, j.message)
        : this.#suite.verify(j.publicKey, j.message, j.signature);
      work.then(
        (r) => this.#finishJob(j.id, r),
        (err) => this.#finishJob(j.id, err instanceof Error ? err : new Error(String(err))),
      );
    }
    for (let t; (t = e.pollTransmit()); ) {
      const link = this.#links.get(t.linkId);
      try {
        link?.send(t.bytes);
      } catch (err) {
        if (!(err instanceof GrapevineError)) throw err;
      }
    }
    for (let ev; (ev = e.pollEvent()); ) this.#dispatch(ev);
    const wake = e.nextWakeAt();
    if (wake !== this.#timerAt) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timerAt = wake;
      this.#timer = wake === Infinity ? null : setTimeout(() => {
        this.#timer = null;
        this.#timerAt = Infinity;
        this.engine.tick(monotonicNow());
        this.#pump();
      }, Math.max(0, wake - monotonicNow()));
      // A node must not keep a process alive by itself (Node and Deno timers have unref).
      (this.#timer as { unref?: () => void } | null)?.unref?.();
    }
  }

  #finishJob(id: number, result: Uint8Array | boolean | Error): void {
    this.#jobsInFlight--;
    if (!this.#closed) {
      this.engine.completeJob(monotonicNow(), id, result);
      this.#pump();
    }
    if (this.#jobsInFlight === 0) for (const r of this.#idleWaiters.splice(0)) r();
  }

  #dispatch(ev: EngineEvent): void {
    switch (ev.type) {
      case "change":
        this.dispatchEvent(new CustomEvent("change", { detail: this.#changeEvent(ev.change) }));
        return;
      case "penalty":
        this.dispatchEvent(new CustomEvent("penalty", {
          detail: { link: ev.linkId, peer: ev.peer ? nodeIdToText(ev.peer) : null, code: ev.code, message: ev.message },
        }));
        return;
      case "disconnect":
        this.#links.get(ev.linkId)?.close(ev.reason);
        return;
      default:
        return;
    }
  }

  #changeEvent(c: Change): ChangeEvent {
    let value: unknown;
    if (c.value) {
      try {
        value = decode(c.value, this.#valueLimits);
      } catch {
        value = c.value; // authenticated bytes that are not CBOR: hand them over raw
      }
    }
    return { origin: nodeIdToText(c.origin), key: c.key, value, deleted: c.value === null, version: c.version, local: c.local };
  }
}
