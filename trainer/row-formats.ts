import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { eventFromRecord, missingColumns } from "../telemetry/index.js";
import { NSL_KDD_COLUMNS, nslKddProblem } from "./nsl-kdd.js";
import type { InputFormat } from "./train-args.js";

/** A row that cannot be used; names the column at fault. */
export class RowError extends Error {
  override name = "RowError";
  constructor(
    readonly column: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** How rows of one input format are read and checked. */
export interface RowFormat<T> {
  name: InputFormat;
  /** Column names of a header-less format; undefined when the file has a header. */
  columns: readonly string[] | undefined;
  /** @throws Error listing the required columns the header lacks. */
  checkHeader(path: string, header: readonly string[]): void;
  /** @throws RowError naming the column when the row is malformed. */
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
      const column = (e as { column?: unknown }).column;
      if (typeof column === "string") throw new RowError(column, (e as Error).message);
      throw e;
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
    if (problem) throw new RowError(problem.column, problem.message);
    return record;
  },
};
