/**
 * Claims coming in: which are worth a signature check, the checks themselves, and what an
 * accepted claim does — to the member table, to this node's own claims, to the news queue, and as
 * `member` events.
 *
 * Only claims that would change something are verified (a cheap look at the table first); one
 * signature check serves every link that brought the same claim while it runs, and at most
 * `claimVerifyPendingMax` run at once (past that, claims are dropped: gossip and push-pull bring
 * them again). A claim that fails the check penalises every link that brought it. A claim older
 * than what this node holds gets the newer one sent back (a correction), so a stale view heals at
 * once. An accusation of this node is answered by `SelfClaims.refute`. An accusation that came
 * without its proof (gossip of an old rank) is proven by the alive claim held at its rank, or
 * ignored — and the claim held sent back, so the sender corrects it — when this node holds none.
 *
 * News (claims that came by gossip, SYNC or this node's own accusations) is queued to be spread
 * on; what came by introduction or shuffle only updates the table.
 *
 * @module
 */

import { bytesEqual, toHex } from "../../bytes.ts";
import { remoteError } from "../../errors.ts";
import { CLAIM_KIND, MEMBER_FRAME, type ClaimWire } from "../../wire/member-frames.ts";
import { compareRank, type ClaimQueue, type MemberState } from "../claims.ts";
import type { LinkId } from "../events.ts";
import type { Context } from "./context.ts";
import type { LinkTable } from "./links.ts";
import type { SelfClaims } from "./self.ts";
import type { ClaimSigner } from "./signer.ts";
import type { Member, MemberTable, Source } from "./table.ts";

const isAccusation = (c: ClaimWire) => c.fields.kind === CLAIM_KIND.SUSPECT || c.fields.kind === CLAIM_KIND.DEAD;

/** The claim intake of one node. */
export class ClaimIntake {
  #cx: Context;
  #table: MemberTable;
  #self: SelfClaims;
  #signer: ClaimSigner;
  #queue: ClaimQueue;
  #links: LinkTable;
  /** Signature checks running, by claim (and proof) signature: the links that brought the claim. */
  #pending = new Map<string, { links: Set<LinkId> }>();

  /**
   * @param heard told of every claim that comes in, before anything else (dissemination: it need
   *   not be asked for); true when the claim was asked for only because a shuffle's sample named
   *   it, so it is taken as from a shuffle
   */
  constructor(
    cx: Context,
    table: MemberTable,
    self: SelfClaims,
    signer: ClaimSigner,
    queue: ClaimQueue,
    links: LinkTable,
    readonly heard: (c: ClaimWire, linkId: LinkId) => boolean = () => false,
  ) {
    this.#cx = cx;
    this.#table = table;
    this.#self = self;
    this.#signer = signer;
    this.#queue = queue;
    this.#links = links;
  }

