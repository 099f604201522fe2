/**
 * One way to declare options: every option of the engine and the driver has a spec — its default,
 * its bounds, its unit, and a line of documentation (the engine's in `options-doc.ts`, so browser
 * bundles carry no prose) — and the same code checks user values against it and formats defaults
 * for people (README's option tables are tested against these specs). Bounds are inclusive; an
 * integer option takes only integers.
 *
 * @module
 */

/** What an option's number measures; decides how its default is written for people. */
export type OptionUnit = "ms" | "bytes" | "bytes/s" | "count" | "count/s" | "factor";

/** The spec of one option. */
export type OptionSpec =
  | { kind: "number"; default: number; min: number; max?: number; integer?: boolean; unit: OptionUnit; doc?: string }
  | { kind: "boolean"; default: boolean; doc?: string }
  | { kind: "string"; default: string; bytesMax: number; bytesMin?: number; doc?: string }
  | { kind: "choice"; default: string; choices: readonly string[]; doc?: string };

/** The specs of a group of options, by name. */
export type OptionSpecs<T> = { readonly [K in keyof T]-?: OptionSpec };

const utf8 = new TextEncoder();

/** The defaults of a group of options. */
export function defaultsOf<T>(specs: OptionSpecs<T>): T {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs) as [string, OptionSpec][]) out[name] = spec.default;
  return out as T;
}

/**
 * Checks one value against its spec; throws `TypeError` for a value of the wrong type and
 * `RangeError` for one out of bounds, naming the option.
 */
export function checkOption(name: string, value: unknown, spec: OptionSpec): void {
  switch (spec.kind) {
    case "number": {
      if (typeof value !== "number" || Number.isNaN(value)) throw new TypeError(`${name} must be a number, got ${String(value)}`);
      const max = spec.max ?? Infinity;
      if (!(value >= spec.min && value <= max) || (max !== Infinity && !Number.isFinite(value))) {
        throw new RangeError(`${name} must be ${max === Infinity ? `at least ${spec.min}` : `in [${spec.min}, ${max}]`}, got ${value}`);
      }
      if (!Number.isFinite(value)) throw new RangeError(`${name} must be finite, got ${value}`);
      if (spec.integer && !Number.isInteger(value)) throw new RangeError(`${name} must be an integer, got ${value}`);
      return;
    }
    case "boolean":
      if (typeof value !== "boolean") throw new TypeError(`${name} must be a boolean, got ${String(value)}`);
      return;
    case "string": {
      if (typeof value !== "string") throw new TypeError(`${name} must be a string, got ${String(value)}`);
      const n = utf8.encode(value).length;
      if (n > spec.bytesMax || n < (spec.bytesMin ?? 0)) {
        throw new RangeError(`${name} must be ${spec.bytesMin ? `${spec.bytesMin} to ` : "at most "}${spec.bytesMax} UTF-8 bytes`);
      }
      return;
    }
    case "choice":
      if (typeof value !== "string" || !spec.choices.includes(value)) throw new RangeError(`${name} must be one of ${spec.choices.join(", ")}, got ${String(value)}`);
      return;
  }
}

/**
 * Merges `partial` over the defaults of `specs` and checks every value (unknown names are left
 * alone: a caller may mix option groups). Throws `TypeError`/`RangeError`.
 */
export function resolveWith<T>(specs: OptionSpecs<T>, partial: Partial<T> = {}): T {
  const out = { ...defaultsOf(specs), ...partial } as T;
  for (const [name, spec] of Object.entries(specs) as [string, OptionSpec][]) checkOption(name, (out as Record<string, unknown>)[name], spec);
  return out;
}

const group = (n: number) => n.toLocaleString("en-US");

/**
 * A default as README writes it: `1 MiB`, `16 KiB`, `1,024`, `5 min`, `30 s`, `400 ms`, `1 h`,
 * `4 MiB/s`, `` `true` ``, `` `"grapevine"` ``.
 */
export function formatDefault(spec: OptionSpec): string {
  switch (spec.kind) {
    case "boolean":
      return `\`${spec.default}\``;
    case "string":
    case "choice":
      return `\`${JSON.stringify(spec.default)}\``;
    case "number": {
      const v = spec.default;
      if (v === 0) return "0";
      if (spec.unit === "ms") {
        if (v % 3_600_000 === 0) return `${v / 3_600_000} h`;
        if (v % 60_000 === 0 && v >= 120_000) return `${v / 60_000} min`;
        if (v % 1000 === 0) return `${v / 1000} s`;
        return `${group(v)} ms`;
      }
      if (spec.unit === "bytes" || spec.unit === "bytes/s") {
        const per = spec.unit === "bytes/s" ? "/s" : "";
        if (v % 1_048_576 === 0) return `${v / 1_048_576} MiB${per}`;
        if (v % 1024 === 0) return `${v / 1024} KiB${per}`;
        return `${group(v)}${per ? " B/s" : ""}`;
      }
      return group(v);
    }
  }
}
