import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type {
  EventError,
  EventResult,
  EventScore,
  ScoreRequest,
  ScoreResponse,
  StreamScoreRequest,
  StreamScoreResponse,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import type { FeatureContribution, NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";

/**
 * A hand-written protobuf codec for the messages the gRPC fast path reads
 * (`ScoreRequest`, `StreamScoreRequest`, `NetworkEvent`, `Timestamp`) and
 * writes (`ScoreResponse`, `StreamScoreResponse`), about five times cheaper
 * than protobuf-es's reflective `fromBinary`/`toBinary`.
 *
 * It decodes exactly as protobuf-es 2 does, error messages included:
 * a known field is read by its declared type whatever its wire type, a
 * repeated message field appends, a repeated singular message field merges,
 * the last scalar wins, unknown fields (all wire types, groups nested up to
 * the recursion limit) are skipped, and proto3 strings must be valid UTF-8.
 * Unknown fields are dropped rather than kept in `$unknown` (the server never
 * re-encodes a request). `network-event-codec.test.ts` checks both
 * directions against protobuf-es on seeded random and malformed input.
 *
 * @see https://protobuf.dev/programming-guides/encoding/
 */

/** protobuf-es's default recursion limit (`makeReadContext`). */
const RECURSION_LIMIT = 100;

const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/** Longest string, in bytes, the intern table holds. */
const INTERN_MAX_BYTES = 128;
/** Slots of the intern table (a power of two). */
const INTERN_SLOTS = 4096;
const interned: string[] = new Array<string>(INTERN_SLOTS).fill("");

/**
 * `buf[start, end)` as a string if it is all ASCII, else `undefined`.
 * Telemetry repeats the same few thousand paths, hashes, users, domains
 * and protocols, so each string read is looked up in a direct-mapped table
 * by a hash of its bytes: a hit returns the string read before, with no
 * allocation, and, because it is the same string object, its hash code is
 * already computed for the featurizer's `Map` lookups. A miss (or a
 * collision) builds the string and takes the slot. Bounded: 4096 strings of
 * at most 128 characters.
 */
function internAscii(buf: Uint8Array, start: number, end: number): string | undefined {
  // FNV-1a over the bytes, and an OR of them to tell ASCII.
  let h = 0x811c9dc5;
  let high = 0;
  for (let i = start; i < end; i++) {
    const b = buf[i] as number;
    high |= b;
    h = Math.imul(h ^ b, 0x01000193);
  }
  if (high >= 0x80) {
    return undefined;
  }
  const slot = (h ^ (h >>> 16)) & (INTERN_SLOTS - 1);
  const cached = interned[slot] as string;
  const n = end - start;
  if (cached.length === n) {
    let i = 0;
    while (i < n && cached.charCodeAt(i) === buf[start + i]) {
      i++;
    }
    if (i === n) {
      return cached;
    }
  }
  const s = String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
  interned[slot] = s;
  return s;
}

/** Read state: one buffer, one position, as protobuf-es's `BinaryReader`. */
class Reader {
  pos = 0;
  readonly len: number;
  constructor(readonly buf: Uint8Array) {
    this.len = buf.length;
  }

  eof(): never {
    throw new RangeError("premature EOF");
  }

  /** protobuf-es `varint32read`: 10 bytes at most, the low 32 bits kept. */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos >= this.len) this.eof();
    let b = buf[pos++] as number;
    let result = b & 0x7f;
    if (b < 0x80) {
      this.pos = pos;
      return result;
    }
    for (let shift = 7; shift < 28; shift += 7) {
      if (pos >= this.len) this.eof();
      b = buf[pos++] as number;
      result |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return result;
      }
    }
    if (pos >= this.len) this.eof();
    b = buf[pos++] as number;
    result |= (b & 0x0f) << 28;
    for (let read = 5; b >= 0x80 && read < 10; read++) {
      if (pos >= this.len) this.eof();
      b = buf[pos++] as number;
    }
    if (b >= 0x80) {
      throw new Error("invalid varint");
    }
    this.pos = pos;
    return result >>> 0;
  }

  /** protobuf-es `varint64read` as `[lo, hi]` in two fields, to avoid a tuple. */
  lo = 0;
  hi = 0;
  varint64(): void {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= this.len) this.eof();
      const b = buf[pos++] as number;
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        this.lo = lo;
        this.hi = 0;
        return;
      }
    }
    if (pos >= this.len) this.eof();
    const middle = buf[pos++] as number;
    lo |= (middle & 0x0f) << 28;
    hi = (middle & 0x70) >> 4;
    if (middle < 0x80) {
      this.pos = pos;
      this.lo = lo;
      this.hi = hi;
      return;
    }
    for (let shift = 3; shift <= 31; shift += 7) {
      if (pos >= this.len) this.eof();
      const b = buf[pos++] as number;
      hi |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        this.lo = lo;
        this.hi = hi;
        return;
      }
    }
    throw new Error("invalid varint");
  }

  uint64(): bigint {
    this.varint64();
    const lo = this.lo >>> 0;
    const hi = this.hi >>> 0;
    // Below 2^53 the double is exact, and one BigInt() beats shifts.
    return hi < 0x200000 ? BigInt(hi * 4294967296 + lo) : (BigInt(hi) << 32n) | BigInt(lo);
  }

  int64(): bigint {
    this.varint64();
    const lo = this.lo >>> 0;
    const hi = this.hi | 0;
    if (hi >= 0 && hi < 0x200000) {
      return BigInt(hi * 4294967296 + lo);
    }
    return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo));
  }

  /** protobuf-es `tag()`: field number and wire type, with its checks. */
  tag(): number {
    const start = this.pos;
    const tag = this.uint32();
    const read = this.pos - start;
    if (read > 5 || (read === 5 && (this.buf[this.pos - 1] as number) > 0x0f)) {
      throw new Error("illegal tag: varint overflows uint32");
    }
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    if (fieldNo <= 0 || wireType > 5) {
      throw new Error(`illegal tag: field no ${fieldNo} wire type ${wireType}`);
    }
    return tag >>> 0;
  }

  /** Start of a length-delimited value; `pos` moves past it. */
  delimited(): number {
    const len = this.uint32();
    const start = this.pos;
    this.pos = start + len;
    if (this.pos > this.len) this.eof();
    return start;
  }

  /**
   * A proto3 string: UTF-8, validated as protobuf-es does (fatal decoder).
   * Short ASCII strings come from the intern table when they were read
   * before, see {@link internAscii}.
   */
  string(): string {
    const start = this.delimited();
    const end = this.pos;
    if (end === start) {
      return "";
    }
    if (end - start <= INTERN_MAX_BYTES) {
      const s = internAscii(this.buf, start, end);
      if (s !== undefined) {
        return s;
      }
    }
    return utf8Strict.decode(this.buf.subarray(start, end));
  }

  /** protobuf-es `skip()`: steps over one value of an unknown field. */
  skip(wireType: number, fieldNo: number, recursionLimit: number): void {
    switch (wireType) {
      case 0:
        // As protobuf-es: continuation bits only, no 10-byte cap.
        for (;;) {
          if (this.pos >= this.len) this.eof();
          if ((this.buf[this.pos++] as number) < 0x80) break;
        }
        break;
      case 1:
        this.pos += 8;
        break;
      case 5:
        this.pos += 4;
        break;
      case 2: {
        const len = this.uint32();
        this.pos += len;
        break;
      }
      case 3: {
        if (recursionLimit <= 0) {
          throw new Error("maximum recursion depth reached");
        }
        for (;;) {
          const tag = this.tag();
          const fn = tag >>> 3;
          const wt = tag & 7;
          if (wt === 4) {
            if (fn !== fieldNo) {
              throw new Error("invalid end group tag");
            }
            break;
          }
          this.skip(wt, fn, recursionLimit - 1);
        }
        break;
      }
      default:
        throw new Error(`cant skip wire type ${wireType}`);
    }
    if (this.pos > this.len) this.eof();
  }
}

