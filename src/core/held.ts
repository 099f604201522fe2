/**
 * What holding other origins' state counts against `storeBytesMax`: bytes of the heap, not only
 * of the wire, so that the option bounds a node's memory whatever shape of map a peer sends.
 * `grapevine bench held` measures the heap each shape takes against this count.
 *
 * @module
 */

/** Bytes of others' state a node holds in all its stores (mesh-wide, each scope's): `storeBytesMax` bounds the sum. */
export type BytePool = { held: number };

/**
 * What another origin's record (signed root, digest row, snapshot, its table entries) counts
 * against `storeBytesMax` beside its entries: about the heap it takes in V8 (`grapevine bench held`
 * measures both this and {@link ENTRY_HELD_BYTES} against the heap), so that `storeBytesMax`
 * bounds memory and not only bytes on the wire. Keys cost nothing to make: a peer that sends many
 * tiny maps pays for each in this count.
 */
export const ORIGIN_HELD_BYTES = 2560;

/**
 * What each entry of another origin counts against `storeBytesMax` beside its leaf bytes: the
 * heap an entry takes (its object, its buffer, its place in the map and the Merkle tree). A map of
 * many one-byte values counts about what it holds, not the few bytes its leaves are.
 */
export const ENTRY_HELD_BYTES = 640;

/** What an origin's entries count against `storeBytesMax`: their leaf bytes and {@link ENTRY_HELD_BYTES} each. */
export function entriesHeld(st: { bytes: number; entries: { size: number } }): number {
  return st.bytes + st.entries.size * ENTRY_HELD_BYTES;
}
