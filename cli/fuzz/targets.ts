/**
 * What mutated frames are fed to, and what counts as a failure there.
 *
 * - {@link EngineTarget}: the victim engine, rebuilt mid-conversation from the capture (links up,
 *   state, a probe and a broadcast in flight), fed on its link to the peer the frame came from.
 *   Crypto jobs run through the real suite, so verify paths run too. A crash is anything thrown
 *   out of `receive`, `tick` or `completeJob` (the engine rethrows bugs of its own by design); a
 *   frame its own decoder refuses must be penalised on that link; every frame the victim sends
 *   must decode with its own decoders (else its honest peers would penalise it); a frame must not
 *   make the victim queue more than the bounds below.
 * - {@link checkDecoders}: the three frame decoders on every frame: a value or a `GrapevineError`.
 * - {@link DriverTarget}: two real nodes on memory links; frames go into the victim's post-handshake
 *   handler (link frames stay in the driver, the rest reach its engine), errors thrown later from
 *   crypto callbacks are caught as the process reports them.
 * - {@link HandshakeTarget}: the handshake state machine fed a HELLO and a PROOF (one mutated); it
 *   must resolve, or reject with a `GrapevineError`, and always settle once the link closes.
 *
 * Time per frame counts only this process's synchronous work in the target (the awaits on the
 * crypto backend are left out): that is what a frame can make a node's event loop spend.
 *
 * @module
 */

import { performance } from "node:perf_hooks";
import { bytesEqual } from "../../src/bytes.ts";
import { type EngineCore as Engine, frameLimitsFor } from "../../src/core/engine-core.ts";
import type { JobResult, LinkId } from "../../src/core/events.ts";
import { deriveSeed, randomBelow, seededRng } from "../../src/core/random.ts";
import type { KeyPair, SignatureSuite } from "../../src/crypto/types.ts";
import { GrapevineError } from "../../src/errors.ts";
import { type HandshakeResult, runHandshake } from "../../src/runtime/handshake.ts";
import { createNode } from "../../src/runtime/create.ts";
import { type GrapevineNode } from "../../src/runtime/node.ts";
import { createMemoryLinkPair } from "../../src/transport/memory.ts";
import type { Link } from "../../src/transport/link.ts";
import { decodeFrame, FRAME } from "../../src/wire/frames.ts";
import { decodeLinkFrame, isLinkFrameType, peekFrameType } from "../../src/wire/link-frames.ts";
import { decodeClaimBody, decodeMemberFrame, isMemberFrameType } from "../../src/wire/member-frames.ts";
import { decodeMessageBody, decodeRootBody } from "../../src/wire/records.ts";
import { sliceSpent } from "../../src/runtime/slice.ts";
import type { Corpus } from "./corpus.ts";
import { typeOf } from "./registry.ts";

/** Bounds on what one frame may make the victim queue (the largest honest answers fit well within). */
export const QUEUE_BOUNDS = Object.freeze({ jobs: 2048, transmits: 1024, bytesOut: 4 * 1_048_576, events: 4096 });
/** Virtual time between two frames, ms: timers (probes, grafts, gossip rounds) fire as frames flow. */
const STEP_MS = 5;
/** Ticks at one moment before an engine that still asks to be woken then counts as spinning. */
const TICKS_PER_STEP_MAX = 32;
/** Crypto rounds per frame (a job's callback may queue more jobs): a bound, never reached honestly. */
const JOB_ROUNDS_MAX = 64;

export interface Failure {
  /**
   * `crash` (something thrown), `bad-output` (the victim sent a frame its peers refuse),
   * `bad-state` (the victim's own signed claim or root no longer decodes), `unpenalised` (a frame
   * its decoder refuses went unpunished).
   */
  kind: "crash" | "bad-output" | "bad-state" | "unpenalised";
  /** Where: `receive`, `tick`, `job`, `decoder:link`, `driver`, `handshake`, … */
  phase: string;
  error: string;
  stack: string;
}

