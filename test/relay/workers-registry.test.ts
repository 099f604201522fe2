/**
 * The Workers adapter's network registry (`NetworkRegistry` in relay/workers.ts), driven directly
 * with an in-memory storage: a name is admitted while fewer than `max` are known and stays
 * admitted; a body that is not an object with a name and a count gets 400, never a thrown error.
 */
import { describe, expect, it } from "vitest";
import { NetworkRegistry } from "../../relay/workers.ts";
import type { DurableObjectState, DurableObjectStorage } from "../../relay/platform-workers.ts";

function registry(): { reg: NetworkRegistry; data: Map<string, unknown> } {
  const data = new Map<string, unknown>();
  const storage: DurableObjectStorage = {
    get: async <T>(key: string) => data.get(key) as T | undefined,
    put: async (entries) => {
      for (const [k, v] of Object.entries(entries)) data.set(k, v);
    },
    getAlarm: async () => null,
    setAlarm: async () => {},
    deleteAlarm: async () => {},
  };
  const state = { storage, acceptWebSocket: () => {}, getWebSockets: () => [] } as DurableObjectState;
  return { reg: new NetworkRegistry(state), data };
}

async function ask(reg: NetworkRegistry, body: string): Promise<[number, string]> {
  const r = await reg.fetch(new Request("https://registry/admit", { method: "POST", body }));
  return [r.status, (await r.text()).trim()];
}

describe("NetworkRegistry", () => {
  it("admits names up to max, once each, and keeps them admitted", async () => {
    const { reg, data } = registry();
    expect(await ask(reg, JSON.stringify({ network: "a", max: 2 }))).toEqual([200, "admitted"]);
    expect(await ask(reg, JSON.stringify({ network: "b", max: 2 }))).toEqual([200, "admitted"]);
    expect(await ask(reg, JSON.stringify({ network: "c", max: 2 }))).toEqual([409, "full"]);
    expect(await ask(reg, JSON.stringify({ network: "a", max: 2 }))).toEqual([200, "known"]);
    expect(data.get("count")).toBe(2);
  });

  it("answers 400 to a body that is not an object with a name of at most 255 bytes and a count", async () => {
    const { reg, data } = registry();
    const bad = [
      "not json", "null", "5", "[1]", "\"text\"", "{}",
      JSON.stringify({ network: 7, max: 1 }),
      JSON.stringify({ network: "a", max: "1" }),
      JSON.stringify({ network: "a", max: -1 }),
      JSON.stringify({ network: "é".repeat(128), max: 1 }), // 128 characters, 256 bytes
    ];
    for (const body of bad) expect(await ask(reg, body), body).toEqual([400, "bad request"]);
    expect(data.size).toBe(0);
    expect(await ask(reg, JSON.stringify({ network: "é".repeat(127), max: 1 }))).toEqual([200, "admitted"]);
  });
});
