/**
 * API-key authentication on the real server (127.0.0.1, port 0): every
 * ScoringService RPC over gRPC, gRPC-Web and Connect needs
 * `authorization: Bearer <key>`; health and reflection stay open unless
 * `authAll`; keys never reach the logs; main refuses a public host without keys.
 */
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import {
  ScoreRequestSchema,
  ScoreResponseSchema,
  ScoringService,
  StreamScoreRequestSchema,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import { createApiKeys } from "../server/auth.js";
import { LOG_REDACT } from "../server/auth-config.js";
import { createServer, type NetanomalyServer } from "../server/server.js";
import { normalEvent, testDetector } from "../server/testdata/detector.js";
import { ROOT, runProcess } from "./deploy-harness.js";

const KEYS = ["agent-key-0123456789abcdef", "ops-key-fedcba9876543210"];
const WRONG = "guessed-key-0000000000000000";

let app: NetanomalyServer | undefined;
let logText: string[];
let baseUrl: string;

afterEach(async () => {
  if (app !== undefined) {
    expect(await app.shutdown(5_000)).toBe("graceful");
    app = undefined;
  }
});

async function start(authAll = false): Promise<void> {
  logText = [];
  const logger = pino(
    { level: "debug", redact: LOG_REDACT },
    { write: (l: string) => logText.push(l) },
  );
  app = createServer({
    detector: testDetector(),
    logger,
    apiKeys: createApiKeys(KEYS),
    authAll,
  });
  const { port } = await app.listen(0, "127.0.0.1");
  baseUrl = `http://127.0.0.1:${port}`;
}

function bearer(key: string): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${key}`);
    return next(req);
  };
}

const transports = {
  "gRPC over HTTP/2": (interceptors: Interceptor[]) =>
    createGrpcTransport({ baseUrl, interceptors }),
  "gRPC-Web over HTTP/1.1": (interceptors: Interceptor[]) =>
    createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors }),
  "Connect over HTTP/1.1": (interceptors: Interceptor[]) =>
    createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors }),
  "Connect over HTTP/2": (interceptors: Interceptor[]) =>
    createConnectTransport({ baseUrl, httpVersion: "2", interceptors }),
};

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  return p.then(
    () => "ok" as const,
    (e: unknown) => ConnectError.from(e).code,
  );
}

async function* oneBatch() {
  yield create(StreamScoreRequestSchema, { requestId: "1", events: [normalEvent()] });
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // consume
  }
}

for (const [name, transport] of Object.entries(transports)) {
  describe(`ScoringService with API keys, ${name}`, () => {
    it("answers unauthenticated to a call without a key, or with a wrong one", async () => {
      await start();
      for (const interceptors of [[], [bearer(WRONG)], [bearer(`${KEYS[0]}x`)]]) {
        const scoring = createClient(ScoringService, transport(interceptors));
        expect(await codeOf(scoring.score({ event: normalEvent() }))).toBe(Code.Unauthenticated);
        expect(await codeOf(scoring.getModelInfo({}))).toBe(Code.Unauthenticated);
      }
    });

    it("serves every configured key, and keeps health open", async () => {
      await start();
      for (const key of KEYS) {
        const scoring = createClient(ScoringService, transport([bearer(key)]));
        expect(await codeOf(scoring.score({ event: normalEvent() }))).toBe("ok");
      }
      const health = createClient(Health, transport([]));
      expect(await codeOf(health.check({ service: "" }))).toBe("ok");
    });
  });
}

describe("StreamScore with API keys", () => {
  it("ends a stream without a key with unauthenticated, and streams with one", async () => {
    await start();
    const anonymous = createClient(ScoringService, transports["gRPC over HTTP/2"]([]));
    expect(await codeOf(drain(anonymous.streamScore(oneBatch())))).toBe(Code.Unauthenticated);
    const agent = createClient(
      ScoringService,
      transports["gRPC over HTTP/2"]([bearer(KEYS[0] as string)]),
    );
    expect(await codeOf(drain(agent.streamScore(oneBatch())))).toBe("ok");
  });
});

describe("API keys with @grpc/grpc-js metadata", () => {
  it("maps a missing key to UNAUTHENTICATED and serves a bearer key", async () => {
    await start();
    const client = new grpc.Client(new URL(baseUrl).host, grpc.credentials.createInsecure());
    const call = (metadata: grpc.Metadata) =>
      new Promise<grpc.status>((resolve) => {
        client.makeUnaryRequest(
          "/netanomaly.v1.ScoringService/Score",
          (m: unknown) => Buffer.from(toBinary(ScoreRequestSchema, m as never)),
          (b: Buffer) => fromBinary(ScoreResponseSchema, b),
          create(ScoreRequestSchema, { event: normalEvent() }),
          metadata,
          (err) => resolve(err ? err.code : grpc.status.OK),
        );
      });
    try {
      expect(await call(new grpc.Metadata())).toBe(grpc.status.UNAUTHENTICATED);
      const md = new grpc.Metadata();
      md.set("authorization", `Bearer ${KEYS[1]}`);
      expect(await call(md)).toBe(grpc.status.OK);
    } finally {
      client.close();
    }
  });
});

describe("--auth-all", () => {
  it("protects health and reflection too", async () => {
    await start(true);
    const health = createClient(Health, transports["gRPC over HTTP/2"]([]));
    expect(await codeOf(health.check({ service: "" }))).toBe(Code.Unauthenticated);
    const keyed = createClient(Health, transports["gRPC over HTTP/2"]([bearer(KEYS[0] as string)]));
    expect(await codeOf(keyed.check({ service: "" }))).toBe("ok");
  });
});

describe("Connect JSON over HTTP/1.1 with curl-style requests", () => {
  it("answers 401 with code unauthenticated and never echoes the key", async () => {
    await start();
    const res = await fetch(`${baseUrl}/netanomaly.v1.ScoringService/Score`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${WRONG}` },
      body: JSON.stringify({ event: { destIp: "203.0.113.9", destPort: 443 } }),
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { code: string; message: string };
    expect(body).toEqual({ code: "unauthenticated", message: "invalid api key" });
  });
});

