import { clone, createFileRegistry, type Message } from "@bufbuild/protobuf";
import type { GenMessage, GenService } from "@bufbuild/protobuf/codegenv2";
import {
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  file_google_protobuf_timestamp,
} from "@bufbuild/protobuf/wkt";
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
