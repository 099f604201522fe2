// The messages broadcasts keep to answer repairs: bounded by count in one broadcast and by bytes
// across all of a node's broadcasts (a pool they share), and given back when a scope is left.
import { describe, expect, it } from "vitest";
import { cachedBytes, MessageCache } from "../../src/core/message-cache.ts";
import { DEFAULT_OPTIONS } from "../../src/core/options.ts";
import { World } from "./harness.ts";
import { scopeIdOf } from "../../src/core/scopes.ts";

const message = (bytes: number, expiresAtMs = 60_000) => ({ body: new Uint8Array(bytes), signature: new Uint8Array(64), expiresAtMs, hops: 1, arrivedAt: 0 });

describe("message cache", () => {
  it("keeps within messageCacheMax messages, oldest going first", () => {
    const pool = { held: 0 };
    const c = new MessageCache({ ...DEFAULT_OPTIONS, messageCacheMax: 3 }, pool);
    for (let i = 0; i < 5; i++) c.keep(`m${i}`, message(100));
    expect([0, 1, 2, 3, 4].map((i) => c.has(`m${i}`))).toEqual([false, false, true, true, true]);
    expect(pool.held).toBe(3 * cachedBytes(message(100)));
  });

  it("keeps within messageCacheBytesMax across the node's caches: one makes room from its own oldest, or does not keep", () => {
    const pool = { held: 0 };
    const o = { ...DEFAULT_OPTIONS, messageCacheBytesMax: 4096 };
    const a = new MessageCache(o, pool);
    const b = new MessageCache(o, pool);
    for (let i = 0; i < 10; i++) a.keep(`a${i}`, message(1000)); // about 1.1 kB each: three fit
    expect(a.size).toBe(3);
    expect(a.has("a9") && a.has("a8") && a.has("a7")).toBe(true);
    expect(pool.held).toBeLessThanOrEqual(4096);
    b.keep("b0", message(1000)); // nothing of b's own to let go, and a holds the bytes: not kept
    expect(b.size).toBe(0);
    expect(pool.held).toBeLessThanOrEqual(4096);
    a.expire(120_000); // a's expire: their bytes come back
    expect(a.size).toBe(0);
    expect(pool.held).toBe(0);
    b.keep("b1", message(1000));
    expect(b.has("b1")).toBe(true);
    // With a holding the rest again, a message too big for what b could free leaves b's as they are.
    for (let i = 10; i < 20; i++) a.keep(`a${i}`, message(1000));
    expect(a.size).toBe(2);
    b.keep("big", message(3000));
    expect(b.has("b1") && !b.has("big")).toBe(true);
    // One that fits once b's own oldest goes replaces it.
    b.keep("b2", message(1000));
    expect(!b.has("b1") && b.has("b2")).toBe(true);
    expect(pool.held).toBeLessThanOrEqual(4096);
    b.release();
    a.release();
    expect(pool.held).toBe(0);
  });

  it("a room left gives its kept messages' bytes back to the node's pool", async () => {
    const w = new World(2, { intervalMs: 100_000, membership: false });
    const room = scopeIdOf("room/cache");
    for (const i of [0, 1]) w.engines[i].joinScope(w.now, room);
    w.link(0, 1);
    await w.settle();
    for (let k = 0; k < 5; k++) w.engines[0].publishScoped(w.now, "room/cache", new Uint8Array(500));
    await w.settle();
    expect(w.engines[1].messageCacheBytes).toBeGreaterThanOrEqual(5 * 500);
    w.engines[1].leaveScope(w.now, room);
    for (let r = 0; r < 3; r++) w.engines[1].tick((w.now += 100_000));
    await w.settle();
    expect(w.engines[1].scope(room)).toBeUndefined();
    expect(w.engines[1].messageCacheBytes).toBe(0);
  });
});
