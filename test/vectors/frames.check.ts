import { frameLimitsFor } from "../../src/core/engine.ts";
import { DEFAULT_OPTIONS } from "../../src/core/options.ts";
// Frozen frames: every runtime must build the same bytes from the same inputs, decode the frozen
// bytes, and re-encode them unchanged. No Node-only APIs: this also runs under Deno and Bun.
import { fromHex, toHex } from "../../src/bytes.ts";
import { decodeFrame, encodeFrame } from "../../src/wire/frames.ts";
import { decodeMemberFrame, encodeMemberFrame } from "../../src/wire/member-frames.ts";
import { buildFrameVectors } from "./frames.build.ts";
import frozen from "./frames.json" with { type: "json" };

const LIMITS = frameLimitsFor(DEFAULT_OPTIONS);

export async function run(subtle?: SubtleCrypto): Promise<{ total: number; failures: string[] }> {
  const failures: string[] = [];
  const built = await buildFrameVectors(subtle);
  const byName = new Map(built.map((v) => [v.name, v.hex]));
  for (const v of frozen as { name: string; hex: string }[]) {
    const mine = byName.get(v.name);
    if (mine !== v.hex) failures.push(`${v.name}: built ${mine ?? "nothing"}, frozen ${v.hex}`);
    if (v.name.startsWith("leaf") || v.name.startsWith("root") || v.name.startsWith("message") || v.name.endsWith("claim body")) continue;
    try {
      const again = v.name.startsWith("member:")
        ? toHex(encodeMemberFrame(decodeMemberFrame(fromHex(v.hex), { frameBytesMax: LIMITS.frameBytesMax, claimsMax: DEFAULT_OPTIONS.claimsPerFrameMax }) as never))
        : toHex(encodeFrame(decodeFrame(fromHex(v.hex), LIMITS) as never));
      if (again !== v.hex) failures.push(`${v.name}: decode+encode changed the bytes`);
    } catch (e) {
      failures.push(`${v.name}: frozen bytes do not decode: ${(e as Error).message}`);
    }
  }
  if (built.length !== (frozen as unknown[]).length) failures.push(`built ${built.length} vectors, ${(frozen as unknown[]).length} frozen`);
  return { total: (frozen as unknown[]).length, failures };
}
