/**
 * The HTTP/2 floor doing our per-call work and nothing else of ours:
 * `node --import tsx bench/http2-floor-work.ts --port P --model FILE`
 * answers every gRPC POST on 127.0.0.1:P as `http2-floor.ts` does, except
 * that a `…/Score` call's body is decoded, validated, scored and explained
 * with the server's own functions (`decodeScoreRequest`, `scoreRequest`,
 * `encodeScoreResponseEnvelope`) and that answer is sent. No header auth,
 * body limits, stream bookkeeping, fast-path call object or logging line:
 * its CPU per call, against the floor's, is the least any transport of
 * ours could cost while giving the server's answers.
 */
import * as http2 from "node:http2";
import { parseArgs } from "node:util";
import { toBinary } from "@bufbuild/protobuf";
import { pino } from "pino";
import { HealthCheckResponseSchema } from "../gen/grpc/health/v1/health_pb.js";
import { createModelHolder } from "../server/model-holder.js";
import { loadModelHere } from "../server/model-loader.js";
import { decodeScoreRequest, encodeScoreResponseEnvelope } from "../server/network-event-codec.js";
import { scoreRequest } from "../server/scoring-service.js";
import { CANNED_SERVING } from "./canned-answers.js";
import { grpcFrame } from "./grpc-frame.js";

const SERVING = grpcFrame(toBinary(HealthCheckResponseSchema, CANNED_SERVING));
const HEADERS = { ":status": 200, "content-type": "application/grpc+proto" };

const { values } = parseArgs({
  options: { port: { type: "string" }, model: { type: "string" } },
});
if (values.model === undefined) {
  throw new Error("bench/http2-floor-work.ts needs --model FILE");
}
const models = createModelHolder(await loadModelHere(values.model));
const log = pino({ level: "warn" });
const server = http2.createServer();
server.on("stream", (stream, headers) => {
  stream.on("error", () => {});
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  stream.once("end", () => {
    let answer = SERVING;
    if (!String(headers[":path"]).endsWith("/Check")) {
      // One uncompressed message after its 5-byte gRPC prefix, as h2load sends it.
      const body = Buffer.concat(chunks);
      const res = scoreRequest(decodeScoreRequest(body.subarray(5)), models, undefined, "", log);
      answer = encodeScoreResponseEnvelope(res);
    }
    stream.respond(HEADERS, { waitForTrailers: true });
    stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(answer);
  });
});
server.listen(Number(values.port), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
