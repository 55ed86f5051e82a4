import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AlertVerdict, FeedbackRequestSchema } from "../gen/netanomaly/v1/scoring_service_pb.js";
import { createModelHolder } from "./model-holder.js";
import { type Operations, startOperations } from "./operations.js";
import { parseOperationsConfig } from "./operations-config.js";
import { anomalousEvent, testDetector } from "./testdata/detector.js";

const logger = pino({ level: "silent" });
let dir = "";
let ops: Operations | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "netanomaly-ops-"));
});
afterEach(async () => {
  await ops?.close(1000);
  ops = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const config = (args: Record<string, string>) =>
  parseOperationsConfig(args, {}, (m) => new Error(m) as never);

async function scrape(o: Operations): Promise<string> {
  const port = o.metricsServer?.address.port;
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

describe("startOperations()", () => {
  it("does nothing without metrics or alert flags", async () => {
    ops = await startOperations(config({}), { logger, threshold: 0.5, worker: false });
    expect(ops.observer).toBeUndefined();
    expect(ops.metrics).toBeUndefined();
    expect(ops.feedback).toBeUndefined();
  });

  it("follows the model serving and counts reloads", async () => {
    const detector = testDetector();
    const models = createModelHolder(detector);
    ops = await startOperations(config({ metrics: "127.0.0.1:0" }), {
      logger,
      threshold: detector.threshold,
      worker: false,
    });
    ops.watchModels(models);
    expect(await scrape(ops)).toContain(
      `netanomaly_model_info{model_version="${detector.info.version}"} 1`,
    );
    models.swap(detector.withThreshold(0.9));
    ops.onReload({ status: "swapped", from: "a", to: "b" });
    ops.onReload({ status: "rejected", reason: "bad file" });
    ops.onReload({ status: "unchanged", version: "b" });
    const text = await scrape(ops);
    expect(text).toContain("netanomaly_threshold 0.9");
    expect(text).toContain('netanomaly_model_reloads_total{result="ok"} 1');
    expect(text).toContain('netanomaly_model_reloads_total{result="rejected"} 1');
  });

  it("alerts anomalies from the observer and answers Feedback", async () => {
    const detector = testDetector();
    const file = join(dir, "alerts.jsonl");
    ops = await startOperations(config({ metrics: "127.0.0.1:0", "alert-file": file }), {
      logger,
      threshold: detector.threshold,
      worker: false,
    });
    const event = anomalousEvent();
    const { score, contributions } = detector.scoreAndExplain(event, 5);
    expect(score).toBeGreaterThanOrEqual(detector.threshold);
    ops.observer?.scored(detector, [score, 0.1], 2, [{ event, score, contributions }]);
    ops.observer?.rejected("dest_ip", 3);
    ops.observer?.rejected("something_else", 1);
    ops.observer?.rateLimited();
    // The file output writes in the background; it counts the alert once written.
    for (
      let i = 0;
      i < 200 && !(await scrape(ops)).includes('alerts_sent_total{output="file"} 1');
      i++
    ) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const alert = JSON.parse(readFileSync(file, "utf8").trim());
    expect(alert).toMatchObject({ score, threshold: detector.threshold, count: 1 });
    const text = await scrape(ops);
    for (const line of [
      "netanomaly_events_scored_total 2",
      "netanomaly_anomalies_total 1",
      'netanomaly_events_rejected_total{reason="dest_ip"} 3',
      'netanomaly_events_rejected_total{reason="other"} 1',
      "netanomaly_rate_limited_total 1",
      'netanomaly_alerts_sent_total{output="file"} 1',
    ]) {
      expect(text).toContain(line);
    }
    const res = await ops.feedback?.(
      create(FeedbackRequestSchema, { alertId: alert.alertId, verdict: AlertVerdict.BENIGN }),
    );
    expect(res?.alertId).toBe(alert.alertId);
    const err = await ops
      .feedback?.(
        create(FeedbackRequestSchema, { alertId: alert.alertId, verdict: 1, suppress: true }),
      )
      .catch((e: unknown) => e);
    expect(ConnectError.from(err).code).toBe(Code.FailedPrecondition);
    const bad = await ops
      .feedback?.(create(FeedbackRequestSchema, { alertId: alert.alertId }))
      .catch((e: unknown) => e);
    expect(ConnectError.from(bad).code).toBe(Code.InvalidArgument);
    expect(await scrape(ops)).toContain('netanomaly_feedback_total{verdict="benign"} 1');
  });
});
