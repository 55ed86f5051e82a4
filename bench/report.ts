import { type Rates, type Summary, si } from "./stats.js";

/** One line of the benchmark table. */
export interface TableRow {
  /** Short id, stable across runs (for the JSON results). */
  id: string;
  what: string;
  /** "median (min–max)" or a single value. */
  value: string;
  /** The issue's goal, or "" when there is none. */
  goal: string;
  /** "ok", "MISS", or "" when there is no goal. */
  verdict: string;
}

/** A goal checked against a median: `at least` or `at most` `limit`. */
export function verdict(median: number, kind: "min" | "max", limit: number): string {
  if (!Number.isFinite(median)) return "MISS";
  return (kind === "min" ? median >= limit : median <= limit) ? "ok" : "MISS";
}

/** "median (min–max) unit". */
export function fmt(s: Summary, unit = "", format: (x: number) => string = si): string {
  return `${format(s.median)} (${format(s.min)}–${format(s.max)})${unit ? ` ${unit}` : ""}`;
}

/** Wall rate, with the CPU-time rate after it. */
export function fmtRates(r: Rates, unit: string, format: (x: number) => string = si): string {
  return `${fmt(r.wall, unit, format)}; cpu ${format(r.cpu.median)}`;
}

/** Fixed-point with `d` decimals. */
export const fixed =
  (d: number) =>
  (x: number): string =>
    x.toFixed(d);

/** Renders rows as a Markdown table. */
export function renderTable(rows: readonly TableRow[]): string {
  const head = ["#", "measurement", "median (min–max)", "goal", ""];
  const body = rows.map((r, i) => [String(i + 1), r.what, r.value, r.goal, r.verdict]);
  const widths = head.map((h, c) =>
    Math.max(h.length, ...body.map((b) => (b[c] as string).length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((x, c) => x.padEnd(widths[c] as number)).join(" | ")} |`;
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}
