import { PROTOCOL_VERSION } from "../../src/core/engine.ts";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/bytes.ts";
import { sha256 } from "../../src/crypto/hash.ts";
import { signingBytes } from "../../src/crypto/context.ts";
import type { EngineEvent } from "../../src/core/events.ts";
import type { EngineOptions } from "../../src/core/options.ts";
import { encodeFrame, FRAME } from "../../src/wire/frames.ts";
import { encodeMessageBody } from "../../src/wire/records.ts";
import { enc, World } from "./harness.ts";

type Msg = Extract<EngineEvent, { type: "message" }>["message"];

function messages(w: World, node?: number): Msg[] {
  return w.events.filter((x) => x.event.type === "message" && (node === undefined || x.node === node)).map((x) => (x.event as { message: Msg }).message);
}

/** Advances time in small steps so IHAVE batching and GRAFT timeouts play out. */
/** Links `from` announce (IHAVE) the message with hex id `id` to node `to`, in that order. */
function announce(w: World, to: number, from: number[], id: string): void {
  for (const f of from) w.engines[to].receive(w.now, f, encodeFrame({ type: FRAME.IHAVE, ids: [fromHex(id)] }));
}

async function run(w: World, ms: number, step = 50): Promise<void> {
  for (let t = 0; t < ms; t += step) await w.round(step);
}

/** A full mesh of `n` whose eager tree was formed by `warm` messages, published 500 ms apart. */
async function formedTree(n: number, options: Partial<EngineOptions>, warm: number): Promise<World> {
  const w = new World(n, options);
  w.linkAll();
  await w.settle();
  for (let k = 0; k < warm; k++) {
    w.engines[k].publish(w.now, "t", enc(`warm-${k}`));
    await run(w, 500);
  }
  return w;
}

