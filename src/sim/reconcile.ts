/**
 * The `reconcile` scenario: two engines sharing many origins with a few differences, driven
 * directly (no simulator); the bytes they send to agree with the Merkle digest trie against the
 * same exchange with flat digests.
 *
 * @module
 */

import { Engine, PROTOCOL_VERSION } from "../core/engine.ts";
import { seededRng } from "../core/random.ts";
import { DEFAULT_OPTIONS } from "../core/options.ts";
import { signingBytes } from "../crypto/context.ts";
import { MerkleTree, leafHash } from "../crypto/merkle.ts";
import type { SignatureSuite } from "../crypto/types.ts";
import { encodeFrame, FRAME } from "../wire/frames.ts";
import { encodeLeaf, encodeRootBody } from "../wire/records.ts";
import { round4, simKeyPair, type ScenarioOptions } from "./scenarios.ts";
import { toHex } from "../bytes.ts";

/** Report of the `reconcile` scenario. */
export interface ReconcileReport {
  scenario: "reconcile";
  origins: number;
  differences: number;
  merkle_bytes: number;
  merkle_frames: number;
  flat_bytes: number;
  flat_frames: number;
  ratio_merkle_to_flat: number;
  reconciled: boolean;
  wall_ms: number;
  crypto: string;
}

/**
 * Two nodes hold the same `origins` signed maps; `differences` of them are one version newer on
 * one side. Counts the bytes both nodes send until they agree, once with the Merkle digest trie
 * (the default) and once with flat digests (the whole digest in one frame), in the same run.
 */
export async function runReconcile(o: ScenarioOptions & { origins: number; differences: number }): Promise<ReconcileReport> {
  const started = o.clock();
  const suite = o.suite;
  const network = "grapevine";
  const make = async (i: number, version: number) => {
    const kp = simKeyPair(o.seed, 10_000_000 + i);
    const leaf = encodeLeaf({ key: "k", version, value: new Uint8Array([version]) });
    const tree = MerkleTree.fromLeafHashes([leafHash(leaf)]);
    const body = encodeRootBody({ origin: kp.publicKey, generation: 1, version, root: tree.root, count: 1, floor: 0, flags: 0 });
    const signature = await suite.sign(kp, signingBytes("root", network, PROTOCOL_VERSION, body));
    return { id: toHex(kp.publicKey), delta: { rootBody: body, signature, from: 0, through: version, full: true, entries: [{ leaf, index: 0, proof: [] }] } };
  };
  const base = await Promise.all(Array.from({ length: o.origins }, (_, i) => make(i, 1)));
  const newer = await Promise.all(Array.from({ length: o.differences }, (_, i) => make(i * 7 % o.origins, 2)));
  const runOnce = async (digestEntriesMax: number) => {
    const opts = { network, digestEntriesMax, digestRowsBeforeSummaryMax: digestEntriesMax, intervalMs: 1000, originsMax: o.origins + 10, storeBytesMax: Math.max(DEFAULT_OPTIONS.storeBytesMax, (o.origins + 10) * 4096), pendingVerifyMax: o.origins * 2 + 10, pendingVerifyPerLinkMax: o.origins * 2 + 10 };
    const a = new Engine({ publicKey: simKeyPair(o.seed, 1).publicKey, generation: 1, random: seededRng(o.seed), now: 0, options: opts });
    const b = new Engine({ publicKey: simKeyPair(o.seed, 2).publicKey, generation: 1, random: seededRng(o.seed + 1), now: 0, options: opts });
    const load = async (e: Engine, made: typeof base) => {
      const deltas = made.map((m) => m.delta);
      e.linkUp(0, 99, null);
      for (let k = 0; k < deltas.length; k += 200) {
        e.receive(0, 99, encodeFrame({ type: FRAME.DELTA, flags: 0, origins: deltas.slice(k, k + 200), replyTo: 0 }));
        await pumpJobs(e, suite);
      }
      while (e.pollTransmit());
      e.linkDown(0, 99);
    };
    await load(a, base);
    await load(b, base);
    await load(a, newer);
    while (a.pollEvent());
    while (b.pollEvent());
    let bytes = 0;
    let frames = 0;
    a.linkUp(0, 1, b.id);
    b.linkUp(0, 1, a.id);
    // Only a's opening digest counts: b's is dropped so one exchange is measured.
    while (b.pollTransmit());
    for (let guard = 0; guard < 1000; guard++) {
      let moved = false;
      for (const [from, to] of [[a, b], [b, a]] as const) {
        await pumpJobs(from, suite);
        for (let t; (t = from.pollTransmit()); ) {
          bytes += t.bytes.length;
          frames++;
          to.receive(0, 1, t.bytes);
          moved = true;
        }
      }
      if (!moved) break;
    }
    const agree = newer.every((d) => {
      const id = d.id;
      const pa = a.store.position(id);
      const pb = b.store.position(id);
      return !!pa && !!pb && pa.have === pb.have && pa.have === 2;
    });
    return { bytes, frames, agree };
  };
  const merkle = await runOnce(256);
  const flat = await runOnce(o.origins + 10);
  return {
    scenario: "reconcile",
    origins: o.origins,
    differences: o.differences,
    merkle_bytes: merkle.bytes,
    merkle_frames: merkle.frames,
    flat_bytes: flat.bytes,
    flat_frames: flat.frames,
    ratio_merkle_to_flat: round4(merkle.bytes / flat.bytes),
    reconciled: merkle.agree && flat.agree,
    wall_ms: Math.round(o.clock() - started),
    crypto: o.cryptoName,
  };
}

async function pumpJobs(e: Engine, suite: SignatureSuite): Promise<void> {
  for (;;) {
    const jobs = [];
    for (let j; (j = e.pollJob()); ) jobs.push(j);
    if (!jobs.length) return;
    const results = await Promise.all(jobs.map((j) => (j.kind === "verify" ? suite.verify(j.publicKey, j.message, j.signature) : Promise.resolve(new Error("no key")))));
    jobs.forEach((j, k) => e.completeJob(0, j.id, results[k]));
  }
}
