import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { TELEMETRY_COLUMNS, type TelemetryColumn } from "./schema.js";
import { quote, validateEvent } from "./validate.js";

/** A CSV row that cannot become a `NetworkEvent`; names the column and rule. */
export class CsvRowError extends Error {
  override name = "CsvRowError";
  constructor(
    readonly column: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Checks that a CSV header holds every telemetry column (in any order; extra
 * columns such as a label are allowed).
 *
 * @returns the missing column names, empty when the header is complete.
 */
export function missingColumns(header: readonly string[]): string[] {
  const have = new Set(header.map((h) => h.trim()));
  return TELEMETRY_COLUMNS.filter((c) => !have.has(c));
}

// 12/6/24 10:00 or 12/6/2024 10:00:05 (month/day/year, as the seed CSV has it).
const usDateTime = /^(\d{1,2})\/(\d{1,2})\/(\d{2}|\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;

/**
 * Parses a telemetry timestamp: ISO 8601 (`2024-12-06T10:00:00Z`), the seed
 * CSV's `M/D/YY H:MM`, or epoch seconds. Times without a zone are UTC.
 *
 * @returns milliseconds since the epoch, or `undefined` for an empty cell.
 * @throws CsvRowError when the text is not a time in 1970..2100.
 */
export function parseTimestamp(text: string): number | undefined {
  const s = text.trim();
  if (s === "") return undefined;
  const iso = plainIsoUtc(s);
  if (iso !== undefined) return iso;
  let ms: number;
  const us = usDateTime.exec(s);
  if (us) {
    const [, mo, d, y, h, mi, sec] = us;
    const year = y?.length === 2 ? 2000 + Number(y) : Number(y);
    ms = Date.UTC(
      year,
      Number(mo) - 1,
      Number(d),
      Number(h ?? 0),
      Number(mi ?? 0),
      Number(sec ?? 0),
    );
    if (Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(d) > 31) ms = Number.NaN;
  } else if (/^\d+(\.\d+)?$/.test(s)) {
    // Whole milliseconds, as every other form gives: a Timestamp's nanos
    // made from a fraction of a millisecond would not be an integer.
    ms = Math.round(Number(s) * 1000);
  } else if (/^\d{4}-\d{2}-\d{2}/.test(s)) {
    ms = Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(s) || s.length <= 10 ? s : `${s}Z`);
  } else {
    ms = Number.NaN;
  }
  if (!Number.isFinite(ms) || ms < 0 || ms >= 4_102_444_800_000) {
    throw new CsvRowError(
      "timestamp",
      `timestamp ${quote(s)} is not a time in 1970..2100 (use ISO 8601 or M/D/YY H:MM)`,
    );
  }
  return ms;
}

/** `s.charCodeAt(i)` as a decimal digit, or NaN. */
function digit(s: string, i: number): number {
  const d = s.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : Number.NaN;
}

/**
 * The common form, `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.sssZ`,
 * read without regular expressions (a replay parses one per row): the
 * value `Date.parse` gives it, for years 1970..2099 and days up to 28, when
 * the date exists and is in range whatever the month. Anything else is
 * undefined, for the general path to read.
 */
function plainIsoUtc(s: string): number | undefined {
  const n = s.length;
  if (n !== 20 && n !== 24) return undefined;
  // By char code: indexing (`s[4]`) makes a string of each character.
  if (
    s.charCodeAt(4) !== 0x2d || // -
    s.charCodeAt(7) !== 0x2d ||
    s.charCodeAt(10) !== 0x54 || // T
    s.charCodeAt(13) !== 0x3a || // :
    s.charCodeAt(16) !== 0x3a
  )
    return undefined;
  if (s.charCodeAt(n - 1) !== 0x5a || (n === 24 && s.charCodeAt(19) !== 0x2e)) return undefined; // Z, .
  const year = digit(s, 0) * 1000 + digit(s, 1) * 100 + digit(s, 2) * 10 + digit(s, 3);
  const month = digit(s, 5) * 10 + digit(s, 6);
  const day = digit(s, 8) * 10 + digit(s, 9);
  const hour = digit(s, 11) * 10 + digit(s, 12);
  const minute = digit(s, 14) * 10 + digit(s, 15);
  const second = digit(s, 17) * 10 + digit(s, 18);
  const milli = n === 24 ? digit(s, 20) * 100 + digit(s, 21) * 10 + digit(s, 22) : 0;
  if (!plainIsoInRange(year, month, day, hour, minute, second, milli)) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second, milli);
}

/**
 * Whether the fields of a plain ISO time (`plainIsoUtc`, and the agent's
 * reader of the same form from bytes) are in its range: years 1970..2099,
 * days up to 28, so the date exists whatever the month. Each test is false
 * for NaN, so a field with a non-digit anywhere is out.
 */
export function plainIsoInRange(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  milli: number,
): boolean {
  return (
    year >= 1970 &&
    year <= 2099 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= 28 &&
    hour >= 0 &&
    hour <= 23 &&
    minute >= 0 &&
    minute <= 59 &&
    second >= 0 &&
    second <= 59 &&
    milli >= 0
  );
}

/**
 * The value of 1 to 15 ASCII digits (exact as a double), or -1 for any
 * other text: the common case of `parseCount`, without a regular
 * expression or a decimal-string BigInt.
 */
function shortCount(s: string): number {
  const n = s.length;
  if (n === 0 || n > 15) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** `Number(parseCount(...))`, without the BigInt in the common case. */
function parseCountNumber(column: string, text: string, max: bigint): number {
  const v = shortCount(text);
  return v >= 0 && v <= Number(max) ? v : Number(parseCount(column, text, max));
}

function parseCount(column: string, text: string, max: bigint): bigint {
  const v = shortCount(text);
  if (v >= 0 && v <= Number(max)) return BigInt(v);
  const s = text.trim();
  if (s === "") return 0n;
  if (!/^\d+$/.test(s)) {
    throw new CsvRowError(column, `${column} ${quote(s)} is not a non-negative integer`);
  }
  const n = BigInt(s);
  if (n > max) throw new CsvRowError(column, `${column} ${s} is out of range 0..${max}`);
  return n;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Turns one CSV record (keyed by header name) into a validated `NetworkEvent`.
 * Empty cells become missing values.
 *
 * @throws CsvRowError naming the column and rule when a cell is malformed or
 *   the event breaks a contract rule.
 */
export function eventFromRecord(
  record: Readonly<Record<string, string | undefined>>,
): NetworkEvent {
  const cells: (string | undefined)[] = new Array(TELEMETRY_COLUMNS.length);
  for (let i = 0; i < cells.length; i++) cells[i] = record[TELEMETRY_COLUMNS[i] as string];
  return eventFromCells(cells, IN_SCHEMA_ORDER);
}

/** Where each telemetry column's cell is in a row: an index into its cells, or -1. */
export type ColumnIndex = Readonly<Record<TelemetryColumn, number>>;

/** The index of cells in `TELEMETRY_COLUMNS` order. */
const IN_SCHEMA_ORDER = columnIndex(TELEMETRY_COLUMNS);

/**
 * Where each telemetry column is in a header (trimmed names, as the CSV
 * readers give them), -1 for a column it lacks; the first of repeated names.
 */
export function columnIndex(header: readonly string[]): ColumnIndex {
  const at = {} as Record<TelemetryColumn, number>;
  for (const column of TELEMETRY_COLUMNS) at[column] = header.indexOf(column);
  return at;
}

/**
 * {@link eventFromRecord} for a row's cells, found by `at`, without a
 * record keyed by name: the same event, and the same error, as the record
 * the row makes (a replay reads hundreds of thousands of rows a second).
 *
 * @throws CsvRowError naming the column and rule, as `eventFromRecord`.
 */
export function eventFromCells(
  cells: readonly (string | undefined)[],
  at: ColumnIndex,
): NetworkEvent {
  const ms = parseTimestamp(cellAt(cells, at.timestamp));
  // The object `create(NetworkEventSchema, {...})` makes, keys in its order,
  // without its reflection: a replay builds one per row.
  const event: NetworkEvent = {
    $typeName: "netanomaly.v1.NetworkEvent",
    processPath: cellAt(cells, at.process_path),
    processHash: cellAt(cells, at.process_hash),
    sourceIp: cellAt(cells, at.source_ip),
    destIp: cellAt(cells, at.dest_ip),
    destDomain: cellAt(cells, at.dest_domain),
    destPort: parseCountNumber("dest_port", cellAt(cells, at.dest_port), 65535n),
    bytesSent: parseCount("bytes_sent", cellAt(cells, at.bytes_sent), MAX_SAFE),
    bytesRecv: parseCount("bytes_recv", cellAt(cells, at.bytes_recv), MAX_SAFE),
    protocol: cellAt(cells, at.protocol),
    dnsQuery: cellAt(cells, at.dns_query),
    parentProcess: cellAt(cells, at.parent_process),
    userContext: cellAt(cells, at.user_context),
  };
  if (ms !== undefined) event.timestamp = timestampOfMs(ms);
  const violation = validateEvent(event);
  if (violation) throw new CsvRowError(violation.field, violation.message);
  return event;
}

/**
 * The `Timestamp` protobuf-es's `timestampFromMs(ms)` makes (the same
 * fields and values), without `create()`'s reflection: a replay makes one
 * per row. `ms` is in [0, 2100), as `parseTimestamp` returns it.
 */
function timestampOfMs(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return {
    $typeName: "google.protobuf.Timestamp",
    seconds: BigInt(seconds),
    nanos: (ms - seconds * 1000) * 1_000_000,
  };
}

/**
 * A trimmed cell, "" when absent. Module-level rather than a closure in
 * `eventFromCells`: tsx names every closure it creates (`__name`, an
 * `Object.defineProperty`), a visible share of a replay's CPU.
 */
function cellAt(cells: readonly (string | undefined)[], i: number): string {
  return i < 0 ? "" : (cells[i] ?? "").trim();
}

/** Formats a timestamp for CSV output as ISO 8601 UTC without milliseconds. */
function formatTimestamp(event: NetworkEvent): string {
  if (!event.timestamp) return "";
  const ms = Number(event.timestamp.seconds) * 1000 + Math.floor(event.timestamp.nanos / 1e6);
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

/**
 * Turns an event into CSV cells in `TELEMETRY_COLUMNS` order (unquoted; use a
 * CSV writer for quoting).
 */
export function recordFromEvent(event: NetworkEvent): string[] {
  return [
    formatTimestamp(event),
    event.processPath,
    event.processHash,
    event.sourceIp,
    event.destIp,
    event.destDomain,
    String(event.destPort),
    String(event.bytesSent),
    String(event.bytesRecv),
    event.protocol,
    event.dnsQuery,
    event.parentProcess,
    event.userContext,
  ];
}
