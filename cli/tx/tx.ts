/**
 * Transactions of the flooding demo: `{from, to, amount, nonce, fee}` signed by the `from`
 * account's Ed25519 key, over a demo-specific tag so no other Grapevine signature can pass as one.
 * Encoded as canonical CBOR, so the bytes signed are the bytes sent.
 *
 * @module
 */

import { concatBytes, toBase64Url } from "../../src/bytes.ts";
import type { KeyPair, SignatureSuite } from "../../src/crypto/types.ts";
import { decode, encode } from "../../src/wire/cbor.ts";
import { asArray, asBytes, asUint } from "../../src/wire/shape.ts";

/** A transfer from one account to another. Accounts are Ed25519 public keys. */
export interface Tx {
  from: Uint8Array;
  to: Uint8Array;
  amount: number;
  nonce: number;
  fee: number;
}

/** A transaction with its signature, as it travels. */
export interface SignedTx {
  tx: Tx;
  /** `[from, to, amount, nonce, fee]` as CBOR: what is signed. */
  body: Uint8Array;
  signature: Uint8Array;
  /** Short id for logs and the dashboard (base64url of the first 9 signature bytes). */
  id: string;
}

const TAG = new TextEncoder().encode("grapevine-demo-tx\u0000");

/** Encodes and signs a transaction. */
export async function signTx(suite: SignatureSuite, account: KeyPair, tx: Omit<Tx, "from">): Promise<SignedTx> {
  const full: Tx = { ...tx, from: account.publicKey };
  const body = encode([full.from, full.to, full.amount, full.nonce, full.fee]);
  const signature = await suite.sign(account, concatBytes(TAG, body));
  return { tx: full, body, signature, id: toBase64Url(signature.subarray(0, 9)) };
}

/** What travels in a broadcast message: `[body, signature]`. */
export function txToWire(s: SignedTx): Uint8Array {
  return encode([s.body, s.signature]);
}

/** Parses a wire transaction (bounded); throws `GrapevineError` (`WIRE_*`) when malformed. */
export function txFromWire(bytes: Uint8Array): SignedTx {
  const limits = { frameBytesMax: 512, depthMax: 3, itemsMax: 16, arrayLengthMax: 5, mapSizeMax: 0, textBytesMax: 0, bytesLengthMax: 200 };
  const [bodyV, sigV] = asArray(decode(bytes, limits), "tx", 2, 2);
  const body = asBytes(bodyV, "tx.body", undefined, 200);
  const signature = asBytes(sigV, "tx.signature", 64);
  const f = asArray(decode(body, limits), "tx.fields", 5, 5);
  const tx: Tx = {
    from: asBytes(f[0], "tx.from", 32),
    to: asBytes(f[1], "tx.to", 32),
    amount: asUint(f[2], "tx.amount"),
    nonce: asUint(f[3], "tx.nonce"),
    fee: asUint(f[4], "tx.fee"),
  };
  return { tx, body, signature, id: toBase64Url(signature.subarray(0, 9)) };
}

/** Whether the signature is the `from` account's over the body. */
export function verifyTx(suite: SignatureSuite, s: SignedTx): Promise<boolean> {
  return suite.verify(s.tx.from, concatBytes(TAG, s.body), s.signature);
}
