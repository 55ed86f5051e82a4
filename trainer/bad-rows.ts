/** Rows reported one by one before only a count is kept. */
export const REPORTED_BAD_ROWS = 10;

/** One row the reader skipped. */
export interface BadRow {
  line: number;
  /** Column at fault, or undefined when the row as a whole is malformed. */
  column: string | undefined;
  message: string;
}

/** Collects skipped rows: the first few in full, then only a count. */
export interface BadRowLog {
  readonly count: number;
  readonly first: readonly BadRow[];
  add(row: BadRow): void;
}

/**
 * Creates a log that reports each of the first `REPORTED_BAD_ROWS` rows
 * through `report` as they happen.
 */
export function createBadRowLog(report: (row: BadRow) => void): BadRowLog {
  const first: BadRow[] = [];
  let count = 0;
  return {
    get count() {
      return count;
    },
    first,
    add(row: BadRow): void {
      count++;
      if (first.length < REPORTED_BAD_ROWS) {
        first.push(row);
        report(row);
      }
    },
  };
}

/** Formats a bad row for stderr: `line 7, column dest_port: dest_port "-1" is …`. */
export function formatBadRow(row: BadRow): string {
  return `line ${row.line}${row.column ? `, column ${row.column}` : ""}: ${row.message}`;
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
