/**
 * Incoming state, part of state sync (`sync.ts`): origin deltas from a link, bounded, checked,
 * verified and applied.
 *
 * In order, per origin delta: the link's state-bytes budget (`stateBytesPerLinkPerSecondMax`) is
 * charged before anything is hashed; `store.check` verifies caps, shape and inclusion proofs; an
 * origin proven to equivocate is refused (and the peer sent the evidence); an origin not held yet
 * takes one of the link's new-origin tokens; an answer not newer than the digest row it answers
 * is a provable replay. Then the root's signature is checked once, for every copy waiting on that
 * root (skipped when this very root is held), and `store.apply` decides. Over a budget or a
 * verification queue, deltas are dropped unblamed: anti-entropy brings them again.
 *
 * @module
 */

import { bytesEqual, toHex } from "../bytes.ts";
import { signingBytes } from "../crypto/context.ts";
import { sha256 } from "../crypto/hash.ts";
import { remoteError } from "../errors.ts";
import { DELTA_FLAG, type DeltaFrame } from "../wire/frames.ts";
import { emptyMap, isShared } from "./empty.ts";
import type { LinkId } from "./events.ts";
import { sendFarewell, type SyncContext } from "./exchange.ts";
import { intakeBucket, newOriginsBucket, sentRowsOf, type SyncLink } from "./sync-link.ts";
import type { CheckedDelta } from "./store.ts";

interface PendingVerify {
  waiting: { linkId: LinkId; cd: CheckedDelta; rumor: boolean }[];
}

/** Deltas in, up to the store. */
export class Intake {
  #c: SyncContext;
  #pending = emptyMap<string, PendingVerify>(); // the shared empty Map while nothing waits (most of a node's life)
  #pendingCount = 0;
  #linkOf: (id: LinkId) => SyncLink | undefined;
  /** An origin advanced (from version `from`, over `link`): sync marks it hot. */
  #advanced: (originId: string, link: SyncLink | null, from: number) => void;
  /** The newest generation of this node's own key seen signed by another node (0: none). */
  #keyInUse = 0;

  constructor(context: SyncContext, linkOf: (id: LinkId) => SyncLink | undefined, advanced: (originId: string, link: SyncLink | null, from: number) => void) {
    this.#c = context;
    this.#linkOf = linkOf;
    this.#advanced = advanced;
  }

  receive(now: number, link: SyncLink, f: DeltaFrame): void {
    const rumor = (f.flags & DELTA_FLAG.RUMOR) !== 0;
    const told = f.replyTo ? sentRowsOf(link, f.replyTo) : undefined;
    const checked: CheckedDelta[] = [];
    for (const od of f.origins) {
      // What one link may make this node take in is bounded per second, before any proof is
      // hashed or signature queued: the excess is dropped, unblamed (a fast honest peer cannot be
      // told from a flooding one), and anti-entropy brings it again.
      let bytes = od.rootBody.length;
      for (const e of od.entries) bytes += e.leaf.length + 32 * e.proof.length;
      if (!intakeBucket(link, this.#c.host.options, now).take(now, bytes)) {
        this.#c.stats.deltasDropped++;
        continue;
      }
      const cd = this.#c.store.check(od);
      if (this.#c.store.distrusted(cd.originId)) {
        this.#c.evidence.tell(link.id, cd.originId);
        continue;
      }
      if (!this.#c.store.origins.has(cd.originId) && !newOriginsBucket(link, this.#c.host.options, now).take(now, 1)) {
        this.#c.stats.deltasDropped++;
        continue;
      }
      const r = cd.root.fields;
      const said = told?.find((row) => bytesEqual(row.origin, r.origin));
      if (said && (r.generation < said.generation || (r.generation === said.generation && r.version <= said.have))) {
        throw remoteError("STATE_STALE", `answer (${r.generation}, ${r.version}) is not newer than the (${said.generation}, ${said.have}) its digest said`);
      }
      checked.push(cd);
    }
    for (const cd of checked) {
      if (this.#c.store.holdsRoot(cd)) {
        this.#c.stats.verifyCacheHits++;
        this.#apply(now, link, cd, rumor);
      } else this.#queueVerify(link, cd, rumor);
    }
  }

  #queueVerify(link: SyncLink, cd: CheckedDelta, rumor: boolean): void {
    const o = this.#c.host.options;
    if (this.#pendingCount >= o.pendingVerifyMax || link.pendingVerifies >= o.pendingVerifyPerLinkMax) {
      this.#c.stats.deltasDropped++; // flow control, not misbehaviour: anti-entropy fetches it again
      return;
    }
    const key = toHex(cd.root.signature) + toHex(sha256(cd.root.body));
    let p = this.#pending.get(key);
    if (!p) {
      const pending: PendingVerify = { waiting: [] };
      p = pending;
      if (isShared(this.#pending)) this.#pending = new Map();
      this.#pending.set(key, pending);
      const message = signingBytes("root", o.network, this.#c.host.protocolVersion, cd.root.body);
      this.#c.host.verify(cd.root.fields.origin, message, cd.root.signature, (ok) => this.#verified(key, pending, ok));
    }
    p.waiting.push({ linkId: link.id, cd, rumor });
    link.pendingVerifies++;
    this.#pendingCount++;
  }

  #verified(key: string, p: PendingVerify, ok: boolean): void {
    const now = this.#c.host.now();
    this.#pending.delete(key);
    if (this.#pending.size === 0) this.#pending = emptyMap();
    this.#pendingCount -= p.waiting.length;
    this.#c.stats.verifies++;
    for (const w of p.waiting) {
      const link = this.#linkOf(w.linkId);
      if (link) link.pendingVerifies--;
      if (!ok) {
        this.#c.host.penalize(w.linkId, remoteError("CRYPTO_BAD_SIGNATURE", "root signature does not verify"));
        continue;
      }
      this.#apply(now, link, w.cd, w.rumor);
    }
  }

  #apply(now: number, link: SyncLink | undefined, cd: CheckedDelta, _rumor: boolean): void {
    const before = this.#c.store.position(cd.originId);
    const res = this.#c.store.apply(cd, now);
    for (const change of res.changes) this.#c.host.emit({ type: "change", change });
    if (res.penalty && link) this.#c.host.penalize(link.id, res.penalty);
    // A peer offering the old state of an origin that left is sent the farewell it lacks.
    if (res.status === "stale" && link) sendFarewell(this.#c, link, now, cd.originId, cd.root.fields.generation, cd.root.fields.version);
    if (res.status === "equivocation" && res.evidence) {
      this.#c.evidence.distrust(now, res.evidence, null);
    } else if (res.status === "inconsistent") {
      this.#c.host.emit({ type: "inconsistent", origin: cd.root.fields.origin });
    } else if (res.status === "self" && cd.root.fields.generation > Math.max(this.#c.store.generation, this.#keyInUse)) {
      // Signed with this node's key (verified), under a newer generation: another node runs it.
      this.#keyInUse = cd.root.fields.generation;
      this.#c.host.emit({ type: "key-in-use", generation: this.#keyInUse });
    }
    const after = this.#c.store.position(cd.originId);
    if (res.status === "applied" && after && (!before || after.have > before.have || after.generation !== before.generation)) {
      this.#advanced(cd.originId, link ?? null, before && before.generation === after.generation ? before.have : 0);
    }
  }
}
