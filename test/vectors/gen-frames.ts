// Regenerates test/vectors/frames.json. Run only on purpose (a format change), then review the diff:
//   npx deno run -A test/vectors/gen-frames.ts
import { buildFrameVectors } from "./frames.build.ts";

const vectors = await buildFrameVectors(globalThis.crypto.subtle);
await Deno.writeTextFile(new URL("./frames.json", import.meta.url), JSON.stringify(vectors, null, 2) + "\n");
console.log(`wrote ${vectors.length} frame vectors`);
