/**
 * The rooms open on one node, by id: `node.room(id)` gets a new handle on the room's shared core,
 * creating the core on first use; a core goes away once its last handle has closed (at the end of
 * that task, see `core.ts`) or the node closes. User credentials are judged by one verifier per
 * node, so a verdict is shared by every room.
 *
 * @module
 */

import type { GrapevineNode } from "../runtime/node.ts";
import { RoomCore } from "./core.ts";
import { Room } from "./room.ts";
import type { RoomOptions } from "./types.ts";
import { UserVerifier, type VerifyFn } from "./user.ts";

/** @internal One per node; see {@link GrapevineNode.room}. */
export class RoomRegistry {
  readonly #node: GrapevineNode;
  readonly #verifier: UserVerifier;
  readonly #cores = new Map<string, RoomCore<unknown>>();

  /** `verify` checks a signature with the node's suite. */
  constructor(node: GrapevineNode, verify: VerifyFn) {
    this.#node = node;
    this.#verifier = new UserVerifier(verify, () => node.options.network);
  }

  /** A new handle on the room `id`. Throws `TypeError`/`RangeError` on bad options. */
  open<S>(id: string, options: RoomOptions<S>): Room<S> {
    if (options === null || typeof options !== "object") throw new TypeError("room options must be an object");
    const core = this.#cores.get(id) as RoomCore<S> | undefined;
    if (core && !core.disposed) {
      core.checkCompatible(options);
      return new Room<S>(core, options);
    }
    const fresh: RoomCore<S> = new RoomCore<S>(this.#node, id, options, this.#verifier, () => {
      if (this.#cores.get(id) === fresh) this.#cores.delete(id);
    });
    this.#cores.set(id, fresh as RoomCore<unknown>);
    try {
      return new Room<S>(fresh, options);
    } catch (e) {
      fresh.dispose(); // a room its first handle could not open is not kept with that handle's options
      throw e;
    }
  }
}
