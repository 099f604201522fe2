// Frozen link-layer frames (PROTOCOL.md §8): every runtime must build the same bytes from the same
// inputs (signatures included: Ed25519 is deterministic), decode the frozen bytes and re-encode
// them unchanged. No Node-only APIs: this also runs under Deno and Bun.
// Regenerate on purpose only (a format change), then review the diff:
//   npx deno run -A test/vectors/link-frames.check.ts --write
import { PROTOCOL_VERSION } from "../../src/core/engine.ts";
import { fromHex, toHex } from "../../src/bytes.ts";
import { createSignatureSuite } from "../../src/crypto/ed25519.ts";
import { keyPairFromSeed } from "../../src/crypto/keys.ts";
import {
  CLOSE_CODE,
  decodeLinkFrame,
  encodeLinkFrame,
  handshakeSigningBytes,
  LINK_FRAME,
  type LinkFrame,
  memberSigningBytes,
} from "../../src/wire/link-frames.ts";
import frozen from "./link-frames.json" with { type: "json" };

interface Vector {
  name: string;
  hex: string;
}

const NETWORK = "vectors";
const VERSION = PROTOCOL_VERSION;
const A = keyPairFromSeed(fromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
const B = keyPairFromSeed(fromHex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"));
const AUTHORITY = keyPairFromSeed(new Uint8Array(32).fill(7));
const NONCE_A = new Uint8Array(32).fill(0xa1);
const NONCE_B = new Uint8Array(32).fill(0xb2);
const EXPIRES = 1_900_000_000_000;

/** Builds every link-frame vector from fixed inputs; signed vectors use the real suite. */
export async function buildLinkFrameVectors(subtle: SubtleCrypto | undefined): Promise<Vector[]> {
  const suite = await createSignatureSuite({ subtle });
  const out: Vector[] = [];
  const add = (name: string, f: LinkFrame) => out.push({ name, hex: toHex(encodeLinkFrame(f)) });
  const member = memberSigningBytes(NETWORK, VERSION, B.publicKey, EXPIRES);
  out.push({ name: "signed bytes: member", hex: toHex(member) });
  const credentialSignature = await suite.sign(AUTHORITY, member);
  // A's proof answers B's HELLO: B's nonce, then A's key, then B's key.
  const handshake = handshakeSigningBytes(NETWORK, VERSION, NONCE_B, A.publicKey, B.publicKey);
  out.push({ name: "signed bytes: handshake", hex: toHex(handshake) });
  const proofSignature = await suite.sign(A, handshake);

  add("hello: no credential", { type: LINK_FRAME.HELLO, protocolVersion: VERSION, network: NETWORK, nonce: NONCE_A, publicKey: A.publicKey, credential: null });
  add("hello: with credential", {
    type: LINK_FRAME.HELLO, protocolVersion: VERSION, network: NETWORK, nonce: NONCE_B, publicKey: B.publicKey,
    credential: { authority: AUTHORITY.publicKey, expiresAtMs: EXPIRES, signature: credentialSignature },
  });
  add("proof", { type: LINK_FRAME.PROOF, signature: proofSignature });
  add("close: network mismatch", { type: LINK_FRAME.CLOSE, code: CLOSE_CODE.NETWORK, reason: 'network mismatch: expected "vectors", got "other"' });
  add("close: normal, empty reason", { type: LINK_FRAME.CLOSE, code: CLOSE_CODE.NORMAL, reason: "" });
  add("forward: first hop", { type: LINK_FRAME.FORWARD, to: B.publicKey, from: A.publicKey, hops: 0, payload: new TextEncoder().encode("hello, b") });
  add("forward: relayed, empty payload", { type: LINK_FRAME.FORWARD, to: A.publicKey, from: B.publicKey, hops: 2, payload: new Uint8Array(0) });
  return out;
}

export async function run(subtle?: SubtleCrypto): Promise<{ total: number; failures: string[] }> {
  const failures: string[] = [];
  const built = await buildLinkFrameVectors(subtle);
  const byName = new Map(built.map((v) => [v.name, v.hex]));
  const suite = await createSignatureSuite({ subtle });
  for (const v of frozen as Vector[]) {
    const mine = byName.get(v.name);
    if (mine !== v.hex) failures.push(`${v.name}: built ${mine ?? "nothing"}, frozen ${v.hex}`);
    if (v.name.startsWith("signed bytes")) continue;
    try {
      const again = toHex(encodeLinkFrame(decodeLinkFrame(fromHex(v.hex), 1 << 20) as LinkFrame));
      if (again !== v.hex) failures.push(`${v.name}: decode+encode changed the bytes`);
    } catch (e) {
      failures.push(`${v.name}: frozen bytes do not decode: ${(e as Error).message}`);
    }
  }
  // The frozen signatures verify over the frozen signed bytes.
  const hex = new Map((frozen as Vector[]).map((v) => [v.name, v.hex]));
  const proof = decodeLinkFrame(fromHex(hex.get("proof") ?? "80"), 1 << 20);
  const hello = decodeLinkFrame(fromHex(hex.get("hello: with credential") ?? "80"), 1 << 20);
  if (proof.type !== LINK_FRAME.PROOF || !(await suite.verify(A.publicKey, fromHex(hex.get("signed bytes: handshake")!), proof.signature))) {
    failures.push("proof: frozen signature does not verify over the frozen handshake bytes");
  }
  if (hello.type !== LINK_FRAME.HELLO || !hello.credential || !(await suite.verify(AUTHORITY.publicKey, fromHex(hex.get("signed bytes: member")!), hello.credential.signature))) {
    failures.push("hello: frozen credential does not verify over the frozen member bytes");
  }
  if (built.length !== (frozen as unknown[]).length) failures.push(`built ${built.length} vectors, ${(frozen as unknown[]).length} frozen`);
  return { total: (frozen as unknown[]).length, failures };
}

// `deno run -A test/vectors/link-frames.check.ts --write` regenerates the JSON.
const deno = (globalThis as { Deno?: { args: string[]; writeTextFile(path: URL, text: string): Promise<void>; mainModule: string } }).Deno;
if (deno && deno.mainModule === import.meta.url && deno.args.includes("--write")) {
  const vectors = await buildLinkFrameVectors(globalThis.crypto.subtle);
  await deno.writeTextFile(new URL("./link-frames.json", import.meta.url), JSON.stringify(vectors, null, 2) + "\n");
  console.log(`wrote ${vectors.length} link-frame vectors`);
}
