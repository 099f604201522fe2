// The frozen vectors under Bun: `bun test ./test/runtimes/bun.test.ts`.
import { test } from "bun:test";
import { vectorCases } from "../vectors/all.ts";

for (const { title, check } of vectorCases(globalThis.crypto?.subtle)) {
  test(title, check, 20_000);
}
