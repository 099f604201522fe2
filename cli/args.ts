/**
 * The command line's one argument parser: every `grapevine` command describes its options in a
 * {@link CommandSpec}, and `node:util`'s `parseArgs` (strict: unknown options and stray arguments
 * are errors) reads them, so every command takes `--name value` and `--name=value` alike and
 * answers `--help` with its own usage. Numbers are checked here, with the option named in the
 * error; a bad one is a {@link UsageError} (exit code 2).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { joinFlagValues } from "../relay/args.ts";

/** A mistake in the command line; the message is meant for the user. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** One option of a command. */
export interface OptionSpec {
  /** `boolean` for a switch; `string` for an option with a value. */
  type: "boolean" | "string";
  /** Placeholder for the value in the help text (`N`, `MS`, `FILE`). */
  value?: string;
  help: string;
  /** May be given several times. */
  multiple?: boolean;
}

/** A command: its usage line, what it does, and its options. */
export interface CommandSpec {
  /** `grapevine demo`, `grapevine bench relay`, … */
  name: string;
  /** What follows the name in the usage line, e.g. `[options]`. */
  usage?: string;
  /** A paragraph on what the command does. */
  summary: string;
  options: Record<string, OptionSpec>;
  /** Extra text after the options (examples, notes). */
  notes?: string;
}

/** Parsed options: strings, booleans, or lists for `multiple` options. */
export type Values = Record<string, string | boolean | string[] | undefined>;

/**
 * Parses `argv` against `spec`. Returns null when `--help` (or `-h`) was given: the caller prints
 * {@link helpText}. Throws {@link UsageError} for an unknown option, a missing value, a value given
 * to a switch, or a positional argument.
 *
 * @example
 * ```ts
 * const spec = { name: "grapevine demo", summary: "…", options: { peers: { type: "string", value: "N", help: "peer processes" } } };
 * parseCommand(spec, ["--peers=3"]); // { peers: "3" }
 * ```
 */
export function parseCommand(spec: CommandSpec, argv: readonly string[]): Values | null {
  const options: Record<string, { type: "boolean" | "string"; multiple?: boolean; short?: string }> = { help: { type: "boolean", short: "h" } };
  for (const [name, o] of Object.entries(spec.options)) options[name] = { type: o.type, ...(o.multiple ? { multiple: true } : {}) };
  let values: Values;
  try {
    values = parseArgs({ args: joinFlagValues(argv, options), options, strict: true, allowPositionals: false }).values as Values;
  } catch (e) {
    throw new UsageError(`${spec.name}: ${e instanceof Error ? e.message.split("\n")[0].replace(/\. To specify a positional.*$/, "") : String(e)}`);
  }
  if (values.help === true) return null;
  delete values.help;
  return values;
}

/** The help text of a command: usage, summary, options (with their defaults, in their help). */
export function helpText(spec: CommandSpec): string {
  const lines = [`Usage: ${spec.name} ${spec.usage ?? "[options]"}`, "", spec.summary, "", "Options:"];
  for (const [name, o] of Object.entries(spec.options)) {
    const left = `  --${name}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}`;
    lines.push(left.length < 28 ? `${left.padEnd(28)}${o.help}` : `${left}\n${"".padEnd(28)}${o.help}`);
  }
  lines.push(`${"  --help".padEnd(28)}this text`);
  if (spec.notes) lines.push("", spec.notes);
  return lines.join("\n");
}

/**
 * The number given for option `name`, or `fallback` when absent. Throws {@link UsageError} unless
 * the value is a finite number that passes `check`; `what` describes the allowed values.
 *
 * @example
 * ```ts
 * numberOption({ peers: "3" }, "peers", 6, (n) => Number.isInteger(n) && n >= 1, "an integer ≥ 1"); // 3
 * ```
 */
export function numberOption(values: Values, name: string, fallback: number, check: (n: number) => boolean = () => true, what = "a number"): number {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  if (!Number.isFinite(n) || !check(n)) throw new UsageError(`--${name}: expected ${what}, got ${String(v)}`);
  return n;
}

/** An integer option within `[min, max]`. */
export function intOption(values: Values, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  return numberOption(values, name, fallback, (n) => Number.isInteger(n) && n >= min && n <= max, max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`);
}

/** A string option, or `fallback`; with `choices`, one of them. */
export function stringOption(values: Values, name: string, fallback: string, choices?: readonly string[]): string {
  const v = values[name];
  if (v === undefined) return fallback;
  if (typeof v !== "string") throw new UsageError(`--${name}: expected a value`);
  if (choices && !choices.includes(v)) throw new UsageError(`--${name}: unknown ${v} (one of ${choices.join(", ")})`);
  return v;
}
