/**
 * A node's events: an event target typed by {@link NodeEventMap} (the node's base class), and what the
 * engine's events become for the application — change events with decoded values, broadcast messages
 * with decoded payloads, member events with text ids. Authenticated bytes that are not CBOR are
 * handed over raw rather than dropped.
 *
 * @module
 */

import type { Delivery } from "../core/broadcast.ts";
import type { EngineEvent } from "../core/events.ts";
import type { EngineOptions } from "../core/options.ts";
import type { Change } from "../core/store.ts";
import { nodeIdToText } from "../crypto/identity.ts";
import { decode } from "../wire/cbor.ts";
import { DEFAULT_DECODE_LIMITS, type DecodeLimits } from "../wire/limits.ts";
import type { BroadcastMessage, ChangeEvent, MemberEventDetail, NodeEventMap } from "./node-types.ts";

/** An event of a typed target: a `CustomEvent` with the type's detail, or a plain `Event` where it has none. */
export type TypedEvent<D> = D extends undefined ? Event : CustomEvent<D>;

/**
 * An event target whose listeners of the types in `M` (event type → detail) get their events
 * typed: `on(type, fn)` hands `fn` the detail, `addEventListener` the typed event.
 */
export class TypedEventTarget<M> extends EventTarget {
  /**
   * Calls `listener` with the detail of every event of `type`; returns a function that stops it.
   *
   * @example
   * ```ts
   * const off = node.on("member", ({ id, state }) => console.log(id, state));
   * node.on("direct", ({ from, payload }) => console.log(from, payload.length));
   * off();
   * ```
   */
  on<K extends keyof M & string>(type: K, listener: (detail: M[K]) => void): () => void {
    const h = (e: Event) => listener((e as CustomEvent<M[K]>).detail);
    super.addEventListener(type, h);
    return () => super.removeEventListener(type, h);
  }

  /** Listeners of the types in `M` get their event typed. */
  override addEventListener<K extends keyof M & string>(type: K, listener: ((event: TypedEvent<M[K]>) => void) | null, options?: boolean | AddEventListenerOptions): void;
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null | ((event: never) => void), options?: boolean | AddEventListenerOptions): void {
    super.addEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  override removeEventListener<K extends keyof M & string>(type: K, listener: ((event: TypedEvent<M[K]>) => void) | null, options?: boolean | EventListenerOptions): void;
  override removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
  override removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null | ((event: never) => void), options?: boolean | EventListenerOptions): void {
    super.removeEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }
}

/** The node's event target: {@link TypedEventTarget} over {@link NodeEventMap}. */
export class NodeEventTarget extends TypedEventTarget<NodeEventMap> {}

/** A change as subscribers see it; `label` names a scope by its id. */
export function changeEvent(c: Change, limits: DecodeLimits, label: (scope: Uint8Array) => string): ChangeEvent {
  let value: unknown;
  if (c.value) {
    try {
      value = decode(c.value, limits);
    } catch {
      value = c.value; // authenticated bytes that are not CBOR: hand them over raw
    }
  }
  return { origin: nodeIdToText(c.origin), key: c.key, value, deleted: c.value === null, version: c.version, local: c.local, scope: c.scope ? label(c.scope) : null };
}

/** A delivered broadcast message as subscribers and validators see it. */
export function toMessage(o: EngineOptions, d: Delivery): BroadcastMessage {
  let payload: unknown = d.payload;
  try {
    const max = o.messagePayloadBytesMax;
    payload = decode(d.payload, { ...DEFAULT_DECODE_LIMITS, frameBytesMax: max, bytesLengthMax: max });
  } catch {
    // authenticated bytes that are not CBOR: hand them over raw
  }
  return { id: d.id, origin: nodeIdToText(d.origin), topic: d.topic, payload, issuedAtMs: d.issuedAtMs, expiresAtMs: d.expiresAtMs, hops: d.hops, local: d.local };
}

/** The detail of a `member` event. */
export function memberDetail(ev: Extract<EngineEvent, { type: "member" }>): MemberEventDetail {
  return {
    id: nodeIdToText(ev.member), state: ev.state, previous: ev.previous, generation: ev.generation,
    incarnation: ev.incarnation, claimer: ev.claimer ? nodeIdToText(ev.claimer) : null, url: ev.addr,
  };
}
