// PROTOCOL.md §2: a WANT digest of rows asks for every origin in scope the receiver is ahead on, an
// origin missing from the rows counting as `have = 0`. So a peer that holds a room's state but runs
// no digest trie of its own (no summaries, no descent) can pull a whole room from any full node by
// listing what it holds — the contract a lighter client can rely on. Checked in a room scope, with
// a peer that never answers the full node's own digests: it is not penalised for that.
import { describe, expect, it } from "vitest";
import { fromHex } from "../../src/bytes.ts";
import { frameLimitsFor } from "../../src/core/limits.ts";
import { DEFAULT_OPTIONS } from "../../src/core/options.ts";
import { scopeIdOf } from "../../src/core/scopes.ts";
import { decodeFrame, DIGEST_FLAG, encodeFrame, FRAME, SUBSCRIBE_FLAG, type DeltaFrame, type DigestRowWire } from "../../src/wire/frames.ts";
import { enc, World } from "./harness.ts";

const LIMITS = frameLimitsFor(DEFAULT_OPTIONS);
const PEER = 99;

describe("a rows-only WANT digest in a scope", () => {
  it.each([3, 40])("pulls every origin of the room the asker lacks or lags on (%i writers), and ignoring digests costs nothing", async (writers) => {
    const w = new World(writers + 2, { membership: false });
    w.filter = (_from, to) => to !== PEER; // the peer is not an engine of the world: its frames are read here
    const room = scopeIdOf("room");
    for (let i = 1; i <= writers; i++) w.link(0, i);
    for (let i = 0; i <= writers; i++) w.engines[i].joinScope(w.now, room);
    for (let i = 1; i <= writers; i++) w.engines[i].set(w.now, "presence", enc(`user ${i}`), room);
    for (let r = 0; r < 6; r++) await w.round();
    const full = w.engines[0];
    // A peer that only speaks frames: linked, subscribed to the room, digests of rows only.
    full.linkUp(w.now, PEER, w.keys[writers + 1].publicKey);
    const sent: Uint8Array[] = [];
    const drain = () => {
      for (let t; (t = full.pollTransmit()); ) if (t.linkId === PEER) sent.push(t.bytes);
    };
    full.receive(w.now, PEER, encodeFrame({ type: FRAME.SUBSCRIBE, flags: SUBSCRIBE_FLAG.RESET, add: [room], remove: [] }));
    drain();
    const ask = (rows: DigestRowWire[], id: number): DeltaFrame[] => {
      sent.length = 0;
      const digest = encodeFrame({ type: FRAME.DIGEST, flags: DIGEST_FLAG.WANT, scope: { depth: 0, index: 0 }, rows, summary: null, id });
      full.receive(w.now, PEER, encodeFrame({ type: FRAME.SCOPED, scope: room, frame: digest }));
      drain();
      return sent.flatMap((b) => {
        const f = decodeFrame(b, LIMITS);
        if (f.type !== FRAME.SCOPED) return [];
        const inner = decodeFrame(f.frame, LIMITS);
        return inner.type === FRAME.DELTA && inner.replyTo === id ? [inner] : [];
      });
    };
    const originsOf = (deltas: DeltaFrame[]) => deltas.flatMap((d) => d.origins).length;
    // Holding nothing: every writer's whole map, in answer to this digest.
    const all = ask([], 7);
    expect(originsOf(all)).toBe(writers);
    expect(all.flatMap((d) => d.origins).every((o) => o.full)).toBe(true);
    // Holding writer 1 at its version: everything but writer 1.
    const id1 = w.engines[1].store.selfId;
    const at = w.engines[1].scope(room)!.store.position(id1)!;
    const rest = ask([{ origin: fromHex(id1), generation: at.generation, have: at.have }], 8);
    expect(originsOf(rest)).toBe(writers - 1);
    // Writer 2 writes again; listed at its old version, it comes back (with the others).
    const id2 = w.engines[2].store.selfId;
    const old2 = w.engines[2].scope(room)!.store.position(id2)!;
    w.engines[2].set(w.now, "presence", enc("user 2, away"), room);
    for (let r = 0; r < 10 && full.scope(room)!.store.position(id2)!.have === old2.have; r++) await w.round();
    expect(full.scope(room)!.store.position(id2)!.have).toBeGreaterThan(old2.have);
    const rows = [id1, id2].map((id) => ({ origin: fromHex(id), generation: id === id1 ? at.generation : old2.generation, have: id === id1 ? at.have : old2.have }));
    const again = ask(rows, 9);
    expect(originsOf(again)).toBe(writers - 1);
    // Thirty seconds of the full node's rounds, none of its digests answered: no penalty, still linked.
    for (let r = 0; r < 30; r++) {
      w.now += 1000;
      full.tick(w.now);
      drain();
    }
    const penalties: unknown[] = [];
    for (let ev; (ev = full.pollEvent()); ) if (ev.type === "penalty") penalties.push(ev);
    expect([...w.penalties(0), ...penalties]).toEqual([]);
    expect(full.links()).toContain(PEER);
  });
});
