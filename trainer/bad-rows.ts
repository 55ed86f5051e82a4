/** Rows reported one by one before only a count is kept. */
export const REPORTED_BAD_ROWS = 10;

/** One row the reader skipped. */
export interface BadRow {
  line: number;
  /** Columns at fault, each named once; empty when the row as a whole is malformed. */
  columns: readonly string[];
  /** What is wrong: one sentence per problem, joined by "; ". */
  message: string;
}

/** Collects skipped rows: the first few in full, then only a count. */
export interface BadRowLog {
  /** Rows skipped: distinct lines, however many problems each had. */
  readonly count: number;
  readonly first: readonly BadRow[];
  add(row: BadRow): void;
}

/**
 * Creates a log that reports each of the first `REPORTED_BAD_ROWS` rows
 * through `report` as they happen. A problem on the line just added (the
 * CSV parser can raise several within one line, for example one per stray
 * quote) is the same row: reported, but not counted again.
 */
export function createBadRowLog(report: (row: BadRow) => void): BadRowLog {
  const first: BadRow[] = [];
  let count = 0;
  let lastLine: number | undefined;
  let lastReported = false;
  return {
    get count() {
      return count;
    },
    first,
    add(row: BadRow): void {
      if (row.line === lastLine) {
        if (lastReported) report(row);
        return;
      }
      lastLine = row.line;
      count++;
      lastReported = first.length < REPORTED_BAD_ROWS;
      if (lastReported) {
        first.push(row);
        report(row);
      }
    },
  };
}

/**
 * Formats a bad row for stderr: `line 7, column dest_port: dest_port "-1" is …`,
 * or `line 7, columns bytes_sent, dest_ip: …; …` when several cells are bad.
 */
export function formatBadRow(row: BadRow): string {
  const n = row.columns.length;
  const where = n === 0 ? "" : `, column${n > 1 ? "s" : ""} ${row.columns.join(", ")}`;
  return `line ${row.line}${where}: ${row.message}`;
}

/**
 * Checks the share of bad rows against a limit.
 *
 * @returns an error message, or undefined when the data is usable.
 */
export function badRowProblem(
  good: number,
  bad: number,
  maxBadFraction: number,
): string | undefined {
  if (good === 0)
    return bad === 0 ? "the file has no data rows" : `all ${bad} data rows are malformed`;
  const fraction = bad / (good + bad);
  if (fraction > maxBadFraction) {
    return `${bad} of ${good + bad} rows (${(fraction * 100).toFixed(2)}%) are malformed, more than the ${maxBadFraction * 100}% allowed (--max-bad)`;
  }
  return undefined;
}