describe("broadcast (Plumtree)", () => {
  it("a published message is delivered exactly once on every node, locally too", async () => {
    const w = new World(6, { intervalMs: 100_000 });
    for (let i = 0; i < 5; i++) w.link(i, i + 1);
    w.link(0, 5); // a ring
    await w.settle();
    w.engines[2].publish(w.now, "news", enc("hello"));
    await run(w, 1000);
    for (let i = 0; i < 6; i++) {
      const got = messages(w, i);
      expect(got.length).toBe(1);
      expect(new TextDecoder().decode(got[0].payload)).toBe("hello");
      expect(got[0].local).toBe(i === 2);
      expect(got[0].topic).toBe("news");
    }
    expect(w.penalties()).toEqual([]);
  });

  it("the eager tree forms by itself: after a few messages each node gets about one copy", async () => {
    const n = 10;
    const w = new World(n, { intervalMs: 100_000 });
    w.linkAll();
    await w.settle();
    for (let k = 0; k < 5; k++) {
      w.engines[k % n].publish(w.now, "t", enc(`warm-${k}`));
      await run(w, 500);
    }
    const before = w.engines.reduce((s, e) => s + e.broadcast.stats.payloadsReceived, 0);
    const m = 20;
    for (let k = 0; k < m; k++) {
      w.engines[(k * 3) % n].publish(w.now, "t", enc(`msg-${k}`));
      await run(w, 200);
    }
    await run(w, 1000);
    const copies = w.engines.reduce((s, e) => s + e.broadcast.stats.payloadsReceived, 0) - before;
    const perNodePerMsg = copies / (m * (n - 1));
    expect(messages(w).length).toBe(25 * n);
    expect(perNodePerMsg).toBeLessThan(1.5); // a full mesh flood would be 8 copies per node
  });

  it("publishers at the same moment on a fresh mesh: no node left off the tree, repairs stop quickly", async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const n = 6;
      const w = new World(n, { intervalMs: 100_000 }, seed);
      w.linkAll();
      await w.settle();
      // Every node publishes at once: copies cross everywhere while the tree forms.
      for (let i = 0; i < n; i++) w.engines[i].publish(w.now, "t", enc(`burst-${i}`));
      await run(w, 2000);
      for (let i = 0; i < n; i++) expect(w.engines[i].broadcast.eagerLinks().length, `seed ${seed} node ${i}`).toBeGreaterThan(0);
      // The shared tree may still be split in places (prunes made at different nodes for crossing
      // messages); the first messages afterwards repair it (GRAFT), and then no repair is needed.
      const grafts = () => w.engines.reduce((s, e) => s + e.broadcast.stats.graftsSent, 0);
      for (let k = 0; k < 6; k++) {
        w.engines[k % n].publish(w.now, "t", enc(`repair-${k}`));
        await run(w, 700);
      }
      const settled = grafts();
      for (let k = 0; k < 12; k++) {
        w.engines[k % n].publish(w.now, "t", enc(`after-${k}`));
        await run(w, 300);
      }
      expect(messages(w).length, `seed ${seed}`).toBe(n * n + 18 * n);
      expect(grafts() - settled, `seed ${seed}`).toBe(0);
    }
  });

  it("a lost eager link is repaired from lazy announcements (IHAVE → GRAFT)", async () => {
    const w = new World(4, { intervalMs: 100_000 });
    w.linkAll();
    await w.settle();
    w.engines[0].publish(w.now, "t", enc("tree"));
    await run(w, 500);
    // From now on every payload sent to node 3 over an eager push is lost, but not GRAFT answers.
    let graftAsked = false;
    w.filter = (from, to, bytes) => {
      if (from === 3 && bytes[1] === FRAME.GRAFT) graftAsked = true;
      return !(to === 3 && bytes[1] === FRAME.GOSSIP && !graftAsked);
    };
    w.engines[1].publish(w.now, "t", enc("repaired"));
    await run(w, 2000);
    expect(graftAsked).toBe(true);
    expect(messages(w, 3).map((m) => new TextDecoder().decode(m.payload))).toContain("repaired");
  });

  it("an announcer that never delivers loses its turn; the message comes from another", async () => {
    const w = new World(3, { intervalMs: 100_000, graftTimeoutMs: 300 });
    w.link(0, 1);
    w.link(2, 1);
    await w.settle();
    // Node 2 never delivers to node 1; node 0 delivers only once node 1 asks for the message by id.
    let asked0 = false;
    w.filter = (from, to, bytes) => {
      if (from === 1 && to === 0 && bytes[1] === FRAME.GRAFT && bytes[2] !== 0x80) asked0 = true; // 0x80: no ids
      return !(to === 1 && bytes[1] === FRAME.GOSSIP && (from === 2 || !asked0));
    };
    w.engines[0].publish(w.now, "t", enc("x"));
    await w.settle();
    const id = messages(w, 0)[0].id;
    announce(w, 1, [2, 0], id); // node 2 (which never delivers to node 1) first, then node 0
    await run(w, 2000);
    expect(messages(w, 1).length).toBe(1);
    expect(w.engines[1].broadcast.stats.graftsSent).toBeGreaterThanOrEqual(2);

    // It has lost its standing: for the next message it announces first, node 0 is asked first.
    const asked: number[] = [];
    w.filter = (from, to, bytes) => {
      if (from === 1 && bytes[1] === FRAME.GRAFT && bytes[2] !== 0x80) asked.push(to);
      return !(to === 1 && bytes[1] === FRAME.GOSSIP && (from === 2 || !asked.includes(0)));
    };
    w.engines[0].publish(w.now, "t", enc("y"));
    await w.settle();
    const id2 = messages(w, 0)[1].id;
    announce(w, 1, [2, 0], id2);
    await run(w, 2000);
    expect(messages(w, 1).length).toBe(2);
    expect(asked).toEqual([0]);
  });

  it("each announcer is asked up to graftRetriesMax times, least-asked first; lost answers in a row do not lose the message", async () => {
    for (const lostAnswers of [5, Infinity]) {
      const w = new World(3, { intervalMs: 100_000, graftTimeoutMs: 300, graftRetriesMax: 3 });
      w.linkAll();
      await w.settle();
      // Every payload to node 1 is lost, except answers to its GRAFTs after the first `lostAnswers`.
      const asked: number[] = [];
      w.filter = (from, to, bytes) => {
        if (from === 1 && bytes[1] === FRAME.GRAFT && bytes[2] !== 0x80) asked.push(to); // 0x80: no ids
        return !(to === 1 && bytes[1] === FRAME.GOSSIP && asked.length <= lostAnswers);
      };
      w.engines[0].publish(w.now, "t", enc("x"));
      await run(w, 500);
      expect(messages(w, 2).length).toBe(1);
      expect(messages(w, 1).length).toBe(0);
      const id = fromHex(messages(w, 0)[0].id);
      // Both holders announce it to node 1.
      w.engines[1].receive(w.now, 0, encodeFrame({ type: FRAME.IHAVE, ids: [id] }));
      w.engines[1].receive(w.now, 2, encodeFrame({ type: FRAME.IHAVE, ids: [id] }));
      await run(w, 15_000);
      const stats = w.engines[1].broadcast.stats;
      if (lostAnswers === 5) {
        // Five answers lost in a row: the sixth request, the last of the two announcers' budgets, gets it.
        expect(messages(w, 1).length).toBe(1);
        expect(asked.length).toBe(6);
        expect(stats.missingGivenUp).toBe(0);
      } else {
        // Nothing ever answers: three requests to each announcer, alternating, then it is given up.
        expect(messages(w, 1).length).toBe(0);
        expect(asked.filter((l) => l === 0).length).toBe(3);
        expect(asked.filter((l) => l === 2).length).toBe(3);
        expect(asked.slice(0, 2).sort()).toEqual([0, 2]);
        expect(stats.missingGivenUp).toBe(1);
      }
    }
  });

  it("a link's outstanding announcements are bounded: past announcementsPerLinkMax they are ignored until some are settled", async () => {
    const w = new World(3, { intervalMs: 100_000, graftTimeoutMs: 100, graftRetriesMax: 1, announcementsPerLinkMax: 2 });
    w.link(0, 1);
    w.link(2, 1);
    await w.settle();
    const asked = new Map<number, string[]>();
    w.filter = (from, to, bytes) => {
      if (from === 1 && bytes[1] === FRAME.GRAFT && bytes[2] !== 0x80) asked.set(to, [...(asked.get(to) ?? []), toHex(bytes.slice(-32))]);
      return true;
    };
    const bogus = (k: number) => new Uint8Array(32).fill(k);
    // Node 0 announces three ids nobody holds: only two are tracked (and asked for).
    w.engines[1].receive(w.now, 0, encodeFrame({ type: FRAME.IHAVE, ids: [bogus(1), bogus(2), bogus(3)] }));
    // Another link's announcements are tracked on their own budget.
    w.engines[1].receive(w.now, 2, encodeFrame({ type: FRAME.IHAVE, ids: [bogus(4)] }));
    await run(w, 500, 25);
    expect(asked.get(0)).toEqual([toHex(bogus(1)), toHex(bogus(2))]);
    expect(asked.get(2)).toEqual([toHex(bogus(4))]);
    expect(w.engines[1].broadcast.stats.missingGivenUp).toBe(3);
    // Given up, they no longer count: node 0's next announcement is tracked again.
    w.engines[1].receive(w.now, 0, encodeFrame({ type: FRAME.IHAVE, ids: [bogus(5)] }));
    await run(w, 500, 25);
    expect(asked.get(0)).toEqual([toHex(bogus(1)), toHex(bogus(2)), toHex(bogus(5))]);
  });

  it("validators: reject penalises the sender and stops the message; ignore drops it quietly", async () => {
    const w = new World(3, { intervalMs: 100_000 });
    w.link(0, 1);
    w.link(1, 2);
    await w.settle();
    w.validate = (node, m) => (node === 1 ? (new TextDecoder().decode(m.payload) === "bad" ? "reject" : "ignore") : "accept");
    w.engines[0].publish(w.now, "t", enc("bad"));
    w.engines[0].publish(w.now, "t", enc("meh"));
    await run(w, 1000);
    expect(messages(w, 1)).toEqual([]);
    expect(messages(w, 2)).toEqual([]);
    expect(w.penalties(1).map((p) => p.code)).toEqual(["STATE_BAD_PROOF"]);
  });

  it("a forged signature is penalised, and the honest copy still gets through", async () => {
    const w = new World(3, { intervalMs: 100_000 });
    w.link(0, 1);
    w.link(2, 1);
    await w.settle();
    const body = encodeMessageBody({ origin: w.keys[0].publicKey, topic: "t", issuedAtMs: 0, expiresAtMs: 60_000, nonce: 99, payload: enc("real") });
    w.engines[1].receive(w.now, 2, encodeFrame({ type: FRAME.GOSSIP, body, signature: new Uint8Array(64).fill(1), hops: 0 }));
    await w.settle();
    expect(w.penalties(1).map((p) => p.code)).toEqual(["CRYPTO_BAD_SIGNATURE"]);
    const s = await (await import("./harness.ts")).suite();
    const sig = await s.sign(w.keys[0], signingBytes("message", "grapevine", PROTOCOL_VERSION, body));
    w.engines[1].receive(w.now, 0, encodeFrame({ type: FRAME.GOSSIP, body, signature: sig, hops: 0 }));
    await w.settle();
    expect(messages(w, 1).length).toBe(1);
    expect(messages(w, 1)[0].id).toBe(toHex(sha256(signingBytes("message", "grapevine", PROTOCOL_VERSION, body))));
  });

  it("checks waiting are bounded by pendingVerifyMax: new messages past it are dropped unblamed, and come through when sent again", async () => {
    const w = new World(2, { intervalMs: 100_000, pendingVerifyMax: 4 });
    w.link(0, 1);
    await w.settle();
    const s = await (await import("./harness.ts")).suite();
    const frames: Uint8Array[] = [];
    for (let k = 0; k < 10; k++) {
      const body = encodeMessageBody({ origin: w.keys[0].publicKey, topic: "t", issuedAtMs: 0, expiresAtMs: 60_000, nonce: k, payload: enc(`m${k}`) });
      const sig = await s.sign(w.keys[0], signingBytes("message", "grapevine", PROTOCOL_VERSION, body));
      frames.push(encodeFrame({ type: FRAME.GOSSIP, body, signature: sig, hops: 0 }));
    }
    // Ten new messages in one go, before any check is done: four are checked, six dropped.
    for (const f of frames) w.engines[1].receive(w.now, 0, f);
    expect(w.engines[1].broadcast.stats.checksFullDropped).toBe(6);
    await w.settle();
    expect(messages(w, 1).length).toBe(4);
    // Sent again one at a time (as copies and repairs come): the six come through, the rest are duplicates.
    for (const f of frames) {
      w.engines[1].receive(w.now, 0, f);
      await w.settle();
    }
    expect(messages(w, 1).length).toBe(10);
    expect(new Set(messages(w, 1).map((m) => m.id)).size).toBe(10);
    expect(w.penalties(1)).toEqual([]);
  });

  it("expired messages are dropped unblamed; an over-long validity window is penalised", async () => {
    const w = new World(2, { intervalMs: 100_000, messageTtlMsMax: 10_000, messageTtlMs: 5000 });
    w.link(0, 1);
    await w.settle();
    w.now = 100_000;
    const s = await (await import("./harness.ts")).suite();
    const send = async (issuedAtMs: number, expiresAtMs: number) => {
      const body = encodeMessageBody({ origin: w.keys[0].publicKey, topic: "t", issuedAtMs, expiresAtMs, nonce: issuedAtMs, payload: enc("p") });
      const sig = await s.sign(w.keys[0], signingBytes("message", "grapevine", PROTOCOL_VERSION, body));
      w.engines[1].receive(w.now, 0, encodeFrame({ type: FRAME.GOSSIP, body, signature: sig, hops: 0 }));
      await w.settle();
    };
    await send(1000, 6000); // long expired
    expect(w.engines[1].broadcast.stats.expiredDropped).toBe(1);
    expect(w.penalties(1)).toEqual([]);
    await send(100_000, 200_000); // valid for 100 s, above the 10 s maximum
    expect(w.penalties(1).map((p) => p.code)).toEqual(["WIRE_SHAPE"]);
    expect(messages(w, 1)).toEqual([]);
    expect(() => w.engines[0].publish(w.now, "t", enc("x"), 20_000)).toThrow(RangeError);
    expect(() => w.engines[0].publish(w.now, "", enc("x"))).toThrow(RangeError);
  });

  it("the seen set is bounded: when full of unexpired ids, new messages are dropped, never delivered twice", async () => {
    const w = new World(2, { intervalMs: 100_000, seenMax: 3 });
    w.link(0, 1);
    await w.settle();
    for (let k = 0; k < 5; k++) w.engines[0].publish(w.now, "t", enc(`m${k}`));
    await run(w, 500);
    const got = messages(w, 1);
    expect(got.length).toBe(3);
    expect(new Set(got.map((m) => m.id)).size).toBe(3);
    expect(w.engines[0].broadcast.stats.seenFullDropped + w.engines[1].broadcast.stats.seenFullDropped).toBeGreaterThan(0);
  });
});

