import { isIP } from "node:net";
import { type ColumnIndex, parseTimestamp } from "../telemetry/event-csv.js";
import { STRING_LIMITS } from "../telemetry/validate.js";

/** Size of a fresh buffer, which holds the encodings of many rows one after another. */
const SLAB = 1 << 18;
/** Most bytes an event takes besides its strings' characters: tags, lengths, timestamp, counts. */
const FIXED_ROOM = 19 + 3 * 11 + 9 * 3;
/** Longest address `validateEvent` checks with `isIP`; a longer one breaks the rule. */
const MAX_IP_CHARS = 45;

/**
 * Encodes a CSV row's cells as a `NetworkEvent`'s protobuf bytes directly,
 * the bytes `toBinary(NetworkEventSchema, eventFromCells(cells, at))`
 * writes, without the event object, its strings trimmed, its BigInt byte
 * counts and its `Timestamp`: what the agent's replay costs most per row
 * after reading the line (issue 22).
 *
 * Only the common form is taken this way: every string cell ASCII with
 * nothing `trim()` would cut, counts of at most 15 digits, a timestamp
 * `parseTimestamp` reads (or none), and an event `validateEvent` accepts.
 * For any other row {@link encode} gives undefined and writes nothing, and
 * the row goes the usual way (`eventFromCells`), which makes its event,
 * or its skip and message. So a row encoded here is one that way would
 * have encoded the same.
 *
 * Each encoding is a view of a shared buffer (a new one is taken when the
 * current one is full), not a copy of its own.
 */
export class CellsEncoder {
  private buf = Buffer.allocUnsafe(SLAB);
  private pos = 0;

  /**
   * @returns the event's encoding, or undefined when the row is not in the
   *   common form (read it with `eventFromCells`).
   */
  encode(cells: readonly string[], at: ColumnIndex): Uint8Array | undefined {
    let chars = 0;
    for (let i = 0; i < cells.length; i++) chars += (cells[i] as string).length;
    if (this.pos + FIXED_ROOM + chars > this.buf.length) {
      this.buf = Buffer.allocUnsafe(Math.max(SLAB, 2 * (FIXED_ROOM + chars)));
      this.pos = 0;
    }
    const start = this.pos;
    const ok = this.event(cells, at);
    if (!ok) {
      this.pos = start;
      return undefined;
    }
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + start, this.pos - start);
  }

  /** Writes the event's fields in field order; false at the first cell out of the common form. */
  private event(cells: readonly string[], at: ColumnIndex): boolean {
    const time = cellAt(cells, at.timestamp);
    if (time !== "" && !this.timestamp(time)) return false;
    const sourceIp = cellAt(cells, at.source_ip);
    const destIp = cellAt(cells, at.dest_ip);
    const destDomain = cellAt(cells, at.dest_domain);
    const protocol = cellAt(cells, at.protocol);
    if (!isAddress(sourceIp) || !isAddress(destIp)) return false;
    const port = count(cellAt(cells, at.dest_port));
    const sent = count(cellAt(cells, at.bytes_sent));
    const recv = count(cellAt(cells, at.bytes_recv));
    if (port < 0 || port > 65535 || sent < 0 || recv < 0) return false;
    // validateEvent's required groups: a destination, and a way it was reached.
    if ((destIp === "" && destDomain === "") || (port === 0 && protocol === "")) return false;
    const L = STRING_LIMITS;
    if (
      !this.string(2, cellAt(cells, at.process_path), L.process_path) ||
      !this.string(3, cellAt(cells, at.process_hash), L.process_hash) ||
      !this.string(4, sourceIp, MAX_IP_CHARS) ||
      !this.string(5, destIp, MAX_IP_CHARS) ||
      !this.string(6, destDomain, L.dest_domain)
    )
      return false;
    this.count(7, port);
    this.count(8, sent);
    this.count(9, recv);
    return (
      this.string(10, protocol, L.protocol) &&
      this.string(11, cellAt(cells, at.dns_query), L.dns_query) &&
      this.string(12, cellAt(cells, at.parent_process), L.parent_process) &&
      this.string(13, cellAt(cells, at.user_context), L.user_context)
    );
  }

  /** Field 1, the `Timestamp` `eventFromCells` makes of the cell; false when it makes none. */
  private timestamp(text: string): boolean {
    let ms: number | undefined;
    try {
      ms = parseTimestamp(text);
    } catch {
      return false; // a skip: the usual way reports it
    }
    if (ms === undefined) return false;
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
   * A string field, left out when empty as proto3 does; false when the cell
   * is not ASCII, has ends `trim()` would cut, or is over `limit` characters.
   */
  private string(field: number, s: string, limit: number): boolean {
    const n = s.length;
    if (n === 0) return true;
    if (n > limit || s.charCodeAt(0) <= 0x20 || s.charCodeAt(n - 1) <= 0x20) return false;
    const buf = this.buf;
    buf[this.pos++] = (field << 3) | 2;
    this.varint(n);
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      buf[p++] = c;
    }
    this.pos = p;
    return true;
  }

  /** A varint field, left out when 0. */
  private count(field: number, v: number): void {
    if (v === 0) return;
    this.buf[this.pos++] = field << 3;
    this.varint(v);
  }

  /** A non-negative integer below 2^53 as a varint. */
  private varint(v: number): void {
    const buf = this.buf;
    let p = this.pos;
    while (v >= 0x80) {
      buf[p++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    buf[p++] = v;
    this.pos = p;
  }
}

/** The cell as it is (untrimmed), "" for a column the header lacks. */
function cellAt(cells: readonly string[], i: number): string {
  return i < 0 ? "" : (cells[i] as string);
}

/**
 * The value of an empty cell (0) or of 1 to 15 ASCII digits (exact as a
 * double), or -1 for anything else, which the usual way reads.
 */
function count(s: string): number {
  const n = s.length;
  if (n > 15) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * Whether `validateEvent` takes the cell as an address: empty, or what
 * `isIP` accepts. Dotted quads are checked here (the rule of node's
 * `isIPv4`: 0–255 without leading zeros); anything else is asked of `isIP`.
 */
function isAddress(s: string): boolean {
  return s === "" || isDottedQuad(s) || (s.length <= MAX_IP_CHARS && isIP(s) !== 0);
}

function isDottedQuad(s: string): boolean {
  const n = s.length;
  let i = 0;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (i >= n || s.charCodeAt(i) !== 0x2e) return false;
      i++;
    }
    const from = i;
    let v = 0;
    while (i < n && i - from < 3) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      i++;
    }
    const digits = i - from;
    if (digits === 0 || v > 255 || (digits > 1 && s.charCodeAt(from) === 0x30)) return false;
  }
  return i === n;
}
