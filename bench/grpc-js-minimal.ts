/**
 * The same canned answers as `http2-floor.ts` and `connect-minimal.ts`,
 * served by `@grpc/grpc-js` (`node --import tsx bench/grpc-js-minimal.ts
 * --port P`): `ScoringService/Score` and `Health/Check`, with the
 * (de)serializers passing bytes through, so its CPU per call under the same
 * load is what grpc-js's own transport costs (issue 22, goal 5).
 */
import { parseArgs } from "node:util";
import { toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { HealthCheckResponseSchema } from "../gen/grpc/health/v1/health_pb.js";
import { ScoreResponseSchema } from "../gen/netanomaly/v1/scoring_service_pb.js";
import { CANNED_SCORE, CANNED_SERVING } from "./canned-answers.js";

const SCORE = Buffer.from(toBinary(ScoreResponseSchema, CANNED_SCORE));
const SERVING = Buffer.from(toBinary(HealthCheckResponseSchema, CANNED_SERVING));

/** A unary method whose request is left as bytes and whose answer is `answer`. */
const canned = (path: string): grpc.MethodDefinition<Buffer, Buffer> => ({
  path,
  requestStream: false,
  responseStream: false,
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
});

const { values } = parseArgs({ options: { port: { type: "string" } } });
const server = new grpc.Server();
server.addService(
  { score: canned("/netanomaly.v1.ScoringService/Score") },
  { score: (_call: unknown, done: grpc.sendUnaryData<Buffer>) => done(null, SCORE) },
);
server.addService(
  { check: canned("/grpc.health.v1.Health/Check") },
  { check: (_call: unknown, done: grpc.sendUnaryData<Buffer>) => done(null, SERVING) },
);
server.bindAsync(`127.0.0.1:${values.port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
});
process.on("SIGTERM", () => process.exit(0));
