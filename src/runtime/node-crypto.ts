/**
 * The runtime's `node:crypto`, found without an import: `process.getBuiltinModule` (Node ≥ 20.16,
 * Deno, Bun) where the runtime has it, so a bundle for the browser neither refers to the module nor
 * fails on it. For code that runs on any runtime and wants `createNode`'s `nodeCrypto` where there
 * is one (the benches, the vector checks); on Node alone, `import * as nodeCrypto from "node:crypto"`.
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
