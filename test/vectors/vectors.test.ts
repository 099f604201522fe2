// The frozen vectors on Node; Deno and Bun run the same table from test/runtimes/*.
import { it } from "vitest";
import { vectorCases } from "./all.ts";

for (const { title, check } of vectorCases(globalThis.crypto?.subtle)) {
  it(title, check);
}
