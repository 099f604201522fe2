/**
 * Generates `test/vectors/ed25519.json`: the RFC 8032 §7.1 vectors and the edge cases of the pinned
 * Ed25519 rule set (see `src/crypto/rules.ts`). Deterministic: every key and nonce comes from a
 * fixed label, so rerunning reproduces the file byte for byte.
 *
 * It builds the tricky signatures directly with noble's `Point` API (it knows every secret scalar,
 * so it can satisfy the verification equation for keys and nonces no honest signer would use), then
 * asks OpenSSL through `node:crypto` for its verdict on each vector and records every disagreement
 * with the pinned verdict in `note` / `opensslValid`. It deliberately does not import `src/`.
 *
 * Run under Node (for OpenSSL's verdicts):
 * ```sh
 * npx esbuild test/vectors/gen-ed25519.ts --bundle --platform=node --format=esm --log-level=warning \
 *   | node --input-type=module > test/vectors/ed25519.json
 * ```
 */

import { createPublicKey, verify as nodeVerify } from "node:crypto";
import * as ed from "@noble/ed25519";
import { sha256, sha512 } from "@noble/hashes/sha2.js";

ed.hashes.sha512 = sha512;

const { Point } = ed;
type EdPoint = InstanceType<typeof Point>;
const L = Point.CURVE().n;
const P = Point.CURVE().p;
const enc = new TextEncoder();

const hex = (b: Uint8Array): string => ed.etc.bytesToHex(b);
const unhex = (h: string): Uint8Array => ed.etc.hexToBytes(h);
const cat = (...parts: Uint8Array[]): Uint8Array => ed.etc.concatBytes(...parts);
const le32 = (n: bigint): Uint8Array => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
};
const fromLe = (b: Uint8Array): bigint => b.reduceRight((acc, v) => (acc << 8n) | BigInt(v), 0n);
const mulL = (p: EdPoint, n: bigint): EdPoint => p.multiply(n / 2n, false).double().add(n % 2n ? p : Point.ZERO);
const challenge = (R: Uint8Array, A: Uint8Array, M: Uint8Array): bigint => fromLe(sha512(cat(R, A, M))) % L;
const labelScalar = (label: string): bigint => fromLe(sha512(enc.encode(`grapevine/ed25519-vectors/${label}`))) % L;

/** A key pair with its secret scalar, derived from a fixed label. */
function key(label: string) {
  const seed = sha256(enc.encode(`grapevine/ed25519-vectors/${label}`));
  const { scalar, pointBytes } = ed.utils.getExtendedPublicKey(seed);
  return { seed, a: scalar, A: pointBytes };
}

/** The torsion subgroup, one point per order: [L]Q for a point Q with a full torsion part. */
function torsionPoints(): { order: number; point: EdPoint }[] {
  let t8 = Point.ZERO;
  for (let y = 2n; t8.multiply(4n, false).is0(); y++) {
    let q: EdPoint;
    try {
      q = Point.fromBytes(le32(y));
    } catch {
      continue; // no x for this y
    }
    t8 = mulL(q, L); // the torsion component of q; we want one of order 8
  }
  const out: { order: number; point: EdPoint }[] = [];
  let t = Point.ZERO;
  for (let i = 0; i < 8; i++, t = t.add(t8)) {
    let order = 1;
    while (!t.multiply(BigInt(order), false).is0()) order *= 2;
    out.push({ order, point: t });
  }
  return out;
}

/** Finds a nonce r whose challenge is a multiple of `m`, so a torsion part of order dividing m cancels. */
function grind(label: string, A: Uint8Array, M: Uint8Array, m: bigint, R0?: EdPoint) {
  for (let i = 0; ; i++) {
    const r = labelScalar(`${label}/${i}`);
    const R = Point.BASE.multiply(r);
    const Rb = (R0 ? R.add(R0) : R).toBytes();
    const k = challenge(Rb, A, M);
    if (k % m === 0n) return { r, Rb, k };
  }
}

function opensslVerdict(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    const x = Buffer.from(publicKey).toString("base64url");
    const k = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
    return nodeVerify(null, message, k, signature);
  } catch {
    return false;
  }
}

function cofactoredVerdict(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return ed.verify(signature, message, publicKey); // noble default: ZIP-215, cofactored
  } catch {
    return false;
  }
}

interface Edge {
  id: string;
  publicKey: string;
  message: string;
  signature: string;
  valid: boolean;
  reason: string;
  note?: string;
  opensslValid?: boolean;
}

