import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import {
  type CsvRow,
  type CsvRowsOptions,
  type CsvSkip,
  MAX_RECORD_CHARS,
  readCsvRows,
} from "./csv-rows.js";

/**
 * A row split at its commas: `cells[i]` is the cell under the header's
 * `i`-th name (the header `onHeader` was given), as many cells as names.
 */
export interface CsvCells {
  cells: string[];
  line: number;
}

/**
 * A line's outcome, in file order: a row (as cells from the plain reader, as
 * a record after a hand-over to csv-parse, or as what the batches' `take`
 * made of it), or a line that was skipped (the reader calls no `onSkip` for
 * it; whoever takes the batch does).
 */
export type CsvItem<T = never> = CsvRow | CsvCells | { taken: T } | { skip: CsvSkip };

/**
 * `readCsvRows` that splits plain lines itself: while a file has no double
 * quote, no cell can be quoted, so a record is a line split at its commas,
 * and csv-parse's per-character state machine (and its info object per
 * record) is not needed. From the first line it cannot take this way (a
 * quote, a carriage return outside CRLF, a header with an empty or
 * repeated name) it hands over to `readCsvRows`, which rereads the file and
 * reports only what comes after the lines already reported. Same records,
 * line numbers, skips and messages as `readCsvRows` (tested side by side).
 *
 * @returns the rows, or undefined when `path` is not a regular file (a
 * FIFO cannot be read twice): read those with `readCsvRows`.
 */
export async function plainCsvRows(
  path: string,
  options: CsvRowsOptions,
): Promise<AsyncGenerator<CsvRow> | undefined> {
  let header: readonly string[] = [];
  const batches = await plainCsvBatches(path, {
    ...options,
    onHeader: (h) => {
      header = h;
      options.onHeader?.(h);
    },
  });
  return batches === undefined ? undefined : flatten(batches, () => header, options);
}

async function* flatten(
  batches: AsyncGenerator<CsvItem[]>,
  header: () => readonly string[],
  options: CsvRowsOptions,
): AsyncGenerator<CsvRow> {
  for await (const batch of batches) {
    for (const item of batch) {
      if ("skip" in item) options.onSkip(item.skip);
      else if ("cells" in item) yield { record: recordOf(item.cells, header()), line: item.line };
      else if ("record" in item) yield item;
    }
  }
}

/** The record csv-parse makes of a row's cells under `header` (names all different). */
export function recordOf(
  cells: readonly string[],
  header: readonly string[],
): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i < cells.length; i++) record[header[i] as string] = cells[i] as string;
  return record;
}

/**
 * {@link plainCsvRows} a read chunk at a time: the rows and skips of the
 * lines that chunk completes, in file order, skips as items (`onSkip` is not
 * called), plain rows as their cells (no record keyed by name). A consumer
 * that takes hundreds of thousands of rows a second saves an
 * async-generator step per row.
 *
 * `take`, when given, sees each plain row's line first (without its line
 * ending), with the number of cells the header has: what it returns stands
 * for the row, undefined leaves the row to be split. It must return
 * undefined for a line that does not split into that many cells (which is
 * then reported as before). A batch is never empty; an error
 * (an oversized record, a bad header) comes after the batch of the lines
 * before it.
 *
 * @returns the batches, or undefined when `path` is not a regular file.
 */
export async function plainCsvBatches<T = never>(
  path: string,
  options: CsvRowsOptions,
  take?: (line: string, cells: number) => T | undefined,
): Promise<AsyncGenerator<CsvItem<T>[]> | undefined> {
  if (options.columns !== undefined) return undefined;
  try {
    if (!(await stat(path)).isFile()) return undefined;
  } catch {
    return undefined; // readCsvRows says why
  }
  return readPlain(path, options, take);
}

/** Thrown inside `readPlain` at the first line csv-parse must read. */
const HAND_OVER = Symbol("hand over");

async function* readPlain<T>(
  path: string,
  options: CsvRowsOptions,
  take: ((line: string, cells: number) => T | undefined) | undefined,
): AsyncGenerator<CsvItem<T>[]> {
  let header: string[] | undefined;
  /** Lines reported so far (rows, skips, the header and blank lines). */
  let done = 0;
  let pending = "";
  let start = true;
  /** What the lines read since the last batch gave. */
  let items: CsvItem<T>[] = [];
  const row = (raw: string): void => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    // csv-parse counts a carriage return outside CRLF as a line break.
    if (line.indexOf('"') !== -1 || line.indexOf("\r") !== -1) throw HAND_OVER;
    const n = done + 1;
    if (line.length > MAX_RECORD_CHARS) {
      throw new Error(`${path} line ${n}: a record is longer than ${MAX_RECORD_CHARS} characters`);
    }
    if (line === "") {
      // skipped, as csv-parse's skip_empty_lines does
    } else if (header === undefined) {
      const names = line.split(",").map((h) => h.trim());
      if (names.includes("") || new Set(names).size !== names.length) throw HAND_OVER;
      header = names;
      options.onHeader?.(header);
    } else {
      const taken = take?.(line, header.length);
      if (taken !== undefined) {
        items.push({ taken });
        done = n;
        return;
      }
      const cells = line.split(",");
      if (cells.length !== header.length) {
        items.push({
          skip: { line: n, message: `expected ${header.length} cells, got ${cells.length}` },
        });
      } else {
        items.push({ cells, line: n });
      }
    }
    done = n;
  };
  /** The items so far, to yield, and a fresh list for the next. */
  const batchOf = (): CsvItem<T>[] => {
    const batch = items;
    items = [];
    return batch;
  };
  let failure: unknown;
  try {
    for await (const chunk of createReadStream(path, {
      encoding: "utf8",
    }) as AsyncIterable<string>) {
      let text = pending + chunk;
      if (start) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        start = false;
      }
      let from = 0;
      try {
        for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", from)) {
          row(text.slice(from, nl));
          from = nl + 1;
        }
      } finally {
        // The lines before a hand-over or an error go out first.
        if (items.length > 0) yield batchOf();
      }
      pending = text.slice(from);
      if (pending.length > MAX_RECORD_CHARS) {
        throw new Error(
          `${path} line ${done + 1}: a record is longer than ${MAX_RECORD_CHARS} characters`,
        );
      }
    }
    if (pending.endsWith("\r")) throw HAND_OVER;
    if (pending !== "") {
      try {
        row(pending);
      } finally {
        if (items.length > 0) yield batchOf();
      }
    }
  } catch (err) {
    failure = err;
  }
  if (failure === undefined) return;
  if (failure !== HAND_OVER) throw failure;
  const reported = done;
  const sentHeader = header !== undefined;
  for await (const r of readCsvRows(path, {
    onHeader: (h) => {
      if (!sentHeader) options.onHeader?.(h);
    },
    onSkip: (s) => {
      if (s.line > reported) items.push({ skip: s });
    },
  })) {
    if (r.line > reported) items.push(r);
    if (items.length > 0) yield batchOf();
  }
  if (items.length > 0) yield batchOf();
}
