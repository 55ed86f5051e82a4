import { toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type StreamScoreRequest,
  StreamScoreRequestSchema,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import { varintSize, writeVarint } from "../telemetry/varint.js";

/** Bytes in front of each gRPC message: a flags byte and a 32-bit big-endian length. */
export const FRAME_HEADER_BYTES = 5;
/** The flags bit saying the message is compressed. */
const FLAG_COMPRESSED = 0x01;
/** Largest response message the agent takes by default: gRPC's usual 4 MiB. */
export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/**
 * Splits the data of a gRPC response into its messages, whatever the chunks:
 * a message split across chunks (down to one byte at a time) is put back
 * together, and a chunk holding several is read in place, each message a
 * view of the chunk (no copy in the common case of whole messages).
 *
 * The agent negotiates no compression, so a compressed message (flags bit
 * 0) is a protocol error, as is any other flag bit or a message longer than
 * `maxBytes`.
 *
 * @see https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md ("Length-Prefixed-Message")
 */
export class GrpcFrameReader {
  /** Received bytes not yet part of a whole message. */
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** @param maxBytes - the longest message taken, bytes. Default 4 MiB. */
  constructor(private readonly maxBytes: number = DEFAULT_MAX_RESPONSE_BYTES) {}

  /** Bytes received that do not yet make a whole message (0 between messages). */
  get pending(): number {
    return this.buffered;
  }

  /**
   * Takes one chunk of the response data and hands `onMessage` each message
   * it completes, in order. A message is a view valid until `onMessage`
   * returns (its bytes may be reused after).
   *
   * @throws ConnectError `internal` for a compressed message, an unknown
   *   flag, or a length over the limit; `resource_exhausted` for the limit.
   */
  push(chunk: Buffer, onMessage: (message: Uint8Array) => void): void {
    let buf = chunk;
    if (this.buffered > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      // Wait for at least a header, then for the whole message it announces.
      if (this.buffered < FRAME_HEADER_BYTES) return;
      let head = this.chunks[0] as Buffer;
      if (head.length < FRAME_HEADER_BYTES) head = this.joined();
      if (this.buffered < FRAME_HEADER_BYTES + this.lengthAt(head, 0)) return;
      // Joined once, when the message is complete: a long message in many chunks is copied once.
      buf = this.chunks.length === 1 ? head : Buffer.concat(this.chunks, this.buffered);
      this.chunks = [];
      this.buffered = 0;
    }
    let pos = 0;
    const end = buf.length;
    while (end - pos >= FRAME_HEADER_BYTES) {
      const len = this.lengthAt(buf, pos);
      const bodyAt = pos + FRAME_HEADER_BYTES;
      if (end - bodyAt < len) break;
      onMessage(buf.subarray(bodyAt, bodyAt + len));
      pos = bodyAt + len;
    }
    if (pos < end) {
      this.chunks = [buf.subarray(pos)];
      this.buffered = end - pos;
    }
  }

  /** The buffered chunks as one buffer, kept as the only chunk. */
  private joined(): Buffer {
    const all = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [all];
    return all;
  }

  /** The length of the message whose header starts at `pos`, after checking its flags. */
  private lengthAt(buf: Buffer, pos: number): number {
    const flags = buf[pos] as number;
    if (flags !== 0) {
      throw new ConnectError(
        (flags & FLAG_COMPRESSED) !== 0
          ? "protocol error: received a compressed message, but the agent asked for none (grpc-accept-encoding: identity)"
          : `protocol error: message flags 0x${flags.toString(16)} are not defined by gRPC`,
        Code.Internal,
      );
    }
    const len = buf.readUInt32BE(pos + 1);
    if (len > this.maxBytes) {
      throw new ConnectError(
        `message size ${len} is larger than configured readMaxBytes ${this.maxBytes}`,
        Code.ResourceExhausted,
      );
    }
    return len;
  }
}

/** `StreamScoreRequest.request_id` and `.events`, length-delimited. */
const TAG_REQUEST_ID = 0x0a;
const TAG_EVENTS = 0x12;

/**
 * A request as one length-prefixed gRPC message: `request_id`, then the
 * events `EventsEncoder` wrote (the unknown field holding them), copied once;
 * a request whose events travel as objects goes through `toBinary`.
 */
export function requestFrame(request: StreamScoreRequest): Buffer {
  const unknown = request.$unknown;
  const data =
    request.events.length === 0 &&
    unknown !== undefined &&
    unknown.length === 1 &&
    unknown[0]?.no === 2
      ? unknown[0].data
      : undefined;
  if (data === undefined && (request.events.length > 0 || (unknown?.length ?? 0) > 0)) {
    const body = toBinary(StreamScoreRequestSchema, request);
    const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
    frame[0] = 0;
    frame.writeUInt32BE(body.length, 1);
    frame.set(body, FRAME_HEADER_BYTES);
    return frame;
  }
  const id = request.requestId;
  const idBytes = Buffer.byteLength(id, "utf8");
  const length =
    (idBytes === 0 ? 0 : 1 + varintSize(idBytes) + idBytes) +
    (data === undefined ? 0 : 1 + data.length);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  frame[0] = 0;
  frame.writeUInt32BE(length, 1);
  let pos = FRAME_HEADER_BYTES;
  if (idBytes > 0) {
    frame[pos++] = TAG_REQUEST_ID;
    pos = writeVarint(frame, pos, idBytes);
    pos += frame.write(id, pos, "utf8");
  }
  if (data !== undefined) {
    frame[pos++] = TAG_EVENTS;
    frame.set(data, pos);
  }
  return frame;
}
