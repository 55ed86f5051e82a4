import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runAgent } from "../agent/run-agent.js";
import { ackCounter } from "../bench/soak/ack-counter.js";
import { freePort, killServer, type ServerChild, spawnServer } from "../bench/soak/server-child.js";
import { trainTestModel } from "./deploy-harness.js";

// Item 5 of "Reliability and security": the agent delivers at least once
// while the real server (a child process) is SIGKILLed and restarted on the
// same port three times during a 100,000-event run.

const EVENTS = 100_000;
/** Acknowledged-event counts at which the running server is SIGKILLed. */
const KILL_AT = [20_000, 45_000, 70_000];

const servers: ServerChild[] = [];
let dir: string;
let model: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "netanomaly-crash-"));
  model = trainTestModel(dir);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

afterEach(async () => {
  await Promise.all(servers.splice(0).map(killServer));
});

describe("agent against a server that is SIGKILLed and restarted", () => {
  it("gets every one of 100,000 events acknowledged across 3 crashes, duplicates reported", async () => {
    const port = await freePort();
    const start = async () => {
      const server = spawnServer({ port, model });
      servers.push(server);
      await server.listening;
      return server;
    };
    let current = await start();
    let acked = 0;
    let kills = 0;
    let restarting: Promise<void> = Promise.resolve();
    const restarts: { atAcked: number; killedPid: number; newPid: number }[] = [];
    const onAcked = (n: number) => {
      acked += n;
      const next = KILL_AT[kills];
      if (next === undefined || acked < next) return;
      kills++;
      const victim = current;
      const atAcked = acked;
      restarting = restarting.then(async () => {
        await killServer(victim);
        current = await start();
        restarts.push({ atAcked, killedPid: victim.pid, newPid: current.pid });
      });
    };
    const warnings: string[] = [];
    const summary = await runAgent({
      transport: createGrpcTransport({
        baseUrl: `http://127.0.0.1:${port}`,
        interceptors: [ackCounter(onAcked)],
      }),
      count: EVENTS,
      rate: 4000,
      anomalyRate: 0.01,
      seed: 5,
      backoffBaseMs: 50,
      backoffMaxMs: 500,
      // Generous: a restart (tsx start-up, model load) takes seconds on a busy machine.
      maxAttempts: 200,
      drainTimeoutMs: 30_000,
      onWarning: (w) => warnings.push(w),
    });
    await restarting;
    console.log(JSON.stringify({ summary: { ...summary, per_scenario: undefined }, restarts }));

    expect(restarts).toHaveLength(3);
    expect(summary.fatal).toBeUndefined();
    expect(summary.sent).toBe(EVENTS);
    expect(summary.lost).toBe(0);
    // Every event acknowledged exactly once in the summary, however often it was resent.
    expect(summary.scored + summary.errors).toBe(summary.sent);
    expect(summary.reconnects).toBeGreaterThanOrEqual(3);
    expect(summary.resent).toBeGreaterThan(0);
    // Reported, not hidden (0 is possible: a SIGKILLed server never answers twice).
    expect(summary.duplicates).toBeGreaterThanOrEqual(0);
    expect(warnings.some((w) => w.includes("retry"))).toBe(true);
  }, 180_000);
});
