/**
 * The signatures of member claims: signing a claim body this node makes (its own alive and left
 * claims, its accusations) and checking the claims peers send, proofs included.
 *
 * Both go out to the engine as crypto jobs and come back as callbacks; every callback first
 * catches membership's clock up with the engine (`Clock.resume`), so what it does happens at the
 * time of the input that completed the job. Signed bytes are domain-separated (`member`, the
 * network, the protocol version) and are the exact bytes sent: a body is encoded once, here, and
 * carried verbatim from then on.
 *
 * @module
 */

import { bytesEqual } from "../../bytes.ts";
import { signingBytes } from "../../crypto/context.ts";
import { claimSigner, encodeClaimBody, type ClaimBody, type ClaimWire } from "../../wire/member-frames.ts";
import type { Context } from "./context.ts";

/** Signs and checks claims for one node. */
export class ClaimSigner {
  #cx: Context;

  constructor(cx: Context) {
    this.#cx = cx;
  }

  /**
   * Signs `body`; `done` gets the claim, `failed` runs if the backend could not sign. After `done`
   * the wake-up is recomputed (not after a failure: nothing was applied).
   */
  sign(body: ClaimBody, done: (c: ClaimWire) => void, failed?: () => void): void {
    const bytes = encodeClaimBody(body);
    this.#cx.host.sign(this.#signing(bytes), (signature) => {
      this.#cx.clock.resume();
      if (!signature) return failed?.();
      done({ body: bytes, signature, fields: body });
      this.#cx.rearm();
    });
  }

  /**
   * Checks a claim's signature and, for an accusation, its proof: the accused member's own
   * signature on its alive claim at the accused rank — skipped when `held` (the alive claim this
   * node holds of that member) is that very claim.
   */
  verify(c: ClaimWire, held: (id: Uint8Array) => ClaimWire | null | undefined, done: (ok: boolean) => void): void {
    const cx = this.#cx;
    cx.stats.verifies++;
    cx.host.verify(claimSigner(c.fields), this.#signing(c.body), c.signature, (ok) => {
      cx.clock.resume();
      const proof = c.proof;
      if (!ok || !proof) return done(ok);
      const have = held(c.fields.member);
      if (have && bytesEqual(have.signature, proof.signature) && bytesEqual(have.body, proof.body)) return done(true);
      cx.stats.verifies++;
      cx.host.verify(proof.fields.member, this.#signing(proof.body), proof.signature, (ok) => {
        cx.clock.resume();
        done(ok);
      });
    });
  }

  #signing(body: Uint8Array): Uint8Array {
    return signingBytes("member", this.#cx.options.network, this.#cx.host.protocolVersion, body);
  }
}
