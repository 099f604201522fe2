// Mutated frames of every type, in `npm test`: the corpus the fuzzer captures from a seeded world
// (every frame type and form, or it fails naming what is missing), mutated as `grapevine fuzz`
// mutates it, and fed to a victim engine mid-conversation, the decoders, the handshake and a real
// node's link handler. Every frame either decodes and is handled, or is refused with a
// GrapevineError and its link penalised; nothing else is thrown, and the victim never sends a frame
// its own decoders refuse. A small budget; the long run is `npx grapevine fuzz`.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DigestRows, digestRowsPart } from "../../src/core/digest-rows.ts";
import { ALL_PARTS } from "../../src/core/engine.ts";
import { seededRng } from "../../src/core/random.ts";
import type { Store } from "../../src/core/store.ts";
import type { SignatureSuite } from "../../src/crypto/types.ts";
import { captureCorpus, type Corpus, type CorpusFrame } from "../../cli/fuzz/corpus.ts";
import { knownFinding } from "../../cli/fuzz/known.ts";
import { mutate } from "../../cli/fuzz/mutate.ts";
import { FRAME_TYPES, missingFromCorpus } from "../../cli/fuzz/registry.ts";
import { checkDecoders, DriverTarget, EngineTarget, type Failure, HandshakeTarget } from "../../cli/fuzz/targets.ts";
import { toHex } from "../../src/bytes.ts";
import { suite as sharedSuite } from "../core/harness.ts";

// Replay a failure with the printed seed: FC_SEED=<seed> npx vitest run test/fuzz/frames-fuzz.test.ts
const seed = Number(process.env.FC_SEED ?? 0xf2a3e);
console.log(`frames-fuzz.test.ts: fast-check seed ${seed} (replay: FC_SEED=${seed} npx vitest run test/fuzz/frames-fuzz.test.ts)`);

const RUNS_PER_TYPE = 30;
/** Frames between two rebuilds of the victim, as in the CLI's epochs. */
const RESET_EVERY = 64;

let suite: SignatureSuite;
let corpus: Corpus;
let engine: EngineTarget;
let handshake: HandshakeTarget;
let driver: DriverTarget;
let fed = 0;

beforeAll(async () => {
  suite = await sharedSuite();
  corpus = await captureCorpus(suite, 1);
  engine = new EngineTarget(corpus, suite);
  engine.reset();
  handshake = new HandshakeTarget(corpus, suite);
  driver = new DriverTarget(corpus, suite);
  await driver.start();
}, 60_000);

afterAll(async () => {
  await driver?.stop();
});

/** Failures that are not a finding already written down (cli/fuzz/known.ts, test/adversarial/fuzz-findings.test.ts). */
const unknown = (fs: readonly Failure[]) => fs.filter((f) => knownFinding(f) === null);

async function mutated(src: CorpusFrame, mutationSeed: number, peer: number): Promise<{ bytes: Uint8Array; mutations: string[] }> {
  return mutate(src, {
    rng: seededRng(mutationSeed), corpus: corpus.frames, keys: corpus.keys, messageIds: corpus.messageIds, victim: corpus.keys[0].publicKey, victimGeneration: 1,
    sender: corpus.keys[peer], network: corpus.network, suite,
  });
}

describe("the fuzz corpus", () => {
  it("holds every registered frame type and every listed form, captured from real code", () => {
    expect(missingFromCorpus(corpus.frames)).toEqual([]);
    expect(new Set(corpus.frames.map((f) => f.type.name))).toEqual(new Set(FRAME_TYPES.map((t) => t.name)));
    expect(corpus.frames.every((f) => ["world", "handshake", "node"].includes(f.source))).toBe(true);
  });

  it("names what is missing when a type or a form was not captured", () => {
    const partial = corpus.frames.filter((f) => f.type.name !== "NACK" && !(f.type.name === "GRAFT" && f.variants.includes("empty")));
    expect(missingFromCorpus(partial)).toEqual(["NACK (type 11)", "GRAFT empty"]);
  });

  it("is the same on every capture", async () => {
    const again = await captureCorpus(suite, 1);
    expect(again.frames.map((f) => toHex(f.bytes))).toEqual(corpus.frames.map((f) => toHex(f.bytes)));
  }, 60_000);

  it("the victim rebuilt from its inputs sends what it sent in the capture (the engine is deterministic)", () => {
    expect(() => corpus.world.rebuild(corpus.victim)).not.toThrow();
    // A rebuild cut one input short must not match: the check compares something.
    expect(() => corpus.world.rebuild({ ...corpus.victim, logLength: corpus.victim.logLength - 40 })).toThrow(/not deterministic/);
  });

  it("the captured handshake completes, so mutated HELLOs and PROOFs are judged against a success", async () => {
    expect((await handshake.run([handshake.hello, handshake.proof])).outcome).toBe("ok");
    // A frame right behind the PROOF is kept for the driver, and the target checks that it was.
    const prune = corpus.frames.find((f) => f.type.name === "PRUNE")!.bytes;
    expect(await handshake.run([handshake.hello, handshake.proof, prune], 1)).toMatchObject({ outcome: "ok", failures: [] });
  });
});

