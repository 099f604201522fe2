/**
 * The broadcast messages a node keeps to answer repairs (GRAFTs), bounded twice: `messageCacheMax`
 * messages in one broadcast (the mesh-wide one, or a room's or topic's), and `messageCacheBytesMax`
 * bytes across all of a node's broadcasts together, through a pool they share (`SubsystemHost.
 * messageCache`), as the node's stores share `storeBytesMax`. A message past either bound makes room
 * by letting this broadcast's oldest go; if they cannot make enough (others hold the bytes), it is
 * not kept: it is still delivered and forwarded, only not served to a later repair.
 *
 * @module
 */

import type { LinkId } from "./events.ts";
import { emptyMap, isShared } from "./empty.ts";
import type { EngineOptions } from "./options.ts";

/** A kept message: its signed body and signature as received, and what repairs need of it. */
export interface Cached {
  body: Uint8Array;
  signature: Uint8Array;
  expiresAtMs: number;
  hops: number;
  arrivedAt: number;
  /** Links that were sent it in answer to a GRAFT, and how often: at most `graftRetriesMax` each. */
  answered?: Map<LinkId, number>;
}

/** What a kept message counts against `messageCacheBytesMax`: its bytes, and a little for its record. */
export const cachedBytes = (c: Cached): number => c.body.length + c.signature.length + 64;

/** One broadcast's kept messages, oldest first. */
export class MessageCache {
  #items = emptyMap<string, Cached>();
  /** Bytes this cache holds of the pool. */
  #bytes = 0;
  readonly #options: EngineOptions;
  readonly #pool: { held: number };

  /** @param pool the bytes every broadcast of the node keeps, shared */
  constructor(options: EngineOptions, pool: { held: number }) {
    this.#options = options;
    this.#pool = pool;
  }

  get size(): number {
    return this.#items.size;
  }

  has(id: string): boolean {
    return this.#items.has(id);
  }

  get(id: string): Cached | undefined {
    return this.#items.get(id);
  }

  /**
   * Keeps `c` under `id` if the bounds allow, letting this cache's oldest go to make room — none of
   * them when the others' bytes leave no room even so.
   */
  keep(id: string, c: Cached): void {
    const o = this.#options;
    const bytes = cachedBytes(c);
    if (this.#pool.held - this.#bytes + bytes > o.messageCacheBytesMax) return;
    for (const [old, oc] of this.#items) {
      if (this.#items.size < o.messageCacheMax && this.#pool.held + bytes <= o.messageCacheBytesMax) break;
      this.#drop(old, oc);
    }
    if (isShared(this.#items)) this.#items = new Map();
    this.#items.set(id, c);
    this.#bytes += bytes;
    this.#pool.held += bytes;
  }

  /** Lets expired messages go. */
  expire(now: number): void {
    for (const [id, c] of this.#items) if (c.expiresAtMs < now) this.#drop(id, c);
  }

  /** Lets every message go (the broadcast's scope is left): their bytes go back to the pool. */
  release(): void {
    for (const [id, c] of this.#items) this.#drop(id, c);
  }

  #drop(id: string, c: Cached): void {
    if (!this.#items.delete(id)) return;
    this.#bytes -= cachedBytes(c);
    this.#pool.held -= cachedBytes(c);
  }
}
