import * as http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  compressionGzip,
  createConnectTransport,
  createGrpcTransport,
} from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import {
  ScoreRequestSchema,
  ScoreResponseSchema,
  ScoringService,
  StreamScoreRequestSchema,
  StreamScoreResponseSchema,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import { Verdict } from "../gen/netanomaly/v1/telemetry_pb.js";
import { createApiKeys } from "./auth.js";
import { createServer, type NetanomalyServer, type ServerOptions } from "./server.js";
import { anomalousEvent, makeEvent, normalEvent, testDetector } from "./testdata/detector.js";
import { captureLogs } from "./testdata/harness.js";

let app: NetanomalyServer | undefined;
let lines: Record<string, unknown>[] = [];
let baseUrl = "";
const sessions: http2.ClientHttp2Session[] = [];

async function start(options: Partial<ServerOptions> = {}) {
  const logs = captureLogs();
  lines = logs.lines;
  app = createServer({ detector: testDetector(), logger: logs.logger, ...options });
  const address = await app.listen(0, "127.0.0.1");
  baseUrl = `http://127.0.0.1:${address.port}`;
}

afterEach(async () => {
  for (const s of sessions.splice(0)) s.close();
  await app?.shutdown(5_000);
  app = undefined;
});

const finished = () => lines.filter((l) => l.msg === "rpc finished" || l.msg === "rpc failed");

function envelope(bytes: Uint8Array, flags = 0): Buffer {
  const out = Buffer.alloc(5 + bytes.length);
  out[0] = flags;
  out.writeUInt32BE(bytes.length, 1);
  out.set(bytes, 5);
  return out;
}

interface RawResult {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  messages: Buffer[];
}

/**
 * One gRPC call on a raw HTTP/2 client: `chunks` are written as separate
 * DATA writes, so message boundaries fall wherever the test puts them.
 */
function rawCall(
  path: string,
  chunks: Buffer[],
  headers: http2.OutgoingHttpHeaders = {},
  end = true,
): Promise<RawResult> {
  const session = http2.connect(baseUrl);
  sessions.push(session);
  return new Promise((resolve, reject) => {
    const req = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const body: Buffer[] = [];
    req.on("response", (h) => {
      head = h;
    });
    req.on("trailers", (t) => {
      trailers = t;
    });
    req.on("data", (c: Buffer) => body.push(c));
    req.on("error", reject);
    // The response is complete at its end; 'close' comes only once the client
    // half-closes or the server resets the request side (request-side.test.ts).
    req.on("end", () => {
      req.close();
      const all = Buffer.concat(body);
      const messages: Buffer[] = [];
      for (let at = 0; at + 5 <= all.length; ) {
        const len = all.readUInt32BE(at + 1);
        messages.push(all.subarray(at + 5, at + 5 + len));
        at += 5 + len;
      }
      resolve({ headers: head, trailers, messages });
    });
    for (const c of chunks) req.write(c);
    if (end) req.end();
  });
}

/** Splits `buf` into pieces of 1, 2, 3, … bytes, cycling, so boundaries land everywhere. */
function oddChunks(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let size = 1;
  for (let at = 0; at < buf.length; at += size, size = (size % 7) + 1) {
    out.push(buf.subarray(at, at + size));
  }
  return out;
}

const streamBody = (...ids: string[]) =>
  Buffer.concat(
    ids.map((requestId) =>
      envelope(
        toBinary(
          StreamScoreRequestSchema,
          create(StreamScoreRequestSchema, {
            requestId,
            events: [normalEvent(), anomalousEvent()],
          }),
        ),
      ),
    ),
  );

describe("gRPC fast path", () => {
  it("serves Score and StreamScore over the gRPC transport, logging path fast", async () => {
    await start();
    const client = createClient(ScoringService, createGrpcTransport({ baseUrl }));
    const res = await client.score({ event: anomalousEvent() });
    expect(res.verdict).toBe(Verdict.ANOMALOUS);
    const ids: string[] = [];
    async function* reqs() {
      yield create(StreamScoreRequestSchema, { requestId: "a", events: [normalEvent()] });
      yield create(StreamScoreRequestSchema, { requestId: "b", events: [normalEvent()] });
    }
    for await (const r of client.streamScore(reqs())) ids.push(r.requestId);
    expect(ids).toEqual(["a", "b"]);
    expect(finished()).toMatchObject([
      { rpc: "netanomaly.v1.ScoringService/Score", path: "fast", code: "ok" },
      { rpc: "netanomaly.v1.ScoringService/StreamScore", path: "fast", code: "ok" },
    ]);
    expect(lines.some((l) => l.msg === "anomalous event" && l.path === "fast")).toBe(true);
  });

  it("leaves Connect protocol, gzip-compressed gRPC and other methods to Connect", async () => {
    await start();
    const connect = createClient(
      ScoringService,
      createConnectTransport({ baseUrl, httpVersion: "2" }),
    );
    expect((await connect.score({ event: normalEvent() })).verdict).toBe(Verdict.NORMAL);
    const gzip = createClient(
      ScoringService,
      createGrpcTransport({ baseUrl, sendCompression: compressionGzip, compressMinBytes: 1 }),
    );
    expect((await gzip.score({ event: normalEvent() })).verdict).toBe(Verdict.NORMAL);
    expect((await gzip.getModelInfo({})).modelVersion).toBe(testDetector().info.version);
    expect(finished()).toHaveLength(3);
    for (const line of finished()) {
      expect(line.path).toBeUndefined();
      expect(line.code).toBe("ok");
    }
  });

  it("is off with fastPath: false", async () => {
    await start({ fastPath: false });
    const client = createClient(ScoringService, createGrpcTransport({ baseUrl }));
    await client.score({ event: normalEvent() });
    expect(finished()).toMatchObject([{ code: "ok" }]);
    expect(finished()[0]?.path).toBeUndefined();
  });

  it("reads messages split across and merged within DATA frames", async () => {
    await start();
    const body = streamBody("r1", "r2", "r3");
    for (const chunks of [oddChunks(body), [body]]) {
      const res = await rawCall("/netanomaly.v1.ScoringService/StreamScore", chunks);
      expect(res.headers["content-type"]).toBe("application/grpc+proto");
      expect(res.trailers["grpc-status"]).toBe("0");
      const decoded = res.messages.map((m) => fromBinary(StreamScoreResponseSchema, m));
      expect(decoded.map((d) => d.requestId)).toEqual(["r1", "r2", "r3"]);
      expect(decoded[0]?.results.map((r) => r.outcome.case)).toEqual(["score", "score"]);
    }
    const unary = envelope(
      toBinary(ScoreRequestSchema, create(ScoreRequestSchema, { event: normalEvent() })),
    );
    const res = await rawCall("/netanomaly.v1.ScoringService/Score", oddChunks(unary));
    expect(res.trailers["grpc-status"]).toBe("0");
    expect(fromBinary(ScoreResponseSchema, res.messages[0] as Buffer).verdict).toBe(Verdict.NORMAL);
    expect(finished().every((l) => l.path === "fast")).toBe(true);
  });

  it("answers malformed unary calls with Connect's codes and messages", async () => {
    await start();
    const good = envelope(
      toBinary(ScoreRequestSchema, create(ScoreRequestSchema, { event: normalEvent() })),
    );
    const cases: [Buffer[], Code, RegExp][] = [
      [[], Code.Unimplemented, /missing input message/],
      [[good, good], Code.Unimplemented, /extra input message/],
      [[good.subarray(0, 7)], Code.InvalidArgument, /incomplete envelope/],
      [[envelope(Buffer.from([0x0a, 0x05, 0x12]))], Code.Internal, /^parse binary: /],
      [[envelope(Buffer.from([0x0a, 0x00]), 1)], Code.Internal, /compressed envelope/],
      [[envelope(Buffer.alloc(0))], Code.InvalidArgument, /event is required/],
    ];
    for (const [chunks, code, message] of cases) {
      const res = await rawCall("/netanomaly.v1.ScoringService/Score", chunks);
      expect(res.trailers["grpc-status"]).toBe(String(code));
      expect(decodeURIComponent(String(res.trailers["grpc-message"]))).toMatch(message);
    }
  });

  it("answers an oversized message with resource_exhausted before reading it", async () => {
    await start({ maxMessageBytes: 1024 });
    const head = Buffer.from([0, 0, 0, 0x10, 0]); // 4096 bytes announced, none sent
    const res = await rawCall("/netanomaly.v1.ScoringService/StreamScore", [head], {}, false);
    expect(res.trailers["grpc-status"]).toBe(String(Code.ResourceExhausted));
  });

  it("ends a stream whose grpc-timeout passes with deadline_exceeded", async () => {
    await start();
    const res = await rawCall(
      "/netanomaly.v1.ScoringService/StreamScore",
      [streamBody("early")],
      { "grpc-timeout": "20m" },
      false,
    );
    expect(res.messages).toHaveLength(1);
    expect(res.trailers["grpc-status"]).toBe(String(Code.DeadlineExceeded));
  });

  it("checks API keys and reports unauthenticated", async () => {
    await start({ apiKeys: createApiKeys(["k1"]) });
    const bare = createClient(ScoringService, createGrpcTransport({ baseUrl }));
    const err = await bare.score({ event: normalEvent() }).catch((e) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.Unauthenticated);
    const keyed = createClient(
      ScoringService,
      createGrpcTransport({
        baseUrl,
        interceptors: [
          (next) => (req) => {
            req.header.set("authorization", "Bearer k1");
            return next(req);
          },
        ],
      }),
    );
    expect((await keyed.score({ event: normalEvent() })).verdict).toBe(Verdict.NORMAL);
    // A call without a key is answered from its headers, before the fast path (header-auth.ts).
    expect(finished()).toMatchObject([
      { path: "header-auth", code: "unauthenticated" },
      { path: "fast", code: "ok" },
    ]);
  });

  it("answers a bad event with invalid_argument naming the field", async () => {
    await start();
    const client = createClient(ScoringService, createGrpcTransport({ baseUrl }));
    const err = await client
      .score({ event: makeEvent({ processPath: "x", destPort: 70_000 }) })
      .catch((e) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toContain("dest_port");
  });

  it("rejects empty events (unary and in a batch) exactly as the Connect path does", async () => {
    const answers: unknown[] = [];
    for (const fastPath of [true, false]) {
      await start({ fastPath });
      const client = createClient(ScoringService, createGrpcTransport({ baseUrl }));
      const err = ConnectError.from(
        await client.score({ event: makeEvent({}) }).then(
          () => new Error("expected invalid_argument"),
          (e: unknown) => e,
        ),
      );
      async function* reqs() {
        yield create(StreamScoreRequestSchema, {
          requestId: "a",
          events: [normalEvent(), makeEvent({ destPort: 443 }), makeEvent({})],
        });
      }
      const results = [];
      for await (const r of client.streamScore(reqs())) results.push(...r.results);
      answers.push({ code: err.code, message: err.rawMessage, results });
      expect(finished()[0]?.path).toBe(fastPath ? "fast" : undefined);
      await app?.shutdown(5_000);
      app = undefined;
    }
    expect(answers[0]).toMatchObject({
      code: Code.InvalidArgument,
      message:
        "event.dest_ip or dest_domain, and dest_port or protocol, are required, and the event has none of them",
      results: [
        { outcome: { case: "score" } },
        { outcome: { case: "error", value: { field: "dest_ip" } } },
        { outcome: { case: "error", value: { field: "dest_ip" } } },
      ],
    });
    expect(answers[1]).toEqual(answers[0]);
  });
});
