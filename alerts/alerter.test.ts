import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Alert } from "./alert.js";
import { createAlerter, FeedbackError } from "./alerter.js";
import type { AlertOutput } from "./output.js";
import { openSuppressionFile } from "./suppression-file.js";
import { anomaly } from "./testdata/anomaly.js";

const logger = pino({ level: "silent" });

function sink() {
  const got: Alert[] = [];
  const output: AlertOutput = {
    name: "memory",
    send: (a) => got.push(a),
    close: async () => {},
  };
  return { got, output };
}

function counter() {
  const counts: Record<string, number> = {};
  return {
    counts,
    report: (outcome: string, _output: string | undefined, n: number) => {
      counts[outcome] = (counts[outcome] ?? 0) + n;
    },
  };
}

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "netanomaly-alerter-"));
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

describe("createAlerter()", () => {
  it("sends each anomaly at once without a window", () => {
    const { got, output } = sink();
    const alerter = createAlerter({ outputs: [output], logger });
    alerter.offer([anomaly(0), anomaly(1)]);
    expect(got.map((a) => a.count)).toEqual([1, 1]);
    expect(got[0]?.alertId).not.toBe(got[1]?.alertId);
  });

  it("folds one pattern within the window into one alert with a count and the worst event", async () => {
    vi.useFakeTimers();
    const { got, output } = sink();
    const c = counter();
    const alerter = createAlerter({ outputs: [output], logger, dedupMs: 60_000, report: c.report });
    // Same host, process, destination, features; other ports and scores.
    alerter.offer([anomaly(0, { port: 1 }), anomaly(1, { port: 2, score: 0.9 })]);
    alerter.offer([anomaly(2, { port: 3 }), anomaly(3, { src: "10.9.9.9" })]);
    expect(got).toEqual([]);
    vi.advanceTimersByTime(60_000);
    expect(got.map((a) => [a.count, a.score, a.pattern.sourceIp])).toEqual([
      [3, 0.9, "10.0.0.5"],
      [1, 0.7, "10.9.9.9"],
    ]);
    expect(got[0]?.firstSeen).toBe(new Date(1_700_000_000_000).toISOString());
    expect(got[0]?.lastSeen).toBe(new Date(1_700_000_002_000).toISOString());
    expect(c.counts).toEqual({ deduplicated: 2 });
    // A new window opens afterwards; close sends what is pending.
    alerter.offer([anomaly(4)]);
    await alerter.close(100);
    expect(got).toHaveLength(3);
  });

  it("gives the same anomaly the same alert id", () => {
    const a = sink();
    const b = sink();
    createAlerter({ outputs: [a.output], logger }).offer([anomaly(7)]);
    createAlerter({ outputs: [b.output], logger }).offer([anomaly(7)]);
    expect(a.got[0]?.alertId).toBe(b.got[0]?.alertId);
  });

  it("counts suppressed anomalies and does not alert them; Feedback adds a rule", async () => {
    const path = join(dir, "rules.jsonl");
    writeFileSync(path, '{"match":{"dest_port":22},"reason":"ssh"}\n');
    const suppressions = await openSuppressionFile({ path, logger });
    const { got, output } = sink();
    const c = counter();
    const alerter = createAlerter({ outputs: [output], logger, suppressions, report: c.report });
    alerter.offer([anomaly(0, { port: 22 }), anomaly(1)]);
    expect(got).toHaveLength(1);
    expect(c.counts).toEqual({ suppressed: 1 });
    const id = got[0]?.alertId as string;
    const res = await alerter.feedback({
      alertId: id,
      verdict: "benign",
      suppress: true,
      reason: "",
      suppressForSeconds: 0,
    });
    expect(res.suppressionId).toBe(`fb-${id}`);
    expect(JSON.parse(res.suppressionRule)).toMatchObject({
      match: { source_ip: "10.0.0.5", process_path: "/usr/bin/curl", dest_ip: "203.0.113.7" },
      reason: `marked benign (alert ${id})`,
    });
    expect(readFileSync(path, "utf8").split("\n").filter(Boolean)).toHaveLength(2);
    alerter.offer([anomaly(2, { port: 8443 })]);
    expect(got).toHaveLength(1);
    expect(c.counts).toEqual({ suppressed: 2 });
    await expect(
      alerter.feedback({
        alertId: "al_nope",
        verdict: "benign",
        suppress: false,
        reason: "",
        suppressForSeconds: 0,
      }),
    ).rejects.toEqual(new FeedbackError("not_found", "alert al_nope is not known to this server"));
    await alerter.close(100);
  });

  it("finds an alert in the alert file when it is no longer held", async () => {
    const file = join(dir, "alerts.jsonl");
    const { got, output } = sink();
    createAlerter({ outputs: [output], logger }).offer([anomaly(3)]);
    writeFileSync(file, `${JSON.stringify(got[0])}\n`);
    const other = createAlerter({ outputs: [], logger, alertFile: file });
    const res = await other.feedback({
      alertId: got[0]?.alertId as string,
      verdict: "malicious",
      suppress: false,
      reason: "confirmed",
      suppressForSeconds: 0,
    });
    expect(res).toEqual({ alertId: got[0]?.alertId, suppressionId: "", suppressionRule: "" });
  });
});
