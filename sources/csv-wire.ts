import { isIP } from "node:net";
import { type ColumnIndex, parseTimestamp, plainIsoInRange } from "../telemetry/event-csv.js";
import { TELEMETRY_COLUMNS } from "../telemetry/schema.js";
import { STRING_LIMITS } from "../telemetry/validate.js";
import { writeVarint } from "../telemetry/varint.js";

/** Size of a fresh buffer, which holds the encodings of many rows one after another. */
const SLAB = 1 << 18;
/** Most bytes an event takes besides its strings' characters: tags, lengths, timestamp, counts. */
const FIXED_ROOM = 19 + 3 * 11 + 9 * 3;
/** Longest address `validateEvent` checks with `isIP`; a longer one breaks the rule. */
const MAX_IP_CHARS = 45;
/** Longest line taken this way (its copy is kept); a longer one goes the usual way. */
const MAX_LINE_CHARS = 1 << 16;

/**
 * Encodes a plain CSV line (no quotes: its cells are the text between
 * commas) as a `NetworkEvent`'s protobuf bytes directly, the bytes
 * `toBinary(NetworkEventSchema, eventFromCells(line.split(","), at))`
 * writes, without the cells' strings, the event object, its BigInt byte
 * counts and its `Timestamp`: what the agent's replay costs most per row
 * after reading the line (issue 22).
 *
 * Only the common form is taken this way: the number of cells the header
 * has, every string cell ASCII with nothing `trim()` would cut, counts of
 * at most 15 digits, a timestamp `parseTimestamp` reads (or none), and an
 * event `validateEvent` accepts. For any other line {@link encodeLine}
 * gives undefined and writes nothing, and the row goes the usual way
 * (`eventFromCells`), which makes its event, or its skip and message. So a
 * row encoded here is one that way would have encoded the same.
 *
 * Each encoding is a view of a shared buffer (a new one is taken when the
 * current one is full), not a copy of its own.
 */
export class RowEncoder {
  private buf = Buffer.allocUnsafe(SLAB);
  private pos = 0;
  /** Where each cell of the last line read starts, and where it ends. */
  private starts = new Int32Array(16);
  private ends = new Int32Array(16);
  private line = "";
  /** The last line's bytes (ASCII), from 0 to its length. */
  private src = Buffer.allocUnsafe(1024);
  /** The cells' ranges by telemetry column (`fieldRanges`), and the index they were found by. */
  private readonly a = new Int32Array(TELEMETRY_COLUMNS.length);
  private readonly b = new Int32Array(TELEMETRY_COLUMNS.length);
  private at: ColumnIndex | undefined;
  private columns = new Int32Array(0);