const edges: Edge[] = [];
function edge(id: string, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, valid: boolean, reason: string): void {
  const e: Edge = { id, publicKey: hex(publicKey), message: hex(message), signature: hex(signature), valid, reason };
  const openssl = opensslVerdict(publicKey, message, signature);
  const notes: string[] = [];
  if (openssl !== valid) {
    e.opensslValid = openssl;
    notes.push(`OpenSSL ${process.versions.openssl} (node:crypto) alone would ${openssl ? "accept" : "reject"} this`);
  }
  if (cofactoredVerdict(publicKey, message, signature) !== valid) notes.push("noble's default verify (ZIP-215, cofactored) disagrees");
  if (notes.length > 0) e.note = notes.join("; ") + ".";
  edges.push(e);
}

const base = key("base");
const M = enc.encode("grapevine edge vectors");
const good = ed.sign(M, base.seed);
const goodR = good.subarray(0, 32);
const goodS = fromLe(good.subarray(32));
const torsion = torsionPoints();
const t8 = torsion.find((t) => t.order === 8)!.point;
const flip = (b: Uint8Array, byte: number, bit: number) => {
  const c = b.slice();
  c[byte] ^= 1 << bit;
  return c;
};
/** R and S satisfying [S]B = R + [k]A for a key with known scalar `a`; R given as bytes. */
const sForR = (Rb: Uint8Array, A: Uint8Array, a: bigint, r: bigint) => le32((r + challenge(Rb, A, M) * a) % L);

edge("valid-baseline", base.A, M, good, true, "an honest signature under a torsion-free key");
edge("valid-empty-message", base.A, new Uint8Array(), ed.sign(new Uint8Array(), base.seed), true, "an honest signature of the empty message");

edge("s-equals-l", base.A, M, cat(goodR, le32(L)), false, "S = L: non-canonical scalar");
edge("s-all-ones", base.A, M, cat(goodR, le32((1n << 256n) - 1n)), false, "S = 2^256 - 1 > L: high bits set");
edge("s-plus-l", base.A, M, cat(goodR, le32(goodS + L)), false, "S + L of a valid signature: non-canonical, equal mod L");

for (const [i, { order, point }] of torsion.entries()) {
  const A = point.toBytes();
  const { r, Rb } = grind(`small-A/${i}`, A, M, 8n);
  // With k ≡ 0 (mod 8), [k]A vanishes, so [r]B = R + [k]A holds cofactorless as well.
  edge(`small-order-a-${i}`, A, M, cat(Rb, le32(r)), false, `small-order A (order ${order}) with a signature satisfying the equation`);
}

for (const i of [0, 2, 4]) {
  const { order, point } = torsion[i];
  const Rb = point.toBytes();
  edge(`small-order-r-${i}`, base.A, M, cat(Rb, sForR(Rb, base.A, base.a, 0n)), false, `small-order R (order ${order}), S = k·a`);
}

{
  const Anc = le32(P + 1n); // y = p + 1 ≡ 1: the identity, non-canonically
  const r = labelScalar("noncanonical-A/identity");
  edge("noncanonical-a-identity", Anc, M, cat(Point.BASE.multiply(r).toBytes(), le32(r)), false, "non-canonical A: y = p + 1 (the identity)");
  const Ap = le32(P); // y = p ≡ 0: a point of order 4, non-canonically
  const g = grind("noncanonical-A/order4", Ap, M, 4n);
  edge("noncanonical-a-order4", Ap, M, cat(g.Rb, le32(g.r)), false, "non-canonical A: y = p (order 4)");
  const Ans = le32(P + 1n + (1n << 255n));
  edge("noncanonical-a-identity-signbit", Ans, M, cat(Point.BASE.multiply(r).toBytes(), le32(r)), false, "non-canonical A: y = p + 1 with the sign bit");
}
{
  const Rnc = le32(P + 1n);
  edge("noncanonical-r-identity", base.A, M, cat(Rnc, sForR(Rnc, base.A, base.a, 0n)), false, "non-canonical R: y = p + 1 (the identity), S = k·a");
  const Rnc4 = le32(P);
  edge("noncanonical-r-order4", base.A, M, cat(Rnc4, sForR(Rnc4, base.A, base.a, 0n)), false, "non-canonical R: y = p (order 4), S = k·a");
}
{
  const negZeroOne = le32(1n + (1n << 255n)); // x = 0, y = 1, sign bit set
  const negZeroMinusOne = le32(P - 1n + (1n << 255n)); // x = 0, y = p - 1, sign bit set
  const r = labelScalar("negative-zero-A");
  edge("negative-zero-a-identity", negZeroOne, M, cat(Point.BASE.multiply(r).toBytes(), le32(r)), false, "A = identity encoded with x = 0 and the sign bit set");
  const g = grind("negative-zero-A/order2", negZeroMinusOne, M, 2n);
  edge("negative-zero-a-order2", negZeroMinusOne, M, cat(g.Rb, le32(g.r)), false, "A = (0, -1) encoded with x = 0 and the sign bit set");
  edge("negative-zero-r-identity", base.A, M, cat(negZeroOne, sForR(negZeroOne, base.A, base.a, 0n)), false, "R = identity encoded with x = 0 and the sign bit set, S = k·a");
  edge("negative-zero-r-order2", base.A, M, cat(negZeroMinusOne, sForR(negZeroMinusOne, base.A, base.a, 0n)), false, "R = (0, -1) encoded with x = 0 and the sign bit set, S = k·a");
}
{
  // A' = A + T8 has a torsion component; a signer knowing a signs as usual with the bytes of A'.
  const mixedA = Point.fromBytes(base.A).add(t8).toBytes();
  const g = grind("mixed-A/k0", mixedA, M, 8n);
  edge("mixed-order-a-k-multiple-of-8", mixedA, M, cat(g.Rb, sForR(g.Rb, mixedA, base.a, g.r)), false, "mixed-order A = A + T8, k ≡ 0 mod 8 so even the cofactorless equation holds; only the torsion-free check rejects");
  for (let i = 0; ; i++) {
    const r = labelScalar(`mixed-A/odd/${i}`);
    const Rb = Point.BASE.multiply(r).toBytes();
    if (challenge(Rb, mixedA, M) % 2n === 0n) continue;
    edge("mixed-order-a-k-odd", mixedA, M, cat(Rb, sForR(Rb, mixedA, base.a, r)), false, "mixed-order A = A + T8, odd k: only a cofactored verifier accepts");
    break;
  }
}
{
  const r = labelScalar("mixed-R");
  const Rb = Point.BASE.multiply(r).add(t8).toBytes();
  edge("mixed-order-r", base.A, M, cat(Rb, sForR(Rb, base.A, base.a, r)), false, "mixed-order R = [r]B + T8, S = r + k·a: a cofactored verifier accepts, the cofactorless rule rejects");
}