export interface EngineOutcome {
  failures: Failure[];
  ms: number;
  bytesIn: number;
  bytesOut: number;
  transmits: number;
  jobs: number;
  events: number;
  /** The frame's own decoder refused it. */
  refused: boolean;
  penalised: boolean;
  /** Frames sent in answer, by type name. */
  sent: Record<string, number>;
}

export function describeError(e: unknown): { error: string; stack: string } {
  if (e instanceof Error) {
    const top = (e.stack ?? "").split("\n").slice(1, 4).map((l) => l.trim()).join(" | ");
    return { error: `${e.name}: ${e.message}`.slice(0, 500), stack: top };
  }
  return { error: `thrown non-Error: ${String(e)}`.slice(0, 500), stack: "" };
}

function failure(kind: Failure["kind"], phase: string, e: unknown): Failure {
  return { kind, phase, ...describeError(e) };
}

/** The decoder a node routes `bytes` to, run as the engine would; returns the error, or null. */
function engineDecodeError(bytes: Uint8Array, engine: Engine): unknown {
  const o = engine.options;
  try {
    if (bytes.length > o.frameBytesMax) return new GrapevineError("WIRE_FRAME_TOO_LARGE", "remote", "too large");
    if (isMemberFrameType(peekFrameType(bytes))) decodeMemberFrame(bytes, { frameBytesMax: o.frameBytesMax, claimsMax: o.claimsPerFrameMax });
    else decodeFrame(bytes, frameLimitsFor(o));
    return null;
  } catch (e) {
    return e;
  }
}

/** Why a frame the victim sends would be refused by an honest peer with its options, or null. */
function outputProblem(bytes: Uint8Array, engine: Engine): string | null {
  const o = engine.options;
  const err = engineDecodeError(bytes, engine);
  if (err) return `sent a frame its own decoder refuses: ${describeError(err).error}`;
  try {
    if (isMemberFrameType(peekFrameType(bytes))) return null; // claim bodies are decoded with the frame
    const f = decodeFrame(bytes, frameLimitsFor(o));
    if (f.type === FRAME.GOSSIP) decodeMessageBody(f.body, o.topicBytesMax, o.messagePayloadBytesMax);
    if (f.type === FRAME.DELTA) for (const d of f.origins) decodeRootBody(d.rootBody);
    return null;
  } catch (e) {
    return `sent a frame with a body its peers refuse: ${describeError(e).error}`;
  }
}

/**
 * Why the victim's own signed statements (its alive claim, its root) would be refused by its
 * peers, or null. Checked after every frame, so the frame that broke them is the one blamed, not
 * the later one during which the broken claim happened to be sent.
 */
function selfProblem(engine: Engine): string | null {
  try {
    const claim = engine.membership?.selfClaim;
    if (claim) decodeClaimBody(claim.body);
    const root = engine.store.self.root;
    if (root) decodeRootBody(root.body);
    return null;
  } catch (e) {
    return `its own signed claim or root no longer decodes: ${describeError(e).error}`;
  }
}

/** The victim engine, mid-conversation. */
export class EngineTarget {
  engine!: Engine;
  now = 0;
  /** Link id → peer index. */
  links = new Map<LinkId, number>();
  #nextLinkId = 1000;
  /** The victim's own claim or root stopped decoding (reported once, by the frame that did it). */
  #selfBroken = false;
  readonly #keys: readonly KeyPair[];

  constructor(readonly corpus: Corpus, readonly suite: SignatureSuite, readonly build: () => Engine = () => corpus.world.rebuild(corpus.victim)) {
    this.#keys = corpus.keys;
  }

  /** A fresh victim as marked. */
  reset(): void {
    this.engine = this.build();
    this.now = this.corpus.victim.at;
    this.links = new Map(this.corpus.victim.links);
    this.#nextLinkId = 1000;
    this.#selfBroken = false;
  }

  /** The link the frame arrives on: the one to `from` if the victim holds it, else any. */
  linkFor(from: number, pickIndex: number): { link: LinkId; peer: number } {
    for (const [link, peer] of this.links) if (peer === from) return { link, peer };
    if (!this.links.size) this.#relink(1);
    const all = [...this.links];
    const [link, peer] = all[pickIndex % all.length];
    return { link, peer };
  }

