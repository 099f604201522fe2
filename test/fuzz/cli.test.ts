// `grapevine fuzz`: a short run has the promised report and exits 0 on the current code (known
// findings aside, each tracked by a failing test); a victim with bugs planted in it shows that the
// run can fail: a crash, a refused frame left unpunished, a frame its peers would refuse and a
// slow frame are each reported with a replay command that reproduces them.
import { performance } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { KNOWN_FINDINGS } from "../../cli/fuzz/known.ts";
import { FRAME_TYPES } from "../../cli/fuzz/registry.ts";
import { type FuzzReport, runFuzz } from "../../cli/fuzz/run.ts";
import type { Corpus } from "../../cli/fuzz/corpus.ts";

describe("grapevine fuzz (command line)", () => {
  it("prints the seed first and one JSON report last, and exits 0 on the current code", async () => {
    const { code, out } = await runCli(["fuzz", "--frames", "2000", "--seed", "20260101", "--json"]);
    expect(out[0]).toMatch(/^seed: 20260101 {2}\(replay: npx grapevine fuzz --frames 2000 --seed 20260101\)/);
    expect(out).toHaveLength(2);
    const r = JSON.parse(out[1]) as FuzzReport;
    for (const k of ["seed", "frames", "per_type", "crashes", "hangs", "slowest", "amplification", "queues", "memory", "targets", "mutations", "ok"]) {
      expect(r).toHaveProperty(k);
    }
    expect(r.frames).toBe(2000);
    expect(r.seed).toBe(20260101);
    // Every frame type was drawn, and the engine's types all reached the engine.
    expect(Object.keys(r.per_type).sort()).toEqual(FRAME_TYPES.map((t) => t.name).sort());
    for (const t of FRAME_TYPES) expect(r.amplification[t.name]?.target).toBe(t.layer === "engine" ? "engine" : "driver");
    expect(r.targets.engine).toBeGreaterThan(1000);
    expect(r.targets.driver).toBeGreaterThan(100);
    expect(r.handshakes.ok).toBeGreaterThan(0);
    expect(r.handshakes.refused).toBeGreaterThan(0);
    // Most mutated frames are refused, and a refused frame is penalised (checked per frame).
    const total = Object.values(r.per_type).reduce((n, t) => n + t.penalised, 0);
    expect(total).toBeGreaterThan(500);
    expect(r.slowest.length).toBe(10);
    for (const s of r.slowest) expect(s.ms).toBeGreaterThanOrEqual(0);
    for (const c of r.crashes) {
      expect(c.replay).toMatch(/^npx grapevine fuzz --seed 20260101 --replay \d+$/);
      expect(KNOWN_FINDINGS.map((k) => k.id)).toContain(c.known);
    }
    for (const h of r.hangs) expect(h.confirmed === false || h.known !== null).toBe(true);
    expect(r.ok).toBe(true);
    expect(code).toBe(0);
  }, 240_000);

  it("bad flags exit 2 with a clear message", async () => {
    let r = await runCli(["fuzz", "--frames", "many"]);
    expect(r.code).toBe(2);
    expect(r.err.join("\n")).toMatch(/--frames: expected an integer/);
    r = await runCli(["fuzz", "--frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.err.join("\n")).toMatch(/frobnicate/);
    r = await runCli(["fuzz", "--frames", "10", "--seed", "1", "--types", "graft,bogus", "--no-driver", "--no-handshake"]);
    expect(r.code).toBe(2);
    expect(r.err.join("\n")).toMatch(/unknown frame type bogus/);
  }, 60_000);
});

/** A victim with bugs planted: what the fuzzer must report. */
function plantedVictim(c: Corpus) {
  const e = c.world.rebuild(c.victim);
  const receive = e.receive.bind(e);
  let nacks = 0;
  e.receive = (now, link, bytes) => {
    if (bytes[0] === 0x83 && bytes[1] === 0x08) throw new TypeError("planted: PING handler bug");
    if (bytes[0] === 0x82 && bytes[1] === 0x0b && nacks++ === 0) {
      const end = performance.now() + 120;
      while (performance.now() < end); // planted: the first NACK of each victim costs 120 ms
    }
    if (bytes[0] === 0x82 && bytes[1] === 0x05) return; // planted: IHAVEs dropped unread, never penalised
    receive(now, link, bytes);
  };
  const pollTransmit = e.pollTransmit.bind(e);
  e.pollTransmit = () => {
    const t = pollTransmit();
    // planted: every DIGEST goes out with a byte too many (a victim sends digests on its own
    // rounds and in answer, whatever frames the fuzzer draws)
    return t && t.bytes[0] === 0x86 && t.bytes[1] === 0x01 ? { linkId: t.linkId, bytes: Uint8Array.of(...t.bytes, 0) } : t;
  };
  return e;
}

describe("the fuzzer finds planted bugs", () => {
  const seed = Number(process.env.GRAPEVINE_SEED ?? 77);
  it(`reports each with a replay command that reproduces it, and fails the run (seed ${seed})`, async () => {
    const o = { frames: 300, seed, epoch: 32, driver: false, handshake: false, types: ["ping", "nack", "digest", "ihave"], buildVictim: plantedVictim };
    const r = await runFuzz(o);
    expect(r.ok).toBe(false);
    const crash = r.crashes.find((c) => c.kind === "crash");
    expect(crash).toMatchObject({ target: "engine", phase: "receive", type: "PING", error: "TypeError: planted: PING handler bug", reproduced: true, known: null });
    expect(crash!.replay).toBe(`npx grapevine fuzz --seed ${seed} --replay ${crash!.index} --types ping,nack,digest,ihave --epoch 32 --no-driver --no-handshake`);
    // Minimised to the smallest frame that still trips it: the array head and the type.
    expect(crash!.minimized_hex).toMatch(/^8308/);
    expect(crash!.minimized_hex!.length).toBeLessThan(crash!.hex.length + 1);
    expect(r.crashes.find((c) => c.kind === "unpenalised")).toMatchObject({ type: "IHAVE", known: null });
    expect(r.crashes.find((c) => c.kind === "bad-output")).toMatchObject({ phase: "sent DIGEST", known: null });
    const slow = r.hangs.find((h) => h.reason === "time" && h.type === "NACK");
    expect(slow).toMatchObject({ target: "engine", confirmed: true });
    expect(slow!.retimed_ms[0]).toBeGreaterThan(100);
    // The replay of the crash's index fails the same way.
    const replayed = await runFuzz({ ...o, replay: crash!.index });
    expect(replayed.replayed!.outcomes.failures).toContainEqual(expect.objectContaining({ target: "engine", error: "TypeError: planted: PING handler bug" }));
  }, 120_000);
});
