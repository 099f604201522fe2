/**
 * What the presence tests over in-memory links share: fast timing, linking two nodes, and a log
 * of a room's presence events.
 */
import { createMemoryLinkPair, type GrapevineNode, type NodeOptions } from "../../mod.ts";
import type { PresenceEvent, Room } from "../../src/presence/room.ts";

/** Rounds and probes fast enough for tests that wait on joins and leaves (add a `network`). */
export const FAST_TIMING: NodeOptions = { intervalMs: 50, probeIntervalMs: 100, probeTimeoutMs: 50, memberGossipIntervalMs: 20 };

/** Links two nodes over an in-memory pair and waits for both handshakes. */
export async function link(a: GrapevineNode, b: GrapevineNode): Promise<void> {
  const [x, y] = createMemoryLinkPair();
  await Promise.all([a.connect(x), b.connect(y)]);
}

/** Records a room's presence events, in order. */
export function record<S>(room: Room<S>): PresenceEvent<S>[] {
  const log: PresenceEvent<S>[] = [];
  for (const type of ["sync", "join", "update", "leave"] as const) room.presence.on(type, (detail) => log.push(detail));
  return log;
}
