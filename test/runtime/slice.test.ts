// The thread's time slice (src/runtime/slice.ts): received frames (inbox.ts), results of checks
// (jobs.ts) and timers run at once while the slice lasts and wait for a later turn after it, so a
// burst cannot hold the event loop; what waits is bounded, keeps each link's order, and a link's
// frames are handled before its close.
import { describe, expect, it } from "vitest";
import { createMemoryLinkPair, createNode, type GrapevineNode, type Link } from "../../mod.ts";
import { resolveOptions } from "../../src/core/options.ts";
import type { SignatureSuite } from "../../src/crypto/types.ts";
import { INBOX_BYTES_MAX, INBOX_FRAMES_MAX, Inbox } from "../../src/runtime/inbox.ts";
import { Jobs } from "../../src/runtime/jobs.ts";
import { inTurn, runTimed, SLICE_MS } from "../../src/runtime/slice.ts";
import { keyPair } from "../core/harness.ts";
import { until } from "../helpers/until.ts";

/** Holds the thread for `ms` (work that takes that long). */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** Counts turns of the event loop (one per check phase) until stopped; `now` is the current one. */
function turns(): { now: number; stop: () => void } {
  const t = { now: 0, running: true, stop: () => void (t.running = false) };
  const tick = () => {
    t.now++;
    if (t.running) setImmediate(tick);
  };
  setImmediate(tick);
  return t;
}

