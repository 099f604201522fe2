/**
 * The driver's own settings: how a node holds its links (handshake timeout, backpressure,
 * admission, its credential, who drives its timers), resolved and checked from {@link NodeOptions};
 * and the platform's clock and randomness as the driver uses them.
 *
 * @module
 */

import type { SignatureSuite, KeyPair } from "../crypto/types.ts";
import { nodeIdFromText, nodeIdToText } from "../crypto/identity.ts";
import { checkOption, type OptionSpec } from "../core/schema.ts";
import type { CredentialWire } from "../wire/link-frames.ts";
import { credentialProblem, credentialToWire } from "./credential.ts";
import type { AdmissionPolicy } from "./handshake.ts";
import type { NodeOptions } from "./node-types.ts";

/** Driver settings resolved from {@link NodeOptions}. */
export interface DriverSettings {
  handshakeTimeoutMs: number;
  linkHighWaterBytes: number;
  linkCongestedCloseMs: number;
  admission: AdmissionPolicy | null;
  credential: CredentialWire | null;
  onWake: ((delayMs: number) => void) | null;
}

/** How often a congested link's buffer is looked at, at most, in ms. */
export const CONGESTION_POLL_MS = 100;

/** Cheap clock: monotonic milliseconds. */
export function monotonicNow(): number {
  return performance.timeOrigin + performance.now();
}

export function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

export function randomSeed(): number {
  const a = new Uint32Array(2);
  crypto.getRandomValues(a);
  return a[0] * 0x200000 + (a[1] & 0x1fffff);
}

/** The driver's own options: how links are held (PROTOCOL.md §8.5). */
export const DRIVER_OPTION_SPECS = Object.freeze({
  handshakeTimeoutMs: { kind: "number", default: 10_000, min: 1, unit: "ms" },
  linkHighWaterBytes: { kind: "number", default: 1_048_576, min: 1, unit: "bytes" },
  linkCongestedCloseMs: { kind: "number", default: 30_000, min: 1, unit: "ms" },
} satisfies Record<string, OptionSpec>);

function positive(value: number | undefined, name: keyof typeof DRIVER_OPTION_SPECS): number {
  const spec = DRIVER_OPTION_SPECS[name];
  const v = value ?? spec.default;
  checkOption(name, v, spec);
  return v;
}

/** Checks the link options and the node's credential; throws `TypeError`/`RangeError`. */
export async function resolveDriverSettings(
  o: Pick<NodeOptions, "admission" | "credential" | "handshakeTimeoutMs" | "linkHighWaterBytes" | "linkCongestedCloseMs" | "onWake">,
  keyPair: KeyPair,
  suite: SignatureSuite,
  network: string,
): Promise<DriverSettings> {
  let admission: AdmissionPolicy | null = null;
  if (o.admission) {
    const { allow, authority } = o.admission;
    if (allow !== undefined && !Array.isArray(allow)) throw new TypeError("admission.allow must be an array of node ids");
    for (const id of allow ?? []) nodeIdFromText(id); // throws TypeError on a malformed id
    admission = { allow: allow ? new Set(allow) : null, authority: authority === undefined ? null : nodeIdFromText(authority) };
  }
  let credential: CredentialWire | null = null;
  if (o.credential) {
    credential = credentialToWire(o.credential);
    if (o.credential.member !== nodeIdToText(keyPair.publicKey)) throw new TypeError("credential was issued for another key");
    const problem = await credentialProblem(suite, network, credential.authority, keyPair.publicKey, credential, 0);
    if (problem) throw new RangeError(`credential: ${problem} (for this key in network ${JSON.stringify(network)})`);
  }
  return {
    handshakeTimeoutMs: positive(o.handshakeTimeoutMs, "handshakeTimeoutMs"),
    linkHighWaterBytes: positive(o.linkHighWaterBytes, "linkHighWaterBytes"),
    linkCongestedCloseMs: positive(o.linkCongestedCloseMs, "linkCongestedCloseMs"),
    admission,
    credential,
    onWake: o.onWake ?? null,
  };
}
