/**
 * Per-room traffic through the demo's relay. Every sample the demo reads, for each scope the relay
 * carries, the relay node's counters in that scope (its broadcast's messages, its store's members,
 * its links there); this turns successive readings into rates over a short window. A relay knows a
 * room only by its scope id: the demo names the ones it made (`documents.ts`), others stay ids.
 *
 * Pure bookkeeping: time comes in as an argument.
 *
 * @module
 */

/** One reading of one carried scope. */
export interface RoomReading {
  /** Scope id, hex. */
  scope: string;
  /** The document's name, when the scope is one of the demo's rooms. */
  name: string | null;
  /** Nodes with keys in the room, as the relay holds it (the relay itself not counted). */
  members: number;
  /** Links over which the relay exchanges the room (peers that joined it too). */
  links: number;
  /** Messages of the room the relay delivered (first copies), since it joined. */
  delivered: number;
  /** Payload copies of the room it received (duplicates included). */
  payloadsReceived: number;
  /** Message ids it announced (IHAVE) in the room. */
  ihaveIdsSent: number;
}

/** One room as the dashboard and `--json` show it. */
export interface RoomRow extends RoomReading {
  /** Messages delivered a second over the last window. */
  messagesPerS: number;
  /** Payload copies received a second over the last window. */
  payloadsPerS: number;
}

/** Turns readings into rates over `windowMs` (default 2,000 ms). */
export class RoomTraffic {
  #windowMs: number;
  /** scope → readings, oldest first, within the window (plus one older, the baseline). */
  #history = new Map<string, { t: number; r: RoomReading }[]>();
  #rows: RoomRow[] = [];

  constructor(windowMs = 2_000) {
    this.#windowMs = windowMs;
  }

  /** Records the readings of every scope carried at `now`; scopes not listed are gone. */
  sample(now: number, readings: RoomReading[]): RoomRow[] {
    const seen = new Set<string>();
    const rows: RoomRow[] = [];
    for (const r of readings) {
      seen.add(r.scope);
      const h = this.#history.get(r.scope) ?? [];
      h.push({ t: now, r });
      while (h.length > 2 && h[1].t <= now - this.#windowMs) h.shift();
      this.#history.set(r.scope, h);
      const base = h[0];
      const seconds = (now - base.t) / 1000;
      const rate = (k: "delivered" | "payloadsReceived") => (seconds > 0 ? Math.max(0, r[k] - base.r[k]) / seconds : 0);
      rows.push({ ...r, messagesPerS: round1(rate("delivered")), payloadsPerS: round1(rate("payloadsReceived")) });
    }
    for (const scope of [...this.#history.keys()]) if (!seen.has(scope)) this.#history.delete(scope);
    // Named rooms first, by name; then the rest by id.
    rows.sort((a, b) => (a.name === null ? 1 : 0) - (b.name === null ? 1 : 0) || (a.name ?? a.scope).localeCompare(b.name ?? b.scope, "en", { numeric: true }));
    return (this.#rows = rows);
  }

  /** The rows of the last sample. */
  get rows(): RoomRow[] {
    return this.#rows;
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** What {@link readRoom} needs of a node: its engine's view of a joined scope. */
export interface ScopeReader {
  engine: {
    scope(id: Uint8Array): {
      links: number;
      store: { selfId: string; origins: ReadonlyMap<string, { entries: ReadonlyMap<string, unknown> }> };
      broadcast: { stats: { delivered: number; payloadsReceived: number; ihaveIdsSent: number } } | null;
    } | undefined;
  };
}

/** Reads `node`'s counters in the scope `id` (hex), or null when it has not joined it. */
export function readRoom(node: ScopeReader, id: Uint8Array, hex: string, name: string | null): RoomReading | null {
  const s = node.engine.scope(id);
  if (!s) return null;
  let members = 0;
  for (const [origin, o] of s.store.origins) if (origin !== s.store.selfId && o.entries.size > 0) members++;
  const b = s.broadcast?.stats ?? { delivered: 0, payloadsReceived: 0, ihaveIdsSent: 0 };
  return { scope: hex, name, members, links: s.links, delivered: b.delivered, payloadsReceived: b.payloadsReceived, ihaveIdsSent: b.ihaveIdsSent };
}
