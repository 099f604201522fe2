/// <reference lib="esnext.disposable" preserve="true" />
/**
 * Scopes on a running node: rooms and topics as swarms of their own (see `core/scopes.ts`).
 *
 * A node joins a scope while anything holds it: a {@link ScopeHandle} from `node.scope(name)`, a
 * topic subscription (`node.subscribe(topic)`), a presence room. Holds are counted per scope: the
 * node leaves (a signed farewell of its keys there, and peers stop sending the scope) only when the
 * last one is released, so two handles on one room share one membership and closing one is not
 * seen as a leave while the other is open.
 *
 * @module
 */

import { toHex } from "../bytes.ts";
import type { EngineCore as Engine } from "../core/engine-core.ts";
import { scopeIdOf } from "../core/scopes.ts";
import { nodeIdFromText, nodeIdToText } from "../crypto/identity.ts";
import { fromHex } from "../bytes.ts";
import { SCOPE_ID_BYTES } from "../wire/records.ts";

/** What the scopes of a node need from it. */
export interface ScopeHost {
  readonly engine: Engine;
  /** The monotonic clock the engine runs on. */
  now(): number;
  /** Runs the engine's output (frames, jobs, events) after an input. */
  pump(): void;
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
  /** Throws once the node is closed. */
  assertOpen(): void;
}

interface Held {
  id: Uint8Array;
  name: string | null;
  count: number;
}

/** The counted holds of one node on its scopes. */
export class ScopeHolds {
  #host: ScopeHost;
  #held = new Map<string, Held>();
  /** Names of scopes this node joined by name, by hex id (kept after leaving: events may still name them). */
  #names = new Map<string, string>();

  constructor(host: ScopeHost) {
    this.#host = host;
  }

  /** Holds the scope `name` (or a 16-byte id); joins it on the first hold. Returns its hex id. Throws `RangeError` past `scopesMax`. */
  hold(scope: string | Uint8Array): string {
    this.#host.assertOpen();
    const id = idOf(scope);
    const key = toHex(id);
    if (typeof scope === "string") this.#names.set(key, scope);
    // Names outlive their holds only so late events can still be labelled; at most scopesMax of them.
    if (this.#names.size > this.#host.engine.options.scopesMax) for (const k of this.#names.keys()) if (!this.#held.has(k) && k !== key) this.#names.delete(k);
    const h = this.#held.get(key);
    if (h) {
      h.count++;
      return key;
    }
    this.#host.engine.joinScope(this.#host.now(), id);
    this.#held.set(key, { id, name: typeof scope === "string" ? scope : null, count: 1 });
    this.#host.pump();
    return key;
  }

  /** Releases one hold on `key` (hex id); the last one leaves the scope. A node already closed just forgets it. */
  release(key: string): void {
    const h = this.#held.get(key);
    if (!h || --h.count > 0) return;
    this.#held.delete(key);
    try {
      this.#host.engine.leaveScope(this.#host.now(), h.id);
      this.#host.pump();
    } catch {
      // the node is closed: its links and scopes are gone already
    }
  }

  /** How many holds the scope has (0: not joined). */
  holds(scope: string | Uint8Array): number {
    return this.#held.get(toHex(idOf(scope)))?.count ?? 0;
  }

  /** The scope's name when this node joined it by name, else its id in hex. */
  label(id: Uint8Array): string {
    const key = toHex(id);
    return this.#names.get(key) ?? key;
  }
}

/** A scope's id: a name's (`scopeIdOf`), or a 16-byte id as given. */
export function idOf(scope: string | Uint8Array): Uint8Array {
  if (typeof scope === "string") return scopeIdOf(scope);
  if (scope instanceof Uint8Array && scope.length === SCOPE_ID_BYTES) return scope.slice();
  throw new TypeError(`a scope is a non-empty name or a ${SCOPE_ID_BYTES}-byte id`);
}

/** An origin record's text id, kept with the record: spelled out once, not on every call. */
const ORIGIN_TEXT = new WeakMap<object, string>();

/**
 * Text ids of the origins in `store` with keys, and of this node once it has written (a caller
 * polling `node.origins()` over a hundred nodes paid for spelling out every id every time).
 */
export function originTexts(store: { readonly selfId: string; readonly origins: ReadonlyMap<string, { readonly id: string; readonly entries: { readonly size: number } }> }): string[] {
  const out: string[] = [];
  for (const o of store.origins.values()) {
    if (o.entries.size === 0 && o.id !== store.selfId) continue;
    let text = ORIGIN_TEXT.get(o);
    if (text === undefined) {
      text = nodeIdToText(fromHex(o.id));
      ORIGIN_TEXT.set(o, text);
    }
    out.push(text);
  }
  return out;
}

/**
 * A hold on one scope of a node: its keys there, and every member's. Get one with
 * `node.scope(name)`; `close()` releases it (the node leaves the scope when nothing else holds it).
 *
 * @example
 * ```ts
 * const doc = node.scope("room/doc-42");
 * doc.set("cursor", { x: 10, y: 20 });
 * for (const origin of doc.origins()) console.log(origin, doc.get("cursor", origin));
 * doc.close();
 * ```
 */
export class ScopeHandle {
  /** The scope's name (`room/<id>`, a topic), or its id in hex when joined by id. */
  readonly name: string;
  /** The scope's 16-byte id. */
  readonly id: Uint8Array;
  #host: ScopeHost;
  #holds: ScopeHolds;
  #key: string;
  #closed = false;

