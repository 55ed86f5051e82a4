import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, runAgent, startServer } from "./ops-harness.js";

// --workers 2: the supervisor serves /metrics, and one scrape sums the workers.

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  }
});

/** `name{labels}` → value, from Prometheus text. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe("--metrics with --workers 2", () => {
  it("returns the sum over the workers in one scrape", async () => {
    const server = await startServer(
      [
        "--port",
        "0",
        "--workers",
        "2",
        "--model",
        join(ROOT, "models/default.model.json"),
        "--metrics",
        "127.0.0.1:0",
      ],
      (c) => children.push(c),
    );
    expect(server.metricsUrl).toBeDefined();
    // Each agent run is one connection; the supervisor hands them out round-robin.
    const runs = [];
    for (let i = 0; i < 4; i++) {
      runs.push(await runAgent(server.url, 300, ["--batch", "50", "--seed", String(i + 1)]));
    }
    const anomalies = runs.reduce((s, r) => s + r.anomalies, 0);
    const servedBy = new Set(
      server.lines.filter((l) => l.msg === "rpc finished").map((l) => l.pid as number),
    );
    expect(servedBy.size).toBe(2);
    const m = parse(await (await fetch(server.metricsUrl as string)).text());
    const stream =
      '{grpc_type="bidi_stream",grpc_service="netanomaly.v1.ScoringService",grpc_method="StreamScore"}';
    expect(m.get("netanomaly_events_scored_total")).toBe(1200);
    expect(m.get("netanomaly_anomalies_total")).toBe(anomalies);
    expect(m.get('netanomaly_score_bucket{le="+Inf"}')).toBe(1200);
    expect(m.get(`grpc_server_started_total${stream}`)).toBe(4);
    expect(m.get(`grpc_server_msg_received_total${stream}`)).toBe(24);
    // Gauges every worker reports alike are not summed.
    const threshold = m.get("netanomaly_threshold") as number;
    expect(threshold).toBeGreaterThan(0);
    expect(threshold).toBeLessThan(1);
    const info = [...m.entries()].filter(([k]) => k.startsWith("netanomaly_model_info{"));
    expect(info.map(([, v]) => v)).toEqual([1]);
    expect(await server.stop()).toBe(0);
    // Seven tsx processes start one after another (a supervisor, two workers,
    // four agents): 13 s on a quiet run, over 60 s once while CI's lab ran.
  }, 180_000);
});
