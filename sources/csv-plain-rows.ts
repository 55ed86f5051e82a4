import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { type CsvRow, type CsvRowsOptions, MAX_RECORD_CHARS, readCsvRows } from "./csv-rows.js";

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
  if (options.columns !== undefined) return undefined;
  try {
    if (!(await stat(path)).isFile()) return undefined;
  } catch {
    return undefined; // readCsvRows says why
  }
  return readPlain(path, options);
}

/** Thrown inside `readPlain` at the first line csv-parse must read. */
const HAND_OVER = Symbol("hand over");

async function* readPlain(path: string, options: CsvRowsOptions): AsyncGenerator<CsvRow> {
  let header: string[] | undefined;
  /** Lines reported so far (rows, skips, the header and blank lines). */
  let done = 0;
  let pending = "";
  let start = true;
  const row = (raw: string): CsvRow | undefined => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    // csv-parse counts a carriage return outside CRLF as a line break.
    if (line.indexOf('"') !== -1 || line.indexOf("\r") !== -1) throw HAND_OVER;
    const n = done + 1;
    if (line.length > MAX_RECORD_CHARS) {
      throw new Error(`${path} line ${n}: a record is longer than ${MAX_RECORD_CHARS} characters`);
    }
    let result: CsvRow | undefined;
    if (line === "") {
      // skipped, as csv-parse's skip_empty_lines does
    } else if (header === undefined) {
      const names = line.split(",").map((h) => h.trim());
      if (names.includes("") || new Set(names).size !== names.length) throw HAND_OVER;
      header = names;
      options.onHeader?.(header);
    } else {
      const cells = line.split(",");
      if (cells.length !== header.length) {
        options.onSkip({
          line: n,
          message: `expected ${header.length} cells, got ${cells.length}`,
        });
      } else {
        const record: Record<string, string> = {};
        for (let i = 0; i < cells.length; i++) record[header[i] as string] = cells[i] as string;
        result = { record, line: n };
      }
    }
    done = n;
    return result;
  };
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
      for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", from)) {
        const r = row(text.slice(from, nl));
        from = nl + 1;
        if (r !== undefined) yield r;
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
      const r = row(pending);
      if (r !== undefined) yield r;
    }
  } catch (err) {
    if (err !== HAND_OVER) throw err;
    const reported = done;
    const sentHeader = header !== undefined;
    for await (const r of readCsvRows(path, {
      onHeader: (h) => {
        if (!sentHeader) options.onHeader?.(h);
      },
      onSkip: (s) => {
        if (s.line > reported) options.onSkip(s);
      },
    })) {
      if (r.line > reported) yield r;
    }
  }
}
