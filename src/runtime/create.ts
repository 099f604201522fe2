/**
 * Creating a node: an identity, a signature suite, the driver's settings, and an engine with the
 * parts the node runs — `createNode` all of them, `createNodeWith` those given (`grapevine/lite`).
 *
 * @module
 */

import { ALL_PARTS } from "../core/engine.ts";
import { resolveOptions } from "../core/options.ts";
import type { EngineParts } from "../core/parts.ts";
import { createSignatureSuite, keyPairFromSeedAsync } from "../crypto/ed25519.ts";
import { seedOfSecretKey } from "../crypto/identity.ts";
import { GrapevineNode } from "./node.ts";
import type { NodeOptions } from "./node-types.ts";
import { randomBytes, randomSeed, resolveDriverSettings } from "./settings.ts";
import { inTurn } from "./slice.ts";
import { nextTurn } from "./turn.ts";

/**
 * Creates a node: an identity, an engine and its driver. Connect it to peers with
 * {@link GrapevineNode.connect} or {@link dial}.
 *
 * @example
 * ```ts
 * import { createNode, createMemoryLinkPair } from "grapevine";
 * const a = await createNode({ network: "example" });
 * const b = await createNode({ network: "example" });
 * const [la, lb] = createMemoryLinkPair();
 * await Promise.all([a.connect(la), b.connect(lb)]);
 * a.set("status", { text: "online" });
 * b.on("change", ({ origin, key, value }) => console.log(origin, key, value));
 * ```
 */
export function createNode(options: NodeOptions = {}): Promise<GrapevineNode> {
  return createNodeWith(ALL_PARTS, options);
}

/**
 * Creates a node with only the engine parts given (`parts`: membership, broadcast, the digest trie; see
 * `grapevine/lite`). Without membership the node is known to others only through its own state,
 * and `options.membership` defaults to false.
 */
export async function createNodeWith(parts: EngineParts, options: NodeOptions = {}): Promise<GrapevineNode> {
  const { keyPair, suite, nodeCrypto, generation, seed, admission, credential, handshakeTimeoutMs, linkHighWaterBytes, linkCongestedCloseMs, onWake, ...engineOptions } = options;
  if (onWake !== undefined && typeof onWake !== "function") throw new TypeError("onWake must be a function");
  if (!parts.membership && engineOptions.membership === undefined) engineOptions.membership = false;
  if (engineOptions.membership && !parts.membership) throw new TypeError("membership: true needs the membership part (membershipPart from grapevine/lite)");
  const resolved = resolveOptions(engineOptions); // fail fast on bad options, before any key work
  // Derived through WebCrypto where it has Ed25519: a page that has it never loads noble.
  const subtle = globalThis.crypto?.subtle;
  const kp = typeof keyPair === "string"
    ? await keyPairFromSeedAsync(seedOfSecretKey(keyPair, "createNode: keyPair"), subtle)
    : keyPair ?? (await keyPairFromSeedAsync(randomBytes(32), subtle));
  // Checks of keys seen for the first time take their turn in the thread's time slice; turns of
  // node:crypto's checks and WebCrypto's hand-overs yield to the event loop's next turn in between.
  const s = suite ?? (await createSignatureSuite({ subtle, nodeCrypto, yieldTo: nextTurn, inTurn }));
  const driver = await resolveDriverSettings({ admission, credential, handshakeTimeoutMs, linkHighWaterBytes, linkCongestedCloseMs, onWake }, kp, s, resolved.network);
  return new GrapevineNode(kp, s, engineOptions, generation ?? Date.now(), seed ?? randomSeed(), driver, parts);
}