describe("broadcast: a neighbour that comes after a message", () => {
  it("a link that comes up just after a message went hears of it (the last rounds' ids) and asks for it", async () => {
    for (const later of [0, 1500, 2500]) {
      const w = new World(4, { intervalMs: 1000 });
      w.link(0, 1);
      w.link(1, 2);
      await w.settle();
      w.engines[1].publish(w.now, "t", enc("before you came"));
      await run(w, 200);
      expect(messages(w).length, `later ${later}`).toBe(3);
      await run(w, later);
      w.link(3, 1); // node 3 joins now: the message went out before it was there
      await run(w, 1000);
      const got = messages(w, 3);
      expect(got.length, `later ${later}`).toBe(1);
      expect(new TextDecoder().decode(got[0].payload)).toBe("before you came");
      expect(w.penalties()).toEqual([]);
    }
  });
});

describe("broadcast: the announcement a new link gets is charged to its answer budget", () => {
  it("past the link's budget no catch-up goes (a peer coming back again and again draws no more)", async () => {
    for (const budget of [100_000, 1024]) {
      const w = new World(3, { intervalMs: 100_000, answerBytesPerSecondMax: budget, deltaBytesMax: 1024 });
      w.link(0, 1);
      await w.settle();
      for (let k = 0; k < 40; k++) w.engines[1].publish(w.now, "t", enc(`m${k}`)); // 40 ids: 1,360 bytes
      await w.settle();
      const before = w.engines[1].broadcast.stats.ihaveIdsSent;
      w.link(2, 1);
      const sent = w.engines[1].broadcast.stats.ihaveIdsSent - before;
      expect(sent, `budget ${budget}`).toBe(budget > 1360 ? 40 : 0);
    }
  });
});