describe("a victim that keeps its digest in one table (digestRowsPart, a lite tab's)", () => {
  // Rebuilt from the same inputs it sends the same bytes as the trie's victim (the rebuild checks
  // it), so the corpus's conversation holds; then the digest and scope frames that reach its index.
  const rowsVictim = () => new EngineTarget(corpus, suite, () => corpus.world.rebuild(corpus.victim, { ...ALL_PARTS, digest: digestRowsPart }));

  it("is rebuilt to the very frames the run sent", () => {
    const target = rowsVictim();
    expect(() => target.reset()).not.toThrow();
    expect((target.engine.store as Store).trie).toBeInstanceOf(DigestRows);
  });

  for (const name of ["DIGEST", "TREE", "DELTA", "SCOPED"]) {
    it(`${name}: handled, or refused with a GrapevineError and penalised`, async () => {
      const target = rowsVictim();
      const frames = corpus.frames.filter((f) => f.type.name === name);
      expect(frames.length).toBeGreaterThan(0);
      let n = 0;
      await fc.assert(
        fc.asyncProperty(fc.nat(), fc.integer(), async (pickIndex, mutationSeed) => {
          if (n++ % RESET_EVERY === 0) target.reset();
          const src = frames[pickIndex % frames.length];
          const peer = target.linkFor(src.from, pickIndex).peer;
          const m = await mutated(src, mutationSeed, peer);
          const failures = (await target.feed(peer, m.bytes, mutationSeed)).failures;
          expect(unknown(failures), `${name} [${m.mutations.join(" + ")}] ${toHex(m.bytes).slice(0, 400)}`).toEqual([]);
        }),
        { seed, numRuns: RUNS_PER_TYPE },
      );
    }, 60_000);
  }
});

describe("mutated frames of every type: handled, or refused with a GrapevineError and penalised", () => {
  for (const t of FRAME_TYPES) {
    it(`${t.name} (type ${t.code})`, async () => {
      const frames = corpus.frames.filter((f) => f.type.name === t.name);
      await fc.assert(
        fc.asyncProperty(fc.nat(), fc.integer(), async (pickIndex, mutationSeed) => {
          if (fed++ % RESET_EVERY === 0) engine.reset();
          const src = frames[pickIndex % frames.length];
          const peer = t.layer === "link" ? 1 : engine.linkFor(src.from, pickIndex).peer;
          const m = await mutated(src, mutationSeed, peer);
          const where = `${t.name} [${m.mutations.join(" + ")}] ${toHex(m.bytes).slice(0, 400)}`;
          const failures: Failure[] = [...checkDecoders(m.bytes, engine.engine).failures];
          if (t.layer === "engine") failures.push(...(await engine.feed(peer, m.bytes, mutationSeed)).failures);
          else failures.push(...(await driver.feed(m.bytes)).failures);
          if (t.name === "HELLO") failures.push(...(await handshake.run([m.bytes, handshake.proof])).failures);
          else if (t.name === "PROOF") failures.push(...(await handshake.run([handshake.hello, m.bytes])).failures);
          else if (pickIndex % 4 === 0) failures.push(...(await handshake.run([handshake.hello, handshake.proof, m.bytes], 1)).failures);
          expect(unknown(failures), where).toEqual([]);
        }),
        { seed, numRuns: RUNS_PER_TYPE },
      );
    }, 60_000);
  }
});