  #relink(peer: number): LinkId {
    const id = this.#nextLinkId++;
    this.engine.linkUp(this.now, id, this.#keys[peer].publicKey);
    this.links.set(id, peer);
    return id;
  }

  /** Feeds one frame from peer `peer` (on its link, after what was due); `seed` drives the application's verdicts. */
  async feed(peer: number, bytes: Uint8Array, seed: number): Promise<EngineOutcome> {
    const out: EngineOutcome = { failures: [], ms: 0, bytesIn: bytes.length, bytesOut: 0, transmits: 0, jobs: 0, events: 0, refused: false, penalised: false, sent: {} };
    const e = this.engine;
    const verdicts = seededRng(deriveSeed(seed, 3));
    // Time passes between frames: what is due runs first, and is not counted against the frame.
    this.now += STEP_MS;
    // A driver calls tick again whenever the engine asks to be woken at or before now: an engine
    // that keeps asking after its work is done would spin its event loop.
    let ticks = 0;
    while (e.nextWakeAt() <= this.now) {
      if (ticks++ === TICKS_PER_STEP_MAX) {
        out.failures.push({ kind: "bad-state", phase: "timer", error: `still asks to be woken at ${e.nextWakeAt()} after ${TICKS_PER_STEP_MAX} ticks at ${this.now}: a driver would spin`, stack: "" });
        break;
      }
      try {
        e.tick(this.now);
      } catch (err) {
        out.failures.push(failure("crash", "tick", err));
        return out;
      }
    }
    const before = { ms: 0, bytesOut: 0, transmits: 0, jobs: 0, events: 0 };
    await this.#settle(out, verdicts, before);
    if (out.failures.length) return out;
    // Chosen only now: what was due may have closed the peer's link and opened a new one.
    const { link } = this.linkFor(peer, 0);
    out.refused = engineDecodeError(bytes, e) !== null;
    const t0 = performance.now();
    try {
      e.receive(this.now, link, bytes);
    } catch (err) {
      out.failures.push(failure("crash", "receive", err));
    }
    out.ms += performance.now() - t0;
    if (!out.failures.length) await this.#settle(out, verdicts, out, link);
    const broken = selfProblem(e);
    if (broken && !this.#selfBroken) {
      // Frames that carried the broken claim out in this same frame are its consequence, not a finding of their own.
      out.failures = out.failures.filter((f) => !(f.kind === "bad-output" && /claim\./.test(f.error)));
      out.failures.push({ kind: "bad-state", phase: "self", error: broken, stack: "" });
    }
    this.#selfBroken = broken !== null;
    if (out.refused && !out.penalised && !out.failures.length) {
      out.failures.push({ kind: "unpenalised", phase: "receive", error: `a frame its own decoder refuses (${describeError(engineDecodeError(bytes, e)).error}) was not penalised`, stack: "" });
    }
    return out;
  }

