import * as http2 from "node:http2";
import { fromBinary, toJson } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ScoreResponseSchema,
  StreamScoreResponseSchema,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import { createApiKeys } from "../server/auth.js";
import { createServer, type NetanomalyServer } from "../server/server.js";
import { testDetector } from "../server/testdata/detector.js";
import { captureLogs } from "../server/testdata/harness.js";
import {
  badEnvelopedBody,
  createRandom,
  envelope,
  mutate,
  VALID_SCORE,
  VALID_STREAM,
} from "./fuzz-inputs.js";

/**
 * The gRPC fast path (`server/grpc-fast-path.ts`) and the Connect path give
 * the same answers (issue 22, goal 5): one corpus of raw gRPC calls —
 * valid, mutated and malformed messages and frames from the fuzz inputs,
 * missing and wrong API keys, oversized and compressed frames, bad and
 * passing deadlines — is sent to a server with the fast path and to one
 * without it, and each pair of answers must agree: HTTP status, grpc-status,
 * grpc-message and the decoded response messages.
 */

const SCORE = "/netanomaly.v1.ScoringService/Score";
const STREAM = "/netanomaly.v1.ScoringService/StreamScore";
const KEY = { authorization: "Bearer k1" };

interface Call {
  name: string;
  path: string;
  body: Buffer;
  headers?: http2.OutgoingHttpHeaders;
  /** Leave the request open (for deadlines). */
  open?: boolean;
}

interface Answer {
  httpStatus: string | number | string[] | undefined;
  /** How the exchange ended: the response's end, a reset of the stream, or neither in 10 s. */
  ended: "end" | "reset" | "timeout";
  grpcStatus: string | undefined;
  grpcMessage: string | undefined;
  messages: unknown[];
}

const servers: Record<"fast" | "connect", { app: NetanomalyServer; url: string }> = {} as never;
const sessions: http2.ClientHttp2Session[] = [];

beforeAll(async () => {
  for (const [name, fastPath] of [
    ["fast", true],
    ["connect", false],
  ] as const) {
    const app = createServer({
      detector: testDetector(),
      logger: captureLogs().logger,
      apiKeys: createApiKeys(["k1"]),
      fastPath,
    });
    const { port } = await app.listen(0, "127.0.0.1");
    servers[name] = { app, url: `http://127.0.0.1:${port}` };
  }
});

afterAll(async () => {
  for (const s of sessions) s.close();
  for (const { app } of Object.values(servers)) await app.shutdown(5_000);
});

function send(url: string, call: Call): Promise<Answer> {
  const session = http2.connect(url);
  sessions.push(session);
  return new Promise((resolve, reject) => {
    const req = session.request({
      ":method": "POST",
      ":path": call.path,
      "content-type": "application/grpc",
      te: "trailers",
      ...call.headers,
    });
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const body: Buffer[] = [];
    let settled = false;
    req.on("response", (h) => {
      head = h;
    });
    req.on("trailers", (t) => {
      trailers = t;
    });
    req.on("data", (c: Buffer) => body.push(c));
    req.on("error", () => {});
    session.on("error", reject);
    const timer = setTimeout(() => finish("timeout"), 10_000);
    req.on("end", () => finish("end"));
    req.on("close", () => finish("reset"));
    function finish(ended: Answer["ended"]) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.close();
      session.close();
      const all = Buffer.concat(body);
      const messages: unknown[] = [];
      const schema = call.path === SCORE ? ScoreResponseSchema : StreamScoreResponseSchema;
      for (let at = 0; at + 5 <= all.length; ) {
        const len = all.readUInt32BE(at + 1);
        messages.push(toJson(schema, fromBinary(schema, all.subarray(at + 5, at + 5 + len))));
        at += 5 + len;
      }
      // Trailers-only answers carry the status in the headers.
      const status = trailers["grpc-status"] ?? head["grpc-status"];
      const message = trailers["grpc-message"] ?? head["grpc-message"];
      resolve({
        ended,
        httpStatus: head[":status"],
        grpcStatus: status === undefined ? undefined : String(status),
        grpcMessage: message === undefined ? undefined : decodeURIComponent(String(message)),
        messages,
      });
    }
    req.write(call.body);
    if (!call.open) req.end();
  });
}