  /**
   * @param cells - the number of cells the header has.
   * @returns the event's encoding, or undefined when the line is not in the
   *   common form (split it and read it with `eventFromCells`).
   */
  encodeLine(line: string, cells: number, at: ColumnIndex): Uint8Array | undefined {
    // An ASCII line only (its UTF-8 is as long as it is): its bytes are its
    // characters, read from a copy made in one call, not character by character.
    const n = line.length;
    if (n > MAX_LINE_CHARS || Buffer.byteLength(line, "utf8") !== n) return undefined;
    if (this.src.length < n) this.src = Buffer.allocUnsafe(Math.max(2 * n, 1024));
    this.src.write(line, 0, n, "latin1");
    this.line = line;
    if (!this.split(n, cells)) return undefined;
    if (this.pos + FIXED_ROOM + line.length > this.buf.length) {
      this.buf = Buffer.allocUnsafe(Math.max(SLAB, 2 * (FIXED_ROOM + line.length)));
      this.pos = 0;
    }
    this.fieldRanges(at);
    const start = this.pos;
    if (!this.event()) {
      this.pos = start;
      return undefined;
    }
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + start, this.pos - start);
  }

  /** Cell `i` of the last line given to {@link encodeLine}, as it is; undefined when `i` < 0. */
  cell(i: number): string | undefined {
    return i < 0 ? undefined : this.line.slice(this.starts[i], this.ends[i]);
  }

  /** Finds the cells of the line's `n` bytes; false when it has not `cells` of them. */
  private split(n: number, cells: number): boolean {
    if (this.starts.length < cells) {
      this.starts = new Int32Array(cells);
      this.ends = new Int32Array(cells);
    }
    const { starts, ends, src } = this;
    let i = 0;
    let from = 0;
    for (let p = 0; p < n; p++) {
      if (src[p] !== 0x2c) continue;
      if (i === cells - 1) return false;
      starts[i] = from;
      ends[i++] = p;
      from = p + 1;
    }
    if (i !== cells - 1) return false;
    starts[i] = from;
    ends[i] = n;
    return true;
  }

  /**
   * Where each telemetry column's cell is in the last line, in
   * `TELEMETRY_COLUMNS` order (start and end; 0 and 0 for a column the
   * header lacks, which reads as an empty cell).
   */
  private fieldRanges(at: ColumnIndex): void {
    if (at !== this.at) {
      this.at = at;
      this.columns = Int32Array.from(TELEMETRY_COLUMNS, (c) => at[c]);
    }
    const { columns, starts, ends, a, b } = this;
    for (let k = 0; k < columns.length; k++) {
      const i = columns[k] as number;
      a[k] = i < 0 ? 0 : (starts[i] as number);
      b[k] = i < 0 ? 0 : (ends[i] as number);
    }
  }

  /** Writes the event's fields in field order; false at the first cell out of the common form. */
  private event(): boolean {
    const s = this.src;
    const { a, b } = this;
    // Indexes in TELEMETRY_COLUMNS order: 0 timestamp, 1 process_path, ... 12 user_context.
    if (a[0] !== b[0] && !this.timestamp(this.line, a[0] as number, b[0] as number)) return false;
    if (
      !this.isAddress(a[3] as number, b[3] as number) ||
      !this.isAddress(a[4] as number, b[4] as number)
    )
      return false;
    const port = count(s, a[6] as number, b[6] as number);
    const sent = count(s, a[7] as number, b[7] as number);
    const recv = count(s, a[8] as number, b[8] as number);
    if (port < 0 || port > 65535 || sent < 0 || recv < 0) return false;
    // validateEvent's required groups: a destination, and a way it was reached.
    if ((a[4] === b[4] && a[5] === b[5]) || (port === 0 && a[9] === b[9])) return false;
    const L = STRING_LIMITS;
    if (
      !this.string(2, s, a[1] as number, b[1] as number, L.process_path) ||
      !this.string(3, s, a[2] as number, b[2] as number, L.process_hash) ||
      !this.string(4, s, a[3] as number, b[3] as number, MAX_IP_CHARS) ||
      !this.string(5, s, a[4] as number, b[4] as number, MAX_IP_CHARS) ||
      !this.string(6, s, a[5] as number, b[5] as number, L.dest_domain)
    )
      return false;
    this.count(7, port);
    this.count(8, sent);
    this.count(9, recv);
    return (
      this.string(10, s, a[9] as number, b[9] as number, L.protocol) &&
      this.string(11, s, a[10] as number, b[10] as number, L.dns_query) &&
      this.string(12, s, a[11] as number, b[11] as number, L.parent_process) &&
      this.string(13, s, a[12] as number, b[12] as number, L.user_context)
    );
  }

  /** Field 1, the `Timestamp` `eventFromCells` makes of `s` from `a` to `b`; false when it makes none. */
  private timestamp(s: string, a: number, b: number): boolean {
    let ms = plainIsoUtc(this.src, a, b);
    if (ms < 0) {
      try {
        ms = parseTimestamp(s.slice(a, b)) ?? -1;
      } catch {
        return false; // a skip: the usual way reports it
      }
      if (ms < 0) return false;
    }
    const seconds = Math.floor(ms / 1000);
    const nanos = (ms - seconds * 1000) * 1_000_000;
    const buf = this.buf;
    buf[this.pos++] = (1 << 3) | 2;
    const inner = this.pos++;
    if (seconds !== 0) {
      buf[this.pos++] = 1 << 3;
      this.varint(seconds);
    }
    if (nanos !== 0) {
      buf[this.pos++] = 2 << 3;
      this.varint(nanos);
    }
    // At most 1 + 5 (seconds below 2^32) + 1 + 5 bytes: one length byte.
    buf[inner] = this.pos - inner - 1;
    return true;
  }

  /**
   * A string field, `s` from `a` to `b`, left out when empty as proto3 does;
   * false when it is not ASCII, has ends `trim()` would cut, or is over
   * `limit` characters.
   */
  private string(field: number, s: Buffer, a: number, b: number, limit: number): boolean {
    const n = b - a;
    if (n === 0) return true;
    if (n > limit || (s[a] as number) <= 0x20 || (s[b - 1] as number) <= 0x20) return false;
    const buf = this.buf;
    buf[this.pos++] = (field << 3) | 2;
    this.varint(n);
    let p = this.pos;
    for (let i = a; i < b; i++) buf[p++] = s[i] as number;
    this.pos = p;
    return true;
  }

  /**
   * Whether `validateEvent` takes the line from `a` to `b` as an address:
   * empty, or what `isIP` accepts. Dotted quads are checked here (the rule
   * of node's `isIPv4`: 0–255 without leading zeros); anything else is
   * asked of `isIP`.
   */
  private isAddress(a: number, b: number): boolean {
    return (
      a === b ||
      isDottedQuad(this.src, a, b) ||
      (b - a <= MAX_IP_CHARS && isIP(this.line.slice(a, b)) !== 0)
    );
  }

  /** A varint field, left out when 0. */
  private count(field: number, v: number): void {
    if (v === 0) return;
    this.buf[this.pos++] = field << 3;
    this.varint(v);
  }

  /** A non-negative integer below 2^53 as a varint. */
  private varint(v: number): void {
    this.pos = writeVarint(this.buf, this.pos, v);
  }
}