function emptyEvent(): NetworkEvent {
  return {
    $typeName: "netanomaly.v1.NetworkEvent",
    processPath: "",
    processHash: "",
    sourceIp: "",
    destIp: "",
    destDomain: "",
    destPort: 0,
    bytesSent: 0n,
    bytesRecv: 0n,
    protocol: "",
    dnsQuery: "",
    parentProcess: "",
    userContext: "",
  };
}

function readTimestamp(
  r: Reader,
  end: number,
  depth: number,
  into: Timestamp | undefined,
): Timestamp {
  const ts: Timestamp = into ?? { $typeName: "google.protobuf.Timestamp", seconds: 0n, nanos: 0 };
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        ts.seconds = r.int64();
        break;
      case 2:
        ts.nanos = r.uint32() | 0;
        break;
      default:
        r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - depth);
    }
  }
  return ts;
}

function readEvent(
  r: Reader,
  end: number,
  depth: number,
  into: NetworkEvent | undefined,
): NetworkEvent {
  const e = into ?? emptyEvent();
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1: {
        const len = r.uint32();
        e.timestamp = readTimestamp(r, r.pos + len, depth + 1, e.timestamp);
        break;
      }
      case 2:
        e.processPath = r.string();
        break;
      case 3:
        e.processHash = r.string();
        break;
      case 4:
        e.sourceIp = r.string();
        break;
      case 5:
        e.destIp = r.string();
        break;
      case 6:
        e.destDomain = r.string();
        break;
      case 7:
        e.destPort = r.uint32();
        break;
      case 8:
        e.bytesSent = r.uint64();
        break;
      case 9:
        e.bytesRecv = r.uint64();
        break;
      case 10:
        e.protocol = r.string();
        break;
      case 11:
        e.dnsQuery = r.string();
        break;
      case 12:
        e.parentProcess = r.string();
        break;
      case 13:
        e.userContext = r.string();
        break;
      default:
        r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - depth);
    }
  }
  return e;
}

