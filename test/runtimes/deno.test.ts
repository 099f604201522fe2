// The frozen vectors under Deno: `deno test -A test/runtimes/deno.test.ts` (deno.json sets
// nodeModulesDir "manual", so npm packages resolve from the node_modules that npm installed).
import { vectorCases } from "../vectors/all.ts";

for (const { title, check } of vectorCases(globalThis.crypto?.subtle)) {
  Deno.test(title, check);
}
