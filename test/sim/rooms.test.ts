// The rooms scenario (issue 13): many rooms over clients and relays, each room its own swarm.
import { describe, expect, it } from "vitest";
import { insecureHashSuite } from "../../src/sim/hash-suite.ts";
import { ROOMS_DEFAULTS, roomsLayout, runRooms, type RoomsReport } from "../../src/sim/rooms.ts";

const SEED = Number(process.env.GRAPEVINE_SEED ?? 20261121);
const REPLAY = `GRAPEVINE_SEED=${SEED} npx vitest run test/sim/rooms.test.ts`;

const SMALL = { ...ROOMS_DEFAULTS, nodes: 200, rooms: 20, relays: 4, sizeMax: 30, durationMs: 3000, joinMs: 4000 };

let report: Promise<RoomsReport> | undefined;
/** One seeded small run shared by the checks below; a failure names the seed and the replay. */
function small(): Promise<RoomsReport> {
  report ??= runRooms({ ...SMALL, seed: SEED, baseline: ["largest"], suite: insecureHashSuite, cryptoName: "insecure-hash", clock: () => 0 }).catch((e) => {
    throw new Error(`seed ${SEED} (${REPLAY}): ${e}`);
  });
  return report;
}

describe("simulator: rooms", () => {
  it("the layout is a function of the seed: room sizes within bounds, every member in one room", () => {
    const a = roomsLayout({ ...SMALL, seed: SEED });
    const b = roomsLayout({ ...SMALL, seed: SEED });
    expect(a.members).toEqual(b.members);
    expect(a.links).toEqual(b.links);
    for (const m of a.members) expect(m.length >= 2 && m.length <= 30, `seed ${SEED}`).toBe(true);
    const all = a.members.flat();
    expect(new Set(all).size).toBe(all.length);
    expect(all.every((i) => i >= SMALL.relays)).toBe(true);
  });

  it("no frame or message of a room reaches a node outside it; a relay carries exactly its clients' rooms", async () => {
    const r = await small();
    const msg = `seed ${SEED} (${REPLAY})`;
    expect(r.scoped_frames_seen, msg).toBeGreaterThan(0); // the tap saw scoped traffic at all
    expect(r.foreign_scoped_frames, msg).toBe(0);
    expect(r.foreign_deliveries, msg).toBe(0);
    expect(r.per_member.deliveries_other_rooms_per_s.max, msg).toBe(0);
    expect(r.relay_extra_rooms, msg).toBe(0);
    expect(r.relay_missing_rooms, msg).toBe(0);
    for (const relay of r.per_relay) {
      expect(relay.rooms_joined, msg).toBe(relay.rooms_of_clients);
      expect(relay.foreign_scoped_frames, msg).toBe(0);
    }
    expect(r.penalties, msg).toBe(0);
  }, 120_000);

  it("a member's cost with every room active is within 1.25× of its room alone in the mesh", async () => {
    const r = await small();
    expect(r.baselines.length).toBe(1);
    for (const b of r.baselines) expect(b.cost_ratio, `seed ${SEED} (${REPLAY})`).toBeLessThanOrEqual(1.25);
  }, 120_000);

  it("every cursor reaches every other member of its room (delivery 1.0)", async () => {
    const r = await small();
    expect(r.missing_deliveries, `seed ${SEED} (${REPLAY})`).toBe(0);
    expect(r.delivered_fraction, `seed ${SEED} (${REPLAY})`).toBe(1);
  }, 120_000);
});