/**
 * The value of `s` from `a` to `b` when it is empty (0) or 1 to 15 ASCII
 * digits (exact as a double), or -1 for anything else, which the usual way
 * reads.
 */
function count(s: Buffer, a: number, b: number): number {
  if (b - a > 15) return -1;
  let v = 0;
  for (let i = a; i < b; i++) {
    const d = (s[i] as number) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** The decimal digit of byte `i`, or NaN. */
function digit(s: Buffer, i: number): number {
  const d = (s[i] as number) - 48;
  return d >= 0 && d <= 9 ? d : Number.NaN;
}

/**
 * `parseTimestamp`'s common form, `YYYY-MM-DDTHH:MM:SSZ` or
 * `YYYY-MM-DDTHH:MM:SS.sssZ` with years 1970..2099 and days up to 28 (the
 * same test as its `plainIsoUtc`), read from the bytes `a` to `b`: the
 * milliseconds `Date.UTC` gives, counted from the civil date; -1 for any
 * other text, which `parseTimestamp` reads.
 */
function plainIsoUtc(s: Buffer, a: number, b: number): number {
  const n = b - a;
  if (n !== 20 && n !== 24) return -1;
  if (s[a + 4] !== 0x2d || s[a + 7] !== 0x2d || s[a + 10] !== 0x54) return -1; // - - T
  if (s[a + 13] !== 0x3a || s[a + 16] !== 0x3a || s[b - 1] !== 0x5a) return -1; // : : Z
  if (n === 24 && s[a + 19] !== 0x2e) return -1; // .
  const year = digit(s, a) * 1000 + digit(s, a + 1) * 100 + digit(s, a + 2) * 10 + digit(s, a + 3);
  const month = digit(s, a + 5) * 10 + digit(s, a + 6);
  const day = digit(s, a + 8) * 10 + digit(s, a + 9);
  const hour = digit(s, a + 11) * 10 + digit(s, a + 12);
  const minute = digit(s, a + 14) * 10 + digit(s, a + 15);
  const second = digit(s, a + 17) * 10 + digit(s, a + 18);
  const milli = n === 24 ? digit(s, a + 20) * 100 + digit(s, a + 21) * 10 + digit(s, a + 22) : 0;
  if (!plainIsoInRange(year, month, day, hour, minute, second, milli)) return -1;
  return (
    ((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + milli
  );
}

/**
 * Days from 1970-01-01 to a date of the proleptic Gregorian calendar
 * (H. Hinnant's `days_from_civil`), exact for every date `Date.UTC` takes.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** Whether `s` from `a` to `n` is a dotted quad as node's `isIPv4` reads one. */
function isDottedQuad(s: Buffer, a: number, n: number): boolean {
  let i = a;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (i >= n || s[i] !== 0x2e) return false;
      i++;
    }
    const from = i;
    let v = 0;
    while (i < n && i - from < 3) {
      const d = (s[i] as number) - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      i++;
    }
    const digits = i - from;
    if (digits === 0 || v > 255 || (digits > 1 && s[from] === 0x30)) return false;
  }
  return i === n;
}
