import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import {
  type StreamScoreRequest,
  StreamScoreRequestSchema,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import { type NetworkEvent, NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { writeVarint } from "../telemetry/varint.js";

/** Field number of `StreamScoreRequest.events`. */
const EVENTS_FIELD = 2;
/** Room kept in front of an event's body for its length prefix (a 32-bit varint). */
const PREFIX_ROOM = 5;
const TWO_32 = 2 ** 32;
const TWO_63 = 2n ** 63n;
const TWO_64 = 2n ** 64n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** Size of a fresh buffer, which holds the encodings of many requests one after another. */
const SLAB = 1 << 18;
/**
 * Most bytes an event's fields other than its strings take: length prefix,
 * timestamp (tag, length, two tagged varints), port and two byte counts.
 */
const FIXED_ROOM = PREFIX_ROOM + 19 + 33;

/**
 * An event to send: the object, or its encoding already made (the bytes
 * `toBinary(NetworkEventSchema, event)` gives, as a source's
 * `SourceEvent.encoded`), which is copied as it is.
 */
export type OutgoingEvent = NetworkEvent | Uint8Array;

/**
 * Encodes the `events` of one `StreamScoreRequest` in a single pass over a
 * reused buffer, the bytes `toBinary` would write for them, without
 * protobuf-es's reflection, per-field writer objects and one `TextEncoder`
 * array per string: the agent's largest cost per event (issue 22).
 *
 * An event the fast path does not cover (unknown fields, a negative
 * timestamp, a port past uint32) is encoded with `toBinary`, so the output
 * is always the canonical encoding.
 *
 * Each encoding is a view of a shared buffer (a new one is taken when the
 * current one is full), not a copy of its own: a request's bytes are
 * allocated once.
 */
export class EventsEncoder {
  private buf = Buffer.allocUnsafe(SLAB);
  /** Where the encoding being written starts; what lies before belongs to earlier ones. */
  private start = 0;
  private pos = 0;

  /**
   * A `StreamScoreRequest` whose events travel pre-encoded: the message has
   * `requestId` and the encoded `events` as one unknown-field entry, which
   * `toBinary` (and so the gRPC transport) writes as it is. Its bytes equal
   * those of `create(StreamScoreRequestSchema, { requestId, events })`.
   */
  request(
    requestId: string,
    events: readonly OutgoingEvent[],
    ends?: Uint32Array,
  ): StreamScoreRequest {
    let data: Uint8Array;
    try {
      data = this.encode(events, ends);
    } catch {
      // An event toBinary refuses: leave it to the transport, which reports it as before.
      return create(StreamScoreRequestSchema, { requestId, events: events.map(eventOf) });
    }
    return {
      $typeName: "netanomaly.v1.StreamScoreRequest",
      requestId,
      events: [],
      $unknown:
        data.length === 0 ? [] : [{ no: EVENTS_FIELD, wireType: WireType.LengthDelimited, data }],
    };
  }

  /**
   * The bytes of `events` as field 2 of a request, less the first tag (the
   * writer of an unknown field writes it): length and body of the first
   * event, then tag, length and body of each next one.
   *
   * @param ends - when given (at least `events.length` long), receives the
   *   offset just past each event's body, for {@link eventAt}.
   * @returns the bytes, which stay as they are (later calls write after them).
   */
  encode(events: readonly OutgoingEvent[], ends?: Uint32Array): Uint8Array {
    this.pos = this.start;
    for (let i = 0; i < events.length; i++) {
      if (i > 0) this.byte((EVENTS_FIELD << 3) | WireType.LengthDelimited);
      const e = events[i] as OutgoingEvent;
      if (e instanceof Uint8Array) this.encoded(e);
      else this.event(e);
      if (ends !== undefined) ends[i] = this.pos - this.start;
    }
    const out = new Uint8Array(
      this.buf.buffer,
      this.buf.byteOffset + this.start,
      this.pos - this.start,
    );
    this.start = this.pos;
    return out;
  }

  /** Writes the length prefix and body of an event encoded already. */
  private encoded(body: Uint8Array): void {
    this.room(PREFIX_ROOM + body.length);
    this.varint(body.length);
    this.buf.set(body, this.pos);
    this.pos += body.length;
  }

  /** Writes one event's length prefix and body. */
  private event(e: NetworkEvent): void {
    const ts = e.timestamp;
    const fast =
      (e.$unknown === undefined || e.$unknown.length === 0) &&
      (ts === undefined ||
        ((ts.$unknown === undefined || ts.$unknown.length === 0) &&
          ts.seconds >= 0n &&
          ts.seconds < TWO_63 &&
          ts.nanos >= 0)) &&
      e.destPort >= 0 &&
      e.destPort < TWO_32 &&
      Number.isInteger(e.destPort) &&
      e.bytesSent >= 0n &&
      e.bytesSent < TWO_64 &&
      e.bytesRecv >= 0n &&
      e.bytesRecv < TWO_64;
    // Room for the whole event first: the buffer may move only here, before
    // any position in it is held.
    let bytes: Uint8Array | undefined;
    if (fast) {
      const chars =
        e.processPath.length +
        e.processHash.length +
        e.sourceIp.length +
        e.destIp.length +
        e.destDomain.length +
        e.protocol.length +
        e.dnsQuery.length +
        e.parentProcess.length +
        e.userContext.length;
      // A tag and a length of at most 5 bytes per string, at most 3 UTF-8 bytes per UTF-16 unit.
      this.room(FIXED_ROOM + 9 * 6 + 3 * chars);
    } else {
      bytes = toBinary(NetworkEventSchema, e);
      this.room(PREFIX_ROOM + bytes.length);
    }
    const at = this.pos;
    this.pos += PREFIX_ROOM;
    if (bytes === undefined) {
      if (ts !== undefined) {
        this.byte((1 << 3) | WireType.LengthDelimited);
        const inner = this.pos;
        this.pos += 1;
        if (ts.seconds !== 0n) {
          this.byte(1 << 3);
          this.uint64(ts.seconds);
        }
        if (ts.nanos !== 0) {
          this.byte(2 << 3);
          this.varint(ts.nanos);
        }
        // A timestamp's body is at most 11 + 6 bytes: one length byte.
        this.buf[inner] = this.pos - inner - 1;
      }
      this.string(2, e.processPath);
      this.string(3, e.processHash);
      this.string(4, e.sourceIp);
      this.string(5, e.destIp);
      this.string(6, e.destDomain);
      if (e.destPort !== 0) {
        this.byte(7 << 3);
        this.varint(e.destPort);
      }
      if (e.bytesSent !== 0n) {
        this.byte(8 << 3);
        this.uint64(e.bytesSent);
      }
      if (e.bytesRecv !== 0n) {
        this.byte(9 << 3);
        this.uint64(e.bytesRecv);
      }
      this.string(10, e.protocol);
      this.string(11, e.dnsQuery);
      this.string(12, e.parentProcess);
      this.string(13, e.userContext);
    } else {
      this.buf.set(bytes, this.pos);
      this.pos += bytes.length;
    }
    // Put the length in front of the body and close the gap left for it.
    const body = at + PREFIX_ROOM;
    const len = this.pos - body;
    this.pos = at;
    this.varint(len);
    if (this.pos !== body) this.buf.copyWithin(this.pos, body, body + len);
    this.pos += len;
  }

  private string(field: number, s: string): void {
    const n = s.length;
    if (n === 0) return;
    // Tag, a length of at most 5 bytes, and at most 3 UTF-8 bytes per UTF-16 unit.
    this.room(6 + 3 * n);
    this.buf[this.pos++] = (field << 3) | WireType.LengthDelimited;
    const at = this.pos;
    if (n < 128) {
      // One length byte if the string is ASCII: write it straight through.
      const buf = this.buf;
      let p = at + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[p++] = c;
      }
      if (i === n) {
        buf[at] = n;
        this.pos = p;
        return;
      }
    }
    const len = Buffer.byteLength(s, "utf8");
    this.varint(len);
    this.pos += this.buf.write(s, this.pos, "utf8");
  }

  private byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  /** A non-negative integer below 2^53 as a varint. */
  private varint(v: number): void {
    this.room(10);
    this.pos = writeVarint(this.buf, this.pos, v);
  }

  /** An unsigned 64-bit integer (a non-negative bigint below 2^64) as a varint. */
  private uint64(v: bigint): void {
    if (v <= MAX_SAFE) {
      this.varint(Number(v));
      return;
    }
    this.room(10);
    let x = v;
    while (x >= 0x80n) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
  }

  /**
   * Makes room for `n` more bytes at `pos`: when the buffer is full, the
   * encoding so far moves to the start of a new one (earlier encodings keep
   * the old one), so positions held across a call are stale.
   */
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const used = this.pos - this.start;
    const next = Buffer.allocUnsafe(Math.max(SLAB, 2 * (used + n)));
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.start = 0;
    this.pos = used;
  }
}

/** The object of an outgoing event, decoded when it is given as its encoding. */
export function eventOf(e: OutgoingEvent): NetworkEvent {
  return e instanceof Uint8Array ? fromBinary(NetworkEventSchema, e) : e;
}

/**
 * Event `i` of bytes `encode` wrote, decoded again: an object equal, field
 * for field, to the event encoded (the encoding is canonical).
 *
 * @param data - what `EventsEncoder.encode` returned.
 * @param ends - the offsets it wrote for the same events.
 */
export function eventAt(data: Uint8Array, ends: Uint32Array, i: number): NetworkEvent {
  // The first event has no tag in front: the writer of the unknown field writes it.
  let pos = i === 0 ? 0 : (ends[i - 1] as number) + 1;
  // Skip the length prefix: the body runs to the event's end.
  while ((data[pos++] as number) >= 0x80);
  return fromBinary(NetworkEventSchema, data.subarray(pos, ends[i]));
}
