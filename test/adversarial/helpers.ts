// What the hostile-peer scenarios share: an attacker attached to a World by a link id with no
// engine behind it (its frames are injected; what the victim sends it is captured), forged and
// genuine signed records, and one JSON line of figures per scenario, printed before asserting, so
// a run against older code shows what the attack did there.
import { PROTOCOL_VERSION } from "../../src/core/engine.ts";
import { compareBytes, toHex } from "../../src/bytes.ts";
import { signingBytes } from "../../src/crypto/context.ts";
import { leafHash, MerkleTree } from "../../src/crypto/merkle.ts";
import type { KeyPair } from "../../src/crypto/types.ts";
import { keyPairFromSeed } from "../../src/crypto/keys.ts";
import type { OriginDeltaWire } from "../../src/wire/frames.ts";
import { encodeLeaf, encodeRootBody } from "../../src/wire/records.ts";
import { suite, type World } from "../core/harness.ts";

/** Prints one line of figures for the note: `ADVERSARIAL {"attack": …}`. */
export function report(attack: string, figures: Record<string, unknown>): void {
  console.log(`ADVERSARIAL ${JSON.stringify({ attack, ...figures })}`);
}

/** A key pair no World node uses (seeded, so runs repeat). */
export function outsiderKey(i: number): KeyPair {
  const seed = new Uint8Array(32);
  seed[0] = 0xa0;
  seed[1] = i & 0xff;
  seed[2] = (i >> 8) & 0xff;
  return keyPairFromSeed(seed);
}

/**
 * Attaches an attacker to node `victim` as link `linkId` (no engine behind it). Returns what the
 * victim sends it (captured, never delivered) and a way to send it raw frames.
 */
export function attachAttacker(w: World, victim: number, linkId: number, key: KeyPair) {
  const sent: Uint8Array[] = [];
  const previous = w.filter;
  w.filter = (from, to, bytes) => {
    if (to === linkId) {
      if (from === victim) sent.push(bytes);
      return false;
    }
    return previous(from, to, bytes);
  };
  w.engines[victim].linkUp(w.now, linkId, key.publicKey);
  return {
    sent,
    /** Bytes the victim has sent the attacker so far. */
    bytesSent: () => sent.reduce((s, b) => s + b.length, 0),
    send: (bytes: Uint8Array) => w.engines[victim].receive(w.now, linkId, bytes),
  };
}

/**
 * A whole signed map of `origin` (a full delta): `entries` written in order, so version i + 1 is
 * the i-th entry; the root is signed in `network` under protocol version 1, with `flags`, for
 * `scope`'s map if given (else the mesh-wide one).
 */
export async function fullOriginDelta(
  origin: KeyPair,
  generation: number,
  entries: { key: string; value: Uint8Array | null }[],
  network = "grapevine",
  flags = 0,
  scope?: Uint8Array,
): Promise<OriginDeltaWire> {
  const leaves = entries.map((e, i) => ({ key: e.key, leaf: encodeLeaf({ key: e.key, version: i + 1, value: e.value }) }));
  const utf8 = new TextEncoder();
  const byKey = leaves.slice().sort((a, b) => compareBytes(utf8.encode(a.key), utf8.encode(b.key)));
  const tree = MerkleTree.fromLeafHashes(byKey.map((l) => leafHash(l.leaf)));
  const version = entries.length;
  const rootBody = encodeRootBody({ origin: origin.publicKey, generation, version, root: tree.root, count: version, floor: 0, flags, ...(scope ? { scope } : {}) });
  const signature = await (await suite()).sign(origin, signingBytes("root", network, PROTOCOL_VERSION, rootBody));
  return {
    rootBody,
    signature,
    from: 0,
    through: version,
    full: true,
    entries: leaves.map((l) => ({ leaf: l.leaf, index: byKey.indexOf(l), proof: [] })),
  };
}

/** Hex id of a World node's origin. */
export function originId(w: World, i: number): string {
  return toHex(w.keys[i].publicKey);
}
