/**
 * Architecture test for DESIGN.md §2: the protocol layers (`src/core`, `src/wire`, `src/crypto`,
 * `src/sim`) touch no clock, timer, randomness, socket or runtime global, import no runtime-bound
 * module, and imports point inward only (`core` → `wire`/`crypto`/`bytes`/`errors`; `wire` and
 * `crypto` never reach back into `core`).
 *
 * The scanner blanks comments before matching, and blanks string contents before looking for
 * globals, so a doc example or an error message never trips it; import specifiers are read from
 * the comment-free text with strings intact. It is a lexer-level check, not a type-level one: it
 * errs on the side of flagging, and a flagged line is fixed by injecting the capability instead.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, posix, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SCANNED_DIRS = ["src/core", "src/wire", "src/crypto", "src/sim"] as const;

/** A rule violation, reported as `file:line: message`. */
interface Violation {
  file: string;
  line: number;
  message: string;
}

/** Two views of a source file, both the same length as the input with newlines kept. */
interface Views {
  /** Comments replaced by spaces; string and template contents intact. */
  code: string;
  /** Comments and the contents of strings, templates and regex literals replaced by spaces. */
  bare: string;
}

const REGEX_PRECEDERS = new Set(["", "(", ",", "=", ":", "[", "!", "&", "|", "?", "{", "}", ";", "+", "-", "*", "%", "<", ">", "~", "^"]);
const REGEX_KEYWORDS = /(?:^|[^\w$])(?:return|typeof|case|do|else|in|of|new|delete|void|throw|yield|await)$/;

/** Splits TypeScript source into the two views; handles nested template expressions. */
export function lex(source: string): Views {
  const code = source.split("");
  const bare = source.split("");
  const blank = (from: number, to: number, alsoCode: boolean) => {
    for (let k = from; k < to; k++) {
      if (source[k] === "\n") continue;
      bare[k] = " ";
      if (alsoCode) code[k] = " ";
    }
  };
  // Each entry is the brace depth at which a `${` opened; closing it resumes the template.
  const templateStack: number[] = [];
  let braceDepth = 0;
  let lastSignificant = "";
  let i = 0;
  const n = source.length;

  const scanTemplate = (start: number): number => {
    // `start` is just after a backtick or a closing `}` of an expression; returns the index after
    // the closing backtick, or after `${` (having pushed the template onto the stack).
    let k = start;
    while (k < n) {
      const c = source[k];
      if (c === "\\") {
        k += 2;
        continue;
      }
      if (c === "`") {
        blank(start, k, false);
        return k + 1;
      }
      if (c === "$" && source[k + 1] === "{") {
        blank(start, k, false);
        templateStack.push(braceDepth);
        braceDepth++;
        return k + 2;
      }
      k++;
    }
    blank(start, n, false);
    return n;
  };

  while (i < n) {
    const c = source[i];
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      const end = source.indexOf("\n", i);
      const stop = end === -1 ? n : end;
      blank(i, stop, true);
      i = stop;
      continue;
    }
    if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end === -1 ? n : end + 2;
      blank(i, stop, true);
      i = stop;
      continue;
    }
    if (c === "'" || c === '"') {
      let k = i + 1;
      while (k < n && source[k] !== c && source[k] !== "\n") k += source[k] === "\\" ? 2 : 1;
      blank(i + 1, Math.min(k, n), false);
      i = k + 1;
      lastSignificant = c;
      continue;
    }
    if (c === "`") {
      i = scanTemplate(i + 1);
      lastSignificant = "`";
      continue;
    }
    if (c === "/") {
      const before = source.slice(Math.max(0, i - 12), i).trimEnd();
      if (REGEX_PRECEDERS.has(lastSignificant) || REGEX_KEYWORDS.test(before)) {
        let k = i + 1;
        let inClass = false;
        while (k < n && source[k] !== "\n") {
          const r = source[k];
          if (r === "\\") {
            k += 2;
            continue;
          }
          if (r === "[") inClass = true;
          else if (r === "]") inClass = false;
          else if (r === "/" && !inClass) break;
          k++;
        }
        blank(i + 1, Math.min(k, n), false);
        i = k + 1;
        lastSignificant = "/regex";
        continue;
      }
    }
    if (c === "{") braceDepth++;
    if (c === "}") {
      braceDepth--;
      if (templateStack.length > 0 && templateStack[templateStack.length - 1] === braceDepth) {
        templateStack.pop();
        i = scanTemplate(i + 1);
        lastSignificant = "`";
        continue;
      }
    }
    if (!/\s/.test(c)) lastSignificant = /[\w$]/.test(c) ? "id" : c;
    i++;
  }
  return { code: code.join(""), bare: bare.join("") };
}

