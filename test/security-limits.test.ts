/**
 * Request limits on the real server (127.0.0.1, port 0): message size,
 * concurrent HTTP/2 streams per connection (checked with hand-made frames,
 * since compliant clients queue instead of exceeding it), and per-client
 * rate limits answered with resource_exhausted.
 */
import * as net from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { runAgent } from "../agent/run-agent.js";
import {
  ScoringService,
  StreamScoreRequestSchema,
  type StreamScoreResponse,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import { createApiKeys } from "../server/auth.js";
import { createRateLimiter } from "../server/rate-limit.js";
import { createServer, type NetanomalyServer, type ServerOptions } from "../server/server.js";
import { makeEvent, normalEvent, testDetector } from "../server/testdata/detector.js";

let app: NetanomalyServer | undefined;
let baseUrl: string;
let port: number;

afterEach(async () => {
  if (app !== undefined) {
    expect(await app.shutdown(5_000)).toBe("graceful");
    app = undefined;
  }
});

async function start(options: Partial<ServerOptions>): Promise<void> {
  app = createServer({ detector: testDetector(), logger: pino({ level: "silent" }), ...options });
  ({ port } = await app.listen(0, "127.0.0.1"));
  baseUrl = `http://127.0.0.1:${port}`;
}

function bearer(key: string): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${key}`);
    return next(req);
  };
}

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  return p.then(
    () => "ok" as const,
    (e: unknown) => ConnectError.from(e).code,
  );
}

// A rate so low no token comes back during a test: only the burst is available.
const NEVER = 0.000_001;

describe("--max-message-bytes", () => {
  it("answers a larger message with resource_exhausted (HTTP 429 for Connect)", async () => {
    await start({ maxMessageBytes: 64 * 1024 });
    const big = makeEvent({ processPath: "x".repeat(100_000) });
    const small = makeEvent({ processPath: "x".repeat(1100) });
    const sessionManager = new Http2SessionManager(baseUrl);
    const grpcClient = createClient(
      ScoringService,
      createGrpcTransport({ baseUrl, sessionManager }),
    );
    expect(await codeOf(grpcClient.score({ event: big }))).toBe(Code.ResourceExhausted);
    // The server stopped reading; this client would go on uploading the rest.
    sessionManager.abort();
    // Under the size limit, the field rules still apply.
    expect(await codeOf(grpcClient.score({ event: small }))).toBe(Code.InvalidArgument);
    const res = await fetch(`${baseUrl}/netanomaly.v1.ScoringService/Score`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ event: { processPath: "x".repeat(100_000) } }),
    });
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ code: "resource_exhausted" });
  });
});

/** Hand-made HTTP/2 frames, so a client can ignore SETTINGS_MAX_CONCURRENT_STREAMS. */
function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK: literal header without indexing; `nameIndex` 0 means a literal name. */
function literal(nameIndex: number, value: string, name = ""): Buffer {
  const str = (s: string) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s)]);
  const prefix = nameIndex < 15 ? Buffer.from([nameIndex]) : Buffer.from([15, nameIndex - 15]);
  return Buffer.concat([prefix, ...(nameIndex === 0 ? [str(name)] : []), str(value)]);
}

describe("--max-streams", () => {
  it("advertises the limit and drops a connection that opens a stream beyond it", async () => {
    await start({ maxStreams: 2 });
    const socket = net.connect(port, "127.0.0.1");
    const frames: { type: number; flags: number; stream: number; payload: Buffer }[] = [];
    let buffered = Buffer.alloc(0);
    let wake = () => {};
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 9 && buffered.length >= 9 + buffered.readUIntBE(0, 3)) {
        const length = buffered.readUIntBE(0, 3);
        frames.push({
          type: buffered[3] as number,
          flags: buffered[4] as number,
          stream: buffered.readUInt32BE(5) & 0x7fffffff,
          payload: buffered.subarray(9, 9 + length),
        });
        buffered = buffered.subarray(9 + length);
      }
      wake();
    });
    const until = async (done: () => boolean) => {
      while (!done()) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    };
    try {
      socket.write(Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
      socket.write(frame(4, 0, 0, Buffer.alloc(0)));
      await until(() => frames.some((f) => f.type === 4 && f.flags === 0));
      const settings = frames.find((f) => f.type === 4 && f.flags === 0)?.payload as Buffer;
      const values = new Map<number, number>();
      for (let i = 0; i + 6 <= settings.length; i += 6) {
        values.set(settings.readUInt16BE(i), settings.readUInt32BE(i + 2));
      }
      expect(values.get(3)).toBe(2); // SETTINGS_MAX_CONCURRENT_STREAMS
      socket.write(frame(4, 1, 0, Buffer.alloc(0))); // ACK: the limit is now in force
      const headers = Buffer.concat([
        Buffer.from([0x83, 0x86]), // :method POST, :scheme http
        literal(4, "/netanomaly.v1.ScoringService/StreamScore"),
        literal(1, `127.0.0.1:${port}`),
        literal(31, "application/grpc"),
        literal(0, "trailers", "te"),
      ]);
      for (const id of [1, 3, 5]) {
        socket.write(frame(1, 0x4, id, headers)); // HEADERS, END_HEADERS, stream left open
      }
      // Stream 5 is refused: RST_STREAM REFUSED_STREAM on it, or (Node 20)
      // GOAWAY for the whole connection with a last stream id below 5.
      await until(() => frames.some((f) => f.type === 7 || (f.type === 3 && f.stream === 5)));
      const goaway = frames.find((f) => f.type === 7);
      const rst = frames.find((f) => f.type === 3 && f.stream === 5);
      if (goaway !== undefined) {
        expect(goaway.payload.readUInt32BE(0) & 0x7fffffff).toBeLessThan(5);
      } else {
        expect(rst?.payload.readUInt32BE(0)).toBe(7);
      }
      expect(frames.some((f) => f.stream === 5 && f.type === 1)).toBe(false); // no HEADERS back
    } finally {
      socket.destroy();
    }
    // Everyone else is still served.
    const client = createClient(ScoringService, createGrpcTransport({ baseUrl }));
    expect(await codeOf(client.score({ event: normalEvent() }))).toBe("ok");
  });
});

describe("per-client rate limits", () => {
  it("answers Score over the request rate with resource_exhausted, per API key", async () => {
    await start({
      apiKeys: createApiKeys(["key-a", "key-b"]),
      rateLimiter: createRateLimiter({ requestsPerSecond: NEVER, eventsPerSecond: 0 }),
    });
    const client = (key: string) =>
      createClient(ScoringService, createGrpcTransport({ baseUrl, interceptors: [bearer(key)] }));
    expect(await codeOf(client("key-a").score({ event: normalEvent() }))).toBe("ok");
    expect(await codeOf(client("key-a").score({ event: normalEvent() }))).toBe(
      Code.ResourceExhausted,
    );
    expect(await codeOf(client("key-b").score({ event: normalEvent() }))).toBe("ok");
  });

  it("limits by remote address without keys, and says 429 over Connect", async () => {
    await start({
      rateLimiter: createRateLimiter({ requestsPerSecond: NEVER, eventsPerSecond: 0 }),
    });
    const connect = createClient(
      ScoringService,
      createConnectTransport({ baseUrl, httpVersion: "1.1" }),
    );
    expect(await codeOf(connect.score({ event: normalEvent() }))).toBe("ok");
    const res = await fetch(`${baseUrl}/netanomaly.v1.ScoringService/Score`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ event: { destIp: "203.0.113.9", destPort: 443 } }),
    });
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({
      code: "resource_exhausted",
      message: expect.stringContaining("rate limit exceeded: too many requests per second"),
    });
  });

  it("answers the batches within the event budget, then ends the stream with resource_exhausted", async () => {
    await start({
      rateLimiter: createRateLimiter({ requestsPerSecond: 0, eventsPerSecond: NEVER }),
    });
    const client = createClient(ScoringService, createGrpcTransport({ baseUrl }));
    async function* batches() {
      for (const [id, n] of [
        ["1", 600],
        ["2", 400],
        ["3", 1],
      ] as const) {
        yield create(StreamScoreRequestSchema, {
          requestId: id,
          events: Array.from({ length: n }, () => normalEvent()),
        });
      }
    }
    const seen: StreamScoreResponse[] = [];
    const code = await codeOf(
      (async () => {
        for await (const res of client.streamScore(batches())) {
          seen.push(res);
        }
      })(),
    );
    expect(code).toBe(Code.ResourceExhausted);
    expect(seen.map((r) => [r.requestId, r.results.length])).toEqual([
      ["1", 600],
      ["2", 400],
    ]);
  });

  it("lets the agent finish without losing events: it backs off and resends", async () => {
    await start({
      rateLimiter: createRateLimiter({ requestsPerSecond: 0, eventsPerSecond: 1000 }),
    });
    const sessionManager = new Http2SessionManager(baseUrl);
    const summary = await runAgent({
      transport: createGrpcTransport({ baseUrl, sessionManager }),
      rate: 0,
      count: 2000,
      batch: 100,
      backoffBaseMs: 100,
      backoffMaxMs: 1000,
      maxAttempts: 20,
    });
    expect(summary.fatal).toBeUndefined();
    expect(summary).toMatchObject({ sent: 2000, scored: 2000, lost: 0 });
    expect(summary.reconnects).toBeGreaterThan(0);
    // Streams the server ended early are still half-open on the client side.
    sessionManager.abort();
  });
});