  /** Runs crypto to quiescence, drains frames and events into `acc`, and relinks closed links. */
  async #settle(out: EngineOutcome, verdicts: ReturnType<typeof seededRng>, acc: { ms: number; bytesOut: number; transmits: number; jobs: number; events: number }, link?: LinkId): Promise<void> {
    const e = this.engine;
    const closed = new Set<LinkId>();
    for (let round = 0; round < JOB_ROUNDS_MAX; round++) {
      const jobs = [];
      for (let j; (j = e.pollJob()); ) jobs.push(j);
      if (!jobs.length) break;
      acc.jobs += jobs.length;
      for (const job of jobs) {
        let result: JobResult;
        if (job.kind === "sign") result = await this.suite.sign(this.#keys[this.corpus.victim.node], job.message);
        else if (job.kind === "verify") result = await this.suite.verify(job.publicKey, job.message, job.signature);
        else {
          const r = randomBelow(verdicts, 16);
          result = r < 12 ? "accept" : r < 14 ? "ignore" : r < 15 ? "reject" : new Error("validator failed");
        }
        const t0 = performance.now();
        try {
          e.completeJob(this.now, job.id, result);
        } catch (err) {
          out.failures.push(failure("crash", `job:${job.kind}`, err));
        }
        acc.ms += performance.now() - t0;
        if (out.failures.length) return;
      }
    }
    for (let t; (t = e.pollTransmit()); ) {
      acc.transmits++;
      acc.bytesOut += t.bytes.length;
      if (acc === out) {
        const name = typeOf(t.bytes)?.name ?? "?";
        out.sent[name] = (out.sent[name] ?? 0) + 1;
      }
      // Once its own claim is broken every frame carrying it is too: one finding, not hundreds.
      if (this.#selfBroken && isMemberFrameType(peekFrameType(t.bytes))) continue;
      const problem = outputProblem(t.bytes, e);
      if (problem && out.failures.length < 4) out.failures.push({ kind: "bad-output", phase: `sent ${typeOf(t.bytes)?.name ?? "?"}`, error: problem, stack: "" });
    }
    for (let ev; (ev = e.pollEvent()); ) {
      acc.events++;
      if (ev.type === "penalty" && ev.linkId === link) out.penalised = true;
      if (ev.type === "disconnect" || ev.type === "drop-link") closed.add(ev.linkId);
    }
    // A closed link is the peer's punishment; the fuzzer comes back on a fresh one, as a hostile
    // peer reconnecting would. Its greeting (digest, view) is not counted against the frame.
    for (const id of closed) {
      const peer = this.links.get(id);
      if (peer === undefined) continue;
      this.links.delete(id);
      try {
        e.linkDown(this.now, id);
        this.#relink(peer);
      } catch (err) {
        out.failures.push(failure("crash", "relink", err));
        return;
      }
    }
    if (closed.size) {
      const scratch = { ms: 0, bytesOut: 0, transmits: 0, jobs: 0, events: 0 };
      await this.#settle(out, verdicts, scratch);
    }
  }
}

/** The decoders alone: each returns a value or throws a `GrapevineError`, on any bytes. */
export function checkDecoders(bytes: Uint8Array, engine: Engine): { failures: Failure[]; ms: number; decoded: boolean } {
  const o = engine.options;
  const failures: Failure[] = [];
  let decoded = false;
  const t0 = performance.now();
  const run = (phase: string, f: () => unknown) => {
    try {
      const v = f() as { type?: unknown };
      if (v && v.type !== "unknown") decoded = true;
    } catch (e) {
      if (!(e instanceof GrapevineError)) failures.push(failure("crash", phase, e));
    }
  };
  run("decoder:link", () => decodeLinkFrame(bytes, o.frameBytesMax));
  run("decoder:gossip", () => decodeFrame(bytes, frameLimitsFor(o)));
  run("decoder:member", () => decodeMemberFrame(bytes, { frameBytesMax: o.frameBytesMax, claimsMax: o.claimsPerFrameMax }));
  return { failures, ms: performance.now() - t0, decoded };
}

/** Errors the process reports (thrown from callbacks), collected while the driver runs. */
const processErrors: unknown[] = [];
let listening = 0;
const onProcessError = (e: unknown) => void processErrors.push(e);

/** Two real nodes on memory links; the victim's handler is fed the peer's (mutated) frames. */
export class DriverTarget {
  #victim: GrapevineNode | null = null;
  #peer: GrapevineNode | null = null;
  #link: Link | null = null;

  constructor(readonly corpus: Corpus, readonly suite: SignatureSuite) {}

