/**
 * The runtime's `node:crypto`, found without an import: `process.getBuiltinModule` (Node ≥ 20.16,
 * Deno, Bun) where the runtime has it, so a bundle for the browser neither refers to the module nor
 * fails on it. Nodes hand it to their signature suite, which prefers its one-shot Ed25519
 * (`src/crypto/native.ts`).
 *
 * @module
 */

import type { NodeCryptoLike } from "../crypto/native.ts";

/** `node:crypto` where the runtime offers it through `process.getBuiltinModule`, else undefined. */
export function runtimeNodeCrypto(): NodeCryptoLike | undefined {
  try {
    const get = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
    return typeof get === "function" ? (get("node:crypto") as NodeCryptoLike | undefined) ?? undefined : undefined;
  } catch {
    return undefined;
  }
}
