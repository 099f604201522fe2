/**
 * The documents of the demo: each is a presence room (`node.room("doc-N")`, scope `room/doc-N`)
 * that browser tabs of the `/presence` page and the peer processes open. Which peer opens which is
 * fixed by its number, so every run carries the same rooms; a relay knows rooms only by their
 * scope ids, so the demo names them here ({@link documentOfScope}).
 *
 * Shared by the demo, its peer processes and the presence page: no Node APIs.
 *
 * @module
 */

import { toHex } from "../../src/bytes.ts";
import { scopeIdOf } from "../../src/core/scopes.ts";

/** The documents, in the order the presence page lists them; the first is the page's default. */
export const DOCUMENTS: readonly string[] = Object.freeze(["doc-1", "doc-2", "doc-3", "doc-4"]);

/** A peer process's presence state carries this flag, so pages can tell it from a tab. */
export interface DemoPresence {
  name: string;
  color: string;
  /** Set by the demo's peer processes. */
  bot?: boolean;
}

/**
 * The documents peer number `i` (1-based) opens: one each round the list, and every third peer a
 * second one (peers 1–6: doc-1, doc-2, doc-3 + doc-4, doc-4, doc-1, doc-2 + doc-3).
 */
export function documentsOfPeer(i: number): string[] {
  const n = DOCUMENTS.length;
  const first = DOCUMENTS[(i - 1) % n];
  return i % 3 === 0 ? [first, DOCUMENTS[i % n]] : [first];
}

/** The scope name of a document's room. */
export function roomScope(doc: string): string {
  return `room/${doc}`;
}

const BY_SCOPE = new Map(DOCUMENTS.map((d) => [toHex(scopeIdOf(roomScope(d))), d]));

/** The document whose room has the scope id `hex`, or undefined (not one of the demo's). */
export function documentOfScope(hex: string): string | undefined {
  return BY_SCOPE.get(hex);
}

/** A valid document name from a page's `?doc=`, else the default. */
export function documentFrom(search: string): string {
  const doc = new URLSearchParams(search).get("doc");
  return doc !== null && DOCUMENTS.includes(doc) ? doc : DOCUMENTS[0];
}