  async start(): Promise<void> {
    if (listening++ === 0) {
      process.on("unhandledRejection", onProcessError);
      process.on("uncaughtException", onProcessError);
    }
    const make = (i: number) => createNode({ ...this.corpus.engineOptions(i), keyPair: this.corpus.keys[i], suite: this.suite, seed: i, generation: 1 });
    [this.#victim, this.#peer] = await Promise.all([make(0), make(1)]);
    this.#victim.set("k", "victim");
    this.#peer.set("k", "peer");
    await this.#connect();
  }

  async #connect(): Promise<void> {
    const [la, lb] = createMemoryLinkPair();
    await Promise.all([this.#victim!.connect(la), this.#peer!.connect(lb)]);
    this.#link = la;
  }

  async stop(): Promise<void> {
    await Promise.all([this.#victim?.close({ leave: false }), this.#peer?.close({ leave: false })]);
    this.#victim = this.#peer = this.#link = null;
    if (--listening === 0) {
      process.off("unhandledRejection", onProcessError);
      process.off("uncaughtException", onProcessError);
    }
  }

  /**
   * Feeds one frame as the peer's. Besides crashes, a frame the node's router hands to a decoder
   * that refuses it (the link layer's for types 16–31, the engine's for the rest) must be
   * penalised on the spot, as PROTOCOL.md §6 and §8.5 say.
   */
  async feed(bytes: Uint8Array): Promise<{ failures: Failure[]; ms: number; bytesOut: number }> {
    const failures: Failure[] = [];
    const victim = this.#victim!;
    if (victim.linkCount === 0 || !this.#link?.onmessage) await this.#connect();
    // A frame is handled on arrival unless the thread's time slice is spent (then it waits a turn,
    // `src/runtime/slice.ts`): start each frame with a fresh slice, so it is handled, timed and
    // penalised within the call that delivers it.
    await victim.idle();
    while (sliceSpent()) await new Promise((r) => setImmediate(r));
    processErrors.length = 0;
    const sentBefore = victim.traffic().bytesOut;
    let penalised = false;
    const onPenalty = () => void (penalised = true);
    victim.addEventListener("penalty", onPenalty);
    const refusal = isLinkFrameType(peekFrameType(bytes)) ? linkDecodeError(bytes, victim.engine) : engineDecodeError(bytes, victim.engine);
    const t0 = performance.now();
    try {
      this.#link!.onmessage!(bytes);
    } catch (e) {
      failures.push(failure("crash", "driver", e));
    }
    const ms = performance.now() - t0;
    victim.removeEventListener("penalty", onPenalty);
    const bytesOut = victim.traffic().bytesOut - sentBefore;
    if (refusal && !penalised && !failures.length) {
      failures.push({ kind: "unpenalised", phase: "driver", error: `a frame its decoder refuses (${describeError(refusal).error}) was not penalised`, stack: "" });
    }
    await victim.idle();
    await new Promise((r) => setImmediate(r));
    for (const e of processErrors.splice(0)) failures.push(failure("crash", "driver:async", e));
    return { failures, ms, bytesOut };
  }
}

function linkDecodeError(bytes: Uint8Array, engine: Engine): unknown {
  try {
    decodeLinkFrame(bytes, engine.options.frameBytesMax);
    return null;
  } catch (e) {
    return e;
  }
}

/** A link that records what the handshake sends and lets the fuzzer speak for the peer. */
class ScriptedLink implements Link {
  onmessage: ((bytes: Uint8Array) => void) | null = null;
  onclose: ((reason: string) => void) | null = null;
  bufferedAmount = 0;
  sent: Uint8Array[] = [];
  closed = false;
  send(bytes: Uint8Array): void {
    this.sent.push(bytes);
  }
  close(): void {
    this.closed = true;
  }
}

/** Rounds of crypto a handshake may start before the fuzzer stops waiting for it (it needs two). */
const HANDSHAKE_CRYPTO_ROUNDS_MAX = 16;

/** A suite that knows which of its operations are still running, so a caller can wait for them. */
class TrackingSuite implements SignatureSuite {
  readonly pending = new Set<Promise<unknown>>();
  constructor(readonly inner: SignatureSuite) {}
  get backend() {
    return this.inner.backend;
  }
  sign(keyPair: KeyPair, message: Uint8Array): Promise<Uint8Array> {
    return this.#track(this.inner.sign(keyPair, message));
  }
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    return this.#track(this.inner.verify(publicKey, message, signature));
  }
  #track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    const done = () => void this.pending.delete(p);
    p.then(done, done);
    return p;
  }
  /** Waits until no operation runs and the callbacks of the finished ones have run. */
  async quiesce(): Promise<void> {
    for (let round = 0; round < HANDSHAKE_CRYPTO_ROUNDS_MAX; round++) {
      await new Promise((r) => setImmediate(r)); // every continuation queued so far has run
      if (!this.pending.size) return;
      await Promise.allSettled([...this.pending]);
    }
  }
}

/** The handshake state machine, as the victim runs it, against a scripted peer. */
export class HandshakeTarget {
  readonly hello: Uint8Array;
  readonly proof: Uint8Array;

  constructor(readonly corpus: Corpus, readonly suite: SignatureSuite) {
    const fromPeer = corpus.frames.filter((f) => f.source === "handshake" && f.from === 1 && f.to === 0);
    const hello = fromPeer.find((f) => f.type.name === "HELLO" && f.variants.includes("credential"));
    const proof = fromPeer.find((f) => f.type.name === "PROOF");
    if (!hello || !proof) throw new Error("the corpus lacks the peer's HELLO and PROOF of a completed handshake");
    this.hello = hello.bytes;
    this.proof = proof.bytes;
  }

  /**
   * Runs one handshake fed `frames` in order, each after the previous one's crypto had its turn,
   * except the last `early` ones, which follow the one before them at once (frames a peer sends
   * right after its PROOF, while the verdict is pending: they must be kept, in order).
   * `outcome` is `ok` (authenticated), `refused` (a `GrapevineError`), or `crash`.
   */
  async run(frames: readonly Uint8Array[], early = 0): Promise<{ failures: Failure[]; ms: number; outcome: "ok" | "refused" | "crash"; bytesOut: number }> {
    const failures: Failure[] = [];
    const link = new ScriptedLink();
    const suite = new TrackingSuite(this.suite);
    let settled: { ok: HandshakeResult } | { err: unknown } | null = null;
    const promise = runHandshake(link, this.corpus.handshakeConfig(0, suite)).then((ok) => (settled = { ok }), (err) => (settled = { err }));
    let ms = 0;
    for (let k = 0; k < frames.length; k++) {
      if (settled || !link.onmessage) break;
      const t0 = performance.now();
      try {
        link.onmessage(frames[k]);
      } catch (e) {
        failures.push(failure("crash", "handshake", e));
      }
      ms += performance.now() - t0;
      // Its crypto (admission, signing, verifying) finishes before the peer speaks again.
      if (k + 1 < frames.length - early || k === frames.length - 1) await suite.quiesce();
    }
    // Still waiting for the peer: the peer goes away, and the handshake must end.
    if (!settled) link.onclose?.("fuzz: peer gone");
    await suite.quiesce();
    if (!settled) failures.push({ kind: "crash", phase: "handshake", error: "the handshake did not settle after its link closed", stack: "" });
    void promise;
    const s = settled as { ok: HandshakeResult } | { err: unknown } | null;
    let outcome: "ok" | "refused" | "crash" = failures.length ? "crash" : "refused";
    if (s && "ok" in s) {
      outcome = failures.length ? "crash" : "ok";
      if (!bytesEqual(s.ok.peer, this.corpus.keys[1].publicKey)) {
        failures.push({ kind: "crash", phase: "handshake", error: "authenticated a peer other than the one whose PROOF verified", stack: "" });
      }
      const kept = frames.slice(frames.length - early);
      if (s.ok.early.length !== kept.length || kept.some((b, k) => !bytesEqual(b, s.ok.early[k]))) {
        failures.push({ kind: "crash", phase: "handshake", error: `authenticated, but kept ${s.ok.early.length} of the ${kept.length} frames sent after the PROOF`, stack: "" });
      }
    } else if (s && "err" in s && !(s.err instanceof GrapevineError)) {
      failures.push(failure("crash", "handshake:reject", s.err));
      outcome = "crash";
    }
    return { failures, ms, outcome, bytesOut: link.sent.reduce((n, b) => n + b.length, 0) };
  }
}
