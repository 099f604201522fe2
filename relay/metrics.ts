/**
 * Relay counters and their Prometheus text exposition (format 0.0.4). Counters only grow; gauges
 * are read when rendered. Label values come from a fixed set chosen by the relay, never from a
 * peer, so the number of series stays bounded.
 *
 * @module
 */

/** Counters kept by a relay over its whole life. */
export class RelayCounters {
  /** Frames received on relay links, every kind (handshake, gossip, FORWARD). */
  framesIn = 0;
  framesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** FORWARD frames sent on to another link. */
  forwards = 0;
  /** Bytes of the FORWARD frames sent on (each copy counted): what peers exchange through the relay rather than directly. */
  forwardBytes = 0;
  /** Frames refused, by reason. */
  readonly rejected: Map<string, number> = new Map<string, number>();
  /** Connections refused before the handshake, by reason. */
  readonly refused: Map<string, number> = new Map<string, number>();

  reject(reason: string): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
  }

  refuse(reason: string): void {
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1);
  }
}

/** One metric family: a plain value or one value per label value. */
export interface MetricFamily {
  name: string;
  help: string;
  type: "counter" | "gauge";
  /** A single sample, or samples keyed by the value of `label`. */
  value: number | { label: string; values: ReadonlyMap<string, number> };
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

/**
 * Renders metric families as Prometheus text. A labelled family with no samples yet still gets its
 * HELP and TYPE lines, so scrapers see it exists.
 *
 * @example
 * ```ts
 * renderPrometheus([{ name: "grapevine_links", help: "Open links.", type: "gauge", value: 3 }]);
 * // "# HELP grapevine_links Open links.\n# TYPE grapevine_links gauge\ngrapevine_links 3\n"
 * ```
 */
export function renderPrometheus(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${f.name} ${f.type}`);
    if (typeof f.value === "number") {
      lines.push(`${f.name} ${formatNumber(f.value)}`);
      continue;
    }
    const { label, values } = f.value;
    for (const key of [...values.keys()].sort()) lines.push(`${f.name}{${label}="${escapeLabel(key)}"} ${formatNumber(values.get(key)!)}`);
  }
  return `${lines.join("\n")}\n`;
}
