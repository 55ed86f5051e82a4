/**
 * The agent's own gRPC client (`agent/grpc-channel.ts`) against the real
 * server (127.0.0.1, port 0, API keys on): a normal stream, a status with
 * its message after responses, a trailers-only answer, and the server going
 * away mid-stream, which the stream client rides out as it did over
 * connect-node's transport.
 */
import * as http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { EventsEncoder } from "../agent/event-encoder.js";
import { decodeEventResult } from "../agent/event-result-decoder.js";
import { createGrpcChannel } from "../agent/grpc-channel.js";
import { requestFrame } from "../agent/grpc-frames.js";
import { runAgent } from "../agent/run-agent.js";
import type { ScoreChannel, ScoreStreamCall } from "../agent/score-channel.js";
import { type RetryInfo, StreamClient } from "../agent/stream-client.js";
import type { StreamScoreResponseView } from "../agent/stream-score-view.js";
import {
  ScoringService,
  type StreamScoreRequest,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { createApiKeys } from "../server/auth.js";
import { createServer, type NetanomalyServer } from "../server/server.js";
import { testDetector } from "../server/testdata/detector.js";
import { createSimulator } from "../telemetry/simulator.js";

const KEY = "agent-key-0123456789abcdef";
const servers: NetanomalyServer[] = [];
const channels: ScoreChannel[] = [];

afterEach(async () => {
  for (const c of channels.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.shutdown(2_000);
});

async function start(
  port = 0,
  maxMessageBytes?: number,
): Promise<{ server: NetanomalyServer; url: string; port: number }> {
  const server = createServer({
    detector: testDetector(),
    logger: pino({ level: "silent" }),
    apiKeys: createApiKeys([KEY]),
    ...(maxMessageBytes === undefined ? {} : { maxMessageBytes }),
  });
  servers.push(server);
  const address = await server.listen(port, "127.0.0.1");
  return { server, url: `http://127.0.0.1:${address.port}`, port: address.port };
}

function channel(url: string, apiKey: string | undefined = KEY): ScoreChannel {
  const c = createGrpcChannel({ target: url, ...(apiKey === undefined ? {} : { apiKey }) });
  channels.push(c);
  return c;
}

/** An open call that records what it is told, with a way to wait for the n-th response. */
function openCall(c: ScoreChannel, signal = new AbortController().signal) {
  const responses: StreamScoreResponseView[] = [];
  const taken: string[] = [];
  let waiters: (() => void)[] = [];
  const call: ScoreStreamCall = c.open(
    {
      onResponse: (r) => {
        responses.push(r);
        const w = waiters;
        waiters = [];
        for (const f of w) f();
      },
      onTake: (r) => taken.push(r.requestId),
    },
    signal,
  );
  const responsesAtLeast = async (n: number) => {
    while (responses.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  return { call, responses, taken, responsesAtLeast };
}

const sim = createSimulator({ seed: 11, anomalyRate: 0.2 });
const encoder = new EventsEncoder();
const batch = (id: string, n: number): StreamScoreRequest =>
  encoder.request(
    id,
    Array.from({ length: n }, () => sim.next().event),
  );

async function rejection(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ConnectError);
    return e as ConnectError;
  }
  throw new Error("the call ended with ok");
}

describe("createGrpcChannel() against the real server", () => {
  it("streams requests and reads each response, in order, ending with ok", async () => {
    const { url } = await start();
    const { call, responses, taken } = openCall(channel(url));
    const sizes = [1, 100, 7, 1000, 3];
    for (const [i, n] of sizes.entries()) call.send(batch(String(i + 1), n));
    call.end();
    await call.done;
    expect(taken).toEqual(["1", "2", "3", "4", "5"]);
    expect(responses.map((r) => r.requestId)).toEqual(["1", "2", "3", "4", "5"]);
    expect(responses.map((r) => r.results.length)).toEqual(sizes);
    const info = testDetector().info;
    for (const r of responses) {
      expect(r.modelVersion).toBe(info.version);
      for (const bytes of r.results) {
        const result = decodeEventResult(bytes);
        expect(result.outcome.case).toBe("score");
      }
    }
  });

  it("ends with the server's status and message after responses (resource_exhausted for a message over its limit)", async () => {
    const { url } = await start(0, 4_000);
    const { call, responses, responsesAtLeast } = openCall(channel(url));
    call.send(batch("1", 5));
    await responsesAtLeast(1);
    const big = batch("2", 200);
    const size = requestFrame(big).length - 5;
    call.send(big);
    const err = await rejection(call.done);
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toBe(`message size ${size} is larger than configured readMaxBytes 4000`);
    expect(err.message).toBe(`[resource_exhausted] ${err.rawMessage}`);
    expect(responses.map((r) => r.requestId)).toEqual(["1"]);
  });

  it("reads the status of a trailers-only answer (a wrong API key: unauthenticated)", async () => {
    const { url } = await start();
    // What the server answers is trailers-only: one HEADERS frame, ending the stream, with grpc-status.
    const raw = await rawAnswer(url, "Bearer wrong-key-0000000000000000");
    expect(raw).toMatchObject({ ended: true, trailers: false, grpcStatus: "16" });
    const { call, responses } = openCall(channel(url, "wrong-key-0000000000000000"));
    call.send(batch("1", 3));
    const err = await rejection(call.done);
    expect(err.code).toBe(Code.Unauthenticated);
    expect(err.rawMessage).toBe("invalid api key");
    expect(responses).toEqual([]);
  });

  it("fails a call to a closed port with unavailable, having taken no request", async () => {
    const { server, url } = await start();
    await server.shutdown(1_000);
    servers.length = 0;
    const { call, taken } = openCall(channel(url));
    call.send(batch("1", 2));
    const err = await rejection(call.done);
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toMatch(/ECONNREFUSED/);
    expect(taken).toEqual([]);
  });

  it("rejects at once with the signal's reason when aborted, and the server sees a cancel", async () => {
    const { url } = await start();
    const abort = new AbortController();
    const { call, responsesAtLeast } = openCall(channel(url), abort.signal);
    call.send(batch("1", 2));
    await responsesAtLeast(1);
    const reason = new ConnectError("stop", Code.DeadlineExceeded);
    abort.abort(reason);
    await expect(call.done).rejects.toBe(reason);
  });
});

describe("StreamClient over createGrpcChannel() against the real server", () => {
  it("rides out the server going away mid-stream: reconnects to its successor, resends, loses nothing", async () => {
    const first = await start();
    const events: NetworkEvent[] = Array.from({ length: 3_000 }, () => sim.next().event);
    const retries: RetryInfo[] = [];
    let scored = 0;
    let replaced: Promise<unknown> | undefined;
    const seen = new Map<number, number>();
    const client = new StreamClient<number>({
      channel: channel(first.url),
      batchSize: 50,
      window: 8,
      backoffBaseMs: 5,
      backoffMaxMs: 50,
      onResult: (item, result) => {
        if (result.outcome.case === "score") scored++;
        seen.set(item.meta, (seen.get(item.meta) ?? 0) + 1);
        if (scored === 1_000 && replaced === undefined) {
          // Shutdown ends open streams with unavailable; a new server takes the port.
          replaced = first.server.shutdown(2_000).then(() => start(first.port));
        }
      },
      onRetry: async (r) => {
        retries.push(r);
        await replaced;
      },
    });
    for (const [i, e] of events.entries()) await client.enqueue(e, i);
    const stats = await client.finish(20_000);
    expect(client.fatal).toBeUndefined();
    expect(replaced).toBeDefined();
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(retries[0]?.code).toBe(Code.Unavailable);
    expect(stats).toMatchObject({ sent: 3_000, acknowledged: 3_000, duplicates: 0 });
    expect(stats.reconnects).toBeGreaterThanOrEqual(1);
    expect(client.unacknowledged).toBe(0);
    expect(seen.size).toBe(3_000);
    for (const n of seen.values()) expect(n).toBe(1);
  }, 30_000);

  it("runAgent reports a wrong --api-key as the fatal unauthenticated status", async () => {
    const { url } = await start();
    const summary = await runAgent({
      target: url,
      apiKey: "wrong-key-0000000000000000",
      count: 20,
      rate: 0,
      maxAttempts: 0,
    });
    expect(summary.fatal).toBe("[unauthenticated] invalid api key");
    expect(summary).toMatchObject({ sent: 20, scored: 0, lost: 20 });
  });

  it("runAgent streams with the right --api-key", async () => {
    const { url } = await start();
    const summary = await runAgent({ target: url, apiKey: KEY, count: 500, rate: 0 });
    expect(summary.fatal).toBeUndefined();
    expect(summary).toMatchObject({ sent: 500, scored: 500, lost: 0, errors: 0 });
  });
});

/** What the server answers a StreamScore call with `authorization`, seen at the HTTP/2 level. */
function rawAnswer(
  url: string,
  authorization: string,
): Promise<{ ended: boolean; trailers: boolean; grpcStatus: unknown }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": `/${ScoringService.typeName}/StreamScore`,
      "content-type": "application/grpc",
      te: "trailers",
      authorization,
    });
    let trailers = false;
    stream.on("trailers", () => {
      trailers = true;
    });
    stream.on("response", (headers, flags) => {
      const ended = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
      stream.resume();
      stream.on("close", () => {
        session.close();
        resolve({ ended, trailers, grpcStatus: headers["grpc-status"] });
      });
    });
  });
}