describe("logs", () => {
  it("record rejected calls with their code but never a key", async () => {
    await start();
    const scoring = createClient(ScoringService, transports["gRPC over HTTP/2"]([bearer(WRONG)]));
    await codeOf(scoring.score({ event: normalEvent() }));
    const ok = createClient(
      ScoringService,
      transports["gRPC over HTTP/2"]([bearer(KEYS[0] as string)]),
    );
    await codeOf(ok.score({ event: normalEvent() }));
    const lines = logText.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({ code: "unauthenticated", reason: "invalid api key" }),
    );
    const all = logText.join("\n");
    for (const secret of [WRONG, ...KEYS]) {
      expect(all).not.toContain(secret);
    }
  });

  it("redact authorization wherever a logged object carries it", () => {
    const lines: string[] = [];
    const logger = pino({ redact: LOG_REDACT }, { write: (l: string) => lines.push(l) });
    logger.info({ headers: { authorization: `Bearer ${KEYS[0]}` } }, "a");
    logger.info({ req: { headers: { authorization: `Bearer ${KEYS[0]}` } } }, "b");
    logger.info({ authorization: `Bearer ${KEYS[0]}`, apiKey: KEYS[1] }, "c");
    expect(lines.join("")).not.toMatch(/agent-key|ops-key/);
    expect(JSON.parse(lines[1] as string).req.headers.authorization).toBe("[redacted]");
  });
});

describe("npm run server without API keys", () => {
  it("refuses to listen on a non-loopback host unless --insecure (exit 2)", async () => {
    const run = await runProcess(
      join(ROOT, "node_modules/.bin/tsx"),
      [join(ROOT, "server/main.ts"), "--host", "0.0.0.0", "--port", "0"],
      { env: { ...process.env, API_KEYS: "", NETANOMALY_HOST: "", NETANOMALY_PORT: "" } },
    );
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split("\n")).toEqual([
      expect.stringContaining('refusing to listen on "0.0.0.0" without API keys'),
    ]);
  });

  it("accepts loopback clients on a loopback listener", async () => {
    app = createServer({ detector: testDetector(), logger: pino({ level: "silent" }) });
    const { port } = await app.listen(0, "127.0.0.1");
    baseUrl = `http://127.0.0.1:${port}`;
    const scoring = createClient(ScoringService, transports["gRPC over HTTP/2"]([]));
    expect(await codeOf(scoring.score({ event: normalEvent() }))).toBe("ok");
  });
});
