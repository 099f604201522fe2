/**
 * `grapevine fuzz`: mutated frames of every type against a live engine mid-conversation, the frame
 * decoders, a real node's link handler and the handshake (see `cli/fuzz/`). Prints the seed first,
 * a progress line on stderr when stderr is a terminal, and one JSON report last; exits 1 if any
 * frame crashed a target or hung it, 2 on bad flags. Any finding replays from the seed and its
 * frame index: `grapevine fuzz --seed S --replay I`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DEFAULT_OPTIONS, type FuzzOptions, type FuzzReport, replayCommand, runFuzz } from "./fuzz/run.ts";

export const FUZZ_HELP = `grapevine fuzz [--frames N] [--seed S] [--json] [--types a,b] [--timeout-ms MS]

Mutates valid frames of every type (captured from a seeded run of real engines, the handshake and
real nodes) and feeds them to a live engine mid-conversation, the frame decoders, a real node's
link handler and the handshake. Reports crashes, hangs, the slowest frames and the answer
amplification per frame type as JSON; exits 1 if any frame crashed or hung a target.

  --frames N        frames to run (default ${DEFAULT_OPTIONS.frames})
  --seed S          root seed; frame i of seed S is always the same frame (default: random, printed)
  --types a,b       only mutate frames of these types (e.g. graft,ping-req,nack)
  --timeout-ms MS   a frame slower than this in one target is a hang (default ${DEFAULT_OPTIONS.timeoutMs})
  --replay I        rerun frame I (and the frames before it in its epoch) and print it in full
  --json            print only the seed line and the JSON report
  --corpus-seed S   seed of the capture scenario (default ${DEFAULT_OPTIONS.corpusSeed})
  --epoch N         frames between rebuilds of the targets (default ${DEFAULT_OPTIONS.epoch})
  --no-driver       skip the real-node target; --no-handshake skip the handshake target
  --no-confirm      do not replay and minimise findings at the end
`;

class UsageError extends Error {}

function integer(v: string | undefined, name: string, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name}: expected an integer ≥ ${min}, got ${v}`);
  return n;
}

function parse(argv: string[]): { o: Partial<FuzzOptions>; json: boolean; help: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        frames: { type: "string" }, seed: { type: "string" }, types: { type: "string" }, "timeout-ms": { type: "string" },
        replay: { type: "string" }, json: { type: "boolean" }, "corpus-seed": { type: "string" }, epoch: { type: "string" },
        "no-driver": { type: "boolean" }, "no-handshake": { type: "boolean" }, "no-confirm": { type: "boolean" }, help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : integer(values.seed, "seed", 0, 0);
  const o: Partial<FuzzOptions> = {
    frames: integer(values.frames, "frames", DEFAULT_OPTIONS.frames, 1),
    seed,
    types: values.types ? values.types.split(",").map((t) => t.trim()).filter(Boolean) : null,
    timeoutMs: integer(values["timeout-ms"], "timeout-ms", DEFAULT_OPTIONS.timeoutMs, 1),
    replay: values.replay === undefined ? null : integer(values.replay, "replay", 0, 0),
    corpusSeed: integer(values["corpus-seed"], "corpus-seed", DEFAULT_OPTIONS.corpusSeed, 0),
    epoch: integer(values.epoch, "epoch", DEFAULT_OPTIONS.epoch, 1),
    driver: !values["no-driver"],
    handshake: !values["no-handshake"],
    confirm: !values["no-confirm"],
  };
  return { o, json: values.json === true, help: values.help === true };
}

function runArgs(o: Partial<FuzzOptions>): string {
  const parts = [`--frames ${o.frames}`, `--seed ${o.seed}`];
  if (o.types) parts.push(`--types ${o.types.join(",")}`);
  if (o.timeoutMs !== DEFAULT_OPTIONS.timeoutMs) parts.push(`--timeout-ms ${o.timeoutMs}`);
  if (o.corpusSeed !== DEFAULT_OPTIONS.corpusSeed) parts.push(`--corpus-seed ${o.corpusSeed}`);
  if (o.epoch !== DEFAULT_OPTIONS.epoch) parts.push(`--epoch ${o.epoch}`);
  if (!o.driver) parts.push("--no-driver");
  if (!o.handshake) parts.push("--no-handshake");
  return parts.join(" ");
}

function summary(r: FuzzReport): string[] {
  const lines = [
    `  frames ${r.frames} in ${(r.elapsed_ms / 1000).toFixed(1)} s; engine ${r.targets.engine}, driver ${r.targets.driver}, handshake ${r.targets.handshake} (${r.handshakes.ok} authenticated)`,
    `  crashes ${r.crashes.length}, hangs ${r.hangs.length} (confirmed ${r.hangs.filter((h) => h.confirmed).length})`,
  ];
  for (const c of r.crashes) {
    const what = c.known ? `KNOWN (${c.known})` : c.kind === "crash" ? "CRASH" : c.kind.toUpperCase();
    lines.push(`  ${what} ${c.target}/${c.phase} ${c.type} [${c.mutations.join(" + ")}] ×${c.count}: ${c.error}\n        ${c.replay}`);
  }
  for (const h of r.hangs) lines.push(`  HANG ${h.target} ${h.type} [${h.mutations.join(" + ")}]: ${h.detail}${h.confirmed === false ? " (not slow again when replayed)" : ""}\n        ${h.replay}`);
  for (const s of r.slowest.slice(0, 3)) lines.push(`  slow ${s.ms} ms ${s.target} ${s.type} [${s.mutations.join(" + ")}] #${s.index}`);
  return lines;
}

/** Runs `grapevine fuzz` with `argv` (after the command name). Returns the exit code. */
export async function fuzzCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parse(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`grapevine fuzz: ${e.message}\n\n${FUZZ_HELP}`);
    return 2;
  }
  if (parsed.help) {
    console.log(FUZZ_HELP);
    return 0;
  }
  const { o, json } = parsed;
  const full = { ...DEFAULT_OPTIONS, ...o };
  console.log(`seed: ${o.seed}  (replay: ${o.replay !== null ? replayCommand(full, o.replay!) : `npx grapevine fuzz ${runArgs(o)}`})`);
  const tty = process.stderr.isTTY === true;
  let shownAt = 0;
  const t0 = Date.now();
  let report: FuzzReport;
  try {
    report = await runFuzz({
      ...o,
      progress: tty
        ? (done, total, r) => {
          const now = Date.now();
          if (now - shownAt < 250 && done !== total) return;
          shownAt = now;
          const rate = Math.round((done / Math.max(1, now - t0)) * 1000);
          process.stderr.write(`\r  fuzz ${done}/${total} frames, ${countFailures(r)} failing, ${r.hangs.length} slow, ${rate}/s   `);
          if (done === total) process.stderr.write("\n");
        }
        : undefined,
    });
  } catch (e) {
    if (e instanceof RangeError && e.message.startsWith("--")) {
      console.error(`grapevine fuzz: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (o.replay !== null && report.replayed) {
    console.log(JSON.stringify(report.replayed, null, json ? undefined : 2));
    return report.replayed.outcomes.failures && (report.replayed.outcomes.failures as unknown[]).length ? 1 : 0;
  }
  if (!json) for (const l of summary(report)) console.log(l);
  console.log(JSON.stringify(report));
  return report.ok ? 0 : 1;
}

function countFailures(r: FuzzReport): number {
  let n = 0;
  for (const t of Object.values(r.per_type)) n += t.failures;
  return n;
}
