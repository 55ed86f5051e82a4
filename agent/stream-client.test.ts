import { spawn } from "node:child_process";
import * as http2 from "node:http2";
import * as net from "node:net";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { type NetworkEvent, NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { createSimulator } from "../telemetry/simulator.js";
import { createGrpcChannel } from "./grpc-channel.js";
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
    channel: createGrpcChannel({ target: srv.url }),
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
  it("hands onResult each event as it was enqueued, with its meta and enqueue time", async () => {
    const srv = await startServer();
    const sim = createSimulator({ seed: 5, anomalyRate: 0.3 });
    const sent = Array.from({ length: 250 }, () => sim.next().event);
    // Events the fast encoder leaves to toBinary travel as objects: one per batch here.
    sent[17] = {
      ...(sent[17] as NetworkEvent),
      $unknown: [{ no: 99, wireType: 0, data: Uint8Array.of(1) }],
    };
    sent[120] = create(NetworkEventSchema, { destIp: "10.0.0.1", protocol: "TCP" });
    const seen = new Map<number, { event: NetworkEvent; enqueuedAt: number }>();
    const before = performance.now();
    const client = new StreamClient<number>({
      channel: createGrpcChannel({ target: srv.url }),
      batchSize: 100,
      onResult: (item) => seen.set(item.meta, { event: item.event, enqueuedAt: item.enqueuedAt }),
    });
    for (const [i, event] of sent.entries()) await client.enqueue(event, i);
    await client.finish(10_000);
    expect(client.fatal).toBeUndefined();
    expect(seen.size).toBe(sent.length);
    for (const [i, event] of sent.entries()) {
      const got = seen.get(i);
      expect(got?.event, `event ${i}`).toStrictEqual(event);
      expect(got?.enqueuedAt).toBeGreaterThanOrEqual(before);
    }
  });

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
      channel: createGrpcChannel({ target: url }),
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
      channel: createGrpcChannel({ target: srv.url }),
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
      channel: createGrpcChannel({ target: url }),
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

/** A peer that accepts and then never says a word: raw TCP, or HTTP/2 that never answers a stream. */
async function silentPeer(
  kind: "tcp" | "h2",
): Promise<{ url: string; connected: Promise<void>; close(): void }> {
  let onConnected = () => {};
  const connected = new Promise<void>((resolve) => {
    onConnected = resolve;
  });
  const sockets = new Set<net.Socket>();
  const streams = new Set<http2.ServerHttp2Stream>();
  const server =
    kind === "tcp"
      ? net.createServer((socket) => {
          onConnected();
          sockets.add(socket);
          socket.on("error", () => {});
        })
      : http2.createServer();
  if (kind === "h2") {
    (server as http2.Http2Server).on("stream", (stream) => {
      streams.add(stream);
      stream.on("error", () => {});
    });
    server.on("connection", (socket: net.Socket) => sockets.add(socket));
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connected,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** Rejects naming `what` after `ms`: on 20efb59 the client waited forever. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms).unref(),
    ),
  ]);
}

describe("StreamClient against a silent peer (issue 23, item 9)", () => {
  it.each(["tcp", "h2"] as const)(
    "notices a %s peer that never answers, retries, and gives up after maxAttempts",
    async (kind) => {
      const peer = await silentPeer(kind);
      try {
        const retries: RetryInfo[] = [];
        const client = new StreamClient<number>({
          channel: createGrpcChannel({ target: peer.url }),
          responseTimeoutMs: 200,
          maxAttempts: 2,
          backoffBaseMs: 1,
          backoffMaxMs: 5,
          onResult: () => {},
          onRetry: (r) => {
            retries.push(r);
          },
        });
        const sim = createSimulator({ seed: 1 });
        await client.enqueue(sim.next().event, 0);
        const stats = await within(client.finish(60_000), 10_000, "end of the client");
        expect(client.fatal?.code).toBe(Code.DeadlineExceeded);
        expect(client.fatal?.message).toMatch(/no response from the server for \d+ ms/);
        expect(retries.map((r) => r.code)).toEqual([Code.DeadlineExceeded, Code.DeadlineExceeded]);
        expect(stats.reconnects).toBe(2);
        expect(client.unacknowledged).toBe(1);
      } finally {
        peer.close();
      }
    },
    20_000,
  );

  it("returns from finish even while the transport waits on the peer", async () => {
    const peer = await silentPeer("tcp");
    try {
      const client = new StreamClient<number>({
        channel: createGrpcChannel({ target: peer.url }),
        responseTimeoutMs: 0,
        onResult: () => {},
      });
      await client.enqueue(createSimulator({ seed: 1 }).next().event, 0);
      const stats = await within(client.finish(100), 5_000, "return from finish");
      expect(stats.acknowledged).toBe(0);
      expect(client.unacknowledged).toBe(1);
    } finally {
      peer.close();
    }
  });

  it("the agent prints its summary and exits on SIGTERM while connected to a silent TCP peer", async () => {
    const peer = await silentPeer("tcp");
    const root = join(import.meta.dirname, "..");
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(root, "agent", "main.ts"), "--target", peer.url, "--rate", "50"],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.resume();
      // Signal handlers are in place once it connects (it connects when it has sent an event).
      await within(peer.connected, 20_000, "connection from the agent");
      // Long enough for its window to fill, so it waits on the peer.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      child.kill("SIGTERM");
      const code = await within(
        new Promise<number | null>((resolve) => child.once("exit", resolve)),
        15_000,
        "exit after SIGTERM",
      );
      expect(out).toMatch(/^sent \d+, scored 0, errors 0, lost \d+/m);
      expect(code).toBe(0);
    } finally {
      child.kill("SIGKILL");
      peer.close();
    }
  }, 30_000);
});
