// What a relay carries: the scopes its clients want, not its peer relays' (InterestFollower).
import { describe, expect, it } from "vitest";
import { InterestFollower } from "../../src/core/interest.ts";
import { scopeIdOf } from "../../src/core/scopes.ts";
import { dec, enc, World } from "./harness.ts";

const A = scopeIdOf("room/a");
const B = scopeIdOf("room/b");
const nameOf = (id: Uint8Array) => (id.every((b, i) => b === A[i]) ? "A" : "B");

/**
 * Relays 0 and 1 (linked to each other: peer relays); clients 2, 3 on relay 0 and 4, 5 on relay 1.
 * Each relay follows its clients' interest through an InterestFollower fed by the world's events.
 */
function relays(scopesMax = 1024) {
  const w = new World(6, { intervalMs: 300, membership: false, scopesMax });
  w.link(0, 1);
  for (const c of [2, 3]) w.link(c, 0);
  for (const c of [4, 5]) w.link(c, 1);
  const log: string[] = [];
  const followers = [0, 1].map((r) => new InterestFollower({
    join: (id) => {
      try {
        w.engines[r].joinScope(w.now, id);
        log.push(`${r} join ${nameOf(id)}`);
        return true;
      } catch {
        return false;
      }
    },
    leave: (id) => {
      w.engines[r].leaveScope(w.now, id);
      log.push(`${r} leave ${nameOf(id)}`);
    },
    isRelay: (link) => link === 1 - r, // link ids are peer indices in the harness
  }));
  // Feed each relay's interest events to its follower as they come.
  const seen = [0, 0];
  const pump = () => {
    for (const r of [0, 1]) {
      const evs = w.events.filter((x) => x.node === r);
      for (const x of evs.slice(seen[r])) if (x.event.type === "interest") followers[r].interest(x.event.linkId, x.event.scope, x.event.wanted);
      seen[r] = evs.length;
    }
  };
  const run = async (rounds: number) => {
    for (let k = 0; k < rounds; k++) {
      await w.round(300);
      pump();
    }
  };
  return { w, followers, log, run };
}

describe("interest: relays carry their clients' scopes", () => {
  it("a room split across two relays is one swarm; a relay with no client in a room carries none of it", async () => {
    const { w, followers, run } = relays();
    w.engines[2].joinScope(w.now, A);
    w.engines[4].joinScope(w.now, A);
    w.engines[3].joinScope(w.now, B); // B only on relay 0
    await run(4);
    expect(w.engines[0].scope(A)).toBeDefined();
    expect(w.engines[1].scope(A)).toBeDefined();
    expect(w.engines[0].scope(B)).toBeDefined();
    expect(w.engines[1].scope(B)).toBeUndefined(); // relay 1 has no client in B: relay 0's interest is not followed
    expect(followers[0].carried).toBe(2);
    expect(followers[1].carried).toBe(1);
    // Members on different relays see each other's state and messages.
    w.engines[2].set(w.now, "presence", enc("on relay 0"), A);
    w.engines[4].publishScoped(w.now, "room/a", enc("cursor from relay 1"));
    await run(8);
    expect(dec(w.engines[4].scope(A)!.store.get(w.engines[2].store.selfId, "presence"))).toBe("on relay 0");
    const got = w.events.filter((x) => x.node === 2 && x.event.type === "message").map((x) => dec((x.event as { message: { payload: Uint8Array } }).message.payload));
    expect(got).toEqual(["cursor from relay 1"]);
    expect(w.penalties()).toEqual([]);
  });

  it("a relay leaves a scope once its last client wanting it leaves or goes", async () => {
    const { w, followers, log, run } = relays();
    w.engines[2].joinScope(w.now, A);
    w.engines[3].joinScope(w.now, A);
    await run(3);
    expect(followers[0].clients(A)).toBe(2);
    w.engines[2].leaveScope(w.now, A);
    await run(4);
    expect(followers[0].clients(A)).toBe(1);
    expect(w.engines[0].scope(A)).toBeDefined();
    // The last client's link goes down: the relay leaves (its farewell lingers, then the scope goes).
    w.engines[0].linkDown(w.now, 3);
    w.engines[3].linkDown(w.now, 0);
    await run(6);
    expect(followers[0].clients(A)).toBe(0);
    expect(w.engines[0].scope(A)).toBeUndefined();
    expect(log).toEqual(["0 join A", "0 leave A"]);
  });

  it("past scopesMax a relay carries what it can, and joins once a scope frees up", async () => {
    const { w, followers, run } = relays(1);
    w.engines[2].joinScope(w.now, A);
    await run(3);
    w.engines[3].joinScope(w.now, B);
    await run(3);
    expect(w.engines[0].scope(A)).toBeDefined();
    expect(w.engines[0].scope(B)).toBeUndefined();
    expect(followers[0].carried).toBe(1);
    expect(followers[0].clients(B)).toBe(1); // still counted: a later join may take it
  });
});
