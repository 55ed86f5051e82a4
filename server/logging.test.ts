import { create } from "@bufbuild/protobuf";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { LOG_REDACT } from "./auth-config.js";
import {
  anomalyLinesDropped,
  DEFAULT_ANOMALY_LINES_PER_SECOND,
  logAnomaly,
  roundForLog,
  setAnomalyLogRate,
} from "./logging.js";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const root = pino(
    { level: "info", redact: LOG_REDACT },
    { write: (l: string) => lines.push(JSON.parse(l)) },
  );
  return { lines, rpc: root.child({ rpc: "StreamScore", client: "10.0.0.1" }) };
}

describe("logAnomaly()", () => {
  it("writes the anomaly line with the RPC logger's bindings, and redaction stays on for every other line", () => {
    const { lines, rpc } = capture();
    const event = create(NetworkEventSchema, {
      processPath: "C:\\x\\evil.exe",
      destIp: "203.0.113.9",
      destPort: 4444,
      protocol: "TCP",
    });
    const report = {
      score: 0.81,
      threshold: 0.65,
      modelVersion: "3e9651ef1f29",
      contributions: [{ feature: "process_rarity", contribution: 1.2, value: 10.1 }],
      requestId: "b-1",
    };
    logAnomaly(rpc, event, report);
    logAnomaly(rpc, event, report);
    rpc.info({ req: { headers: { authorization: "Bearer secret" } } }, "rpc finished");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({
      level: 40,
      msg: "anomalous event",
      rpc: "StreamScore",
      client: "10.0.0.1",
      score: 0.81,
      requestId: "b-1",
      process: "C:\\x\\evil.exe",
      destPort: 4444,
      topFeatures: [{ feature: "process_rarity", contribution: 1.2, value: 10.1 }],
    });
    expect(lines[1]).toEqual({ ...lines[0], time: lines[1]?.time });
    expect(lines[2]).toMatchObject({ req: { headers: { authorization: "[redacted]" } } });
  });
});

describe("roundForLog()", () => {
  it("rounds to the given decimal places, negatives and large values included", () => {
    expect(roundForLog(0.891234567890123, 4)).toBe(0.8912);
    expect(roundForLog(-0.976543, 2)).toBe(-0.98);
    expect(roundForLog(21.4849, 2)).toBe(21.48);
    expect(roundForLog(3, 4)).toBe(3);
  });
});

describe("logAnomaly() numbers", () => {
  it("writes score and threshold to 4 places and contributions and values to 2", () => {
    const { lines, rpc } = capture();
    const event = create(NetworkEventSchema, { destIp: "203.0.113.9", protocol: "TCP" });
    logAnomaly(rpc, event, {
      score: 0.891234567890123,
      threshold: 0.6450810875610393,
      modelVersion: "3e9651ef1f29",
      contributions: [
        { feature: "process_rarity", contribution: 0.9712345678, value: 10.1123456789 },
      ],
    });
    expect(lines[0]).toMatchObject({
      score: 0.8912,
      threshold: 0.6451,
      topFeatures: [{ feature: "process_rarity", contribution: 0.97, value: 10.11 }],
    });
  });
});

describe("logAnomaly() under a flood (issue 23, item 11)", () => {
  afterEach(() => setAnomalyLogRate(DEFAULT_ANOMALY_LINES_PER_SECOND));

  it("writes at most a burst of twice the rate, counts the rest, and reports the count", async () => {
    // On 20efb59 every one of the 5,000 lines was written (2.4 KB each at most).
    setAnomalyLogRate(10);
    const { lines, rpc } = capture();
    const event = create(NetworkEventSchema, { processPath: "x".repeat(1024), destPort: 4444 });
    const report = { score: 0.9, threshold: 0.6, modelVersion: "v", contributions: [] };
    const before = anomalyLinesDropped();
    for (let i = 0; i < 5_000; i++) logAnomaly(rpc, event, report);
    const written = lines.filter((l) => l.msg === "anomalous event").length;
    expect(written).toBeGreaterThanOrEqual(20);
    expect(written).toBeLessThan(30); // 20 at once, plus what the rate refilled meanwhile
    const dropped = anomalyLinesDropped() - before;
    expect(written + dropped).toBe(5_000);
    // No anomaly follows: within a second a line says how many were dropped.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const report2 = lines.find((l) => l.msg === "anomaly lines dropped");
    expect(report2?.droppedAnomalyLines).toBe(dropped);
  });

  it("puts the count dropped since the last line on the next line written", async () => {
    setAnomalyLogRate(4);
    const { lines, rpc } = capture();
    const event = create(NetworkEventSchema, { processPath: "y", destPort: 1 });
    const report = { score: 0.9, threshold: 0.6, modelVersion: "v", contributions: [] };
    for (let i = 0; i < 20; i++) logAnomaly(rpc, event, report);
    // 400 ms refill 1.6 lines, before the 1 s report would take the count.
    await new Promise((resolve) => setTimeout(resolve, 400));
    logAnomaly(rpc, event, report);
    const last = lines.filter((l) => l.msg === "anomalous event").at(-1);
    expect(last?.droppedAnomalyLines).toBeGreaterThan(0);
  });
});