describe("broadcast: what announcements cost", () => {
  it("with nothing lost, announcements wait for the next round and go one frame per link and round; a sign of loss sends a waiting batch within ihaveIntervalMs", async () => {
    const n = 8;
    const intervalMs = 500;
    const w = await formedTree(n, { intervalMs, membership: false, lazyPushMax: 3 }, 4);
    await run(w, 2500); // past the memory of the prunes that formed the tree
    // Each IHAVE frame as it goes: on which link, how many ids.
    const ihaves: { from: number; to: number; ids: number }[] = [];
    w.filter = (from, to, bytes) => {
      if (bytes[1] === FRAME.IHAVE) ihaves.push({ from, to, ids: bytes[2] - 0x80 });
      return true;
    };
    const t0 = w.now;
    for (let k = 0; k < 10; k++) {
      w.engines[k % n].publish(w.now, "t", enc(`msg-${k}`));
      await run(w, 50); // ten messages in half a round
    }
    await run(w, 2000);
    expect(messages(w).length).toBe(14 * n);
    const rounds = Math.ceil((w.now - t0) / intervalMs);
    // Every node announced (lazy push and the round's re-announcement), about a frame per link and
    // round: ten messages in a frame each would be ten frames on some link.
    expect(new Set(ihaves.map((f) => f.from)).size).toBe(n);
    const perLink = new Map<string, number>();
    for (const f of ihaves) perLink.set(`${f.from}>${f.to}`, (perLink.get(`${f.from}>${f.to}`) ?? 0) + 1);
    // (Measured: at most 4 frames on a link in 5 rounds, 3.7 ids a frame; sent 50 ms after their
    // first id instead, 11 frames on some link and 1.3 ids a frame.)
    expect(Math.max(...perLink.values())).toBeLessThanOrEqual(rounds);
    expect(ihaves.reduce((s, f) => s + f.ids, 0) / ihaves.length).toBeGreaterThan(3); // fuller frames

    // A batch waiting for its round goes at once when a link goes down.
    w.filter = () => true;
    const before = w.engines.map((e) => e.broadcast.stats.ihaveSent);
    w.engines[0].publish(w.now, "t", enc("late"));
    await w.settle(); // delivered everywhere; no time has passed, so no batch went
    expect(w.engines.every((e, i) => e.broadcast.stats.ihaveSent === before[i])).toBe(true);
    w.engines[3].linkDown(w.now, 7);
    w.engines[7].linkDown(w.now, 3);
    await run(w, 50, 50); // ihaveIntervalMs: only the nodes that saw the loss, unless a round fell in it
    const sent = w.engines.map((e, i) => e.broadcast.stats.ihaveSent - before[i]);
    expect(sent[3]).toBeGreaterThan(0);
    expect(sent[7]).toBeGreaterThan(0);
    await run(w, intervalMs);
    expect(w.engines.every((e, i) => e.broadcast.stats.ihaveSent > before[i])).toBe(true); // the rest at their rounds
  });

  it("rounds longer than a message's life: expired ids are not re-announced (no GRAFT, the tree stays), and a settled batch waits at most 20 × ihaveIntervalMs", async () => {
    const n = 6;
    const w = await formedTree(n, { intervalMs: 100_000, membership: false, lazyPushMax: 2 }, 3);
    const eager = w.engines.map((e) => e.broadcast.eagerLinks().length);
    await run(w, 450_000, 50_000); // past the memory of the tree's forming (rounds of 100 s)
    // Rounds outlast the messages (60 s): their ids are not announced once expired, so no GRAFT
    // is drawn and the tree stays as it was (announced anyway, each node sent about 20 GRAFTs
    // it could not get answered, and every link turned eager).
    expect(w.engines.reduce((s, e) => s + e.broadcast.stats.graftsSent, 0)).toBe(0);
    expect(w.engines.map((e) => e.broadcast.eagerLinks().length)).toEqual(eager);
    const first = new Map<number, number>(); // node → when its first IHAVE went
    w.filter = (from, _to, bytes) => {
      if (bytes[1] === FRAME.IHAVE && !first.has(from)) first.set(from, w.now);
      return true;
    };
    const t0 = w.now;
    w.engines[0].publish(w.now, "t", enc("news"));
    await run(w, 1500);
    expect(messages(w).length).toBe(4 * n);
    // Nodes announced (lazy links exist in a full mesh of 6 with a tree), none before the batch
    // delay and none later than 1 s after it (no round fell in the window: they are 100 s apart).
    expect(first.size).toBeGreaterThan(0);
    for (const [, at] of first) {
      expect(at - t0).toBeGreaterThan(50);
      expect(at - t0).toBeLessThanOrEqual(1050);
    }
  });

  it("each message is announced to at most lazyPushMax lazy links, re-announced once, and more while loss is seen", async () => {
    const n = 12;
    const w = await formedTree(n, { intervalMs: 500, membership: false, lazyPushMax: 3 }, 4);
    // Prunes while the tree forms count as loss: let the formed tree stay still past that memory.
    await run(w, 2500);
    const ids = () => w.engines.reduce((s, e) => s + e.broadcast.stats.ihaveIdsSent, 0);
    const before = ids();
    const m = 10;
    for (let k = 0; k < m; k++) {
      w.engines[k % n].publish(w.now, "t", enc(`msg-${k}`));
      await run(w, 300);
    }
    await run(w, 3000); // several rounds: nothing was lost, so each id is re-announced once, to one peer
    const perDelivery = (ids() - before) / (m * (n - 1));
    expect(messages(w).length).toBe(14 * n);
    // At most 3 lazy announcements and one re-announcement per node and message.
    expect(perDelivery).toBeLessThanOrEqual((4 * n) / (n - 1));
    expect(perDelivery).toBeGreaterThan(1); // lazy links do hear of each message
    // Now frames are lost: nodes request what they missed, and re-announce at their rounds.
    let drop = 0;
    w.filter = (_from, _to, bytes) => !(bytes[1] === FRAME.GOSSIP && drop++ % 5 === 0);
    const lossyBefore = ids();
    for (let k = 0; k < m; k++) {
      w.engines[k % n].publish(w.now, "t", enc(`lossy-${k}`));
      await run(w, 300);
    }
    await run(w, 5000);
    expect(messages(w).length).toBe(24 * n); // every message still reaches every node
    expect((ids() - lossyBefore) / (m * (n - 1))).toBeGreaterThan(perDelivery); // re-announcing, now that loss is seen
  });
});
