import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../gen/grpc/health/v1/health_pb.js";
import {
  ScoreRequestSchema,
  ScoreResponseSchema,
  ScoringService,
  type StreamScoreRequest,
  StreamScoreRequestSchema,
  type StreamScoreResponse,
  StreamScoreResponseSchema,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import { Verdict } from "../gen/netanomaly/v1/telemetry_pb.js";
import { createServer, type NetanomalyServer } from "./server.js";
import { anomalousEvent, makeEvent, normalEvent, testDetector } from "./testdata/detector.js";
import { captureLogs } from "./testdata/harness.js";

let app: NetanomalyServer;
let baseUrl: string;
let target: string;

beforeEach(async () => {
  app = createServer({ detector: testDetector(), logger: captureLogs().logger });
  const address = await app.listen(0, "127.0.0.1");
  target = `127.0.0.1:${address.port}`;
  baseUrl = `http://${target}`;
});

afterEach(async () => {
  // Idle client connections (HTTP/2 sessions, HTTP/1.1 keep-alive) must not hold shutdown up.
  expect(await app.shutdown(5_000)).toBe("graceful");
});

const badPort = () => makeEvent({ processPath: "chrome.exe", destPort: 70_000 });

async function* requests(...batches: StreamScoreRequest[]) {
  yield* batches;
}

function batch(requestId: string, events = [normalEvent()]) {
  return create(StreamScoreRequestSchema, { requestId, events });
}

describe("createServer() over HTTP/2 with the gRPC transport", () => {
  it("answers Score", async () => {
    const client = createClient(ScoringService, createGrpcTransport({ baseUrl }));
    const res = await client.score({ event: anomalousEvent() });
    expect(res.verdict).toBe(Verdict.ANOMALOUS);
    expect(res.modelVersion).toBe(testDetector().info.version);
  });

  it("keeps a bidi stream going past a bad event in the middle", async () => {
    const client = createClient(ScoringService, createGrpcTransport({ baseUrl }));
    const out: StreamScoreResponse[] = [];
    for await (const res of client.streamScore(
      requests(batch("1"), batch("2", [normalEvent(), badPort(), anomalousEvent()]), batch("3")),
    )) {
      out.push(res);
    }
    expect(out.map((r) => r.requestId)).toEqual(["1", "2", "3"]);
    expect(out[1]?.results.map((r) => r.outcome.case)).toEqual(["score", "error", "score"]);
    expect(out[1]?.results[1]?.outcome.value).toMatchObject({ field: "dest_port" });
  });

  it("rejects a bad event in Score with invalid_argument", async () => {
    const client = createClient(ScoringService, createGrpcTransport({ baseUrl }));
    const err = await client.score({ event: badPort() }).catch((e) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
  });

  it("rejects a 3 MB domain name with invalid_argument naming dest_domain", async () => {
    const client = createClient(ScoringService, createGrpcTransport({ baseUrl }));
    const event = makeEvent({ destDomain: "a".repeat(3 * 1024 * 1024) });
    const err = await client.score({ event }).catch((e) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toBe(
      "event.dest_domain has 3145728 characters, at most 253 allowed",
    );
  });

  it("rejects a message over the 4 MiB default limit with resource_exhausted", async () => {
    const sessionManager = new Http2SessionManager(baseUrl);
    const client = createClient(ScoringService, createGrpcTransport({ baseUrl, sessionManager }));
    const event = makeEvent({ destDomain: "a".repeat(5 * 1024 * 1024) });
    const err = await client.score({ event }).catch((e) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
    // The server stopped reading; this client would go on uploading the rest.
    sessionManager.abort();
  });
});

describe.each<[string, () => Transport]>([
  ["gRPC-Web over HTTP/2", () => createGrpcWebTransport({ baseUrl, httpVersion: "2" })],
  ["gRPC-Web over HTTP/1.1", () => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })],
  ["Connect over HTTP/2", () => createConnectTransport({ baseUrl, httpVersion: "2" })],
  ["Connect over HTTP/1.1", () => createConnectTransport({ baseUrl, httpVersion: "1.1" })],
])("createServer() with %s", (_name, transport) => {
  it("answers Score, GetModelInfo and Health.Check", async () => {
    const t = transport();
    const scoring = createClient(ScoringService, t);
    expect((await scoring.score({ event: normalEvent() })).verdict).toBe(Verdict.NORMAL);
    expect((await scoring.getModelInfo({})).nEstimators).toBe(50);
    const health = createClient(Health, t);
    expect((await health.check({ service: "" })).status).toBe(ServingStatus.SERVING);
  });

  it("rejects a bad event with invalid_argument", async () => {
    const scoring = createClient(ScoringService, transport());
    const err = await scoring.score({ event: badPort() }).catch((e) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
  });
});

describe("createServer() with @grpc/grpc-js", () => {
  let client: grpc.Client;
  beforeEach(() => {
    client = new grpc.Client(target, grpc.credentials.createInsecure());
  });
  afterEach(() => client.close());

  function unary<I, O>(
    path: string,
    encode: (m: I) => Uint8Array,
    decode: (b: Uint8Array) => O,
    req: I,
  ): Promise<O> {
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        path,
        (m: I) => Buffer.from(encode(m)),
        decode,
        req,
        (err, res) => (err ? reject(err) : resolve(res as O)),
      );
    });
  }

  it("answers Score", async () => {
    const res = await unary(
      "/netanomaly.v1.ScoringService/Score",
      (m) => toBinary(ScoreRequestSchema, m),
      (b) => fromBinary(ScoreResponseSchema, b),
      create(ScoreRequestSchema, { event: anomalousEvent() }),
    );
    expect(res.verdict).toBe(Verdict.ANOMALOUS);
  });

  it("maps a bad event to INVALID_ARGUMENT", async () => {
    const err = await unary(
      "/netanomaly.v1.ScoringService/Score",
      (m) => toBinary(ScoreRequestSchema, m),
      (b) => fromBinary(ScoreResponseSchema, b),
      create(ScoreRequestSchema, { event: badPort() }),
    ).catch((e: grpc.ServiceError) => e);
    expect((err as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((err as grpc.ServiceError).details).toContain("dest_port");
  });

  it("answers Health.Check, and NOT_FOUND for an unknown service", async () => {
    const check = (service: string) =>
      unary(
        "/grpc.health.v1.Health/Check",
        (m) => toBinary(HealthCheckRequestSchema, m),
        (b) => fromBinary(HealthCheckResponseSchema, b),
        create(HealthCheckRequestSchema, { service }),
      );
    expect((await check("netanomaly.v1.ScoringService")).status).toBe(ServingStatus.SERVING);
    const err = await check("nope").catch((e: grpc.ServiceError) => e);
    expect((err as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
  });

  it("streams StreamScore, answering a bad event with an error result", async () => {
    const call = client.makeBidiStreamRequest(
      "/netanomaly.v1.ScoringService/StreamScore",
      (m: StreamScoreRequest) => Buffer.from(toBinary(StreamScoreRequestSchema, m)),
      (b: Buffer) => fromBinary(StreamScoreResponseSchema, b),
    );
    const out: StreamScoreResponse[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on("data", (res: StreamScoreResponse) => out.push(res));
      call.on("end", resolve);
      call.on("error", reject);
    });
    call.write(batch("a"));
    call.write(batch("b", [badPort(), normalEvent()]));
    call.write(batch("c"));
    call.end();
    await done;
    expect(out.map((r) => r.requestId)).toEqual(["a", "b", "c"]);
    expect(out[1]?.results.map((r) => r.outcome.case)).toEqual(["error", "score"]);
  });
});

describe("NetanomalyServer.shutdown()", () => {
  it("reports NOT_SERVING, ends open streams with unavailable, and closes gracefully", async () => {
    const client = createClient(ScoringService, createGrpcTransport({ baseUrl }));
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* slowAgent() {
      yield batch("1");
      await held; // keep the stream open, as a live agent does
    }
    const it = client.streamScore(slowAgent())[Symbol.asyncIterator]();
    expect((await it.next()).value?.requestId).toBe("1");
    const outcome = app.shutdown(5_000);
    expect(app.health.getStatus("")).toBe(ServingStatus.NOT_SERVING);
    const err = await it.next().catch((e) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.Unavailable);
    release();
    expect(await outcome).toBe("graceful");
    expect(app.server.listening).toBe(false);
  });
});
