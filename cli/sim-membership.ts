/**
 * `grapevine sim --scenario membership`: the membership experiments of `src/sim/membership-*.ts`
 * behind command-line flags, run in order and reported as one JSON object.
 *
 * @module
 */

import { runDetection, type MembershipScenarioOptions } from "../src/sim/membership-scenarios.ts";
import { runFalsePositiveArm, runFalsePositives } from "../src/sim/membership-false-positives.ts";
import { runMembershipPartition } from "../src/sim/membership-partition.ts";
import { runScale } from "../src/sim/membership-scale.ts";
import type { KeyPair, SignatureSuite } from "../src/crypto/types.ts";
import type { SimProgress } from "../src/sim/sim.ts";

/** Flags only the membership scenario reads. */
export const MEMBERSHIP_FLAGS = ["phase", "slow", "fp-loss", "duration-ms", "scale-nodes", "lifeguard", "probe-interval", "fp-arm"];

/** The help text for those flags. */
export const MEMBERSHIP_HELP = `  membership scenario (--scenario membership; --nodes, --seed, --degree, --crypto, --loss,
  --crash, --partition-ms as above):
  --phase P           detect | fp | partition | scale | all (default all)
  --crash F           detect: fraction of nodes crashed at once (default 0.01)
  --loss P            detect and partition: frame loss (default 0)
  --fp-loss P         fp: frame loss (default 0.05)
  --slow F            fp: fraction of slow (CPU-starved) nodes (default 0.1)
  --duration-ms MS    fp: virtual time of each arm, with and without Lifeguard (default 600000)
  --fp-arm A          fp: both | with | without (default both; one arm alone, e.g. to run the two
                      arms of a long run as two processes on the same seed)
  --scale-nodes LIST  scale: sizes, comma-separated (default 100,1000,10000)
  --lifeguard on|off  detect and partition (default on)
  --probe-interval MS protocol period (default 1000)`;

type Num = (name: string, dflt: number, check?: (n: number) => boolean) => number;

/** Runs the phases the flags ask for. Throws `Error` with a usage message on a bad flag. */
export async function runMembershipCli(
  flags: Record<string, string | boolean>,
  num: Num,
  base: { nodes: number; seed: number; degree: number; suite: SignatureSuite; cryptoName: string; clock: () => number; progress?: (p: SimProgress) => void; keyPair?: (i: number) => KeyPair },
): Promise<object> {
  const phase = (flags.phase as string) ?? "all";
  if (!["detect", "fp", "partition", "scale", "all"].includes(phase)) throw new Error(`--phase: unknown ${phase}`);
  const lifeguard = (flags.lifeguard as string) ?? "on";
  if (lifeguard !== "on" && lifeguard !== "off") throw new Error("--lifeguard: on or off");
  const sizes = String(flags["scale-nodes"] ?? "100,1000,10000").split(",").map(Number);
  if (!sizes.every((n) => Number.isInteger(n) && n >= 4)) throw new Error(`--scale-nodes: bad list ${flags["scale-nodes"]}`);
  const o: MembershipScenarioOptions = {
    ...base,
    loss: num("loss", 0, (n) => n >= 0 && n < 1),
    probeIntervalMs: num("probe-interval", 1000, (n) => n >= 10),
    lifeguard: lifeguard === "on",
  };
  const report: Record<string, unknown> = { scenario: "membership", nodes: o.nodes, seed: o.seed, crypto: o.cryptoName };
  const all = phase === "all";
  if (all || phase === "detect") report.detection = await runDetection(o, num("crash", 0.01, (n) => n > 0 && n < 1));
  if (all || phase === "fp") {
    const arm = (flags["fp-arm"] as string) ?? "both";
    if (!["both", "with", "without"].includes(arm)) throw new Error("--fp-arm: both, with or without");
    const fo = { ...o, loss: num("fp-loss", 0.05, (n) => n >= 0 && n < 1) };
    const slow = num("slow", 0.1, (n) => n >= 0 && n < 1);
    const duration = num("duration-ms", 600_000, (n) => n > 0);
    if (arm === "both") report.false_positives = await runFalsePositives(fo, slow, duration);
    else {
      report.false_positives_arm = {
        experiment: "false_positives", loss: fo.loss, slow_fraction: slow, duration_ms: duration,
        ...(await runFalsePositiveArm(fo, arm === "with", slow, duration)),
      };
    }
  }
  if (all || phase === "partition") report.partition = await runMembershipPartition(o, num("partition-ms", 60_000, (n) => n >= 0));
  if (all || phase === "scale") report.scale = await runScale(o, sizes);
  return report;
}
