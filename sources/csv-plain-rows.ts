import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { type CsvRow, type CsvRowsOptions, MAX_RECORD_CHARS } from "./csv-rows.js";

const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;
const SCAN_CHUNK = 1 << 20;

/**
 * `readCsvRows` for a file without a single double quote: no cell can then
 * be quoted, so a record is a line split at its commas, and csv-parse's
 * per-character state machine (and its info object per record) is not
 * needed. Same records, line numbers, skips and messages as `readCsvRows`
 * (tested side by side); about four times less CPU per row.
 *
 * @returns the rows, or undefined when `path` is not a regular file, holds
 * a quote or a carriage return outside CRLF, or has a header with an empty
 * or repeated name: read those with `readCsvRows`.
 */
export async function plainCsvRows(
  path: string,
  options: CsvRowsOptions,
): Promise<AsyncGenerator<CsvRow> | undefined> {
  if (options.columns !== undefined) return undefined;
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch {
    return undefined; // readCsvRows says why
  }
  try {
    if (!(await handle.stat()).isFile()) return undefined;
    const buf = Buffer.allocUnsafe(SCAN_CHUNK);
    let first = "";
    let crAtEnd = false;
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, SCAN_CHUNK, null);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      if (chunk.indexOf(QUOTE) !== -1) return undefined;
      // csv-parse counts a carriage return outside CRLF as a line: leave those files to it.
      if (crAtEnd && chunk[0] !== LF) return undefined;
      for (let cr = chunk.indexOf(CR); cr !== -1; cr = chunk.indexOf(CR, cr + 1)) {
        if (cr + 1 < chunk.length && chunk[cr + 1] !== LF) return undefined;
      }
      crAtEnd = chunk[chunk.length - 1] === CR;
      if (first.length < SCAN_CHUNK) first += chunk.toString("latin1");
    }
    if (crAtEnd) return undefined;
    const header = firstLine(first);
    if (header !== undefined) {
      const names = header.split(",").map((h) => h.trim());
      if (names.includes("") || new Set(names).size !== names.length) return undefined;
    }
  } finally {
    await handle.close();
  }
  return readPlain(path, options);
}

/** The first non-empty line of `text`, BOM and line ending off. */
function firstLine(text: string): string | undefined {
  for (const raw of text.replace(/^\uFEFF|^\xEF\xBB\xBF/, "").split("\n")) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line !== "") return line;
  }
  return undefined;
}

async function* readPlain(path: string, options: CsvRowsOptions): AsyncGenerator<CsvRow> {
  let header: string[] | undefined;
  let lineNo = 0;
  let pending = "";
  let start = true;
  const row = (raw: string): CsvRow | undefined => {
    lineNo++;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line === "") return undefined;
    if (line.indexOf("\r") !== -1) throw new Error(`${path} changed while it was read`);
    if (line.length > MAX_RECORD_CHARS) {
      throw new Error(
        `${path} line ${lineNo}: a record is longer than ${MAX_RECORD_CHARS} characters`,
      );
    }
    const cells = line.split(",");
    if (header === undefined) {
      header = cells.map((h) => h.trim());
      options.onHeader?.(header);
      return undefined;
    }
    if (cells.length !== header.length) {
      options.onSkip({
        line: lineNo,
        message: `expected ${header.length} cells, got ${cells.length}`,
      });
      return undefined;
    }
    const record: Record<string, string> = {};
    for (let i = 0; i < cells.length; i++) record[header[i] as string] = cells[i] as string;
    return { record, line: lineNo };
  };
  for await (const chunk of createReadStream(path, { encoding: "utf8" }) as AsyncIterable<string>) {
    let text = pending + chunk;
    if (start) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      start = false;
    }
    if (text.indexOf('"') !== -1) throw new Error(`${path} changed while it was read`);
    let from = 0;
    for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", from)) {
      const r = row(text.slice(from, nl));
      from = nl + 1;
      if (r !== undefined) yield r;
    }
    pending = text.slice(from);
    if (pending.length > MAX_RECORD_CHARS) {
      throw new Error(
        `${path} line ${lineNo + 1}: a record is longer than ${MAX_RECORD_CHARS} characters`,
      );
    }
  }
  if (pending !== "") {
    const r = row(pending);
    if (r !== undefined) yield r;
  }
}
