import { clone, createFileRegistry, type Message } from "@bufbuild/protobuf";
import type { GenMessage, GenService } from "@bufbuild/protobuf/codegenv2";
import {
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  file_google_protobuf_timestamp,
} from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  file_netanomaly_v1_scoring_service,
  type StreamScoreRequestSchema,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import { file_netanomaly_v1_telemetry } from "../gen/netanomaly/v1/telemetry_pb.js";

/**
 * `netanomaly.v1.StreamScoreResponse` with its results left as their wire
 * bytes, one `Uint8Array` (a view into the received message) per
 * `EventResult`: the agent decodes them itself (`decodeEventResult`).
 * `EventResult` is a message, so it travels length-delimited exactly as a
 * `bytes` field does: the same bytes read either way.
 */
export type StreamScoreResponseView = Message<"netanomaly.v1.StreamScoreResponse"> & {
  requestId: string;
  /** One encoded `netanomaly.v1.EventResult` per event, in the request's order. */
  results: Uint8Array[];
  modelVersion: string;
  threshold: number;
};

/** `ScoringService` with only `StreamScore`, whose answers are {@link StreamScoreResponseView}s. */
export type ScoringServiceView = GenService<{
  streamScore: {
    methodKind: "bidi_streaming";
    input: typeof StreamScoreRequestSchema;
    output: GenMessage<StreamScoreResponseView>;
  };
}>;

/**
 * `netanomaly.v1.ScoringService` as the agent calls it: the same service,
 * path and request, described from the generated file with one change, the
 * type of `StreamScoreResponse.results` (message → bytes). Pass it to
 * `createClient` instead of `ScoringService`: protobuf-es then reads each
 * response's id, model version and threshold, and leaves the per-event
 * results to a decoder that skips its reflection. Binary formats only (gRPC,
 * or Connect with protobuf); in JSON a `bytes` field would be base64.
 */
export const ScoringServiceView: ScoringServiceView = (() => {
  const file = clone(FileDescriptorProtoSchema, file_netanomaly_v1_scoring_service.proto);
  const response = file.messageType.find((m) => m.name === "StreamScoreResponse");
  const results = response?.field.find((f) => f.name === "results");
  if (results === undefined)
    throw new Error("StreamScoreResponse.results is not in the descriptor");
  results.type = FieldDescriptorProto_Type.BYTES;
  results.typeName = "";
  const deps = [file_google_protobuf_timestamp, file_netanomaly_v1_telemetry];
  const registry = createFileRegistry(file, (name) => deps.find((d) => d.proto.name === name));
  const service = registry.getService("netanomaly.v1.ScoringService");
  if (service === undefined) throw new Error("ScoringService is not in the descriptor");
  return {
    ...service,
    methods: service.methods.filter((m) => m.localName === "streamScore"),
  } as unknown as ScoringServiceView;
})();

const TAG_REQUEST_ID = 0x0a;
const TAG_RESULTS = 0x12;
const TAG_MODEL_VERSION = 0x1a;
const TAG_THRESHOLD = 0x21;
const utf8 = new TextDecoder("utf-8", { fatal: false });

/**
 * Reads a `netanomaly.v1.StreamScoreResponse` from its wire bytes into a
 * {@link StreamScoreResponseView} (each result a view of `bytes`), by hand:
 * the four fields, unknown ones skipped, as `fromBinary` with
 * {@link ScoringServiceView}'s descriptor reads them (the last value of a
 * repeated scalar field wins; results accumulate).
 *
 * @throws ConnectError `internal` naming the byte where the message is cut or malformed.
 */
export function decodeStreamScoreResponse(bytes: Uint8Array): StreamScoreResponseView {
  const res: StreamScoreResponseView = {
    $typeName: "netanomaly.v1.StreamScoreResponse",
    requestId: "",
    results: [],
    modelVersion: "",
    threshold: 0,
  };
  const end = bytes.length;
  let pos = 0;
  const bad = (what: string): ConnectError =>
    new ConnectError(
      `cannot decode netanomaly.v1.StreamScoreResponse: ${what} at byte ${pos} of ${end}`,
      Code.Internal,
    );
  const varint = (): number => {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= end) throw bad("cut varint");
      const b = bytes[pos++] as number;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
    // Longer varints (64-bit values of unknown fields) are skipped whole.
    while (pos < end && (bytes[pos] as number) >= 0x80) pos++;
    if (pos >= end) throw bad("cut varint");
    pos++;
    return -1;
  };
  const delimited = (): number => {
    const len = varint();
    if (len < 0 || len > end - pos) throw bad(`length ${len} past the end`);
    return len;
  };
  while (pos < end) {
    const tag = bytes[pos] as number;
    if (tag === TAG_RESULTS) {
      pos++;
      const len = delimited();
      res.results.push(bytes.subarray(pos, pos + len));
      pos += len;
    } else if (tag === TAG_REQUEST_ID || tag === TAG_MODEL_VERSION) {
      pos++;
      const len = delimited();
      const s = text(bytes, pos, pos + len);
      if (tag === TAG_REQUEST_ID) res.requestId = s;
      else res.modelVersion = s;
      pos += len;
    } else if (tag === TAG_THRESHOLD) {
      pos++;
      if (end - pos < 8) throw bad("cut double");
      res.threshold = Buffer.from(bytes.buffer, bytes.byteOffset + pos, 8).readDoubleLE(0);
      pos += 8;
    } else {
      const key = varint();
      const field = Math.floor(key / 8);
      const wireType = key % 8;
      if (field === 0 || field <= 4) throw bad(`field ${field} with wire type ${wireType}`);
      if (wireType === 0) varint();
      else if (wireType === 1) pos += 8;
      else if (wireType === 2) {
        // Not `pos += delimited()`: that adds to `pos` as it was before the length.
        const len = delimited();
        pos += len;
      } else if (wireType === 5) pos += 4;
      else throw bad(`unsupported wire type ${wireType}`);
      if (pos > end) throw bad("cut field");
    }
  }
  return res;
}

/** The UTF-8 text in `bytes[start, end)`: short ASCII without a decoder call. */
function text(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 16) {
    let s = "";
    for (let i = start; i < end; i++) {
      const c = bytes[i] as number;
      if (c >= 0x80) return utf8.decode(bytes.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8.decode(bytes.subarray(start, end));
}
