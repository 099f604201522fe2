/**
 * The startup probe that decides whether a runtime's WebCrypto may be trusted with the pinned rule
 * set. The byte rules and the torsion-free key check run before any backend, but three things reach
 * the backend itself: deriving a seed's public key, the cofactorless equation and decoding `R`. The
 * probe derives, signs and verifies a known RFC 8032 vector and runs the frozen edge vectors that
 * only the backend can judge — chiefly a mixed-order `R`, which a cofactored verifier accepts and
 * the pinned rule rejects. Any wrong verdict, or any exception, fails the probe.
 *
 * @module
 */

import { bytesEqual, fromHex } from "../bytes.ts";
import type { Ed25519Backend } from "./backend.ts";
import { isTorsionFreeKey } from "./edwards.ts";

/** One frozen vector the probe runs; all hex. Taken from `test/vectors/ed25519.json`. */
export interface ProbeVector {
  /** The vector's `id` in the JSON file. */
  readonly id: string;
  /** The 32-byte public key. */
  readonly publicKey: string;
  /** The signed message. */
  readonly message: string;
  /** The 64-byte signature. */
  readonly signature: string;
  /** The pinned verdict. */
  readonly valid: boolean;
}

/** RFC 8032 §7.1 TEST 1 (empty message): signing it must reproduce the signature exactly. */
export const PROBE_SIGNING_VECTOR: Readonly<Record<"secretKey" | "publicKey" | "message" | "signature", string>> = Object.freeze({
  secretKey: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
  publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
  message: "",
  signature:
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
});

const BASE_KEY = "4bd44884c2a708ee820bb9040fc715875a3aefb7f124e60443f66673626288d2";
const BASE_MESSAGE = "677261706576696e65206564676520766563746f7273"; // "grapevine edge vectors"

/** Vectors that pass every check before the backend, so only the backend's verdict decides. */
export const PROBE_VERIFY_VECTORS: readonly ProbeVector[] = Object.freeze([
  {
    id: "valid-baseline",
    publicKey: BASE_KEY,
    message: BASE_MESSAGE,
    signature:
      "7c0f5d1d0c31490f8beff49e2a03baa05f7252e6711d32fc4de18b6841e9d8b654e87a917e1e0034e1dc2b6910e7187656eec7864cea02ff9eb0e1eab4e97400",
    valid: true,
  },
  {
    id: "mixed-order-r",
    publicKey: BASE_KEY,
    message: BASE_MESSAGE,
    signature:
      "96ead8225ec50f4256f4973a3c18badeb459ed7a5f5e79ec1a03abb8615338920ee3a0d9f098ac6dfc92f0c663e058a2526fa626ecfae614d8a749e7884efc03",
    valid: false,
  },
  {
    id: "r-not-on-curve",
    publicKey: BASE_KEY,
    message: BASE_MESSAGE,
    signature:
      "070000000000000000000000000000000000000000000000000000000000000054e87a917e1e0034e1dc2b6910e7187656eec7864cea02ff9eb0e1eab4e97400",
    valid: false,
  },
]);

/**
 * Whether `backend` derives RFC 8032 TEST 1's public key, signs TEST 1 exactly, and gives the
 * pinned verdict on every {@link PROBE_VERIFY_VECTORS} entry (and rejects a bit-flipped TEST 1
 * signature). Never throws.
 */
export async function probeBackend(backend: Ed25519Backend): Promise<boolean> {
  try {
    const v = PROBE_SIGNING_VECTOR;
    const signer = await backend.signer(fromHex(v.secretKey));
    if (!bytesEqual(signer.publicKey, fromHex(v.publicKey))) return false;
    const signature = await signer.sign(fromHex(v.message));
    if (!bytesEqual(signature, fromHex(v.signature))) return false;
    const flipped = signature.slice();
    flipped[0] ^= 1;
    const cases = [
      { publicKey: v.publicKey, message: v.message, signature: v.signature, valid: true },
      { publicKey: v.publicKey, message: v.message, signature: flipped, valid: false },
      ...PROBE_VERIFY_VECTORS,
    ];
    for (const c of cases) {
      const publicKey = fromHex(c.publicKey);
      if (!isTorsionFreeKey(publicKey)) return false;
      const verify = await backend.verifier(publicKey);
      const sig = typeof c.signature === "string" ? fromHex(c.signature) : c.signature;
      if ((await verify(fromHex(c.message), sig)) !== c.valid) return false;
    }
    return true;
  } catch {
    return false;
  }
}