  /** @internal Use `node.scope(name)`. */
  constructor(host: ScopeHost, holds: ScopeHolds, scope: string | Uint8Array) {
    this.#host = host;
    this.#holds = holds;
    this.#key = holds.hold(scope);
    this.id = fromHex(this.#key);
    this.name = typeof scope === "string" ? scope : this.#key;
  }

  /** Whether this handle was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sets one of this node's keys in the scope (any CBOR-encodable value). Throws `RangeError` past a cap. */
  set(key: string, value: unknown): void {
    this.#assertOpen();
    if (value === undefined) throw new TypeError("value must not be undefined; use delete()");
    this.#host.engine.set(this.#host.now(), key, this.#host.encode(value), this.id);
    this.#host.pump();
  }

  /** Deletes one of this node's keys in the scope. */
  delete(key: string): void {
    this.#assertOpen();
    this.#host.engine.delete(this.#host.now(), key, this.id);
    this.#host.pump();
  }

  /** A key of `origin` (a node id; this node by default) in the scope; `undefined` when absent. */
  get(key: string, origin?: string): unknown {
    const store = this.#store();
    if (!store) return undefined;
    const bytes = store.get(origin === undefined ? store.selfId : toHex(nodeIdFromText(origin)), key);
    return bytes ? this.#host.decode(bytes) : undefined;
  }

  /** Every live key of `origin` (this node by default) in the scope. */
  entries(origin?: string): Map<string, unknown> {
    const out = new Map<string, unknown>();
    const store = this.#store();
    if (!store) return out;
    const hex = origin === undefined ? store.selfId : toHex(nodeIdFromText(origin));
    if (hex === store.selfId) {
      for (const e of store.localEntries()) if (e.value) out.set(e.key, this.#host.decode(e.value));
      return out;
    }
    for (const e of store.origins.get(hex)?.entries.values() ?? []) if (e.value) out.set(e.key, this.#host.decode(e.value));
    return out;
  }

  /** Ids of the nodes with keys in the scope (this node included once it has written). */
  origins(): string[] {
    const store = this.#store();
    if (!store) return [];
    return originTexts(store);
  }

  /** Peers this node exchanges the scope with (links whose peers joined it too). */
  get links(): number {
    return this.#host.engine.scope(this.id)?.links ?? 0;
  }

  /** Releases the hold (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#holds.release(this.#key);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #store() {
    return this.#closed ? undefined : this.#host.engine.scope(this.id)?.store;
  }

  #assertOpen(): void {
    if (this.#closed) throw new TypeError(`scope ${this.name}: the handle is closed`);
    this.#host.assertOpen();
  }
}
