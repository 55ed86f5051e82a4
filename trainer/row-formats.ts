import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { eventFromRecord, missingColumns, TELEMETRY_COLUMNS } from "../telemetry/index.js";
import { NSL_KDD_COLUMNS, nslKddProblem } from "./nsl-kdd.js";
import type { InputFormat } from "./train-args.js";

/** A row that cannot be used; names every column at fault that was found. */
export class RowError extends Error {
  override name = "RowError";
  constructor(
    readonly columns: readonly string[],
    message: string,
  ) {
    super(message);
  }
}

/** One bad cell: its column and what is wrong with it. */
interface CellProblem {
  column: string;
  message: string;
}

function cellProblem(e: unknown): CellProblem | undefined {
  const column = (e as { column?: unknown }).column;
  return typeof column === "string" ? { column, message: (e as Error).message } : undefined;
}

/**
 * Every bad cell of a telemetry row, not only the first that
 * `eventFromRecord` stops at: each cell found bad is emptied (an empty cell
 * is a missing value) and the row read again, until it passes or a problem
 * names a column already emptied, which emptying caused (a required field
 * now missing). In column order.
 */
function everyProblem(record: Readonly<Record<string, string>>, first: CellProblem): CellProblem[] {
  const problems = [first];
  const emptied: Record<string, string> = { ...record };
  for (let i = 0; i < TELEMETRY_COLUMNS.length; i++) {
    emptied[(problems.at(-1) as CellProblem).column] = "";
    try {
      eventFromRecord(emptied);
      break;
    } catch (e) {
      const next = cellProblem(e);
      if (next === undefined) throw e;
      if (problems.some((p) => p.column === next.column)) break;
      problems.push(next);
    }
  }
  const order = (c: string) => (TELEMETRY_COLUMNS as readonly string[]).indexOf(c);
  return problems.sort((a, b) => order(a.column) - order(b.column));
}

/** How rows of one input format are read and checked. */
export interface RowFormat<T> {
  name: InputFormat;
  /** Column names of a header-less format; undefined when the file has a header. */
  columns: readonly string[] | undefined;
  /** @throws Error listing the required columns the header lacks. */
  checkHeader(path: string, header: readonly string[]): void;
  /** @throws RowError naming the columns at fault when the row is malformed. */
  parse(record: Readonly<Record<string, string>>): T;
}

/** Telemetry CSV with a header: each row becomes a validated `NetworkEvent`. */
export const telemetryRows: RowFormat<NetworkEvent> = {
  name: "telemetry",
  columns: undefined,
  checkHeader(path, header) {
    const missing = missingColumns(header);
    if (missing.length > 0) {
      throw new Error(
        `${path} lacks required column${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}`,
      );
    }
  },
  parse(record) {
    try {
      return eventFromRecord(record);
    } catch (e) {
      const first = cellProblem(e);
      if (first === undefined) throw e;
      const problems = everyProblem(record, first);
      throw new RowError(
        problems.map((p) => p.column),
        problems.map((p) => p.message).join("; "),
      );
    }
  },
};

/** NSL-KDD rows (no header, 43 cells): each row is kept as its record. */
export const nslKddRows: RowFormat<Readonly<Record<string, string>>> = {
  name: "nsl-kdd",
  columns: NSL_KDD_COLUMNS,
  checkHeader() {},
  parse(record) {
    const problem = nslKddProblem(record);
    if (problem) throw new RowError([problem.column], problem.message);
    return record;
  },
};
