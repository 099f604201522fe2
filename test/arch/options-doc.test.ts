// README's option tables say what the code does: every option a table names exists in a spec, and
// the default the table gives is the spec's default, written the way `formatDefault` writes it.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ENGINE_OPTION_SPECS } from "../../src/core/options.ts";
import { formatDefault, type OptionSpec } from "../../src/core/schema.ts";
import { DRIVER_OPTION_SPECS } from "../../src/runtime/node.ts";
import { DIAL_OPTION_SPECS } from "../../src/runtime/dial.ts";
import { ROOM_OPTION_SPECS } from "../../src/presence/value.ts";

// One schema: the engine's options, the driver's link options, a room's limits and dial's backoff.
const SPECS: Record<string, OptionSpec> = { ...ENGINE_OPTION_SPECS, ...DRIVER_OPTION_SPECS, ...ROOM_OPTION_SPECS, ...DIAL_OPTION_SPECS };

/** Rows of the tables headed `| option | default | meaning |`: option names and default cells. */
function optionRows(markdown: string): { names: string[]; defaults: string[]; line: string }[] {
  const rows: { names: string[]; defaults: string[]; line: string }[] = [];
  let inTable = false;
  for (const line of markdown.split("\n")) {
    if (/^\|\s*option\s*\|\s*default\s*\|/.test(line)) {
      inTable = true;
      continue;
    }
    if (!line.startsWith("|")) {
      inTable = false;
      continue;
    }
    if (!inTable || /^\|\s*-/.test(line)) continue;
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    const names = [...cells[0].matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1]);
    // A default cell lists one default per option, " / " between them; words after a default
    // (`0 (auto)`) explain it.
    const defaults = cells[1].split(" / ").map((d) => d.replace(/\s*\(.*\)\s*$/, "").trim());
    rows.push({ names, defaults, line });
  }
  return rows;
}

describe("README option tables", () => {
  const rows = optionRows(readFileSync(new URL("../../README.md", import.meta.url), "utf8"));

  it("has option tables", () => {
    expect(rows.length).toBeGreaterThan(30);
  });

  it("names only options that exist, each with the default its spec has", () => {
    const wrong: string[] = [];
    for (const r of rows) {
      if (r.names.length !== r.defaults.length) {
        wrong.push(`${r.line}: ${r.names.length} options, ${r.defaults.length} defaults`);
        continue;
      }
      r.names.forEach((name, i) => {
        const spec = SPECS[name];
        if (!spec) wrong.push(`${name}: no such option`);
        else if (formatDefault(spec) !== r.defaults[i]) wrong.push(`${name}: README says ${r.defaults[i]}, the default is ${formatDefault(spec)}`);
      });
    }
    expect(wrong).toEqual([]);
  });
});

describe("option documentation", () => {
  it("has one line for every engine option, and none for an option that does not exist", async () => {
    const { ENGINE_OPTION_DOCS } = await import("../../src/core/options-doc.ts");
    expect(Object.keys(ENGINE_OPTION_DOCS).sort()).toEqual(Object.keys(ENGINE_OPTION_SPECS).sort());
    for (const line of Object.values(ENGINE_OPTION_DOCS)) expect(line.length).toBeGreaterThan(3);
  });
});
