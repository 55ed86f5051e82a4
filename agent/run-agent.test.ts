import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runAgent } from "./run-agent.js";
import { FakeScoringServer } from "./testdata/fake-scoring-server.js";

const here = new URL(".", import.meta.url).pathname;
let server: FakeScoringServer | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function startServer(): Promise<FakeScoringServer> {
  server = new FakeScoringServer();
  await server.start();
  return server;
}

describe("runAgent()", () => {
  it("streams simulated events and tallies scores, anomalies and attacks by scenario", async () => {
    const srv = await startServer();
    const lines: string[] = [];
    const s = await runAgent({
      target: srv.url,
      rate: 0,
      count: 2_000,
      anomalyRate: 0.2,
      seed: 5,
      onAnomaly: (line) => lines.push(line),
    });
    expect(s).toMatchObject({ sent: 2_000, scored: 2_000, errors: 0, lost: 0, duplicates: 0 });
    expect(s.fatal).toBeUndefined();
    expect(s.attacks_injected).toBeGreaterThan(200);
    const perScenario = Object.values(s.per_scenario);
    expect(perScenario.reduce((a, c) => a + c.injected, 0)).toBe(s.attacks_injected);
    expect(perScenario.reduce((a, c) => a + c.caught, 0)).toBe(s.attacks_caught);
    // The fake server flags uploads over 5 MB: exfiltration is caught, every flag is reported.
    expect(s.per_scenario.exfiltration?.caught).toBeGreaterThan(0);
    expect(lines).toHaveLength(s.anomalies);
    expect(lines.some((l) => l.includes("truth=injected exfiltration"))).toBe(true);
    expect(s.latency_ms.p99).toBeGreaterThanOrEqual(s.latency_ms.p50);
    expect(s.events_per_s).toBeGreaterThan(0);
    for (const key of [
      "sent",
      "scored",
      "errors",
      "lost",
      "duplicates",
      "anomalies",
      "attacks_injected",
      "attacks_caught",
      "events_per_s",
    ]) {
      expect(typeof (s as unknown as Record<string, unknown>)[key]).toBe("number");
    }
  });

  it("replays a CSV: skips malformed rows and counts a server-rejected event under errors", async () => {
    const srv = await startServer();
    const warnings: string[] = [];
    const s = await runAgent({
      target: srv.url,
      rate: 0,
      replay: join(here, "../sources/testdata/replay-small.csv"),
      onWarning: (w) => warnings.push(w),
    });
    expect(s).toMatchObject({
      sent: 6,
      scored: 5,
      errors: 1,
      lost: 0,
      skipped_rows: 2,
      attacks_injected: 1,
      attacks_caught: 1,
    });
    expect(warnings.filter((w) => w.startsWith("skipped "))).toHaveLength(2);
  });

  it("stops generating when its signal aborts and still drains what it sent", async () => {
    const srv = await startServer();
    const stop = new AbortController();
    let flagged = 0;
    const s = await runAgent({
      target: srv.url,
      rate: 0,
      anomalyRate: 0.5,
      signal: stop.signal,
      onAnomaly: () => {
        if (++flagged === 5) stop.abort();
      },
    });
    expect(s.sent).toBeGreaterThan(0);
    expect(s.lost).toBe(0);
    expect(s.scored + s.errors).toBe(s.sent);
  });

  it("reports a fatal error and lost events when no server listens", async () => {
    const srv = await startServer();
    const url = srv.url;
    await srv.stop();
    const s = await runAgent({
      target: url,
      rate: 0,
      count: 3,
      batch: 1,
      backoffBaseMs: 1,
      backoffMaxMs: 2,
      maxAttempts: 2,
    });
    expect(s.fatal).toMatch(/unavailable/);
    expect(s.scored).toBe(0);
    expect(s.lost).toBe(s.sent);
  });
});

describe("runAgent() with --print", () => {
  it("prints each event as proto JSON and sends nothing without a target", async () => {
    const lines: string[] = [];
    const s = await runAgent({
      source: "csv",
      sourceOptions: { input: join(here, "../sources/testdata/replay-small.csv") },
      print: true,
      send: false,
      onPrint: (l) => lines.push(l),
    });
    expect(s.fatal).toBeUndefined();
    expect(s).toMatchObject({ sent: 0, scored: 0, collected: 6, skipped_rows: 2 });
    expect(lines).toHaveLength(6);
    const first = JSON.parse(lines[0] as string);
    expect(first).toMatchObject({
      processPath: "C:\\Windows\\System32\\svchost.exe",
      destPort: 53,
    });
    expect(Object.keys(s.skipped_by_reason).length).toBeGreaterThan(0);
  });
});