  /**
   * Claims from `linkId` (null: learned out of band, see `Membership.introduce`): the ones that
   * would change something are verified and then accepted; older ones are corrected.
   */
  receive(linkId: LinkId | null, claims: readonly ClaimWire[], frameSource: Source): void {
    const cx = this.#cx;
    const corrections: ClaimWire[] = [];
    for (const wire of claims) {
      cx.stats.claimsReceived++;
      const source = linkId !== null && this.heard(wire, linkId) ? "shuffle" : frameSource;
      const c = wire.proof || !isAccusation(wire) ? wire : this.#proven(wire);
      if (!c) {
        // Nobody penalised: the sender could not know. This node's own, older claim goes back, and
        // the sender answers an older claim with what it holds: the accusation with its proof.
        cx.stats.accusationsUnproven++;
        const held = linkId === null ? undefined : this.#table.get(toHex(wire.fields.member))?.claim;
        if (held && corrections.length < cx.options.claimsPerMessageMax && !corrections.includes(held)) corrections.push(held);
        continue;
      }
      if (!this.#wants(c, source)) {
        const newer = linkId === null ? null : this.#newerThan(c);
        if (newer && corrections.length < cx.options.claimsPerMessageMax && !corrections.includes(newer)) corrections.push(newer);
        else if (!newer && linkId !== null && this.#self.signing && bytesEqual(c.fields.member, cx.host.id)) {
          // An accusation this node's next incarnation already outbids, but that alive claim is
          // still being signed: send it to this peer once it is, or the peer holds it dead.
          this.#self.correctWhenSigned(linkId);
        }
        continue;
      }
      // Keyed by the proof's signature too: a genuine accusation with a forged proof must not
      // share a verdict (and a penalty) with the honest copy.
      const key = c.proof ? toHex(c.signature) + toHex(c.proof.signature) : toHex(c.signature);
      const pending = this.#pending.get(key);
      if (pending) {
        if (linkId !== null) pending.links.add(linkId);
        continue;
      }
      if (this.#pending.size >= cx.options.claimVerifyPendingMax) {
        cx.stats.verifyDropped++; // flow control, not misbehaviour: gossip and push-pull bring it again
        continue;
      }
      const p = { links: new Set<LinkId>(linkId === null ? [] : [linkId]) };
      this.#pending.set(key, p);
      this.#signer.verify(c, (member) => this.#heldAlive(member), (ok) => {
        this.#pending.delete(key);
        if (!ok) {
          for (const l of p.links) cx.host.penalize(l, remoteError("CRYPTO_BAD_SIGNATURE", "member claim signature does not verify"));
        } else if (this.#wants(c, source)) {
          // Checked again: the table may have moved on while the signature was being checked.
          // The peers it came from have it: it is never sent back to them.
          const from = [...p.links].map((l) => this.#links.get(l)?.peerId).filter((id): id is string => !!id);
          this.accept(cx.clock.now(), c, source, from);
        }
        cx.rearm();
      });
    }
    // Within the link's answer budget: a stale or unprovable claim costs its sender about what the
    // correction costs this node (one held claim for each, at most claimsPerMessageMax a frame),
    // but a correction may be an accusation with its proof, longer than what brought it.
    if (corrections.length && linkId !== null && cx.answer(linkId, cx.clock.now(), { type: MEMBER_FRAME.CLAIMS, claims: corrections })) {
      cx.stats.corrections += corrections.length;
    }
  }

  /** Applies a verified (or own) claim at `now`; `from`: the peers it came from (they are not sent it back). */
  accept(now: number, c: ClaimWire, source: Source, from: readonly string[] = []): void {
    const f = c.fields;
    const id = toHex(f.member);
    if (id === this.#cx.selfId) {
      if (f.kind === CLAIM_KIND.SUSPECT || f.kind === CLAIM_KIND.DEAD) this.#self.refute(f.generation, f.incarnation);
      return;
    }
    const news = source !== "intro" && source !== "shuffle";
    const m = this.#table.get(id);
    if (m && c.proof && compareRank(f.generation, f.incarnation, m.generation, m.incarnation) > 0) {
      // An accusation of a rank this node has not seen yet: its proof is the member's own alive
      // claim at that rank, so take that first (as if it had arrived on its own), then the accusation.
      this.accept(now, c.proof, source);
    }
    const r = this.#table.apply(now, id, c, () => this.#links.linkedPeers());
    switch (r.kind) {
      case "none":
        return;
      case "added":
        this.#emitMember(r.member, null);
        if (news) this.#queue.push(id, c, false, from);
        return;
      case "confirmed":
        // Confirmations of one suspicion travel side by side: each one shortens it elsewhere too.
        if (news) this.#queue.push(id, c, true, from);
        return;
      case "changed":
        if (r.previous !== r.member.state) this.#emitMember(r.member, r.previous);
        if (news) this.#queue.push(id, c, false, from);
        return;
    }
  }

  /**
   * An accusation whose proof was left out (gossip does, once the accused rank is old news):
   * proven by the alive claim this node holds at that very rank, which it checked when it took it.
   * Null when this node holds an older rank of the member, or nothing of itself: nothing here can
   * show that the member ever signed the accused rank, so it is ignored. As it came when this node
   * holds a newer rank (stale: corrected) or no record (a stranger's accusation changes nothing).
   */
  #proven(c: ClaimWire): ClaimWire | null {
    const f = c.fields;
    const held = this.#heldAlive(f.member);
    if (!held) return bytesEqual(f.member, this.#cx.host.id) ? null : c;
    const r = compareRank(f.generation, f.incarnation, held.fields.generation, held.fields.incarnation);
    return r === 0 ? { ...c, proof: held } : r < 0 ? c : null;
  }

  /** Whether a claim would change this node's view (cheap; decides whether to verify it). */
  #wants(c: ClaimWire, source: Source): boolean {
    const id = toHex(c.fields.member);
    return id === this.#cx.selfId ? this.#self.wants(c) : this.#table.wants(id, c, source);
  }

  /** The claim this node holds about `c`'s member when it is of a strictly higher rank. */
  #newerThan(c: ClaimWire): ClaimWire | null {
    const id = toHex(c.fields.member);
    return id === this.#cx.selfId ? this.#self.newerThan(c) : this.#table.newerThan(id, c);
  }

  /** The alive claim this node holds of `member` (its own for itself): a proof it need not check again. */
  #heldAlive(member: Uint8Array): ClaimWire | null | undefined {
    const id = toHex(member);
    return id === this.#cx.selfId ? this.#self.alive : this.#table.get(id)?.alive;
  }

  #emitMember(m: Member, previous: MemberState | null): void {
    const accused = m.state === "suspect" || m.state === "dead";
    this.#cx.host.emit({
      type: "member", member: m.key, state: m.state, previous, generation: m.generation, incarnation: m.incarnation,
      claimer: accused ? m.claim.fields.claimer : null, addr: m.addr,
    });
  }
}
