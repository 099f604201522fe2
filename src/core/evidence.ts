/**
 * Equivocation evidence: two different roots one origin signed for one (generation, version).
 * Part of state sync (`sync.ts`). A node that holds such a pair — found itself, or received in an
 * EVIDENCE frame and checked — distrusts the origin (its state goes, `store.distrust`), tells the
 * application, and sends the evidence on, once per link, so every honest node reaches the same
 * verdict; a peer that still offers the origin later is sent it too.
 *
 * Bounds: checking evidence costs two signature checks, charged to the sending link like a new
 * origin; at most `pendingVerifyMax` pairs are checked at once; a pair that proves nothing (not two
 * different roots of one version) is the sender's fault.
 *
 * @module
 */

import { bytesEqual, toHex } from "../bytes.ts";
import { signingBytes } from "../crypto/context.ts";
import { remoteError } from "../errors.ts";
import { encodeFrame, FRAME, type EvidenceFrame } from "../wire/frames.ts";
import { decodeRootBody } from "../wire/records.ts";
import type { TokenBucket } from "./budget.ts";
import type { LinkId } from "./events.ts";
import type { SignedRoot } from "./origin.ts";
import type { Store } from "./store.ts";
import { emptyMap, isShared } from "./empty.ts";
import type { SubsystemHost } from "./subsystem.ts";

/** Origins a link's record of evidence it has holds before it is pruned (`Evidence.#markTold`). */
export const TOLD_PER_LINK_MAX = 1024;

/** Evidence this node holds and has told its links about. */
export class Evidence {
  #host: SubsystemHost;
  #store: Store;
  #stats: { deltasDropped: number };
  /** State sync's links. */
  #links: ReadonlyMap<LinkId, unknown>;
  /** Distrusted origins whose evidence each link was sent (or sent us): only links that have any. */
  #told = emptyMap<LinkId, Set<string>>();
  /** Pairs being checked, by their two signatures, with the links that sent them. */
  #pending = emptyMap<string, Set<LinkId>>(); // the shared empty Map while nothing waits

  constructor(host: SubsystemHost, store: Store, stats: { deltasDropped: number }, links: ReadonlyMap<LinkId, unknown>) {
    this.#host = host;
    this.#store = store;
    this.#stats = stats;
    this.#links = links;
  }

  /**
   * Evidence from a peer. Shape first (a pair that proves nothing is the sender's fault), then both
   * signatures; an origin already distrusted costs nothing. `charge` is the link's new-origin budget.
   */
  receive(now: number, linkId: LinkId, f: EvidenceFrame, charge: TokenBucket): void {
    const [a, b] = f.roots.map((r) => decodeRootBody(r.body));
    const scope = this.#store.scope;
    for (const r of [a, b]) if (scope ? !r.scope || !bytesEqual(r.scope, scope) : r.scope) throw remoteError("WIRE_SHAPE", "evidence: a root of another scope");
    if (!bytesEqual(a.origin, b.origin) || a.generation !== b.generation || a.version !== b.version || bytesEqual(f.roots[0].body, f.roots[1].body)) {
      throw remoteError("WIRE_SHAPE", "evidence: not two different roots of one origin's version");
    }
    const id = toHex(a.origin);
    if (id === this.#store.selfId) return;
    // Only a proven equivocation is remembered as told: an id from an unchecked pair costs nothing to
    // make, so holding it would let a peer grow this link's record with every frame.
    if (this.#store.distrusted(id)) return void this.#markTold(linkId, id);
    const key = toHex(f.roots[0].signature) + toHex(f.roots[1].signature);
    const waiting = this.#pending.get(key);
    if (waiting) return void waiting.add(linkId);
    if (this.#pending.size >= this.#host.options.pendingVerifyMax || !charge.take(now, 1)) {
      this.#stats.deltasDropped++;
      return;
    }
    const links = new Set([linkId]);
    if (isShared(this.#pending)) this.#pending = new Map();
    this.#pending.set(key, links);
    const roots = f.roots.map((r, i): SignedRoot => ({ body: r.body, signature: r.signature, fields: i === 0 ? a : b })) as [SignedRoot, SignedRoot];
    const host = this.#host;
    const check = (i: number) => {
      const r = roots[i];
      host.verify(r.fields.origin, signingBytes("root", host.options.network, host.protocolVersion, r.body), r.signature, (ok) => {
        if (!ok) {
          this.#settled(key);
          for (const l of links) host.penalize(l, remoteError("CRYPTO_BAD_SIGNATURE", "evidence: a root signature does not verify"));
          return;
        }
        if (i === 0) return check(1);
        this.#settled(key);
        this.distrust(host.now(), roots, links);
      });
    };
    check(0);
  }

  /**
   * An origin is proven to equivocate: its state goes, the application hears of it, and every
   * link that has not told this node is sent the evidence.
   */
  /** A check of evidence under `key` is over: it waits no more (the shared empty Map again when none does). */
  #settled(key: string): void {
    this.#pending.delete(key);
    if (this.#pending.size === 0) this.#pending = emptyMap();
  }

  distrust(now: number, evidence: [SignedRoot, SignedRoot], from: Set<LinkId> | null): void {
    const changes = this.#store.distrust(evidence, now);
    if (changes === null) return;
    for (const change of changes) this.#host.emit({ type: "change", change });
    const f = evidence[0].fields;
    this.#host.emit({ type: "equivocation", origin: f.origin, evidence });
    const id = toHex(f.origin);
    for (const linkId of this.#links.keys()) {
      if (from?.has(linkId)) this.#markTold(linkId, id); // it sent the evidence: it knows
      else this.tell(linkId, id);
    }
  }

  /**
   * Remembers that the link's peer has the evidence against `originId` (a link that is not up is
   * skipped). Each id is an origin proven to equivocate; once a link's record reaches
   * `TOLD_PER_LINK_MAX` it keeps only origins still distrusted here, and starts over if all are:
   * forgetting costs at most one more EVIDENCE frame to a peer that had it.
   */
  #markTold(linkId: LinkId, originId: string): void {
    if (!this.#links.has(linkId)) return;
    let told = this.#told.get(linkId);
    if (!told) {
      if (isShared(this.#told)) this.#told = new Map();
      this.#told.set(linkId, (told = new Set()));
    }
    if (told.size >= TOLD_PER_LINK_MAX && !told.has(originId)) {
      for (const id of told) if (!this.#store.distrusted(id)) told.delete(id);
      if (told.size >= TOLD_PER_LINK_MAX) told.clear();
    }
    told.add(originId);
  }

  /** Origins whose evidence the link's peer is known to have (for tests of the record's bound). */
  toldCount(linkId: LinkId): number {
    return this.#told.get(linkId)?.size ?? 0;
  }

  /** A link came up or went down: it has been told nothing (yet, or any more). */
  forgetLink(linkId: LinkId): void {
    this.#told.delete(linkId);
  }

  /** Sends a peer the evidence against `originId`, once per link. */
  tell(linkId: LinkId, originId: string): void {
    const ev = this.#store.origins.get(originId)?.evidence;
    if (!ev || !this.#links.has(linkId) || this.#told.get(linkId)?.has(originId)) return;
    this.#markTold(linkId, originId);
    const roots: EvidenceFrame["roots"] = [{ body: ev[0].body, signature: ev[0].signature }, { body: ev[1].body, signature: ev[1].signature }];
    this.#host.send(linkId, encodeFrame({ type: FRAME.EVIDENCE, roots }));
  }
}