edge("wrong-message", base.A, enc.encode("grapevine edge vectors!"), good, false, "a valid signature checked against another message");
edge("flip-r", base.A, M, flip(good, 0, 0), false, "bit 0 of R flipped");
edge("flip-s", base.A, M, flip(good, 32, 0), false, "bit 0 of S flipped (S stays below L)");
edge("flip-a", flip(base.A, 0, 0), M, good, false, "bit 0 of A flipped");
edge("flip-message", base.A, flip(M, 0, 0), good, false, "bit 0 of the message flipped");
edge("flip-r-sign", base.A, M, flip(good, 31, 7), false, "the sign bit of R flipped (R becomes -R)");

{
  let y = 3n;
  for (; ; y++) {
    try {
      Point.fromBytes(le32(y));
    } catch {
      break;
    }
  }
  const offCurve = le32(y); // canonical y with no matching x
  edge("a-not-on-curve", offCurve, M, good, false, `A with canonical y = ${y} that has no x on the curve`);
  edge("r-not-on-curve", base.A, M, cat(offCurve, good.subarray(32)), false, `R with canonical y = ${y} that has no x on the curve`);
}

edge("signature-63-bytes", base.A, M, good.subarray(0, 63), false, "a 63-byte signature");
edge("signature-65-bytes", base.A, M, cat(good, new Uint8Array(1)), false, "a 65-byte signature");
edge("public-key-31-bytes", base.A.subarray(0, 31), M, good, false, "a 31-byte public key");

const rfcMessage1023 = [
  "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8",
  "79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc",
  "1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e",
  "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7",
  "aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed185ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2",
  "d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270",
  "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07",
  "07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128bab27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a",
  "ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7",
  "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8",
  "ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34dff7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08",
  "d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4",
  "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e",
  "6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5fb93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5",
  "0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d",
  "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0",
].join("");

const rfc8032 = [
  ["rfc8032-test-1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "", "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"],
  ["rfc8032-test-2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72", "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"],
  ["rfc8032-test-3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7", "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82", "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"],
  ["rfc8032-test-1024", "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5", "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e", rfcMessage1023, "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03"],
].map(([id, secretKey, publicKey, message, signature]) => {
  // The RFC's own bytes are checked here so a transcription error cannot reach the file.
  if (hex(ed.getPublicKey(unhex(secretKey))) !== publicKey) throw new Error(`${id}: public key mismatch`);
  if (hex(ed.sign(unhex(message), unhex(secretKey))) !== signature) throw new Error(`${id}: signature mismatch`);
  if (!opensslVerdict(unhex(publicKey), unhex(message), unhex(signature))) throw new Error(`${id}: OpenSSL rejects`);
  return { id, secretKey, publicKey, message, signature, valid: true };
});

const file = {
  description:
    "Ed25519 vectors for Grapevine's pinned rule set (strict RFC 8032: S < L, canonical A and R, no small-order A or R, torsion-free A, cofactorless [S]B = R + [k]A). All hex. Generated by test/vectors/gen-ed25519.ts; do not edit by hand.",
  rfc8032,
  edge: edges,
};
process.stdout.write(JSON.stringify(file, null, 2) + "\n");
