/**
 * The canned answers of the bench's minimal servers (`http2-floor.ts`,
 * `connect-minimal.ts`, `grpc-js-minimal.ts`): one `ScoreResponse` and a
 * SERVING health answer, the same message for every server so their CPU per
 * call is compared on the same bytes.
 */
import { create } from "@bufbuild/protobuf";
import {
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
} from "../gen/grpc/health/v1/health_pb.js";
import { ScoreResponseSchema } from "../gen/netanomaly/v1/scoring_service_pb.js";
import { Verdict } from "../gen/netanomaly/v1/telemetry_pb.js";

export const CANNED_SCORE = create(ScoreResponseSchema, {
  score: 0.5,
  verdict: Verdict.NORMAL,
  threshold: 0.65,
  modelVersion: "http2-floor",
});

export const CANNED_SERVING = create(HealthCheckResponseSchema, {
  status: HealthCheckResponse_ServingStatus.SERVING,
});
