import { create } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { ScoringService } from "../gen/netanomaly/v1/scoring_service_pb.js";
import { NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { createSimulator } from "../telemetry/simulator.js";
import { type RetryInfo, StreamClient } from "./stream-client.js";
import { FakeScoringServer, type RequestHook } from "./testdata/fake-scoring-server.js";

let server: FakeScoringServer | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function startServer(hook?: RequestHook): Promise<FakeScoringServer> {
  server = new FakeScoringServer(hook);
  await server.start();
  return server;
}

/** Streams `n` simulated events and returns the client with per-event outcomes by sequence number. */
async function stream(
  srv: FakeScoringServer,
  n: number,
  opts: {
    batchSize?: number;
    window?: number;
    onRetry?: (r: RetryInfo) => void | Promise<void>;
  } = {},
) {
  const sim = createSimulator({ seed: 9 });
  const outcomes = new Map<number, string[]>();
  const client = new StreamClient<number>({
    client: createClient(ScoringService, createGrpcTransport({ baseUrl: srv.url })),
    batchSize: opts.batchSize ?? 10,
    window: opts.window ?? 4,
    backoffBaseMs: 1,
    backoffMaxMs: 20,
    onResult: (item, result) => {
      const list = outcomes.get(item.meta) ?? [];
      list.push(result.outcome.case ?? "none");
      outcomes.set(item.meta, list);
    },
    ...(opts.onRetry ? { onRetry: opts.onRetry } : {}),
  });
  for (let i = 0; i < n; i++) await client.enqueue(sim.next().event, i);
  const stats = await client.finish(10_000);
  return { client, stats, outcomes };
}

describe("StreamClient", () => {
  it("scores every event once and keeps at most `window` requests in flight", async () => {
    let maxOutstanding = 0;
    let answered = 0;
    const srv = await startServer((_req, n) => {
      maxOutstanding = Math.max(maxOutstanding, n - answered);
      answered++;
      return "answer";
    });
    const { client, stats, outcomes } = await stream(srv, 205, { batchSize: 10, window: 3 });
    expect(client.fatal).toBeUndefined();
    expect(stats).toMatchObject({
      sent: 205,
      acknowledged: 205,
      duplicates: 0,
      resent: 0,
      streamErrors: 0,
    });
    expect(client.unacknowledged).toBe(0);
    expect(outcomes.size).toBe(205);
    for (const list of outcomes.values()) expect(list).toEqual(["score"]);
    expect(srv.requests).toBe(21);
    expect(maxOutstanding).toBeLessThanOrEqual(4);
  });

  it("counts nothing as resent while every attempt fails to connect", async () => {
    const gone = await startServer();
    const url = gone.url;
    await gone.stop();
    server = undefined;
    const sim = createSimulator({ seed: 9 });
    const client = new StreamClient<number>({
      client: createClient(ScoringService, createGrpcTransport({ baseUrl: url })),
      batchSize: 10,
      window: 4,
      backoffBaseMs: 1,
      backoffMaxMs: 5,
      maxAttempts: 5,
      onResult: () => {},
    });
    for (let i = 0; i < 30; i++) await client.enqueue(sim.next().event, i);
    await client.finish(5_000).catch(() => {});
    expect(client.fatal?.code).toBe(Code.Unavailable);
    // Six streams failed before taking a request: the 30 events never left, so none was resent.
    expect(client.stats).toMatchObject({ sent: 30, resent: 0, acknowledged: 0, reconnects: 5 });
  });

  it("reconnects after the server's sessions die mid-stream and resends, losing nothing", async () => {
    const srv = await startServer((_req, n, s) => {
      if (n === 5 || n === 12) {
        s.killSessions();
        return "drop";
      }
      return "answer";
    });
    const retries: RetryInfo[] = [];
    const { client, stats, outcomes } = await stream(srv, 300, {
      batchSize: 10,
      window: 4,
      onRetry: (r) => {
        retries.push(r);
      },
    });
    expect(client.fatal).toBeUndefined();
    expect(retries.length).toBeGreaterThanOrEqual(2);
    for (const r of retries)
      expect([Code.Unavailable, Code.Internal, Code.Unknown, Code.Canceled]).toContain(r.code);
    expect(stats.sent).toBe(300);
    expect(stats.acknowledged).toBe(300);
    expect(client.unacknowledged).toBe(0);
    expect(stats.resent).toBeGreaterThan(0);
    // The server saw some events twice, never more often than the client resent them.
    expect(srv.events).toBeGreaterThan(300);
    expect(srv.events).toBeLessThanOrEqual(300 + stats.resent);
    expect(stats.duplicates).toBe(0);
    for (const list of outcomes.values()) expect(list).toEqual(["score"]);
    expect(outcomes.size).toBe(300);
  });

  it("survives a server restart on the same port, backing off while it is down", async () => {
    let restarted = false;
    const srv = await startServer((_req, n, s) => {
      if (n === 3 && !restarted) {
        void s.stop();
        return "drop";
      }
      return "answer";
    });
    const codes: Code[] = [];
    const { client, stats } = await stream(srv, 200, {
      batchSize: 5,
      window: 4,
      onRetry: async (r) => {
        codes.push(r.code);
        // Let the client see the port closed at least once, then bring the server back.
        if (r.attempt >= 2 && !restarted) {
          restarted = true;
          await srv.start();
        }
      },
    });
    expect(restarted).toBe(true);
    expect(codes).toContain(Code.Unavailable);
    expect(client.fatal).toBeUndefined();
    expect(stats).toMatchObject({ sent: 200, acknowledged: 200, duplicates: 0 });
    expect(client.unacknowledged).toBe(0);
  });

  it("counts a repeated response as duplicates and reports each event once", async () => {
    const srv = await startServer((_req, n) => (n === 2 ? "answer-twice" : "answer"));
    const { stats, outcomes } = await stream(srv, 50, { batchSize: 10 });
    expect(stats.duplicates).toBe(10);
    expect(stats.acknowledged).toBe(50);
    for (const list of outcomes.values()) expect(list).toHaveLength(1);
  });

  it("reports an event the server rejects as an error result and goes on", async () => {
    const srv = await startServer();
    const results: string[] = [];
    const client = new StreamClient<number>({
      client: createClient(ScoringService, createGrpcTransport({ baseUrl: srv.url })),
      onResult: (_item, r) => results.push(r.outcome.case ?? "none"),
    });
    await client.enqueue(create(NetworkEventSchema, { destPort: 70_000 }), 0);
    await client.enqueue(create(NetworkEventSchema, { destIp: "203.0.113.9", destPort: 443 }), 1);
    const stats = await client.finish(5_000);
    expect(results).toEqual(["error", "score"]);
    expect(stats.acknowledged).toBe(2);
  });

  it("gives up with the last code after maxAttempts when nothing listens, counting the events as unacknowledged", async () => {
    const srv = await startServer();
    const url = srv.url;
    await srv.stop();
    const client = new StreamClient<number>({
      client: createClient(ScoringService, createGrpcTransport({ baseUrl: url })),
      backoffBaseMs: 1,
      backoffMaxMs: 2,
      maxAttempts: 3,
      onResult: () => {},
    });
    await client.enqueue(create(NetworkEventSchema, {}), 0).catch(() => {});
    await client.finish(10_000);
    expect(client.fatal?.code).toBe(Code.Unavailable);
    expect(client.stats.sent).toBe(1);
    expect(client.unacknowledged).toBe(1);
  });
});