/** Globals and calls the protocol layers must not touch, matched on the string-free view. */
const FORBIDDEN_GLOBALS: ReadonlyArray<readonly [RegExp, string]> = [
  [/(?<![\w$.])setTimeout\b/g, "setTimeout (timers belong to src/runtime)"],
  [/(?<![\w$.])setInterval\b/g, "setInterval (timers belong to src/runtime)"],
  [/(?<![\w$.])setImmediate\b/g, "setImmediate (timers belong to src/runtime)"],
  [/(?<![\w$.])queueMicrotask\b/g, "queueMicrotask (scheduling belongs to src/runtime)"],
  [/(?<![\w$.])Date\b/g, "Date (take `now` as an argument)"],
  [/(?<![\w$.])performance\b/g, "performance (take `now` as an argument)"],
  [/(?<![\w$.])Math\s*\.\s*random\b/g, "Math.random (take a random source as an argument)"],
  [/(?<![\w$])getRandomValues\b/g, "getRandomValues (take a random source as an argument)"],
  [/(?<![\w$.])WebSocket\b/g, "WebSocket (sockets belong to src/transport)"],
  [/(?<![\w$.])fetch\s*\(/g, "fetch( (I/O belongs outside the protocol layers)"],
  [/(?<![\w$.])RTCPeerConnection\b/g, "RTCPeerConnection (inject it; it belongs to src/transport)"],
  [/(?<![\w$.])Deno\s*\./g, "Deno. (runtime global)"],
  [/(?<![\w$.])Bun\s*\./g, "Bun. (runtime global)"],
  [/(?<![\w$.])process\s*\./g, "process. (runtime global)"],
  [/(?<![\w$.])Buffer\b/g, "Buffer (use Uint8Array)"],
  [/(?<![\w$.])globalThis\b/g, "globalThis (inject capabilities instead of reaching for globals)"],
  [/(?<![\w$.])require\s*\(/g, "require( (ESM imports only)"],
];

const IMPORT_PATTERNS: readonly RegExp[] = [
  // import x from "m"; import { a } from "m"; export * from "m"; export { a } from "m"; multi-line too
  /\b(?:import|export)\s+(?:type\s+)?[^;"'`]*?\bfrom\s*(["'])([^"'\n]+)\1/g,
  // import "m";
  /\bimport\s*(["'])([^"'\n]+)\1/g,
  // import("m"), also inside type positions: import("m").T
  /\bimport\s*\(\s*(["'])([^"'\n]+)\1/g,
];

const NODE_BUILTINS = new Set(builtinModules.filter((m) => !m.startsWith("_")));

/** One import found in a file: the specifier as written and where it sits. */
export interface ImportSite {
  specifier: string;
  line: number;
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let k = 0; k < index; k++) if (text.charCodeAt(k) === 10) line++;
  return line;
}

/** Lists the module specifiers a file imports or re-exports, ignoring commented-out code. */
export function findImports(source: string): ImportSite[] {
  const { code } = lex(source);
  const found = new Map<number, ImportSite>();
  for (const pattern of IMPORT_PATTERNS) {
    for (const match of code.matchAll(pattern)) {
      const specifier = match[2];
      const at = (match.index ?? 0) + match[0].lastIndexOf(specifier);
      found.set(at, { specifier, line: lineAt(code, at) });
    }
  }
  return [...found.entries()].sort((a, b) => a[0] - b[0]).map(([, site]) => site);
}

/**
 * Resolves a relative specifier from `file` (both repository-relative, POSIX separators) to a
 * repository-relative path; returns undefined for bare specifiers.
 */
function resolveSpecifier(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith("./") && !specifier.startsWith("../") && !specifier.startsWith("/")) return undefined;
  return posix.normalize(posix.join(posix.dirname(file), specifier));
}

function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

function layerOf(file: string): "core" | "wire" | "crypto" | "sim" | undefined {
  const match = /^src\/(core|wire|crypto|sim)\//.exec(file);
  return match ? (match[1] as "core" | "wire" | "crypto" | "sim") : undefined;
}

const CORE_MAY_IMPORT = ["src/core", "src/wire", "src/crypto", "src/bytes.ts", "src/errors.ts"];
const WIRE_CRYPTO_MUST_NOT_IMPORT = ["src/core", "src/sim", "src/presence"];
const NOBODY_MAY_IMPORT = ["src/runtime", "src/transport", "relay"];

/** Checks one import against the module bans and the layer direction; returns the complaint. */
function checkImport(file: string, specifier: string): string | undefined {
  if (specifier.startsWith("node:")) return `imports "${specifier}" (node:* is for relay/node.ts and Node links only)`;
  if (specifier === "ws" || specifier.startsWith("ws/")) return `imports "${specifier}" (ws is for relay/node.ts and Node links only)`;
  const bareRoot = specifier.split("/")[0];
  if (NODE_BUILTINS.has(specifier) || NODE_BUILTINS.has(bareRoot)) {
    return `imports Node built-in "${specifier}"`;
  }
  const target = resolveSpecifier(file, specifier);
  if (target === undefined) {
    if (layerOf(file) === "core") return `imports package "${specifier}" (src/core reaches packages through src/wire or src/crypto)`;
    return undefined;
  }
  for (const banned of NOBODY_MAY_IMPORT) {
    if (isUnder(target, banned)) return `imports ${target} (${banned} is outside the sans-I/O layers)`;
  }
  const layer = layerOf(file);
  if (layer === "core" && !CORE_MAY_IMPORT.some((allowed) => isUnder(target, allowed))) {
    return `imports ${target} (src/core may import only ${CORE_MAY_IMPORT.join(", ")})`;
  }
  if (layer === "wire" || layer === "crypto") {
    for (const banned of WIRE_CRYPTO_MUST_NOT_IMPORT) {
      if (isUnder(target, banned)) return `imports ${target} (src/${layer} must not depend on ${banned})`;
    }
  }
  return undefined;
}

/** Scans one file's text; `file` is its repository-relative path with POSIX separators. */
export function scanSource(file: string, source: string): Violation[] {
  const violations: Violation[] = [];
  const { bare } = lex(source);
  for (const [pattern, message] of FORBIDDEN_GLOBALS) {
    for (const match of bare.matchAll(pattern)) {
      violations.push({ file, line: lineAt(bare, match.index ?? 0), message: `uses ${message}` });
    }
  }
  for (const { specifier, line } of findImports(source)) {
    const complaint = checkImport(file, specifier);
    if (complaint !== undefined) violations.push({ file, line, message: complaint });
  }
  return violations.sort((a, b) => a.line - b.line);
}

function listTypeScript(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const files: string[] = [];
  for (const entry of entries.sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) files.push(...listTypeScript(path));
    else if (/\.(?:ts|mts|cts|tsx)$/.test(entry)) files.push(path);
  }
  return files;
}

function format(violations: Violation[]): string {
  return violations.map((v) => `${v.file}:${v.line}: ${v.message}`).join("\n");
}

describe("sans-I/O architecture (DESIGN.md §2)", () => {
  const files = SCANNED_DIRS.flatMap((dir) => listTypeScript(join(ROOT, dir)));

  it("finds the protocol sources to scan", () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it("src/core, src/wire, src/crypto and src/sim use no clock, timer, randomness, socket or runtime global, and import inward only", () => {
    const violations = files.flatMap((path) => {
      const file = relative(ROOT, path).split(sep).join("/");
      return scanSource(file, readFileSync(path, "utf8"));
    });
    expect(format(violations)).toBe("");
  });
});

describe("the scanner itself", () => {
  const lines = (violations: Violation[]) => violations.map((v) => v.line);

  it("catches each forbidden global, naming the line", () => {
    const source = [
      "const a = Date.now();", // 1
      "setTimeout(() => {}, 1);", // 2
      "const r = Math.random();", // 3
      "crypto.getRandomValues(new Uint8Array(4));", // 4
      "const s = new WebSocket(url);", // 5
      "await fetch(url);", // 6
      "Deno.exit(1); Bun.env; process.env;", // 7
      "const b = Buffer.from([]);", // 8
      "globalThis.x = 1; performance.now(); queueMicrotask(f); setImmediate(f); setInterval(f, 1);", // 9
      "const pc: RTCPeerConnection = make(); const m = require('x');", // 10
    ].join("\n");
    const found = scanSource("src/core/example.ts", source);
    expect(lines(found)).toEqual([1, 2, 3, 4, 5, 6, 7, 7, 7, 8, 9, 9, 9, 9, 9, 10, 10]);
    expect(format(found)).toContain("src/core/example.ts:1: uses Date");
  });

  it("ignores comments, strings and property names", () => {
    const source = [
      "// setTimeout(() => Date.now(), 1)",
      "/* Math.random()",
      "   process.env */",
      "/**",
      " * @example",
      ' * import { x } from "node:fs";',
      " */",
      'const message = "Date is not used; see http://example.com // not a comment";',
      "const t = `no ${'Buffer'} here, fetch(url) ${ `nested ${1}` }`;",
      "const o = { now: stats.performance, d: clock.Date, n: this.fetch(x) };",
      "const re = /process\\.env|\"/g;",
      "const after = re.test('x') ? 1 : 2; // done",
    ].join("\n");
    expect(format(scanSource("src/wire/example.ts", source))).toBe("");
  });

  it("still sees code after a template literal expression", () => {
    const source = "const t = `a ${b + `c ${d}`} e`;\nconst n = Date.now();";
    expect(lines(scanSource("src/sim/example.ts", source))).toEqual([2]);
  });

  it("catches forbidden modules and layer direction", () => {
    const source = [
      'import { readFile } from "node:fs";', // 1
      'import WebSocketServer from "ws";', // 2
      'import { crypto } from "crypto";', // 3
      'import { Driver } from "../runtime/driver.ts";', // 4
      'export { Link } from "../transport/link.ts";', // 5
      'import { relay } from "../../relay/mod.ts";', // 6
      'import { Presence } from "../presence/mod.ts";', // 7
      'import { encode } from "../wire/cbor.ts";', // 8: allowed
      'import { sha256 } from "../crypto/hash.ts";', // 9: allowed
      'import type { GrapevineError } from "../errors.ts";', // 10: allowed
      'import { x } from "./state.ts";', // 11: allowed
      'import {', // 12
      "  y,", // 13
      '} from "cbor-x";', // 14: package straight from core
      'const lazy = await import("../runtime/clock.ts");', // 15
    ].join("\n");
    expect(lines(scanSource("src/core/example.ts", source))).toEqual([1, 2, 3, 4, 5, 6, 7, 14, 15]);
  });

  it("keeps src/wire and src/crypto from importing src/core", () => {
    const source = [
      'import type { Engine } from "../core/engine.ts";',
      'import { fromHex } from "../bytes.ts";',
      'import { sha256 } from "@noble/hashes/sha2.js";',
      'import { encode } from "../wire/cbor.ts";',
    ].join("\n");
    expect(lines(scanSource("src/crypto/example.ts", source))).toEqual([1]);
    expect(lines(scanSource("src/wire/example.ts", source))).toEqual([1]);
    expect(lines(scanSource("src/sim/example.ts", source))).toEqual([]);
  });
});
