/**
 * A member's presence value in a room: the bounds of room ids and user keys, the limits a room
 * resolves from its options, the value a node writes under the `presence` key of the room's scope
 * (`{ s: state, u: user, c?: credential }`), and the check a received one passes before anyone
 * sees it.
 *
 * Invariants: a user key is 1..{@link USER_BYTES_MAX} UTF-8 bytes; a received state larger than
 * the room's `stateBytesMax` is refused whole; a malformed credential is no credential (the entry
 * stays, unverified).
 *
 * @module
 */

import { checkOption, type OptionSpec } from "../core/schema.ts";
import type { GrapevineNode } from "../runtime/node.ts";
import type { UserCredentialWire } from "../runtime/credential.ts";
import { encode } from "../wire/cbor.ts";
import type { RoomMessage, RoomOptions } from "./types.ts";
import { bytesEqual } from "../bytes.ts";
import { CREDENTIAL_WIRE_BYTES_MAX, credentialFromPresence, credentialToPresence } from "./user.ts";

export const USER_BYTES_MAX = 256;
const ROOM_ID_BYTES_MAX = 100;

/** Resolved timing and size options: the first handle's. */
export interface Limits {
  throttleMs: number;
  timeoutMs: number;
  stateBytesMax: number;
  broadcastTtlMs: number;
}

/** A received presence value that passed the check. */
export interface Parsed {
  state: unknown;
  /** The state's encoding (measured against `stateBytesMax` already; compared by `sameEntry`). */
  stateBytes: Uint8Array;
  user: string;
  credential: UserCredentialWire | null;
}

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

/** A room's limits (`node.room(id, options)`), in the one options schema. */
export const ROOM_OPTION_SPECS = Object.freeze({
  throttleMs: { kind: "number", default: 100, min: 1, unit: "ms" },
  timeoutMs: { kind: "number", default: 60_000, min: 1, unit: "ms" },
  stateBytesMax: { kind: "number", default: 4096, min: 1, integer: true, unit: "bytes" },
  broadcastTtlMs: { kind: "number", default: 10_000, min: 1, unit: "ms" },
} satisfies Record<string, OptionSpec>);

function limit(v: number | undefined, name: keyof typeof ROOM_OPTION_SPECS): number {
  const x = v ?? ROOM_OPTION_SPECS[name].default;
  checkOption(name, x, ROOM_OPTION_SPECS[name]);
  return x;
}

/** Throws unless `id` can name a room: 1..ROOM_ID_BYTES_MAX UTF-8 bytes. */
export function checkRoomId(id: string): void {
  if (typeof id !== "string" || id.length === 0 || utf8Length(id) > ROOM_ID_BYTES_MAX) {
    throw new RangeError(`room id must be 1..${ROOM_ID_BYTES_MAX} UTF-8 bytes`);
  }
}

/** A room's limits from its options; the state must fit in a value beside the user and credential. */
export function roomLimits(node: GrapevineNode, options: RoomOptions<unknown>): Limits {
  const room = node.options.valueBytesMax - USER_BYTES_MAX - CREDENTIAL_WIRE_BYTES_MAX - 16;
  if (room < 1) throw new RangeError(`valueBytesMax ${node.options.valueBytesMax} leaves no room for presence state`);
  return {
    throttleMs: limit(options.throttleMs, "throttleMs"),
    timeoutMs: limit(options.timeoutMs, "timeoutMs"),
    stateBytesMax: Math.min(limit(options.stateBytesMax, "stateBytesMax"), room),
    broadcastTtlMs: limit(options.broadcastTtlMs, "broadcastTtlMs"),
  };
}

/** The user key a room's member gives: the option, else the credential's, else the node id. */
export function roomUserOf(node: GrapevineNode, o: RoomOptions<unknown>): string {
  const user = o.user ?? o.credential?.user ?? node.id;
  if (typeof user !== "string" || user.length === 0 || utf8Length(user) > USER_BYTES_MAX) {
    throw new RangeError(`user must be a string of 1..${USER_BYTES_MAX} UTF-8 bytes`);
  }
  return user;
}

/**
 * The value to write for `state`, and the bytes that tell whether it differs from the last one
 * written (state, user and the credential's expiry).
 */
export function presenceValue(state: unknown, user: string, c: UserCredentialWire | undefined): { value: Record<string, unknown>; bytes: string } {
  const value: Record<string, unknown> = { s: state, u: user };
  if (c) value.c = credentialToPresence(c);
  return { value, bytes: JSON.stringify([state, user, c ? c.expiresAtMs : null]) };
}

/** A received presence value checked, or null when it is not one. */
export function parsePresence(value: unknown, stateBytesMax: number): Parsed | null {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) return null;
  const v = value as Record<string, unknown>;
  if (!Object.hasOwn(v, "s") || typeof v.u !== "string" || v.u.length === 0 || utf8Length(v.u) > USER_BYTES_MAX) return null;
  const stateBytes = encode(v.s);
  if (stateBytes.length > stateBytesMax) return null;
  // A malformed credential is no credential: the entry stays, unverified.
  return { state: v.s, stateBytes, user: v.u, credential: v.c === undefined ? null : credentialFromPresence(v.c, v.u) };
}

/**
 * A room message from `origin`, or null when malformed. Its user is the sender's verified user
 * when it has one (`sender`, the room's record of it); else what the message says.
 */
export function roomMessage(origin: string, payload: unknown, sender: { present: boolean; verified: boolean; user: string } | undefined): RoomMessage | null {
  if (typeof payload !== "object" || payload === null) return null;
  const m = payload as Record<string, unknown>;
  if (typeof m.t !== "string" || typeof m.u !== "string") return null;
  const verified = !!sender?.present && sender.verified;
  return { type: m.t, payload: m.p, peer: origin, user: verified ? sender!.user : m.u, verified };
}

/** Whether a value read again says what the room shows already (a renewal): same state, user and credential verdict. */
export function sameEntry(cur: { state: unknown; user: string; verified: boolean; credential: UserCredentialWire | null }, parsed: Parsed, verified: boolean): boolean {
  if (cur.user !== parsed.user || cur.verified !== verified) return false;
  if ((cur.credential === null) !== (parsed.credential === null)) return false;
  if (cur.credential && parsed.credential && !bytesEqual(cur.credential.signature, parsed.credential.signature)) return false;
  return bytesEqual(encode(cur.state), parsed.stateBytes);
}
