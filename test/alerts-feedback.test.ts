import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Alert } from "../alerts/index.js";
import { parseSuppressions } from "../alerts/index.js";
import { ROOT, runAgent, type ServerProcess, startServer } from "./ops-harness.js";

// The quick start's false positives, silenced in one call: a real server
// with an alert file and a suppression file, the real agent, and Feedback
// over Connect JSON (as curl or the dashboard would call it) with an API key.

const KEY = "feedback-test-key-0123456789";
const children: ChildProcess[] = [];
let dir = "";
let server: ServerProcess;
let alertFile = "";
let rulesFile = "";

const readAlerts = () =>
  readFileSync(alertFile, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Alert);

async function feedback(body: unknown, key: string | null = KEY) {
  const res = await fetch(`${server.url}/netanomaly.v1.ScoringService/Feedback`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(server.metricsUrl as string)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.split(" ")[1] ?? Number.NaN);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "netanomaly-feedback-"));
  alertFile = join(dir, "alerts.jsonl");
  rulesFile = join(dir, "suppressions.jsonl");
  writeFileSync(join(dir, "keys"), `${KEY}\n`);
  server = await startServer(
    [
      "--port",
      "0",
      "--model",
      join(ROOT, "models/default.model.json"),
      "--api-keys-file",
      join(dir, "keys"),
      "--metrics",
      "127.0.0.1:0",
      "--alert-file",
      alertFile,
      "--suppressions",
      rulesFile,
    ],
    (c) => children.push(c),
  );
});

afterAll(async () => {
  await server?.stop();
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  }
  rmSync(dir, { recursive: true, force: true });
});

describe("ScoringService.Feedback", () => {
  it("writes one alert per anomaly, then a benign verdict silences its pattern", async () => {
    const agent = ["--api-key", KEY, "--seed", "5", "--batch", "100"];
    const first = await runAgent(server.url, 2000, agent);
    expect(first).toMatchObject({ sent: 2000, scored: 2000, lost: 0 });
    expect(first.anomalies).toBeGreaterThan(5);
    const alerts = await waitForLines(first.anomalies);
    const ids = new Set(alerts.map((a) => a.alertId));
    expect(ids.size).toBe(alerts.length);
    for (const a of alerts) {
      expect(a.alertId).toMatch(/^al_[0-9a-f]{24}$/);
      expect(a.score).toBeGreaterThanOrEqual(a.threshold);
      expect(a.modelVersion).toMatch(/^[0-9a-f]{12}$/);
      expect(a.contributions.length).toBeGreaterThan(0);
      expect(a.count).toBe(1);
      expect(a.event).toHaveProperty("processPath");
    }
    expect(await metric('netanomaly_alerts_sent_total{output="file"}')).toBe(alerts.length);

    // The most frequent pattern is the one a person would silence first.
    const counts = new Map<string, Alert[]>();
    for (const a of alerts) {
      const k = JSON.stringify([a.pattern.sourceIp, a.pattern.processPath, a.pattern.destination]);
      counts.set(k, [...(counts.get(k) ?? []), a]);
    }
    const target = [...counts.values()].sort((x, y) => y.length - x.length)[0]?.[0] as Alert;
    const res = await feedback({
      alertId: target.alertId,
      verdict: "ALERT_VERDICT_BENIGN",
      suppress: true,
      reason: "known backup job",
      suppressForSeconds: 3600,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      alertId: target.alertId,
      suppressionId: `fb-${target.alertId}`,
    });
    const { rules, problems } = parseSuppressions(readFileSync(rulesFile, "utf8"), "rules");
    expect(problems).toEqual([]);
    expect(rules.map((r) => [r.id, r.reason])).toEqual([
      [`fb-${target.alertId}`, "known backup job"],
    ]);
    expect(await metric('netanomaly_feedback_total{verdict="benign"}')).toBe(1);

    // The same traffic again: matching anomalies are scored and counted, not alerted.
    const second = await runAgent(server.url, 2000, agent);
    expect(second.anomalies).toBe(first.anomalies);
    const suppressed = await metric("netanomaly_alerts_suppressed_total");
    expect(suppressed).toBeGreaterThanOrEqual(1);
    const after = (await waitForLines(alerts.length + second.anomalies - suppressed)).slice(
      alerts.length,
    );
    for (const a of after) {
      expect(
        a.pattern.sourceIp === target.pattern.sourceIp &&
          a.pattern.processPath === target.pattern.processPath &&
          a.pattern.destination === target.pattern.destination,
      ).toBe(false);
    }
    expect(await metric("netanomaly_anomalies_total")).toBe(first.anomalies + second.anomalies);
  });

  it("needs the API key, a verdict and a known alert id", async () => {
    const missing = await feedback({ alertId: "al_x", verdict: "ALERT_VERDICT_BENIGN" }, null);
    expect(missing.body.code).toBe("unauthenticated");
    const noVerdict = await feedback({ alertId: "al_x" });
    expect(noVerdict.body.code).toBe("invalid_argument");
    const unknown = await feedback({ alertId: "al_000000000000000000000000", verdict: 1 });
    expect(unknown.body.code).toBe("not_found");
    const suppressMalicious = await feedback({
      alertId: readAlerts()[0]?.alertId,
      verdict: "ALERT_VERDICT_MALICIOUS",
      suppress: true,
    });
    expect(suppressMalicious.body.code).toBe("invalid_argument");
  });
});

/** The alert file once it holds `n` lines (the file output writes in the background). */
async function waitForLines(n: number): Promise<Alert[]> {
  const end = Date.now() + 10_000;
  for (;;) {
    const alerts = readAlerts();
    if (alerts.length >= n || Date.now() > end) {
      expect(alerts.length).toBe(n);
      return alerts;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