/** Waits until the slice has started over (a turn passed with nothing left waiting). */
async function fresh(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

/** Largest number of pieces that ran in one turn. */
function mostInOneTurn(turnOf: number[]): number {
  const per = new Map<number, number>();
  for (const t of turnOf) per.set(t, (per.get(t) ?? 0) + 1);
  return Math.max(...per.values());
}

const PIECE_MS = 3;
/** Pieces of PIECE_MS a slice holds: it ends at the first that reaches SLICE_MS. */
const PER_SLICE = Math.ceil(SLICE_MS / PIECE_MS);

describe("received frames", () => {
  it("are handled at once while the slice lasts, then wait for later turns, each link in order, links taking turns", async () => {
    await fresh();
    const t = turns();
    const handled: { link: string; n: number; turn: number }[] = [];
    const box = (link: string) => new Inbox((b) => (busy(PIECE_MS), handled.push({ link, n: b[0], turn: t.now })), 1 << 20);
    const a = box("a"), b = box("b");
    for (let n = 0; n < 10; n++) a.receive(Uint8Array.of(n)), b.receive(Uint8Array.of(n));
    const atOnce = handled.length; // pieces take at least PIECE_MS (longer on a loaded machine)
    expect(atOnce).toBeGreaterThanOrEqual(1);
    expect(atOnce).toBeLessThanOrEqual(PER_SLICE);
    expect(a.size + b.size).toBe(20 - atOnce); // the rest wait: the slice is spent
    await until(() => handled.length === 20, 5000);
    t.stop();
    for (const link of ["a", "b"]) expect(handled.filter((h) => h.link === link).map((h) => h.n)).toEqual([...Array(10).keys()]);
    expect(mostInOneTurn(handled.map((h) => h.turn))).toBeLessThanOrEqual(PER_SLICE + 1);
    const waited = handled.slice(atOnce).map((h) => h.link).join("");
    expect(waited).toMatch(/^(ab)+a?b?$|^(ba)+b?a?$/); // one frame each, in turn
  });

  it("wait only up to their bounds: past them a link's frames are handled at once, in order", async () => {
    await fresh();
    const handled: number[] = [];
    runTimed(() => busy(SLICE_MS)); // the slice is spent
    const byCount = new Inbox((b) => handled.push(b[0]), 1 << 20);
    for (let n = 0; n < INBOX_FRAMES_MAX; n++) byCount.receive(Uint8Array.of(n));
    expect(handled).toEqual([]);
    byCount.receive(Uint8Array.of(INBOX_FRAMES_MAX)); // one past the count: all of them now
    expect(handled).toEqual([...Array(INBOX_FRAMES_MAX + 1).keys()]);
    expect(byCount.size).toBe(0);

    handled.length = 0;
    runTimed(() => busy(SLICE_MS));
    const byBytes = new Inbox((b) => handled.push(b.length), 100);
    byBytes.receive(new Uint8Array(60));
    expect(handled).toEqual([]);
    byBytes.receive(new Uint8Array(50)); // 110 bytes would wait: both now
    expect(handled).toEqual([60, 50]);
    await fresh();
  });

  it("wait at most INBOX_BYTES_MAX over the thread: past it a frame is handled at once", async () => {
    await fresh();
    const handled: number[] = [];
    runTimed(() => busy(SLICE_MS));
    const perLink = 1 << 20;
    const links = Math.ceil(INBOX_BYTES_MAX / perLink) + 1;
    const boxes = Array.from({ length: links }, () => new Inbox((b) => handled.push(b.length), perLink));
    // Each link holds one frame just under its own bound until the thread's bound is reached.
    const frame = perLink - 1;
    const held = Math.floor(INBOX_BYTES_MAX / frame);
    for (let i = 0; i < held; i++) boxes[i].receive(new Uint8Array(frame));
    expect(handled).toEqual([]);
    boxes[held].receive(new Uint8Array(frame)); // would take the thread past its bound
    expect(handled).toEqual([frame]);
    await until(() => handled.length === held + 1, 5000);
  });

  it("that wait on a link the peer closes are handled before the link goes down (a farewell is not lost)", async () => {
    const nodes: GrapevineNode[] = await Promise.all([0, 1].map((i) => createNode({ network: "slice", keyPair: keyPair(i), seed: i })));
    const [a, b] = nodes;
    const [la, lb] = createMemoryLinkPair();
    const gate = new Gate(lb);
    const [ha, hb] = await Promise.all([a.connect(la), b.connect(gate)]);
    const got: string[] = [];
    b.addEventListener("direct", (e) => got.push(new TextDecoder().decode((e as CustomEvent<{ payload: Uint8Array }>).detail.payload)));
    gate.held = [];
    for (const text of ["one", "two", "three"]) a.sendTo(b.id, new TextEncoder().encode(text));
    ha.close("bye");
    await until(() => gate.heldClose !== null, 2000);
    // One read brings the frames and the close while the thread's slice is spent.
    runTimed(() => busy(SLICE_MS));
    gate.release();
    expect(await hb.closed).toBe("closed by peer: bye");
    expect(got).toEqual(["one", "two", "three"]);
    await Promise.all(nodes.map((n) => n.close()));
  });
});

/** A link end that holds what arrives (frames, the close) while `held` is set, and lets it all in at once. */
class Gate implements Link {
  held: Uint8Array[] | null = null;
  heldClose: string | null = null;
  #onmessage: ((bytes: Uint8Array) => void) | null = null;
  #onclose: ((reason: string) => void) | null = null;
  constructor(readonly inner: Link) {
    inner.onmessage = (bytes) => (this.held ? this.held.push(bytes) : this.#onmessage?.(bytes));
    inner.onclose = (reason) => (this.held ? (this.heldClose = reason) : this.#onclose?.(reason));
  }
  get bufferedAmount(): number {
    return this.inner.bufferedAmount;
  }
  get onmessage() {
    return this.#onmessage;
  }
  set onmessage(f) {
    this.#onmessage = f;
  }
  get onclose() {
    return this.#onclose;
  }
  set onclose(f) {
    this.#onclose = f;
  }
  send(bytes: Uint8Array): void {
    this.inner.send(bytes);
  }
  close(reason?: string): void {
    this.inner.close(reason);
  }
  release(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const bytes of held) this.#onmessage?.(bytes);
    if (this.heldClose !== null) this.#onclose?.(this.heldClose);
  }
}

describe("work a promise waits on (inTurn: a new key's check)", () => {
  it("runs at once while the slice lasts, else at a later turn; resolves with its value, rejects with its error, and counts in the slice", async () => {
    await fresh();
    const t = turns();
    const ranAt: number[] = [];
    const first = inTurn(() => (ranAt.push(t.now), busy(SLICE_MS), 1)); // spends the slice
    expect(ranAt).toEqual([0]); // ran in the caller's task
    const second = inTurn(() => (ranAt.push(t.now), 2));
    expect(ranAt).toEqual([0]); // the slice is spent: it waits
    const third = inTurn((): number => {
      throw new RangeError("bad key");
    });
    expect(await first).toBe(1);
    expect(await second).toBe(2);
    await expect(third).rejects.toThrow(RangeError);
    expect(ranAt[1]).toBeGreaterThan(0); // at a later turn
    t.stop();
  });
});

describe("results of checks", () => {
  /** A suite whose checks all finish at once (as a thread pool's burst does). */
  const instant: SignatureSuite = {
    backend: "webcrypto",
    sign: () => Promise.resolve(new Uint8Array(64)),
    verify: () => Promise.resolve(true),
  };

  it("are handed back within the slice, over every runner of the thread, first finished first", async () => {
    await fresh();
    const t = turns();
    const options = resolveOptions({ network: "jobs" });
    const done: { r: number; id: number; turn: number }[] = [];
    const runners = [0, 1].map((r) => new Jobs(instant, keyPair(r), options, (id, result) => {
      expect(result).toBe(true);
      busy(PIECE_MS);
      done.push({ r, id, turn: t.now });
    }));
    const total = 20;
    for (let id = 0; id < total; id++) {
      runners[id % 2].run({ kind: "verify", id, publicKey: new Uint8Array(32), message: new Uint8Array(1), signature: new Uint8Array(64) });
    }
    await Promise.all(runners.map((j) => j.idle()));
    t.stop();
    expect(done.map((d) => d.id)).toEqual([...Array(total).keys()]);
    expect(done.every((d) => d.r === d.id % 2)).toBe(true);
    expect(mostInOneTurn(done.map((d) => d.turn))).toBeLessThanOrEqual(PER_SLICE + 1);
    expect(new Set(done.map((d) => d.turn)).size).toBeGreaterThanOrEqual(Math.floor(total / (PER_SLICE + 1)));
  });
});
