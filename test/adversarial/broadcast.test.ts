// Hostile peers against broadcast: what a GRAFT can make a node send, and whether a flood of
// announced ids that never arrive can crowd out the repair of honest messages.
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/bytes.ts";
import { DEFAULT_OPTIONS } from "../../src/core/options.ts";
import { decodeFrame, encodeFrame, FRAME } from "../../src/wire/frames.ts";
import { frameLimitsFor } from "../../src/core/engine.ts";
import { World } from "../core/harness.ts";
import { attachAttacker, outsiderKey, report } from "./helpers.ts";

const LIMITS = frameLimitsFor(DEFAULT_OPTIONS);
const ATTACKER = 99;

function idsOf(w: World, node: number): Uint8Array[] {
  return w.events.filter((x) => x.node === node && x.event.type === "message").map((x) => fromHex((x.event as { message: { id: string } }).message.id));
}

describe("adversarial: GRAFT amplification", () => {
  it("GRAFTs are answered once per id per frame, at most graftRetriesMax times per link, within the link's answer budget", async () => {
    const w = new World(1, { intervalMs: 1_000_000, membership: false });
    const victim = w.engines[0];
    const payload = new Uint8Array(16_384).fill(7);
    for (let i = 0; i < 200; i++) victim.publish(w.now, "t", payload);
    await w.settle();
    const ids = idsOf(w, 0);
    expect(ids.length).toBe(200);
    const a = attachAttacker(w, 0, ATTACKER, outsiderKey(1));
    await w.settle();
    const before = a.bytesSent();
    // 18 GRAFTs of every id at once, then again each second for 4 s: the attack as measured.
    let received = 0;
    let penalised = 0;
    for (let s = 0; s < 5; s++) {
      for (let k = 0; k < 18; k++) {
        const frame = encodeFrame({ type: FRAME.GRAFT, ids });
        received += frame.length;
        a.send(frame);
      }
      await w.settle();
      if (s < 4) await w.round(1000);
    }
    // One GRAFT that names an id twice: malformed, penalised, answers nothing.
    const dup = encodeFrame({ type: FRAME.GRAFT, ids: [ids[0], ids[0]] });
    const sentBeforeDup = a.bytesSent();
    a.send(dup);
    await w.settle();
    penalised = w.penalties(0).filter((p) => p.code === "WIRE_SHAPE").length;
    const answered = a.sent.slice(0).reduce((s, b) => s + b.length, 0) - before;
    const perMessage = new Map<string, number>();
    for (const bytes of a.sent) {
      const f = decodeFrame(bytes, LIMITS);
      if (f.type === FRAME.GOSSIP) perMessage.set(toHex(f.body), (perMessage.get(toHex(f.body)) ?? 0) + 1);
    }
    const maxCopies = Math.max(...perMessage.values());
    const budget = DEFAULT_OPTIONS.answerBytesPerSecondMax;
    report("graft-amplification", {
      graft_bytes_received: received, bytes_answered: answered, ratio: +(answered / received).toFixed(2),
      answer_budget_bytes: budget * 5, most_copies_of_one_message: maxCopies, penalties_for_duplicate_ids: penalised,
    });
    // 5 s of virtual time: at most the budget's burst plus 4 s of refill (and one frame of overshoot).
    expect(answered).toBeLessThanOrEqual(budget * 5 + 20_000);
    expect(maxCopies).toBeLessThanOrEqual(DEFAULT_OPTIONS.graftRetriesMax);
    expect(a.bytesSent()).toBe(sentBeforeDup);
    expect(penalised).toBe(1);
  });
});

describe("adversarial: announcement flood", () => {
  /**
   * 0: victim; 1..3: honest neighbours; 4: honest publisher linked to 1..3; 99: attacker. The
   * victim loses the first copy of every message from each neighbour, so each honest message must
   * be repaired: learnt from a round's announcement (IHAVE), requested (GRAFT) and sent again; one
   * frame in ten between honest nodes is lost as well.
   */
  async function scenario(flooding: boolean) {
    const w = new World(5, { intervalMs: 500, membership: false });
    for (const h of [1, 2, 3]) {
      w.link(0, h);
      w.link(4, h);
    }
    await w.settle();
    const firstCopy = new Set<string>();
    const inner = w.filter;
    let frames = 0;
    w.filter = (from, to, bytes) => {
      // Loss elsewhere too (one frame in ten between honest nodes), as on a lossy mesh: nodes see
      // it and re-announce, which is how a node whose copies were all lost learns of a message.
      if (from !== 0 && to !== 0 && to !== ATTACKER && ++frames % 10 === 0) return false;
      if (to === 0 && bytes[1] === FRAME.GOSSIP) {
        const f = decodeFrame(bytes, LIMITS);
        if (f.type === FRAME.GOSSIP && !firstCopy.has(`${from}:${toHex(f.body)}`)) {
          firstCopy.add(`${from}:${toHex(f.body)}`);
          return false;
        }
      }
      return inner(from, to, bytes);
    };
    const a = attachAttacker(w, 0, ATTACKER, outsiderKey(2));
    let fake = 0;
    const flood = () => {
      if (!flooding) return;
      for (let k = 0; k < 10; k++) {
        const ids: Uint8Array[] = [];
        for (let j = 0; j < 1024; j++, fake++) {
          const id = new Uint8Array(32);
          new DataView(id.buffer).setUint32(0, fake);
          id[31] = 0xee;
          ids.push(id);
        }
        a.send(encodeFrame({ type: FRAME.IHAVE, ids }));
      }
    };
    for (let m = 0; m < 10; m++) {
      flood();
      w.engines[4].publish(w.now, "t", new TextEncoder().encode(`honest-${m}`));
      for (let t = 0; t < 10; t++) {
        await w.round(50);
        flood();
      }
    }
    for (let t = 0; t < 100; t++) {
      await w.round(100);
      flood();
    }
    const published = w.events.filter((x) => x.node === 4 && x.event.type === "message").map((x) => (x.event as { message: { id: string } }).message.id);
    const got = new Set(w.events.filter((x) => x.node === 0 && x.event.type === "message").map((x) => (x.event as { message: { id: string } }).message.id));
    const b = w.engines[0].broadcast.stats;
    return {
      fake_ids_announced: fake, honest_published: published.length, honest_delivered: published.filter((id) => got.has(id)).length,
      grafts_to_attacker: a.sent.filter((x) => x[1] === FRAME.GRAFT).length, announcements_ignored: b.announcementsIgnored,
      missing_given_up: b.missingGivenUp,
    };
  }

  it("a link announcing tens of thousands of ids it never delivers does not crowd out the repair of honest messages", async () => {
    const quiet = await scenario(false);
    const flooded = await scenario(true);
    report("announcement-flood", { without_flood: quiet, with_flood: flooded });
    expect(quiet.honest_published).toBe(10);
    expect(quiet.honest_delivered).toBe(10);
    expect(flooded.honest_published).toBe(10);
    expect(flooded.honest_delivered).toBe(10);
    // The attacker's share shrinks as its requests go unanswered: GRAFTs to it stay a small
    // multiple of its share, not one per id it announced.
    expect(flooded.grafts_to_attacker).toBeLessThan(flooded.fake_ids_announced / 100);
  });
});