/**
 * Decodes a `ScoreRequest` as `fromBinary(ScoreRequestSchema, bytes)` would.
 *
 * @throws Error with protobuf-es's message for malformed input.
 */
export function decodeScoreRequest(bytes: Uint8Array): ScoreRequest {
  const r = new Reader(bytes);
  const req: ScoreRequest = { $typeName: "netanomaly.v1.ScoreRequest" };
  while (r.pos < r.len) {
    const tag = r.tag();
    if (tag >>> 3 === 1) {
      const len = r.uint32();
      req.event = readEvent(r, r.pos + len, 2, req.event);
    } else {
      r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 1);
    }
  }
  return req;
}

/**
 * Decodes a `StreamScoreRequest` as `fromBinary(StreamScoreRequestSchema, bytes)` would.
 *
 * @throws Error with protobuf-es's message for malformed input.
 */
export function decodeStreamScoreRequest(bytes: Uint8Array): StreamScoreRequest {
  const r = new Reader(bytes);
  const req: StreamScoreRequest = {
    $typeName: "netanomaly.v1.StreamScoreRequest",
    requestId: "",
    events: [],
  };
  while (r.pos < r.len) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        req.requestId = r.string();
        break;
      case 2: {
        const len = r.uint32();
        req.events.push(readEvent(r, r.pos + len, 2, undefined));
        break;
      }
      default:
        r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 1);
    }
  }
  return req;
}

// ---------------------------------------------------------------------------
// Encoding: a size pass, then one write into a buffer that already holds the
// 5-byte gRPC envelope header, so a response is one allocation.

/** UTF-8 length of a string, lone surrogates counted as U+FFFD (3 bytes), as TextEncoder writes them. */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      n += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2; // 4 bytes for 2 code units
        i++;
      } else {
        n += 2;
      }
    } else {
      n += 2;
    }
  }
  return n;
}

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Size of an enum/int32 value as protobuf-es writes it (negative: 10 bytes). */
function int32Size(v: number): number {
  return v < 0 ? 10 : varintSize(v);
}

/** Field size of a non-empty string with a 1-byte tag; 0 for "" (proto3 implicit presence). */
function stringFieldSize(s: string): number {
  if (s.length === 0) return 0;
  const n = utf8Length(s);
  return 1 + varintSize(n) + n;
}

function contributionSize(c: FeatureContribution): number {
  return stringFieldSize(c.feature) + (c.contribution !== 0 ? 9 : 0) + (c.value !== 0 ? 9 : 0);
}

function contributionsSize(list: readonly FeatureContribution[]): number {
  let n = 0;
  for (const c of list) {
    const m = contributionSize(c);
    n += 1 + varintSize(m) + m;
  }
  return n;
}

function eventScoreSize(s: EventScore): number {
  return (
    (s.score !== 0 ? 9 : 0) +
    (s.verdict !== 0 ? 1 + int32Size(s.verdict) : 0) +
    contributionsSize(s.contributions)
  );
}

function eventErrorSize(e: EventError): number {
  return stringFieldSize(e.code) + stringFieldSize(e.message) + stringFieldSize(e.field);
}

