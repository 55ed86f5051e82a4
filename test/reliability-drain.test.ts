import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runAgent } from "../agent/run-agent.js";
import { ackCounter } from "../bench/soak/ack-counter.js";
import { freePort, killServer, type ServerChild, spawnServer } from "../bench/soak/server-child.js";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../gen/grpc/health/v1/health_pb.js";
import { trainTestModel } from "./deploy-harness.js";

// Item 6 of "Reliability and security": SIGTERM drains. The first server
// turns NOT_SERVING (seen on a health Watch), ends the agent's stream with
// unavailable after the batch in hand, and exits 0 before its 10 s deadline;
// a second server takes the same port and the agent loses nothing.

const EVENTS = 20_000;
const SIGTERM_AT = 5_000;

const servers: ServerChild[] = [];
let dir: string;
let model: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "netanomaly-drain-"));
  model = trainTestModel(dir);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

afterEach(async () => {
  await Promise.all(servers.splice(0).map(killServer));
});

describe("SIGTERM with an agent streaming", () => {
  it("goes NOT_SERVING, drains, exits 0 within the deadline, and the agent loses nothing", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const first = spawnServer({ port, model });
    servers.push(first);
    await first.listening;

    // A health Watch on the first server, from its own connection.
    const health = createClient(Health, createGrpcTransport({ baseUrl: url }));
    const statuses: ServingStatus[] = [];
    const watch = health.watch({ service: "" })[Symbol.asyncIterator]();
    const head = await watch.next();
    expect(head.done).toBe(false);
    statuses.push((head.value as { status: ServingStatus }).status);
    const watching = (async () => {
      try {
        for (let r = await watch.next(); r.done !== true; r = await watch.next()) {
          statuses.push(r.value.status);
        }
      } catch {
        // The stream may also end with an error when the connection closes.
      }
    })();

    let acked = 0;
    let handover: Promise<void> | undefined;
    const onAcked = (n: number) => {
      acked += n;
      if (handover !== undefined || acked < SIGTERM_AT) return;
      first.child.kill("SIGTERM");
      handover = (async () => {
        await first.exited;
        const second = spawnServer({ port, model });
        servers.push(second);
        await second.listening;
      })();
    };
    const summary = await runAgent({
      transport: createGrpcTransport({
        baseUrl: url,
        interceptors: [ackCounter(onAcked)],
      }),
      count: EVENTS,
      rate: 2_000,
      anomalyRate: 0.01,
      seed: 9,
      backoffBaseMs: 50,
      backoffMaxMs: 500,
      maxAttempts: 200,
      drainTimeoutMs: 30_000,
    });
    await handover;
    await watching;

    expect(summary.fatal).toBeUndefined();
    expect(summary.sent).toBe(EVENTS);
    expect(summary.lost).toBe(0);
    expect(summary.scored + summary.errors).toBe(EVENTS);
    expect(summary.reconnects).toBeGreaterThanOrEqual(1);

    expect(statuses[0]).toBe(ServingStatus.SERVING);
    expect(statuses).toContain(ServingStatus.NOT_SERVING);

    expect(await first.exited).toEqual({ code: 0, signal: null });
    const log = first.lines;
    expect(log).toContainEqual(
      expect.objectContaining({ msg: "shutting down", signal: "SIGTERM" }),
    );
    // The agent's stream was ended by the server, with unavailable, not cut.
    expect(log).toContainEqual(
      expect.objectContaining({
        msg: "rpc finished",
        rpc: "netanomaly.v1.ScoringService/StreamScore",
        code: "unavailable",
        reason: "server is shutting down",
      }),
    );
    // Exits gracefully, well within the 10 s deadline. connect-node's client
    // stops writing (without END_STREAM) once a response has ended; the
    // server closes such half-open streams during the drain instead of
    // waiting for the deadline (server/server.ts, shutdown).
    const stopping = log.find((l) => l.msg === "shutting down") as { time: number };
    const stopped = log.at(-1) as { msg: string; outcome: string; time: number };
    console.log(
      JSON.stringify({ outcome: stopped.outcome, drainMs: stopped.time - stopping.time }),
    );
    expect(stopped.msg).toBe("stopped");
    expect(stopped.outcome).toBe("graceful");
    expect(stopped.time - stopping.time).toBeLessThanOrEqual(10_000 + 1_000);
  }, 120_000);
});