/** The corpus, the same on every run (seeded). */
function corpus(): Call[] {
  const r = createRandom(22);
  const calls: Call[] = [
    { name: "valid Score", path: SCORE, body: envelope(VALID_SCORE), headers: KEY },
    { name: "valid StreamScore", path: STREAM, body: envelope(VALID_STREAM), headers: KEY },
    { name: "no API key", path: SCORE, body: envelope(VALID_SCORE) },
    {
      name: "wrong API key",
      path: SCORE,
      body: envelope(VALID_SCORE),
      headers: { authorization: "Bearer nope" },
    },
    { name: "no key, stream", path: STREAM, body: envelope(VALID_STREAM) },
    { name: "empty body", path: SCORE, body: Buffer.alloc(0), headers: KEY },
    {
      name: "two messages to unary",
      path: SCORE,
      body: Buffer.concat([envelope(VALID_SCORE), envelope(VALID_SCORE)]),
      headers: KEY,
    },
    {
      name: "oversized prefix",
      path: SCORE,
      body: envelope(VALID_SCORE, 0, 64 * 1024 * 1024),
      headers: KEY,
    },
    {
      name: "compressed flag, no encoding",
      path: SCORE,
      body: envelope(VALID_SCORE, 1),
      headers: KEY,
    },
    {
      name: "bad grpc-timeout",
      path: SCORE,
      body: envelope(VALID_SCORE),
      headers: { ...KEY, "grpc-timeout": "soon" },
    },
    {
      name: "stream left open past its deadline",
      path: STREAM,
      body: envelope(VALID_STREAM),
      headers: { ...KEY, "grpc-timeout": "300m" },
      open: true,
    },
  ];
  for (let i = 0; i < 120; i++) {
    calls.push({
      name: `mutated Score ${i}`,
      path: SCORE,
      body: envelope(mutate(r, VALID_SCORE)),
      headers: KEY,
    });
  }
  for (let i = 0; i < 60; i++) {
    calls.push({
      name: `mutated StreamScore ${i}`,
      path: STREAM,
      body: envelope(mutate(r, VALID_STREAM)),
      headers: KEY,
    });
  }
  for (let i = 0; i < 60; i++) {
    calls.push({
      name: `malformed frame ${i}`,
      path: SCORE,
      body: badEnvelopedBody(r, VALID_SCORE),
      headers: KEY,
    });
  }
  for (let i = 0; i < 30; i++) {
    calls.push({
      name: `malformed stream frame ${i}`,
      path: STREAM,
      body: badEnvelopedBody(r, VALID_STREAM),
      headers: KEY,
    });
  }
  return calls;
}

describe("the gRPC fast path and the Connect path", () => {
  it("answer one corpus of calls alike", async () => {
    const differ: string[] = [];
    const codes = new Map<string, number>();
    for (const call of corpus()) {
      const [fast, connect] = await Promise.all([
        send(servers.fast.url, call),
        send(servers.connect.url, call),
      ]);
      codes.set(String(fast.grpcStatus), (codes.get(String(fast.grpcStatus)) ?? 0) + 1);
      try {
        expect(fast).toEqual(connect);
      } catch {
        differ.push(
          `${call.name}: fast ${JSON.stringify(fast)} vs connect ${JSON.stringify(connect)}`,
        );
      }
    }
    expect(differ).toEqual([]);
    // The corpus reaches the answers it is meant to: ok, invalid_argument, unauthenticated, resource_exhausted, deadline_exceeded…
    expect([...codes.keys()].sort()).toEqual(expect.arrayContaining(["0", "3", "4", "8", "16"]));
  }, 300_000);
});
