/**
 * The least a connect-node server can be: `node --import tsx
 * bench/connect-minimal.ts --port P` serves `ScoringService.Score` and
 * `Health.Check` through `connectNodeAdapter` on a bare `node:http2`
 * server, each answering the same canned message as `http2-floor.ts`: no
 * interceptors, context values, logging, validation or scoring. Against the
 * floor under the same load, its CPU per call is what connect-node itself
 * costs (issue 22, goal 5).
 */
import * as http2 from "node:http2";
import { parseArgs } from "node:util";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { ScoringService } from "../gen/netanomaly/v1/scoring_service_pb.js";
import { CANNED_SCORE as SCORE, CANNED_SERVING as SERVING } from "./canned-answers.js";

const { values } = parseArgs({ options: { port: { type: "string" } } });
const routes = (router: ConnectRouter) => {
  router.service(ScoringService, {
    score: () => SCORE,
    streamScore: async function* () {},
    getModelInfo: () => ({}),
  });
  router.service(Health, { check: () => SERVING, watch: async function* () {} });
};
const server = http2.createServer(connectNodeAdapter({ routes }));
server.listen(Number(values.port), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
