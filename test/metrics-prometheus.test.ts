import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  eventually,
  freePort,
  ROOT,
  runAgent,
  type ServerProcess,
  startServer,
  toolPresent,
} from "./ops-harness.js";

// A real Prometheus (Debian's prometheus 2.42) scrapes two real servers,
// one serving the agent's StreamScore on the gRPC fast path and one with
// --no-fast-path (Connect), and its query API must report what the agent did.

const PROMETHEUS = "/usr/bin/prometheus";
const present = toolPresent(PROMETHEUS);
const EVENTS = 1200;
const BATCH = 100;

const children: ChildProcess[] = [];
const track = (c: ChildProcess) => children.push(c);
let dir = "";
let fast: ServerProcess;
let connect: ServerProcess;
let promUrl = "";

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(q: string): Promise<Sample[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await res.json()) as { status: string; data: { result: Sample[] } };
  expect(body.status).toBe("success");
  return body.data.result;
}

/** `q`'s value per `instance` label (host:port of the metrics endpoint). */
async function byInstance(q: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of await query(q)) {
    out[s.metric.instance as string] = Number(s.value[1]);
  }
  return out;
}

const hostOf = (url: string | undefined) => new URL(url as string).host;

describe.skipIf(!present)(
  `Prometheus scrapes /metrics${present ? "" : ` — skipped: ${PROMETHEUS} not found`}`,
  () => {
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "netanomaly-prom-"));
      const model = join(ROOT, "models/default.model.json");
      [fast, connect] = await Promise.all([
        startServer(["--port", "0", "--model", model, "--metrics", "127.0.0.1:0"], track),
        startServer(
          ["--port", "0", "--model", model, "--metrics", "127.0.0.1:0", "--no-fast-path"],
          track,
        ),
      ]);
      const port = await freePort();
      promUrl = `http://127.0.0.1:${port}`;
      writeFileSync(
        join(dir, "prometheus.yml"),
        [
          "global:",
          "  scrape_interval: 1s",
          "scrape_configs:",
          "  - job_name: netanomaly",
          "    static_configs:",
          `      - targets: ["${hostOf(fast.metricsUrl)}", "${hostOf(connect.metricsUrl)}"]`,
          "",
        ].join("\n"),
      );
      const prom = spawn(
        PROMETHEUS,
        [
          `--config.file=${join(dir, "prometheus.yml")}`,
          `--storage.tsdb.path=${join(dir, "data")}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { stdio: "ignore" },
      );
      track(prom);
      await eventually(
        async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined),
        30_000,
        "prometheus ready",
      );
    });

    afterAll(async () => {
      for (const c of children) {
        if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
      }
      if (dir !== "") rmSync(dir, { recursive: true, force: true });
    });

    it("reports the agent's events, batches and anomalies, the same on both paths", async () => {
      const extra = ["--batch", String(BATCH), "--seed", "11"];
      const [a, b] = await Promise.all([
        runAgent(fast.url, EVENTS, extra),
        runAgent(connect.url, EVENTS, extra),
      ]);
      for (const summary of [a, b]) {
        expect(summary).toMatchObject({ sent: EVENTS, scored: EVENTS, errors: 0, lost: 0 });
      }
      // Same seed, same model: the same anomalies on both.
      expect(b.anomalies).toBe(a.anomalies);
      expect(a.anomalies).toBeGreaterThan(0);
      const instances = [hostOf(fast.metricsUrl), hostOf(connect.metricsUrl)];
      // A scrape after both streams ended: events scored, and the call handled.
      const scored = await eventually(
        async () => {
          const v = await byInstance("netanomaly_events_scored_total");
          const h = await byInstance('grpc_server_handled_total{grpc_method="StreamScore"}');
          return instances.every((i) => v[i] === EVENTS && h[i] === 1) ? v : undefined;
        },
        30_000,
        "a scrape after the agent runs",
      );
      expect(Object.keys(scored).sort()).toEqual([...instances].sort());
      const stream =
        '{grpc_service="netanomaly.v1.ScoringService",grpc_method="StreamScore",grpc_type="bidi_stream"}';
      for (const [q, want] of [
        [`grpc_server_started_total${stream}`, 1],
        [`grpc_server_msg_received_total${stream}`, EVENTS / BATCH],
        [`grpc_server_msg_sent_total${stream}`, EVENTS / BATCH],
        [`grpc_server_handling_seconds_count${stream}`, 1],
        ["netanomaly_anomalies_total", a.anomalies],
        ["netanomaly_score_count", EVENTS],
        ["netanomaly_streams_open", 0],
        ['netanomaly_score_bucket{le="+Inf"}', EVENTS],
      ] as const) {
        const v = await byInstance(q);
        for (const i of instances) {
          expect({ q, i, v: v[i] }).toEqual({ q, i, v: want });
        }
      }
      const handled = await query(`grpc_server_handled_total${stream}`);
      expect(handled.map((s) => [s.metric.grpc_code, s.value[1]])).toEqual([
        ["OK", "1"],
        ["OK", "1"],
      ]);
      // The anomalies are the scores at or over the threshold: above the bucket just under it.
      const info = await query("netanomaly_model_info");
      expect(info[0]?.metric.model_version).toMatch(/^[0-9a-f]{12}$/);
      const threshold = Number((await query("netanomaly_threshold"))[0]?.value[1]);
      expect(threshold).toBeGreaterThan(0);
      // No label holds an address or a path: every label value is from a small fixed set.
      const series = (await (
        await fetch(`${promUrl}/api/v1/series?match[]=${encodeURIComponent('{job="netanomaly"}')}`)
      ).json()) as { data: Record<string, string>[] };
      for (const s of series.data) {
        for (const [k, v] of Object.entries(s)) {
          if (k === "instance") continue;
          expect({ k, v }).not.toMatchObject({
            v: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+|\//),
          });
        }
      }
    });

    it("counts rejected events by field and failed calls by code", async () => {
      // A Connect JSON Score with a bad address, and one without an event, on each server.
      for (const s of [fast, connect]) {
        for (const body of [{ event: { destIp: "not-an-ip", destPort: 1 } }, {}]) {
          const res = await fetch(`${s.url}/netanomaly.v1.ScoringService/Score`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
          });
          expect(res.status).toBe(400);
        }
      }
      const instances = [hostOf(fast.metricsUrl), hostOf(connect.metricsUrl)];
      // Polled until one scrape holds all three (a scrape may fall between the calls).
      const counts = async () => ({
        ip: await byInstance('netanomaly_events_rejected_total{reason="dest_ip"}'),
        event: await byInstance('netanomaly_events_rejected_total{reason="event"}'),
        bad: await byInstance(
          'grpc_server_handled_total{grpc_method="Score",grpc_code="InvalidArgument"}',
        ),
      });
      const want = (c: Awaited<ReturnType<typeof counts>>) =>
        instances.every((i) => c.ip[i] === 1 && c.event[i] === 1 && c.bad[i] === 2);
      const seen = await eventually(
        async () => {
          const c = await counts();
          return want(c) ? c : undefined;
        },
        30_000,
        "rejections scraped",
      );
      for (const i of instances) {
        expect([seen.ip[i], seen.event[i], seen.bad[i]]).toEqual([1, 1, 2]);
      }
    });
  },
);
