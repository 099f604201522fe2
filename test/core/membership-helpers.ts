// Helpers of the membership tests: states, time, signed claims, and the claims a node sends.
import { toHex } from "../../src/bytes.ts";
import { PROTOCOL_VERSION } from "../../src/core/engine.ts";
import { signingBytes } from "../../src/crypto/context.ts";
import { CLAIM_KIND, decodeMemberFrame, encodeClaimBody, type ClaimBody, type ClaimWire } from "../../src/wire/member-frames.ts";
import { suite, type World } from "./harness.ts";

export function stateAt(w: World, observer: number, member: number): string | undefined {
  return w.engines[observer].membership.stateOf(toHex(w.keys[member].publicKey));
}

/** Advances time in small steps (so probe deadlines are met on time) until `done` or `ms` pass. */
export async function runFor(w: World, ms: number, done: () => boolean = () => false, step = 50): Promise<boolean> {
  const until = w.now + ms;
  while (w.now < until) {
    await w.round(step);
    if (done()) return true;
  }
  return done();
}

/**
 * A claim signed by node `signer`. An accusation carries its proof: by default the accused node's
 * own current alive claim (the rank it signed), or `proof` when a test needs another.
 */
export async function signed(w: World, signer: number, body: ClaimBody, proof?: ClaimWire): Promise<ClaimWire> {
  const bytes = encodeClaimBody(body);
  const s = await suite();
  const signature = await s.sign(w.keys[signer], signingBytes("member", "grapevine", PROTOCOL_VERSION, bytes));
  const c: ClaimWire = { body: bytes, signature, fields: body };
  if (body.kind === CLAIM_KIND.SUSPECT || body.kind === CLAIM_KIND.DEAD) {
    c.proof = proof ?? w.engines[w.keys.findIndex((k) => toHex(k.publicKey) === toHex(body.member))].membership.selfClaim!;
  }
  return c;
}

/** Calls `visit` for every claim node `from` sends (in any membership frame), on top of the world's filter. */
export function onClaimsSent(w: World, from: number, visit: (to: number, c: ClaimWire, type: number) => void): void {
  const o = w.engines[from].options;
  const filter = w.filter;
  w.filter = (f, to, bytes) => {
    if (f === from && bytes[1] >= 8 && bytes[1] <= 15) {
      const frame = decodeMemberFrame(bytes, { frameBytesMax: o.frameBytesMax, claimsMax: o.claimsPerFrameMax });
      if ("claims" in frame) for (const c of frame.claims) visit(to, c, frame.type);
    }
    return filter(f, to, bytes);
  };
}