/** Size of an `EventResult`'s body: its one oneof field, or nothing. */
function resultSize(r: EventResult): number {
  const o = r.outcome;
  if (o.case === "score") {
    const m = eventScoreSize(o.value);
    return 1 + varintSize(m) + m;
  }
  if (o.case === "error") {
    const m = eventErrorSize(o.value);
    return 1 + varintSize(m) + m;
  }
  return 0;
}

/** Writes into one Buffer; positions are checked by the size pass. */
class Writer {
  pos: number;
  constructor(readonly buf: Buffer) {
    this.pos = 0;
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  varint(v: number): void {
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  int32(v: number): void {
    if (v >= 0) {
      this.varint(v);
      return;
    }
    // Negative int32: sign-extended to 64 bits, 10 bytes.
    for (let i = 0; i < 9; i++) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>= 7;
    }
    this.buf[this.pos++] = 1;
  }

  double(tag: number, v: number): void {
    if (v === 0) return;
    this.buf[this.pos++] = tag;
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  string(tag: number, s: string): void {
    const n = s.length;
    if (n === 0) return;
    const buf = this.buf;
    buf[this.pos++] = tag;
    const bytes = utf8Length(s);
    this.varint(bytes);
    if (bytes === n && n <= 64) {
      // ASCII (one byte per code unit): a loop beats a call into native code.
      let pos = this.pos;
      for (let i = 0; i < n; i++) {
        buf[pos++] = s.charCodeAt(i);
      }
      this.pos = pos;
      return;
    }
    this.pos += buf.write(s, this.pos, "utf8");
  }

  contributions(tag: number, list: readonly FeatureContribution[]): void {
    for (const c of list) {
      this.byte(tag);
      this.varint(contributionSize(c));
      this.string(0x0a, c.feature);
      this.double(0x11, c.contribution);
      this.double(0x19, c.value);
    }
  }
}

/** A Buffer for one gRPC message of `size` bytes, its envelope header written (flags 0). */
function envelope(size: number): Writer {
  const w = new Writer(Buffer.allocUnsafe(size + 5));
  w.byte(0);
  w.buf.writeUInt32BE(size, 1);
  w.pos = 5;
  return w;
}

/**
 * Encodes a `ScoreResponse` as `toBinary(ScoreResponseSchema, res)` would,
 * inside a gRPC envelope (flag byte 0, 4-byte big-endian length).
 */
export function encodeScoreResponseEnvelope(res: ScoreResponse): Buffer {
  const size =
    (res.score !== 0 ? 9 : 0) +
    (res.verdict !== 0 ? 1 + int32Size(res.verdict) : 0) +
    (res.threshold !== 0 ? 9 : 0) +
    stringFieldSize(res.modelVersion) +
    contributionsSize(res.contributions);
  const w = envelope(size);
  w.double(0x09, res.score);
  if (res.verdict !== 0) {
    w.byte(0x10);
    w.int32(res.verdict);
  }
  w.double(0x19, res.threshold);
  w.string(0x22, res.modelVersion);
  w.contributions(0x2a, res.contributions);
  return w.buf;
}

/**
 * Encodes a `StreamScoreResponse` as `toBinary(StreamScoreResponseSchema, res)`
 * would, inside a gRPC envelope.
 */
export function encodeStreamScoreResponseEnvelope(res: StreamScoreResponse): Buffer {
  let size = stringFieldSize(res.requestId);
  for (const r of res.results) {
    const m = resultSize(r);
    size += 1 + varintSize(m) + m;
  }
  size += stringFieldSize(res.modelVersion) + (res.threshold !== 0 ? 9 : 0);
  const w = envelope(size);
  w.string(0x0a, res.requestId);
  for (const r of res.results) {
    w.byte(0x12);
    w.varint(resultSize(r));
    const o = r.outcome;
    if (o.case === "score") {
      const s = o.value;
      w.byte(0x0a);
      w.varint(eventScoreSize(s));
      w.double(0x09, s.score);
      if (s.verdict !== 0) {
        w.byte(0x10);
        w.int32(s.verdict);
      }
      w.contributions(0x1a, s.contributions);
    } else if (o.case === "error") {
      const e = o.value;
      w.byte(0x12);
      w.varint(eventErrorSize(e));
      w.string(0x0a, e.code);
      w.string(0x12, e.message);
      w.string(0x1a, e.field);
    }
  }
  w.string(0x1a, res.modelVersion);
  w.double(0x21, res.threshold);
  return w.buf;
}
