/**
 * The HTTP/2 floor: `node --import tsx bench/http2-floor.ts --port P`
 * answers every gRPC POST on 127.0.0.1:P with one canned message, as bare
 * `node:http2` code: no decoding, validation, scoring, logging or limits.
 * A `…/Check` path gets `HealthCheckResponse{SERVING}` (so the bench can
 * wait for it as for the server), anything else a `ScoreResponse`. Its CPU
 * per call under the same load is what Node's HTTP/2 costs before any of
 * the server's work.
 */
import * as http2 from "node:http2";
import { parseArgs } from "node:util";
import { toBinary } from "@bufbuild/protobuf";
import { HealthCheckResponseSchema } from "../gen/grpc/health/v1/health_pb.js";
import { ScoreResponseSchema } from "../gen/netanomaly/v1/scoring_service_pb.js";
import { CANNED_SCORE, CANNED_SERVING } from "./canned-answers.js";
import { grpcFrame } from "./grpc-frame.js";

const SCORE = grpcFrame(toBinary(ScoreResponseSchema, CANNED_SCORE));
const SERVING = grpcFrame(toBinary(HealthCheckResponseSchema, CANNED_SERVING));
const HEADERS = { ":status": 200, "content-type": "application/grpc+proto" };

const { values } = parseArgs({ options: { port: { type: "string" } } });
const server = http2.createServer();
server.on("stream", (stream, headers) => {
  stream.on("error", () => {});
  stream.resume();
  stream.once("end", () => {
    stream.respond(HEADERS, { waitForTrailers: true });
    stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(String(headers[":path"]).endsWith("/Check") ? SERVING : SCORE);
  });
});
server.listen(Number(values.port), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
