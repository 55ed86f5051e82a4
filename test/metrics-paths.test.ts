import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import {
  ScoringService,
  type StreamScoreRequest,
  StreamScoreRequestSchema,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import { createServerMetrics, type ServerMetrics } from "../metrics/index.js";
import { createApiKeys } from "../server/auth.js";
import { createServer, type NetanomalyServer } from "../server/server.js";
import {
  anomalousEvent,
  makeEvent,
  normalEvent,
  testDetector,
} from "../server/testdata/detector.js";

// The same calls to a server on the gRPC fast path and one on Connect must
// leave the same gRPC and product metrics.

const KEY = "paths-test-key";
const servers: NetanomalyServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.shutdown(2000);
});

async function serve(fastPath: boolean) {
  const detector = testDetector();
  const metrics = createServerMetrics({
    threshold: detector.threshold,
    reasons: ["dest_port", "event"],
    processMetrics: false,
  });
  const app = createServer({
    detector,
    logger: pino({ level: "silent" }),
    fastPath,
    apiKeys: createApiKeys([KEY]),
    metrics,
    observer: {
      scored: (_d, scores, n, anomalies) => metrics.product.scored(scores, n, anomalies.length),
      rejected: (field, n) => metrics.product.rejected(field, n),
      rateLimited: () => metrics.product.rateLimited(),
    },
  });
  servers.push(app);
  const { port } = await app.listen(0, "127.0.0.1");
  return { url: `http://127.0.0.1:${port}`, metrics };
}

const batch = (id: string, ...events: ReturnType<typeof normalEvent>[]) =>
  create(StreamScoreRequestSchema, { requestId: id, events });

async function* messages(...batches: StreamScoreRequest[]) {
  yield* batches;
}

/** The calls: unary ok and invalid, a stream with a bad event, one without a key, one cancelled. */
async function exercise(url: string) {
  const authed = createClient(
    ScoringService,
    createGrpcTransport({
      baseUrl: url,
      interceptors: [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${KEY}`);
          return next(req);
        },
      ],
    }),
  );
  const anonymous = createClient(ScoringService, createGrpcTransport({ baseUrl: url }));
  await authed.score({ event: normalEvent() });
  await authed.score({ event: anomalousEvent() });
  await expect(authed.score({ event: makeEvent({ destPort: 70_000 }) })).rejects.toThrow();
  const results = [];
  for await (const r of authed.streamScore(
    messages(
      batch("a", normalEvent(), anomalousEvent()),
      batch("b", makeEvent({ destPort: 70_000 }), normalEvent()),
      batch("c", normalEvent()),
    ),
  )) {
    results.push(r);
  }
  expect(results).toHaveLength(3);
  const denied = async () => {
    for await (const _ of anonymous.streamScore(messages(batch("x", normalEvent()))));
  };
  await expect(denied()).rejects.toMatchObject({ code: Code.Unauthenticated });
  // A stream the client abandons after one answer.
  const abort = new AbortController();
  const open = async () => {
    for await (const _ of authed.streamScore(
      (async function* () {
        yield batch("d", normalEvent());
        await new Promise(() => {}); // never half-closes
      })(),
      { signal: abort.signal },
    )) {
      abort.abort();
    }
  };
  await expect(open()).rejects.toSatisfy((e) => ConnectError.from(e).code === Code.Canceled);
}

/** The registry as `name{labels} value` lines, without timings. */
async function snapshot(m: ServerMetrics): Promise<string[]> {
  const json = await m.registry.getMetricsAsJSON();
  const out: string[] = [];
  for (const metric of json) {
    if (metric.name === "grpc_server_handling_seconds") continue;
    for (const v of metric.values) {
      const name = (v as { metricName?: string }).metricName ?? metric.name;
      out.push(`${name}${JSON.stringify(v.labels)} ${v.value}`);
    }
  }
  return out.sort();
}

/** Waits until the server has ended every call (the abandoned stream ends when the reset arrives). */
async function settled(m: ServerMetrics, calls: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const handled = (await m.registry.getSingleMetric("grpc_server_handled_total")?.get())?.values;
    const total = (handled ?? []).reduce((s, v) => s + v.value, 0);
    if (total >= calls) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("gRPC server metrics", () => {
  it("count the same calls the same way on the fast path and on Connect", async () => {
    const fast = await serve(true);
    const connect = await serve(false);
    await exercise(fast.url);
    await exercise(connect.url);
    await settled(fast.metrics, 6);
    await settled(connect.metrics, 6);
    const a = await snapshot(fast.metrics);
    const b = await snapshot(connect.metrics);
    expect(a).toEqual(b);
    const stream =
      '{"grpc_type":"bidi_stream","grpc_service":"netanomaly.v1.ScoringService","grpc_method":"StreamScore"';
    const unary =
      '{"grpc_type":"unary","grpc_service":"netanomaly.v1.ScoringService","grpc_method":"Score"';
    expect(a).toEqual(
      expect.arrayContaining([
        `grpc_server_started_total${unary}} 3`,
        `grpc_server_handled_total${unary},"grpc_code":"OK"} 2`,
        `grpc_server_handled_total${unary},"grpc_code":"InvalidArgument"} 1`,
        `grpc_server_msg_received_total${unary}} 3`,
        `grpc_server_msg_sent_total${unary}} 2`,
        `grpc_server_started_total${stream}} 3`,
        // The abandoned stream ends without an error on the server's side, on both paths.
        `grpc_server_handled_total${stream},"grpc_code":"OK"} 2`,
        `grpc_server_handled_total${stream},"grpc_code":"Unauthenticated"} 1`,
        `grpc_server_msg_received_total${stream}} 4`,
        `grpc_server_msg_sent_total${stream}} 4`,
        "netanomaly_streams_open{} 0",
        "netanomaly_events_scored_total{} 7",
        'netanomaly_events_rejected_total{"reason":"dest_port"} 2',
      ]),
    );
  });
});
