import { createReadStream } from "node:fs";
import { access, constants } from "node:fs/promises";
import { parse } from "csv-parse";

/** One parsed CSV record with the line it ends on (1-based, header included). */
export interface CsvRow {
  record: Record<string, string>;
  line: number;
}

/** A record csv-parse could not read (wrong number of cells, unclosed quote). */
export interface CsvSkip {
  line: number;
  message: string;
}

/** Options of `readCsvRows`. */
export interface CsvRowsOptions {
  /** Column names of a header-less file; default: the first line is the header. */
  columns?: readonly string[];
  /** Called once with the header (or `columns`) before any row; may throw to stop. */
  onHeader?: (header: readonly string[]) => void;
  /** Called for each record csv-parse skips. */
  onSkip: (skip: CsvSkip) => void;
}

/** Largest single record we parse, in characters; longer ones end the read. */
export const MAX_RECORD_CHARS = 16 * 1024 * 1024;

/**
 * Streams a CSV file as records keyed by column name, holding one record in
 * memory at a time. A record with the wrong number of cells is skipped and
 * reported through `onSkip`, never silently padded.
 *
 * @throws Error naming the file when it cannot be opened.
 */
export async function* readCsvRows(path: string, options: CsvRowsOptions): AsyncGenerator<CsvRow> {
  try {
    await access(path, constants.R_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(
      code === "ENOENT"
        ? `data file ${path} does not exist`
        : `cannot read data file ${path}: ${code}`,
    );
  }
  const fixed = options.columns;
  // The parser runs ahead of the consumer; skips wait here so that they
  // are reported in file order, between the records around them.
  const skipped: CsvSkip[] = [];
  const parser = createReadStream(path).pipe(
    parse({
      bom: true,
      columns: fixed
        ? [...fixed]
        : (header: string[]) => {
            const names = header.map((h) => h.trim());
            options.onHeader?.(names);
            return names;
          },
      info: true,
      // Files with mixed line endings still split into lines.
      record_delimiter: ["\r\n", "\n"],
      max_record_size: MAX_RECORD_CHARS,
      relax_column_count: false,
      skip_empty_lines: true,
      skip_records_with_error: true,
      on_skip: (err) => {
        if (!err) return undefined;
        // An oversized record cannot be skipped cleanly (the parser can't
        // find its end without buffering it), so it ends the read.
        if (err.code === "CSV_MAX_RECORD_SIZE") {
          throw new Error(
            `${path} line ${err.lines}: a record is longer than ${MAX_RECORD_CHARS} characters`,
          );
        }
        skipped.push({ line: Number(err.lines), message: describe(err.code, err.message) });
        return undefined;
      },
    }),
  );
  if (fixed) options.onHeader?.(fixed);
  for await (const { record, info } of parser as AsyncIterable<{
    record: Record<string, string>;
    info: { lines: number };
  }>) {
    while (skipped.length > 0 && (skipped[0] as CsvSkip).line < info.lines)
      options.onSkip(skipped.shift() as CsvSkip);
    yield { record, line: info.lines };
  }
  for (const skip of skipped) options.onSkip(skip);
}

function describe(code: string, message: string): string {
  const m = /columns length is (\d+), got (\d+)/.exec(message);
  if (m) return `expected ${m[1]} cells, got ${m[2]}`;
  if (code === "CSV_QUOTE_NOT_CLOSED") return "a quoted cell is never closed";
  return message
    .replace(/ on line \d+$/, "")
    .replace(/^[A-Z][a-z]+(?: [A-Z][a-z]+)*: /, "")
    .toLowerCase();
}
